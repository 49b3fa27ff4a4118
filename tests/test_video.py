"""The CDP screencast and the WebM recorder, against real Chromium; Chromium plays the result."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route
from runwright_engine.screencast import Frame, Screencast
from runwright_engine.video import VideoInfo, VideoRecorder

pytestmark = pytest.mark.asyncio(loop_scope="module")

# A counter repainted every 50 ms, and a box moved on every animation frame (about 60 fps).
ANIMATION = """
<style>body { margin: 0; font: 64px sans-serif; } #box { position: absolute; top: 200px;
  width: 80px; height: 80px; background: crimson; }</style>
<div id="count">0</div><div id="box"></div>
<script>
  window.n = 0;
  setInterval(() => { document.getElementById("count").textContent = ++window.n; }, 50);
  (function move(t) {
    document.getElementById("box").style.left = (t / 4 % 1000) + "px";
    requestAnimationFrame(move);
  })(0);
</script>
"""
# Paints once, then changes once after 800 ms.
STATIC = """
<p id="state">waiting</p>
<script>setTimeout(() => { document.getElementById("state").textContent = "done"; }, 800);</script>
"""
EBML_MAGIC = b"\x1a\x45\xdf\xa3"


@dataclass(frozen=True)
class Recording:
    info: VideoInfo
    wall_s: float


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    yield page
    await context.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def recording(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Recording:
    """Two seconds of the animation, recorded once for the tests that inspect the video."""
    context = await browser.new_context(viewport={"width": 1280, "height": 720})
    page = await context.new_page()
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    first = first_frame(screencast)
    recorder = VideoRecorder(screencast)
    await recorder.start()
    await page.wait_for_function("window.n >= 40", timeout=10_000)  # 40 x 50 ms
    wall_s = time.time() - (await first).timestamp
    info = await recorder.finish(tmp_path_factory.mktemp("video") / "run.webm")
    await screencast.close()
    await context.close()
    assert info is not None
    return Recording(info, wall_s)


def first_frame(screencast: Screencast) -> asyncio.Future[Frame]:
    """The first frame the screencast delivers from now on: its timestamp (Chromium's, on the
    epoch clock) is the recording's time zero, even when delivery lags under load."""
    future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()

    def seen(frame: Frame) -> None:
        if not future.done():
            future.set_result(frame)

    screencast.subscribe(seen)
    return future


async def advance_counter(page: Page, by: int) -> None:
    """Wait until the page has repainted its counter `by` more times."""
    target = await page.evaluate("window.n") + by
    await page.wait_for_function(f"window.n >= {target}", timeout=10_000)


async def test_the_screencast_delivers_jpeg_frames_and_stops_after_release(page: Page) -> None:
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    frames: list[Frame] = []
    screencast.subscribe(frames.append)

    await screencast.acquire("live")
    await advance_counter(page, 10)
    await screencast.release("live")
    assert len(frames) >= 5
    assert all(frame.jpeg.startswith(b"\xff\xd8") for frame in frames)
    assert (frames[0].width, frames[0].height) == (1280, 720)
    assert frames[-1].timestamp > frames[0].timestamp
    assert screencast.latest is frames[-1]

    delivered = len(frames)
    await advance_counter(page, 10)
    assert len(frames) == delivered
    await screencast.close()


async def test_the_screencast_runs_while_any_reason_holds_it(page: Page) -> None:
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    await screencast.acquire("live")
    await screencast.acquire("live")
    await screencast.acquire("video")
    await screencast.release("live")
    await screencast.release("video")
    assert screencast.running
    assert screencast.reasons == {"live": 1}
    await screencast.release("live")
    await screencast.release("never-held")
    assert not screencast.running
    assert screencast.reasons == {}

    await screencast.start()
    await screencast.start()
    assert screencast.reasons == {"start": 1}
    await screencast.stop()
    await screencast.stop()
    assert not screencast.running
    await screencast.close()


async def test_a_recorder_keeps_receiving_frames_while_a_live_view_comes_and_goes(
    page: Page, tmp_path: Path
) -> None:
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    recorder = VideoRecorder(screencast)
    await recorder.start()
    for _ in range(2):
        await screencast.start()
        await advance_counter(page, 6)
        await screencast.stop()
        kept = recorder.frames
        await advance_counter(page, 6)
        assert recorder.frames > kept
    info = await recorder.finish(tmp_path / "run.webm")
    assert not screencast.running
    assert info is not None
    assert info.frames >= 4
    await screencast.close()


async def test_the_recording_is_a_webm_that_decodes_to_its_frames_and_wall_time(
    recording: Recording,
) -> None:
    info = recording.info
    assert info.path.read_bytes()[:4] == EBML_MAGIC
    assert info.size_bytes == info.path.stat().st_size
    assert (info.width, info.height) == (1280, 720)
    # The page paints at about 60 fps; the recorder keeps at most 10 a second, plus the end frame.
    assert 5 <= info.frames <= 10 * recording.wall_s + 2
    assert info.duration_s == pytest.approx(recording.wall_s, rel=0.2)

    with av.open(str(info.path), mode="r") as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == info.frames
    last = decoded[-1]
    assert last.time is not None
    assert last.time == pytest.approx(recording.wall_s, rel=0.2)
    assert (last.width, last.height) == (1280, 720)


async def test_chromium_plays_the_recorded_video(page: Page, recording: Recording) -> None:
    async def serve(route: Route) -> None:
        if route.request.url.endswith(".webm"):
            await route.fulfill(body=recording.info.path.read_bytes(), content_type="video/webm")
        else:
            await route.fulfill(body="<video muted></video>", content_type="text/html")

    await page.route("http://video.test/**", serve)
    await page.goto("http://video.test/")
    metadata = await page.evaluate(
        """() => new Promise((resolve, reject) => {
            const video = document.querySelector("video");
            video.onloadedmetadata = () => resolve([video.duration, video.videoWidth]);
            video.onerror = () => reject(new Error("media error " + video.error.code));
            video.src = "/run.webm";
        })"""
    )
    duration, width = metadata
    assert duration == pytest.approx(recording.wall_s, rel=0.2)
    assert width > 0
    await page.evaluate("document.querySelector('video').play()")
    await page.wait_for_function(
        "document.querySelector('video').currentTime > 0.3", timeout=10_000
    )


async def test_a_static_page_gives_few_frames_but_a_video_as_long_as_the_run(
    browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(viewport={"width": 641, "height": 361})
    page = await context.new_page()
    await page.set_content(STATIC)
    screencast = Screencast(page)
    first = first_frame(screencast)
    recorder = VideoRecorder(screencast)
    await recorder.start()
    await page.wait_for_selector("text=done")
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    wall_s = time.time() - (await first).timestamp
    info = await recorder.finish(tmp_path / "static.webm")
    await context.close()

    assert info is not None
    assert 2 <= info.frames <= 4
    assert (info.width, info.height) == (640, 360)
    assert info.duration_s == pytest.approx(wall_s, rel=0.2)


async def test_a_recorder_joining_a_running_screencast_starts_from_its_latest_frame(
    page: Page, tmp_path: Path
) -> None:
    await page.set_content("<p>nothing moves here</p>")
    screencast = Screencast(page)
    painted = asyncio.Event()
    screencast.subscribe(lambda _: painted.set())
    await screencast.acquire("live")
    await asyncio.wait_for(painted.wait(), timeout=10)
    recorder = VideoRecorder(screencast)
    await recorder.start()
    assert recorder.frames == 1
    info = await recorder.finish(tmp_path / "joined.webm")
    await screencast.close()
    assert info is not None
    assert info.frames >= 1


async def test_a_recording_stops_keeping_frames_at_its_duration_cap(
    page: Page, tmp_path: Path
) -> None:
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    recorder = VideoRecorder(screencast, max_duration_s=0.5)
    await recorder.start()
    await advance_counter(page, 20)
    assert recorder.truncated
    info = await recorder.finish(tmp_path / "capped.webm")
    await screencast.close()
    assert info is not None
    assert info.truncated
    assert info.duration_s == pytest.approx(0.5, abs=0.15)


async def test_a_recording_survives_its_page_closing_before_finish(
    browser: Browser, tmp_path: Path
) -> None:
    context = await browser.new_context(viewport={"width": 640, "height": 360})
    page = await context.new_page()
    await page.set_content(ANIMATION)
    screencast = Screencast(page)
    recorder = VideoRecorder(screencast)
    await screencast.start()
    await recorder.start()
    await advance_counter(page, 10)
    await context.close()

    info = await recorder.finish(tmp_path / "closed.webm")
    await recorder.discard()
    await screencast.stop()
    await screencast.close()
    await screencast.close()
    assert info is not None
    assert info.frames >= 3
    assert not screencast.running
