"""Every line a service logs is JSON in production: structlog's own, and what the standard
library's loggers and Python's warnings write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from runwright_stack.stack import Stack

SCRIPT = textwrap.dedent(
    """
    import logging, warnings
    from runwright_common.logging import configure_logging, get_logger
    configure_logging("gateway", fmt="json")
    get_logger("runwright.gateway").info("ready", port=1)
    logging.getLogger("uvicorn.error").warning("a warning from uvicorn")
    warnings.warn("a warning at start-up", UserWarning, stacklevel=1)
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("asyncio").exception("a task failed")
    """
)


def test_standard_library_lines_and_warnings_are_json_too() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stderr.strip().splitlines()
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    assert len(records) == 4, lines
    assert records[0]["event"] == "ready"
    assert "a warning at start-up" in records[2]["event"]
    assert all(r["service"] == "gateway" for r in records)
    assert "boom" in records[-1]["exception"]


@pytest.mark.e2e
def test_every_line_of_the_gateway_log_is_json(stack: Stack, api: httpx.Client) -> None:
    assert api.get("/api/v1/jobs/not-an-id").status_code == 404
    log = stack.config.data_dir / "logs" / "gateway.log"
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    assert lines, "the gateway logged nothing"
    for line in lines:
        assert isinstance(json.loads(line), dict), line


CORRELATION_SCRIPT = textwrap.dedent(
    """
    import logging
    import structlog
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from runwright_common.logging import configure_logging, get_logger
    configure_logging("queue", fmt="json")
    trace.set_tracer_provider(TracerProvider())
    log = get_logger("runwright.queue")
    with trace.get_tracer("t").start_as_current_span("handling a job"):
        with structlog.contextvars.bound_contextvars(job_id="j-1", attempt=2, workspace="acme"):
            log.info("inside")
            logging.getLogger("asyncpg").warning("a library's line inside")
    log.info("outside")
    """
)


def test_lines_written_while_a_job_is_handled_name_it_and_its_span() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CORRELATION_SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    inside, library, outside = [json.loads(line) for line in done.stderr.strip().splitlines()]
    for record in (inside, library):
        assert (record["job_id"], record["attempt"], record["workspace"]) == ("j-1", 2, "acme")
        assert len(record["trace_id"]) == 32
        assert int(record["trace_id"], 16)
        assert len(record["span_id"]) == 16
        assert int(record["span_id"], 16)
    assert inside["trace_id"] == library["trace_id"]
    assert not {"job_id", "trace_id", "span_id"} & outside.keys()


def test_a_configuration_error_is_a_json_line_too() -> None:
    env = {**os.environ, "RUNWRIGHT_LOG_FORMAT": "json", "RUNWRIGHT_REAPER_INTERVAL_S": "soon"}
    done = subprocess.run(
        [sys.executable, "-m", "runwright_queue"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    record = json.loads(line)
    assert record["event"] == "configuration error"
    assert "RUNWRIGHT_REAPER_INTERVAL_S" in record["error"]
