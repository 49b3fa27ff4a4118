"""The committed JSON Schema in proto/schema matches the message types it is generated from."""

from __future__ import annotations

import json

import jsonschema
import pytest
from runwright_proto import schema
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
