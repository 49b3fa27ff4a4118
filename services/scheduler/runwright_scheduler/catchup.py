"""Which due occurrences of a schedule fire, and which were missed while nobody fired them.

An occurrence handled within the grace period of its time is on time and fires. Older ones were
missed (the scheduler was down, or could not reach the queue): the latest ``catch_up`` of them
still fire, the rest are recorded as ``skipped_missed``. After a very long outage only the latest
``RECORD_LIMIT`` missed occurrences get a row each; the oldest row says that more were missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from runwright_proto.schedules import walk

RECORD_LIMIT = 1000


@dataclass(frozen=True)
class Plan:
    fire: list[datetime]
    missed: list[datetime]
    more_missed: bool
    """Occurrences older than ``missed[0]`` were missed too and get no row of their own."""
    next_fire_at: datetime


def plan(
    cron: str,
    timezone: str,
    next_fire_at: datetime,
    now: datetime,
    *,
    catch_up: int,
    grace: timedelta,
) -> Plan:
    """Sort the occurrences in ``[next_fire_at, now]``, oldest first, into fire and missed."""
    zone = ZoneInfo(timezone)
    due: list[datetime] = []
    more = False
    for instant in walk(cron, zone, now, forward=False):
        if instant < next_fire_at:
            break
        if len(due) == catch_up + RECORD_LIMIT:
            more = True
            break
        due.append(instant)
    due.reverse()
    on_time = [t for t in due if t >= now - grace]
    late = due[: len(due) - len(on_time)]
    kept = late[len(late) - catch_up :] if catch_up else []
    upcoming = next(walk(cron, zone, now, forward=True))
    return Plan(
        fire=kept + on_time,
        missed=late[: len(late) - len(kept)],
        more_missed=more,
        next_fire_at=upcoming,
    )
