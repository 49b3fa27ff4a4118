"""The `make run` banner tells people where the admin token is, and only what is true."""

from __future__ import annotations

from pathlib import Path

from runwright_cli.serve import token_lines
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
