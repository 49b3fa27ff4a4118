"""Recurring schedules: the gateway-to-scheduler messages, and what a cron line in a zone means.

The meaning of ``cron`` + ``timezone`` is part of the contract: the gateway shows the next fire
times and rejects bad lines with it, the scheduler fires with it, so both agree to the second.
Daylight-saving time follows Vixie cron: a schedule at a fixed time of day (no ``*`` in the minute
or hour field) whose time the clocks skip fires once, at the end of the gap (02:30 becomes 03:00),
and fires only the first time of a repeated hour; a schedule with ``*`` in either field follows
the clock: it does not fire in a skipped hour and fires in both copies of a repeated one.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo, available_timezones

from croniter import CroniterBadDateError, CroniterError, croniter
from msgspec import Struct
from runwright_runbook.model import Runbook
from runwright_runbook.parse import FieldError

from runwright_proto.commands import JobOptions, StepSpec

CREATE = "runwright.scheduler.create"
"""Request/reply, gateway to scheduler: record a new schedule (``CreateSchedule``)."""

UPDATE = "runwright.scheduler.update"
"""Request/reply, gateway to scheduler: replace a schedule's definition (``UpdateSchedule``)."""

DELETE = "runwright.scheduler.delete"
"""Request/reply, gateway to scheduler: remove a schedule and its history (``DeleteSchedule``)."""

Overlap = Literal["skip", "allow", "cancel_previous"]
Outcome = Literal["fired", "skipped_overlap", "skipped_missed", "failed"]
OVERLAPS: tuple[str, ...] = ("skip", "allow", "cancel_previous")


class _Message(Struct, frozen=True, kw_only=True, tag_field="type"):
    pass


class JobTemplate(Struct, frozen=True, kw_only=True):
    """The job every occurrence submits, built and validated by the gateway like a job request.

    The scheduler adds a new job id per occurrence and ``trigger="schedule"``.
    """

    title: str
    runbook: Runbook
    steps: list[StepSpec]
    variables: dict[str, Any] = {}
    priority: int = 0
    labels: dict[str, str] = {}
    options: JobOptions = JobOptions()
    workspace: str = "default"
    """The workspace the schedule and every job it submits belong to."""


class Requested(Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What the schedule's request itself said; ``None`` lets the runbook's ``x-runwright`` decide.

    Kept so that a later change of the runbook is resolved the way the request meant it.
    """

    priority: int | None = None
    labels: dict[str, str] = {}
    screenshots: bool | None = None
    video: bool | None = None


class ScheduleSpec(Struct, frozen=True, kw_only=True):
    name: str
    cron: str
    timezone: str
    job: JobTemplate
    requested: Requested = Requested()
    overlap: Overlap = "skip"
    paused: bool = False
    runbook_ref: str | None = None
    """A stored runbook: ``<slug>`` follows its published version (the scheduler reads it at each
    occurrence), ``<slug>@<n>`` is pinned (``job`` holds that version)."""


class CreateSchedule(_Message, tag="schedule.create", frozen=True):
    """Idempotent on ``schedule_id``: a retried request answers with the schedule recorded."""

    schedule_id: str
    spec: ScheduleSpec


class UpdateSchedule(_Message, tag="schedule.update", frozen=True):
    """Replace the definition, only while the schedule is still at ``version``."""

    schedule_id: str
    version: int
    spec: ScheduleSpec


class DeleteSchedule(_Message, tag="schedule.delete", frozen=True):
    schedule_id: str
    version: int | None = None


class ScheduleReply(_Message, tag="schedule.reply", frozen=True):
    schedule_id: str
    outcome: Literal["created", "updated", "deleted", "not_found", "conflict", "invalid"]
    version: int | None = None
    detail: str | None = None
    errors: list[FieldError] = []


# --- what a cron line in a time zone means -------------------------------------------------

_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})
_DAY = timedelta(days=1)
_NONE = timedelta()


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def schedule_errors(cron: str, timezone: str) -> list[FieldError]:
    """What is wrong with a cron line (5 fields) and an IANA time zone name, by field."""
    errors: list[FieldError] = []
    if timezone not in _zones():
        errors.append(
            FieldError(
                "timezone",
                f"unknown time zone {timezone!r}; use an IANA name such as Europe/Berlin or UTC",
            )
        )
    fields = cron.split()
    if len(fields) != 5:
        errors.append(
            FieldError(
                "cron",
                "a cron line has 5 fields (minute hour day-of-month month day-of-week); "
                f"got {len(fields)} in {cron!r}",
            )
        )
        return errors
    try:
        croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        errors.append(FieldError("cron", f"{cron!r} matches no date (such as 31 February)"))
    except (CroniterError, ValueError, KeyError) as exc:
        errors.append(FieldError("cron", f"{cron!r} is not a valid cron line: {exc}"))
    return errors


def fire_times(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The first ``count`` fire times strictly after ``after``, in the schedule's zone."""
    zone = ZoneInfo(timezone)
    times: list[datetime] = []
    for instant in walk(cron, zone, after, forward=True):
        times.append(instant.astimezone(zone))
        if len(times) == count:
            break
    return times


def walk(cron: str, zone: ZoneInfo, start: datetime, *, forward: bool) -> Iterator[datetime]:
    """Fire times (UTC) strictly after ``start`` going forward, or at or before it going back."""
    fields = cron.split()
    fixed = "*" not in fields[0] and "*" not in fields[1]
    offsets = [(start + d).astimezone(zone).utcoffset() or _NONE for d in (-_DAY, _NONE, _DAY)]
    # The first wall-clock time that can map to an instant on the right side of ``start``.
    shift = min(offsets) if forward else max(offsets) + timedelta(seconds=1)
    wall = (start.astimezone(UTC) + shift).replace(tzinfo=None)
    it = croniter(cron, wall)
    step = it.get_next if forward else it.get_prev
    pending: list[datetime] = []
    last: datetime | None = None
    while True:
        found = instants(step(datetime), zone, fixed=fixed)
        if not found:
            continue
        # Instants of later wall times never fall before this edge, so everything up to it is
        # final (only inside a repeated hour are instants out of wall-clock order).
        edge = min(found) if forward else max(found)
        ready = [t for t in pending if (t <= edge if forward else t >= edge)]
        pending = [t for t in pending if t not in ready] + found
        for instant in sorted(ready, reverse=not forward):
            on_side = instant > start if forward else instant <= start
            if instant != last and on_side:
                last = instant
                yield instant


def instants(wall: datetime, zone: ZoneInfo, *, fixed: bool) -> list[datetime]:
    """The instants (UTC) at which a schedule fires for one wall-clock time in ``zone``."""
    first, second = (wall.replace(tzinfo=zone, fold=f).astimezone(UTC) for f in (0, 1))
    if first.astimezone(zone).replace(tzinfo=None) != wall:  # the clocks skip this time
        return [_gap_end(second, first, zone)] if fixed else []
    if first != second and not fixed:  # a repeated hour
        return [first, second]
    return [first]


def _gap_end(before: datetime, after: datetime, zone: ZoneInfo) -> datetime:
    """The instant the clocks jump forward, between two UTC instants that straddle it."""
    wall_before = before.astimezone(zone).replace(tzinfo=None)
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) - wall_before > middle - before:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)
