"""The `make run` banner tells people where the admin token is, and only what is true."""

from __future__ import annotations

from pathlib import Path

from runwright_cli.serve import first_owner_lines, token_lines
from runwright_stack.stack import Stack, StackConfig


def banner(data_dir: Path, token: str | None) -> str:
    config = StackConfig(data_dir=data_dir, gateway_port=8080, admin_token=token)
    stack = Stack(config)
    stack.token = stack.admin_token()
    return "\n".join(token_lines(stack, config))


def test_a_generated_token_is_shown_with_the_file_that_keeps_it(tmp_path: Path) -> None:
    text = banner(tmp_path, None)
    token = (tmp_path / "admin-token").read_text().strip()
    assert token in text
    assert f"kept in {tmp_path}/admin-token" in text
    assert f"$(cat {tmp_path}/admin-token)" in text


def test_a_token_from_the_environment_names_no_file_and_is_not_echoed(tmp_path: Path) -> None:
    (tmp_path / "admin-token").write_text("rw_stale\n")  # left by an earlier run
    text = banner(tmp_path, "rw_from_env_123")
    assert "admin-token" not in text
    assert "rw_from_env_123" not in text
    assert "rw_stale" not in text
    assert "RUNWRIGHT_ADMIN_TOKEN" in text


def test_the_banner_tells_the_first_owner_how_to_get_an_account(tmp_path: Path) -> None:
    config = StackConfig(data_dir=tmp_path, gateway_port=8080)
    text = "\n".join(first_owner_lines(Stack(config)))
    assert "http://127.0.0.1:8080/console" in text
    assert "invite yourself as owner" in text
    assert "runwright admin-token rotate" in text
