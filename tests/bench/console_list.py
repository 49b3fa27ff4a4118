"""The jobs list at scale: with 10,000 and then 1,000,000 jobs in the database,

- the list API, p50/p99 over a keep-alive client: the first page, a deep keyset page, the status,
  title, label and trigger filters, and the tab counts; baseline in the same run: the very SQL the
  gateway sends for each (captured from its own query builder), run directly with asyncpg against
  the same database;
- the console's Jobs page in Chromium: navigation start until the table has its 50 rows and every
  tab shows its count, and the browser's domInteractive; baseline in the same run: the same
  console document, stylesheet and scripts at a URL the app does not route, timed until it renders
  its "Not found" view (everything a Jobs page load does except the jobs data: the event stream,
  the list and the counts).

After each bulk insert it also shows how long the queue service takes to fold the count deltas
the inserts appended, and the counts once folded but not yet vacuumed: the moments after a burst.

The rows are written straight into ``queue.jobs`` (the bench stack is private), in their own
workspace so they never count against another benchmark's admission limits; queued rows rank below
real jobs (priority -1) and carry a dispatch time a year ahead, scheduled rows run days ahead, so
the queue's timers and claims leave them alone. They stay until the stack stops: this benchmark
runs last.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from playwright.async_api import Page, async_playwright
from runwright_db import create_pool
from runwright_engine.browser import launch
from runwright_gateway import views
from runwright_stack.stack import Stack

from tests.bench.stats import percentile, table
from tests.support.console import sign_in

SIZES = (10_000, 1_000_000)
CHUNK = 100_000
REQUESTS = 200
MIN_REQUESTS = 20
BUDGET_S = 10.0
"""A series stops after this long (with at least MIN_REQUESTS samples), so a slow query cannot
stall the run; the n column says how many requests it got."""
WARMUP = 5
DEEP_PAGES = 20
PAGE_LOADS = 20
SLOW_MS = 20.0
SPAN = timedelta(days=180)
WORKSPACE = "bench-console"
TITLE_SEARCH = "cobalt"
LABEL_SEARCH = "team=payments"

TASKS = [
    "Export shipped orders", "Sign in to the back office", "Reconcile invoices",
    "Download the monthly statement", "Update a customer address", "Close resolved tickets",
    "Refund an order", "Check stock levels",
]  # fmt: skip
CUSTOMERS = [
    "Alder Supply", "Birchwood Dental", "Cobalt Freight", "Dunmore Bakery", "Elm Street Clinic",
    "Fernhill Books", "Granite Tools", "Harbour Fisheries", "Ivy Lane Florist", "Juniper Hotels",
    "Kestrel Air", "Linden Pharmacy", "Maple Couriers", "Northgate Motors", "Oakridge School",
    "Pinecrest Farms", "Quarry Works", "Rowan Textiles", "Sorrel Kitchens", "Thistle Insurance",
]  # fmt: skip
TEAMS = ["operations", "finance", "payments", "support", "logistics", "sales", "qa", "hr"]
FAILURES = [
    "Element not found: #export-csv", "Navigation timeout after 10000 ms",
    "Page structure changed", "Action failed: the button is disabled",
]  # fmt: skip
RUNBOOK = {"title": "bench", "settings": {}, "metadata": {}, "steps": []}

FILL = """
INSERT INTO queue.jobs (id, workspace, title, status, priority, trigger, submitted_by, labels,
    runbook, steps_total, event_seq, attempt, reason, batch_id, created_at, updated_at,
    started_at, finished_at, run_at, dispatched_at)
SELECT gen_random_uuid(), $6, a.task || ' for ' || a.customer || ' #' || g, a.status,
       CASE a.status WHEN 'queued' THEN -1 ELSE 0 END, a.trigger,
       CASE a.trigger WHEN 'schedule' THEN 'scheduler' ELSE 'admin' END,
       jsonb_build_object('team', a.team, 'env', a.env,
                          'customer', lower(replace(a.customer, ' ', '-'))),
       $7::jsonb, a.steps, CASE WHEN b.started IS NULL THEN 1 ELSE 2 + 2 * a.steps END,
       CASE WHEN b.started IS NULL THEN 0 ELSE 1 END,
       CASE a.status WHEN 'failed' THEN ($11::text[])[1 + g % 4]
                     WHEN 'cancelled' THEN 'cancelled by admin' END,
       CASE a.trigger WHEN 'batch' THEN md5('batch' || (g / 100))::uuid END,
       a.created, coalesce(f.finished, b.started, a.created), b.started, f.finished,
       CASE a.status WHEN 'scheduled'
            THEN $3::timestamptz + make_interval(days => 1 + (g % 30)::int) END,
       CASE a.status WHEN 'queued' THEN $3::timestamptz + interval '1 year' ELSE a.created END
FROM generate_series($1::bigint, $2::bigint) AS g
CROSS JOIN LATERAL (SELECT
    CASE WHEN (g * 7919) % 1000 < 760 THEN 'completed' WHEN (g * 7919) % 1000 < 880 THEN 'failed'
         WHEN (g * 7919) % 1000 < 930 THEN 'cancelled' WHEN (g * 7919) % 1000 < 960 THEN 'queued'
         WHEN (g * 7919) % 1000 < 985 THEN 'scheduled' WHEN (g * 7919) % 1000 < 993 THEN 'running'
         WHEN (g * 7919) % 1000 < 997 THEN 'waiting_for_approval' ELSE 'paused' END AS status,
    CASE WHEN (g * 6151) % 100 < 60 THEN 'api' WHEN (g * 6151) % 100 < 85 THEN 'schedule'
         ELSE 'batch' END AS trigger,
    ($8::text[])[1 + (g * 31) % 8] AS task,
    ($9::text[])[1 + (g * 17) % 20] AS customer,
    ($10::text[])[1 + (g * 13) % 8] AS team,
    CASE WHEN g % 10 < 8 THEN 'prod' ELSE 'staging' END AS env,
    3 + (g % 9)::int AS steps,
    $3::timestamptz - make_interval(secs => $4 * (g - $5)) AS created) AS a
CROSS JOIN LATERAL (SELECT CASE WHEN a.status IN ('queued', 'scheduled') THEN NULL
    ELSE a.created + make_interval(secs => 1 + g % 20) END AS started) AS b
CROSS JOIN LATERAL (SELECT CASE WHEN a.status IN ('completed', 'failed', 'cancelled')
    THEN b.started + make_interval(secs => 5 + (g * 3) % 300) END AS finished) AS f
"""


async def fill(conn: asyncpg.Connection, have: int, want: int) -> str:
    """Add rows ``have+1 .. want``, spread evenly over the last SPAN, newest first, in chunks.
    Returns a line on what it took."""
    if want <= have:
        return f"{have:,} rows there already"
    origin = datetime.now(UTC) - timedelta(minutes=1)
    step_s = SPAN.total_seconds() / (want - have)
    offset = have + 1 - (0.5 if have else 0.0)  # between the rows already there
    started = time.perf_counter()
    for lo in range(have + 1, want + 1, CHUNK):
        hi = min(lo + CHUNK - 1, want)
        await conn.execute(
            FILL, lo, hi, origin, step_s, offset, WORKSPACE, RUNBOOK, TASKS, CUSTOMERS, TEAMS,
            FAILURES,
        )  # fmt: skip
        took = time.perf_counter() - started
        print(
            f"  … {hi - have:,}/{want - have:,} rows ({took:.0f} s, "
            f"{(hi - have) / took:,.0f} rows/s)",
            flush=True,
        )
    inserted = time.perf_counter() - started
    pending = await conn.fetchval("SELECT count(*) FROM queue.job_count_deltas")
    return f"inserted {want - have:,} rows in {inserted:.1f} s; {pending:,} count deltas pending"


async def drained(conn: asyncpg.Connection, limit_s: float = 600) -> str:
    """How long the queue service takes, on its own, to fold the deltas a bulk insert left."""
    started = time.perf_counter()
    while await conn.fetchval("SELECT EXISTS (SELECT 1 FROM queue.job_count_deltas)"):
        if time.perf_counter() - started > limit_s:
            return f"count deltas still pending after {limit_s:.0f} s"
        await asyncio.sleep(0.1)
    return f"the queue service folded the count deltas in {time.perf_counter() - started:.1f} s"


async def vacuum(conn: asyncpg.Connection) -> str:
    """What autovacuum does soon after a bulk load: drop the dead delta rows the fold left (the
    counts query scans them until then), set the visibility map and the planner's statistics."""
    started = time.perf_counter()
    await conn.execute("VACUUM (ANALYZE) queue.jobs, queue.job_count_deltas")
    size = await conn.fetchval("SELECT pg_size_pretty(pg_total_relation_size('queue.jobs'))")
    return (
        f"vacuumed and analyzed in {time.perf_counter() - started:.1f} s; "
        f"queue.jobs is {size} with its indexes"
    )


# ---- the API -------------------------------------------------------------------------------------


class CapturePool:
    """Stands in for the gateway's pool: records the SQL its query builder would send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...]]] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.sent.append((sql, args))
        return []


@dataclass(frozen=True)
class Case:
    label: str
    path: str
    params: dict[str, str]
    sql: str
    args: tuple[Any, ...]


async def list_case(label: str, **params: str) -> Case:
    capture = CapturePool()
    await views.list_jobs(
        capture,  # type: ignore[arg-type]
        workspace="default",
        status=params.get("status"),
        limit=50,
        cursor=params.get("cursor"),
        trigger=params.get("trigger"),
        search=params.get("q"),
    )
    ((sql, args),) = capture.sent
    return Case(label, "/api/v1/jobs", {"limit": "50", **params}, sql, args)


async def counts_case(label: str, q: str | None = None) -> Case:
    capture = CapturePool()
    await views.job_counts(capture, "default", search=q)  # type: ignore[arg-type]
    ((sql, args),) = capture.sent
    return Case(label, "/api/v1/jobs/counts", {"q": q} if q else {}, sql, args)


async def deep_cursor(api: httpx.AsyncClient) -> str:
    cursor = ""
    for _ in range(DEEP_PAGES):
        params = {"limit": "50", **({"cursor": cursor} if cursor else {})}
        cursor = (await api.get("/api/v1/jobs", params=params)).json()["next_cursor"]
    return cursor


async def series(call: Callable[[], Awaitable[object]], budget_s: float = BUDGET_S) -> list[float]:
    for _ in range(WARMUP):
        await call()
    samples: list[float] = []
    deadline = time.perf_counter() + budget_s
    while len(samples) < REQUESTS and (
        len(samples) < MIN_REQUESTS or time.perf_counter() < deadline
    ):
        started = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - started)
    return samples


def ms(values: list[float], pct: float) -> float:
    return percentile(values, pct) * 1000


async def measure_case(
    case: Case, api: httpx.AsyncClient, conn: asyncpg.Connection
) -> tuple[tuple[str, ...], float]:
    async def over_http() -> None:
        (await api.get(case.path, params=case.params)).raise_for_status()

    ours = await series(over_http)
    sql = await series(lambda: conn.fetch(case.sql, *case.args))
    row = (
        case.label, str(len(ours)), f"{ms(ours, 50):.2f}", f"{ms(ours, 99):.2f}",
        f"{ms(sql, 50):.2f}", f"{ms(sql, 99):.2f}",
        f"{ms(ours, 50) / ms(sql, 50):.1f}x", f"{ms(ours, 99) / ms(sql, 99):.1f}x",
    )  # fmt: skip
    return row, ms(ours, 50)


async def why_slow(conn: asyncpg.Connection, case: Case, p50: float) -> str:
    plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {case.sql}", *case.args)
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        name = node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else "")
        rows = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        nodes.append(f"{name} ({rows:,.0f} rows)")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    took = plan[0]["Execution Time"]
    return f"  note: {case.label} p50 {p50:.1f} ms; SQL {took:.1f} ms: " + " → ".join(nodes[:5])


API_HEADER = ("measure", "n", "p50", "p99", "SQL p50", "SQL p99", "ratio p50", "ratio p99")


def api_client(stack: Stack) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {stack.token}"}
    return httpx.AsyncClient(base_url=stack.gateway_url, headers=headers, timeout=120)


async def steady_cases(api: httpx.AsyncClient) -> list[Case]:
    return [
        await list_case("first page"),
        await list_case(f"page {DEEP_PAGES + 1} (keyset cursor)", cursor=await deep_cursor(api)),
        await list_case("status=failed", status="failed"),
        await list_case(f"q={TITLE_SEARCH} (title substring)", q=TITLE_SEARCH),
        await list_case(f"q={LABEL_SEARCH} (label)", q=LABEL_SEARCH),
        await list_case("trigger=schedule", trigger="schedule"),
        await counts_case("counts (steady state)"),
        await counts_case(f"counts q={TITLE_SEARCH} (at most 10,000 counted)", q=TITLE_SEARCH),
    ]


Measured = tuple[list[tuple[str, ...]], list[str]]


async def measure_cases(
    cases: list[Case], api: httpx.AsyncClient, conn: asyncpg.Connection
) -> Measured:
    rows, notes = [], []
    for case in cases:
        row, p50 = await measure_case(case, api, conn)
        rows.append(row)
        if p50 > SLOW_MS:
            notes.append(await why_slow(conn, case, p50))
    return rows, notes


async def transient_counts(
    api: httpx.AsyncClient, conn: asyncpg.Connection, progress: list[str]
) -> Measured:
    """The counts right after a bulk insert, once the queue service has folded its deltas (it
    folds every second) but before vacuum has cleared the dead delta rows."""
    progress.append(await drained(conn))
    folded = await counts_case("counts (folded, before vacuum)")
    return await measure_cases([folded], api, conn)


# ---- the Jobs page -------------------------------------------------------------------------------

PROBE = """
(() => {
  const ready = () => {
    if (location.pathname === "/console/jobs") {
      const counts = [...document.querySelectorAll("[role=tab] .count")];
      return document.querySelectorAll("table.jobs tbody tr").length >= 50 && counts.length > 0
        && counts.every((count) => count.textContent.trim() !== "");
    }
    return document.querySelector("main h1")?.textContent === "Not found";
  };
  new MutationObserver((_, observer) => {
    if (window.__benchReady === undefined && ready()) {
      window.__benchReady = performance.now();
      observer.disconnect();
    }
  }).observe(document, { childList: true, subtree: true, characterData: true });
})();
"""
TIMINGS = (
    "() => [window.__benchReady, performance.getEntriesByType('navigation')[0].domInteractive]"
)


async def load_times(page: Page, path: str) -> tuple[list[float], list[float]]:
    """Navigation start → ready (the probe above), and domInteractive, in seconds."""
    ready: list[float] = []
    interactive: list[float] = []
    for index in range(2 + PAGE_LOADS):
        await page.goto("about:blank")
        await page.goto(path, wait_until="commit")
        await page.wait_for_function("() => window.__benchReady !== undefined", timeout=120_000)
        took, dom = await page.evaluate(TIMINGS)
        if index >= 2:  # the first two warm the browser's cache and connections
            ready.append(took / 1000)
            interactive.append(dom / 1000)
    return ready, interactive


async def measure_page(stack: Stack) -> list[tuple[str, ...]]:
    async with async_playwright() as playwright:
        browser = await launch(playwright)
        try:
            context = await browser.new_context(
                base_url=stack.gateway_url, viewport={"width": 1280, "height": 800}
            )
            await context.add_init_script(PROBE)
            page = await context.new_page()
            await sign_in(page, stack.token, "/console/jobs")
            shell, shell_dom = await load_times(page, "/console/not-a-page")
            jobs, jobs_dom = await load_times(page, "/console/jobs")
        finally:
            await browser.close()
    return [
        ("Jobs page: 50 rows + tab counts", str(len(jobs)), f"{ms(jobs, 50):.0f}",
         f"{ms(jobs, 99):.0f}", f"{ms(jobs_dom, 50):.0f}"),
        ("console shell, no jobs data", str(len(shell)), f"{ms(shell, 50):.0f}",
         f"{ms(shell, 99):.0f}", f"{ms(shell_dom, 50):.0f}"),
        ("ratio (Jobs page / shell)", "", f"{ms(jobs, 50) / ms(shell, 50):.1f}x",
         f"{ms(jobs, 99) / ms(shell, 99):.1f}x", ""),
    ]  # fmt: skip


# ---- the run -------------------------------------------------------------------------------------


async def at_size(stack: Stack, conn: asyncpg.Connection, have: int, size: int) -> str:
    print(f"  filling queue.jobs to {size:,} rows", flush=True)
    progress = [await fill(conn, have, size)]
    async with api_client(stack) as api:
        transient, notes = await transient_counts(api, conn, progress)
        progress.append(await vacuum(conn))
        print("  " + "; ".join(progress), flush=True)
        rows, more_notes = await measure_cases(await steady_cases(api), api, conn)
    page = await measure_page(stack)
    api_table = table(
        f"List API with {size:,} jobs (ms): gateway over HTTP keep-alive, beside the same SQL "
        "sent directly with asyncpg",
        [*rows, *transient],
        API_HEADER,
    )
    page_table = table(
        f"Jobs page in Chromium with {size:,} jobs (ms from navigation start, warm cache): "
        "baseline is the same console document and scripts rendering its Not found view",
        page,
        ("measure", "n", "p50", "p99", "domInteractive p50"),
    )
    return "\n".join([api_table, *more_notes, *notes, "", page_table, *busy()])


def busy() -> list[str]:
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load <= cpus:
        return []
    return [f"  note: load average {load:.1f} on {cpus} CPUs while measuring: other work competed"]


def run(stack: Stack) -> str:
    async def measure() -> list[str]:
        # The gateway's own pool set-up (JSON decoded by msgspec), so the baseline decodes alike.
        pool = await create_pool(stack.database_url, max_size=1)
        try:
            async with pool.acquire() as conn:
                have = await conn.fetchval("SELECT count(*) FROM queue.jobs")
                out = []
                for size in SIZES:
                    started = time.perf_counter()
                    out.append(await at_size(stack, conn, have, size))
                    took = time.perf_counter() - started
                    print(f"  {size:,} jobs done in {took:.0f} s", flush=True)
                    have = size
                return out
        finally:
            await pool.close()

    return "\n\n".join(asyncio.run(measure()))
