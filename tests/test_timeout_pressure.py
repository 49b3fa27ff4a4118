"""Steps' timeouts count the time the page was given: on a host short of CPU (the kernel's
pressure stall information says so) they stretch, up to a limit, and on an idle one they are
exactly the runbook's."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext
from runwright_engine.pressure import MAX_STRETCH, Pressure, factor, load_share, stall_share
from support.engine import run_steps

PSI = (
    "some avg10={some:.2f} avg60=40.00 avg300=20.00 total=123456\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
)


def psi_file(tmp: Path, some: float) -> Path:
    path = tmp / f"cpu.pressure-{some}"
    path.write_text(PSI.format(some=some))
    return path


def test_the_stall_share_is_read_from_the_some_line() -> None:
    assert stall_share(PSI.format(some=62.5)) == 0.625
    assert stall_share("full avg10=50.00 avg60=0 avg300=0 total=0") is None
    assert stall_share("some avg10=n/a") is None
    assert stall_share("") is None


@pytest.mark.parametrize(
    ("share", "expected"),
    [(0.0, 1.0), (0.05, 1.0), (0.5, 2.0), (0.6, 2.5), (0.9, MAX_STRETCH), (1.0, MAX_STRETCH)],
)
def test_a_timeout_grows_by_the_share_of_time_the_host_could_not_give(
    share: float, expected: float
) -> None:
    assert factor(share) == pytest.approx(expected)


def test_without_psi_the_load_average_per_cpu_stands_in(tmp_path: Path) -> None:
    assert load_share(1.5, 2) == 0.0
    assert load_share(8.0, 2) == 0.75
    missing = Pressure(sources=[tmp_path / "absent"], load=lambda: 1e9)
    assert missing.stretch(1000) == 1000 * MAX_STRETCH
    idle = Pressure(sources=[tmp_path / "absent"], load=lambda: 0.0)
    assert idle.stretch(1000) == 1000


def test_the_first_readable_source_wins_and_a_limit_of_one_turns_it_off(tmp_path: Path) -> None:
    sources = [tmp_path / "absent", psi_file(tmp_path, 50), psi_file(tmp_path, 0)]
    assert Pressure(sources=sources).stretch(1000) == 2000
    assert Pressure(sources=sources, limit=1).stretch(1000) == 1000
    assert Pressure(sources=sources, limit=1.5).stretch(1000) == 1500


async_test = pytest.mark.asyncio(loop_scope="module")

LATE = [{"action": {"type": "click", "selector": {"id": "late"}}}]
PAGE = """<!doctype html><title>Late</title><p id="log"></p><script>
setTimeout(() => {
  const b = document.createElement("button"); b.id = "late"; b.textContent = "Late";
  b.onclick = () => { document.getElementById("log").textContent = "clicked"; };
  document.body.append(b); }, 1500);
</script>"""
"""``#late`` appears 1.5 s after the page loads."""


async def run_late(browser: Browser, base: str, tmp: Path, pressure: Pressure) -> str:
    async def serve(context: BrowserContext) -> None:
        await context.route(
            f"{base}/late", lambda route: route.fulfill(body=PAGE, content_type="text/html")
        )

    run = await run_steps(
        browser, f"{base}/late", LATE, tmp, timeout_ms=600, pressure=pressure, prepare=serve
    )
    page = run.page
    log = await page.locator("#log").text_content()
    return f"{run.step(0).status} {log or ''}".strip()


@async_test
async def test_a_starved_host_gives_a_late_element_the_time_the_page_lost(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    starved = Pressure(sources=[psi_file(tmp_path, 80)], limit=5)  # 600 ms -> 3 s
    assert await run_late(browser, fixture_url, tmp_path / "a", starved) == "success clicked"


@async_test
async def test_an_idle_host_times_out_exactly_when_the_runbook_says(
    browser: Browser, fixture_url: str, tmp_path: Path
) -> None:
    idle = Pressure(sources=[psi_file(tmp_path, 0)], load=lambda: 0.0)
    assert await run_late(browser, fixture_url, tmp_path / "b", idle) == "failed"
