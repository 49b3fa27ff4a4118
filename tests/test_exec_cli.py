"""`runwright exec`: the engine in one process, as a runbook author uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_server import running_demo_app

RUNWRIGHT = Path(sys.executable).parent / "runwright"
ROOT = Path(__file__).resolve().parents[1]


def run_exec(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RUNWRIGHT), "exec", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "160"},
    )


@pytest.fixture(scope="module")
def demo() -> object:
    with running_demo_app() as base_url:
        yield base_url


def pointed(path: Path, base_url: str, tmp_path: Path) -> Path:
    target = tmp_path / path.name
    target.write_text(path.read_text().replace("http://127.0.0.1:8090", base_url))
    return target


def test_exec_runs_the_readme_example_and_writes_the_report(demo: str, tmp_path: Path) -> None:
    runbook = pointed(ROOT / "examples" / "login.yaml", demo, tmp_path)
    result = run_exec(
        str(runbook),
        "--var",
        "email=ops@example.com",
        "--var",
        "password=demo",
        "--out",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Wait for the orders table on the dashboard" in result.stdout
    assert "5 succeeded, 0 failed" in result.stdout
    assert "demo" not in result.stdout.replace("demo app", "")
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert (report["status"], report["succeeded"]) == ("completed", 5)
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Sign in to Acme")


def test_exec_reports_a_failed_step_with_its_class_and_exits_1(demo: str, tmp_path: Path) -> None:
    runbook = pointed(ROOT / "examples" / "login.yaml", demo, tmp_path)
    runbook.write_text(
        runbook.read_text()
        .replace("id: orders", "id: no-such-table")
        .replace("defaultTimeout: 10000", "defaultTimeout: 800")
    )
    result = run_exec(
        str(runbook),
        "--var",
        "email=a@b.c",
        "--var",
        "password=demo",
        "--out",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert result.returncode == 1
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["failed"] == 1
    error = report["steps"][4]["error"]
    # "Page structure changed" when the dashboard was still rendering during the retries.
    kind = error.split(":")[0]
    assert kind in ("Element not found", "Page structure changed"), error
    assert kind in result.stdout
    assert any(f["kind"] == "screenshot" for f in report["files"])


def test_exec_names_the_field_of_an_invalid_runbook_and_exits_2(tmp_path: Path) -> None:
    runbook = tmp_path / "bad.yaml"
    runbook.write_text(
        (ROOT / "examples" / "login.yaml").read_text().replace("type: click", "type: clack")
    )
    result = run_exec(str(runbook), cwd=tmp_path)
    assert result.returncode == 2
    assert "steps[3].action.type" in result.stdout


def test_exec_asks_for_a_missing_prompt_variable(tmp_path: Path) -> None:
    result = run_exec(str(ROOT / "examples" / "login.yaml"), "--var", "email=a@b.c", cwd=tmp_path)
    assert result.returncode == 2
    assert "variables.password" in result.stdout
    assert "--var password=" in result.stdout


def test_exec_takes_secrets_from_a_file_and_masks_them(demo: str, tmp_path: Path) -> None:
    runbook = pointed(ROOT / "examples" / "login.yaml", demo, tmp_path)
    runbook.write_text(
        runbook.read_text().replace(
            '"Enter the email address {{email}}"', '"Enter the email address"'
        )
    )
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"password": "demo", "email": "hidden-person@example.com"}))
    result = run_exec(
        str(runbook), "--secrets", str(secrets), "--out", str(tmp_path / "o"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout
    assert "hidden-person@example.com" not in result.stdout
    assert "hidden-person" not in (tmp_path / "o" / "report.json").read_text()


def test_a_runbook_copied_from_the_format_page_runs_unchanged(demo: str, tmp_path: Path) -> None:
    runbook = pointed(ROOT / "tests" / "data" / "format-page-minimal.yaml", demo, tmp_path)
    result = run_exec(
        str(runbook), "--var", "email=ops@example.com", "--out", str(tmp_path / "out"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert [s["status"] for s in report["steps"]] == ["success"] * 3
