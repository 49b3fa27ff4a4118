"""Handing a file over survives a failure after its upload: the retry announces the file already
in the staging bucket instead of uploading it again, which would purge the first upload's chunks,
a right only the artifact service has (seen in the chaos soak: a NATS node killed between the
upload and the announcement left the executor refused on every retry and the file unsent)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path
from typing import Any

import nats
import pytest
from runwright_engine.files import FileRecord
from runwright_executor import stager
from runwright_proto.permissions import inbox_prefix
from runwright_stack.stack import Stack

pytestmark = pytest.mark.e2e


async def test_a_file_uploaded_before_its_announcement_failed_is_only_announced_again(
    stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refused: list[str] = []

    async def on_error(exc: Exception) -> None:
        refused.append(str(exc))

    nc = await nats.connect(
        stack.nats.address,
        user="executor",
        password=stack.nats.passwords["executor"],
        inbox_prefix=inbox_prefix("executor"),
        error_cb=on_error,
        connect_timeout=5,
    )
    announced: list[Any] = []
    real_publish = stager.publish  # type: ignore[attr-defined]

    async def publish_failing_once(*args: Any, **kwargs: Any) -> None:
        announced.append(args[2])
        if len(announced) == 1:
            raise ConnectionError("the node this executor was connected to died")
        await real_publish(*args, **kwargs)

    monkeypatch.setattr(stager, "publish", publish_failing_once)
    body = b"exported table\n" * 100
    path = tmp_path / "table.csv"
    path.write_bytes(body)
    record = FileRecord(
        kind="export",
        name="table.csv",
        path=path,
        size=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        content_type="text/csv",
        ordinal=1,
    )
    try:
        handing = stager.Stager(nc.jetstream(), str(uuid.uuid4()), 1)
        artifact_id = await handing.stage(record, attempts=3)
        assert artifact_id is not None, f"the file was not handed over: {refused}"
        assert [a.artifact_id for a in announced] == [artifact_id, artifact_id]
        assert not refused, refused
    finally:
        await nc.close()
