"""One span per runbook step: its action type, the selector strategy that matched, its retries
and outcome. Nothing of the step's values goes in (they may be secrets or personal data)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from runwright_runbook.model import Step, action_type

from runwright_engine.outcomes import StepResult

_tracer = trace.get_tracer("runwright.engine")

STEP_SPAN = "runbook step"


@contextmanager
def step_span(step: Step) -> Iterator[Callable[[StepResult], None]]:
    """A span around one step (its approval wait, its run, a held failure's reruns); call the
    answer with the step's result."""
    with _tracer.start_as_current_span(
        STEP_SPAN,
        attributes={
            "runwright.step.ordinal": step.ordinal,
            "runwright.step.action": action_type(step.action),
        },
    ) as span:

        def finished(result: StepResult) -> None:
            span.set_attribute("runwright.step.outcome", result.status)
            span.set_attribute("runwright.step.retries", result.retries)
            if result.strategy:
                span.set_attribute("runwright.step.selector_strategy", result.strategy)
            if result.error is not None:
                span.set_attribute("runwright.step.error", result.error.kind)
                span.set_status(Status(StatusCode.ERROR, result.error.kind))

        yield finished
