"""Generate JSON Schema for every message and for the runbook, and the AsyncAPI document of every
subject, into ``proto/schema/``.

``python -m runwright_proto.schema`` writes the files; ``--check`` exits 1 when they differ.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec
from runwright_runbook.model import Runbook

from runwright_proto import (
    approvals,
    artifacts,
    asyncapi,
    commands,
    control,
    events,
    reports,
    schedules,
    streams,
    webhooks,
)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schema"

MESSAGES: dict[str, Any] = {
    "commands": commands.SubmitJob
    | commands.SubmitReply
    | commands.SubmitBatch
    | commands.SubmitBatchReply
    | commands.DispatchJob
    | commands.ClaimJob
    | commands.ClaimReply
    | commands.RenewLease
    | commands.RenewReply
    | commands.RenewLeases
    | commands.RenewLeasesReply
    | commands.HealthReply
    | commands.ErrorReply,
    "reports": reports.Report,
    "events": events.JobEvent,
    "control": control.JobAction
    | control.ActionReply
    | control.Control
    | control.JobState
    | control.JobStateReply,
    "webhooks": webhooks.CreateWebhook
    | webhooks.WebhookCreated
    | webhooks.WebhookRejected
    | webhooks.DeleteWebhook
    | webhooks.WebhookDeleted,
    "approvals": approvals.Decide | approvals.DecideReply,
    "schedules": schedules.CreateSchedule
    | schedules.UpdateSchedule
    | schedules.DeleteSchedule
    | schedules.ScheduleReply,
    "webhook-notices": webhooks.JobFinishedNotice | webhooks.ApprovalRequestedNotice,
    "artifacts": artifacts.ArtifactStaged
    | artifacts.ArtifactStored
    | artifacts.PresignArtifact
    | artifacts.PresignReply,
}


def render() -> dict[str, str]:
    files: dict[str, str] = {}
    runbook = msgspec.json.schema(Runbook)
    runbook["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    runbook["title"] = "Runwright runbook"
    files["runbook.schema.json"] = _dump(runbook)
    for name, union in MESSAGES.items():
        schema = msgspec.json.schema(union)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        files[f"{name}.schema.json"] = _dump(schema)
    files["topology.schema.json"] = _dump(
        msgspec.json.schema(tuple[list[streams.StreamSpec], list[streams.ConsumerSpec]])
    )
    files["topology.json"] = _dump(
        {
            "streams": [msgspec.to_builtins(s) for s in streams.ALL_STREAMS],
            "consumers": [
                msgspec.to_builtins(c) for c in (*streams.ALL_CONSUMERS, webhooks.APPROVAL_NOTIFY)
            ],
        }
    )
    files["asyncapi.json"] = _dump(asyncapi.render())
    return files


def _dump(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    files = render()
    if "--check" in argv:
        stale = [
            n
            for n, text in files.items()
            if not (SCHEMA_DIR / n).exists() or (SCHEMA_DIR / n).read_text() != text
        ]
        extra = [p.name for p in SCHEMA_DIR.glob("*.json") if p.name not in files]
        for name in stale + extra:
            print(
                f"proto/schema/{name} is out of date; run `make proto`",
                file=sys.stderr,
            )
        return 1 if stale or extra else 0
    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        if old.name not in files:
            old.unlink()
    for name, text in files.items():
        (SCHEMA_DIR / name).write_text(text)
    print(f"wrote {len(files)} schema files to {SCHEMA_DIR}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
