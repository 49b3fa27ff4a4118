"""Schedules over HTTP: recurring jobs on a cron line in a time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from msgspec import UNSET, Meta, Struct, UnsetType

from runwright_proto.api.jobs import Labels
from runwright_proto.schedules import Overlap

Name = Annotated[str, Meta(min_length=1, max_length=200)]


class ScheduleRequest(Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/schedules``: ``cron`` (5 fields), ``timezone`` (IANA) and a job request."""

    cron: Annotated[str, Meta(max_length=200)]
    runbook: str | dict[str, Any] | None = None
    """The runbook (YAML or an object), or name a stored one in ``runbook_ref``."""
    runbook_ref: Annotated[str, Meta(min_length=1, max_length=80)] | None = None
    """A stored runbook: ``<slug>`` follows whatever version is published when an occurrence
    fires; ``<slug>@<n>`` stays on version n."""
    timezone: Annotated[str, Meta(max_length=100)] = "UTC"
    name: Name | None = None
    variables: dict[str, Any] = {}
    secrets: dict[str, Any] = {}
    priority: int | None = None
    labels: Labels = {}
    overlap: Overlap = "skip"
    paused: bool = False
    screenshots: bool | None = None
    video: bool | None = None


class ScheduleChange(Struct, forbid_unknown_fields=True, kw_only=True):
    """``PATCH /api/v1/schedules/{id}``: only the fields sent change."""

    cron: str | UnsetType = UNSET
    runbook: str | dict[str, Any] | UnsetType = UNSET
    runbook_ref: str | UnsetType | None = UNSET
    timezone: str | UnsetType = UNSET
    name: Name | UnsetType | None = UNSET
    variables: dict[str, Any] | UnsetType = UNSET
    secrets: dict[str, Any] | UnsetType = UNSET
    priority: int | UnsetType | None = UNSET
    labels: Labels | UnsetType = UNSET
    overlap: Overlap | UnsetType = UNSET
    paused: bool | UnsetType = UNSET
    screenshots: bool | UnsetType | None = UNSET
    video: bool | UnsetType | None = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields the caller sent, by name."""
        return {
            name: value
            for name in self.__struct_fields__
            if (value := getattr(self, name)) is not UNSET
        }


class ScheduleView(Struct, kw_only=True):
    id: str
    name: str
    cron: Annotated[str, Meta(max_length=200)]
    description: str = ""
    """The cron line in words ("At 06:00, Monday through Friday"), in the schedule's zone."""
    timezone: str
    overlap: str
    paused: bool
    version: int
    runbook: dict[str, Any]
    """The runbook the next occurrence runs (for one that follows a stored runbook: the version
    published when the schedule was last saved; the occurrence reads the published one)."""
    runbook_ref: str | None = None
    variables: dict[str, Any]
    """Sensitive variables' values read ``***``."""
    priority: int
    labels: dict[str, str]
    screenshots: bool
    video: bool
    created_at: datetime
    updated_at: datetime
    next_fire_at: datetime | None
    last_fired_at: datetime | None
    last_job_id: str | None
    next_fire_times: list[datetime]


class SchedulePage(Struct, kw_only=True):
    items: list[ScheduleView]
    next_cursor: str | None


class OccurrenceView(Struct, kw_only=True):
    fire_at: datetime
    outcome: str
    job_id: str | None
    detail: str | None
    created_at: datetime


class OccurrenceList(Struct, kw_only=True):
    items: list[OccurrenceView]
