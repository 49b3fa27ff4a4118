"""The committed JSON Schema and AsyncAPI document in proto/schema match the types and the
subject catalogue they are generated from."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from runwright_proto import channels as channels_module
from runwright_proto import schedules, schema, subjects, webhooks
from support.runbooks import example


def test_committed_schema_matches_the_message_types() -> None:
    rendered = schema.render()
    for name, text in rendered.items():
        path = schema.SCHEMA_DIR / name
        assert path.exists(), f"proto/schema/{name} missing: run `make proto`"
        assert path.read_text() == text, f"proto/schema/{name} is stale: run `make proto`"
    assert {p.name for p in schema.SCHEMA_DIR.glob("*.json")} == set(rendered)


@pytest.mark.parametrize("name", ["login.yaml", "export-orders.yaml"])
def test_the_runbook_schema_accepts_the_examples_and_rejects_an_unknown_action(name: str) -> None:
    import yaml

    document = yaml.safe_load(example(name, "http://127.0.0.1:8090"))
    runbook_schema = json.loads((schema.SCHEMA_DIR / "runbook.schema.json").read_text())
    jsonschema.validate(document, runbook_schema)
    document["steps"][0]["action"]["type"] = "teleport"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, runbook_schema)


ASYNCAPI_SPEC = Path(__file__).parent / "data" / "asyncapi-3.0.0.schema.json"
"""The AsyncAPI 3.0.0 specification's JSON Schema, from the @asyncapi/specs npm package 6.11.1
(Apache-2.0, licence beside it)."""


def declared_subjects() -> set[str]:
    """Every subject constant in proto: ``runwright.`` strings in subjects, webhooks, schedules."""
    found = set()
    for module in (subjects, webhooks, schedules):
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value.startswith("runwright."):
                found.add(value)
    return found


def test_the_asyncapi_document_is_valid_asyncapi_3() -> None:
    document = json.loads((schema.SCHEMA_DIR / "asyncapi.json").read_text())
    spec = json.loads(ASYNCAPI_SPEC.read_text())
    errors = list(jsonschema.Draft7Validator(spec).iter_errors(document))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]


def test_every_subject_has_a_channel_with_its_publishers_consumers_and_messages() -> None:
    document = json.loads((schema.SCHEMA_DIR / "asyncapi.json").read_text())
    channels = [c for c in document["channels"].values() if c["address"] is not None]
    assert {c["address"] for c in channels} == declared_subjects()
    for channel in channels:
        assert channel["messages"], channel["address"]
        assert channel["x-runwright-publishers"], channel["address"]
        assert channel["x-runwright-consumers"], channel["address"]
        if channel["x-runwright-transport"] == "jetstream":
            stream = channel["x-runwright-stream"]
            assert any(channel["address"].startswith(s.rstrip(">")) for s in stream["subjects"])
    services = {op["x-runwright-service"] for op in document["operations"].values()}
    assert services == set(channels_module.SERVICES)
