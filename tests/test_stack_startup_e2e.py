"""Starting the stack (what `make run` and every end-to-end test do): a gateway that exits while
the stack waits for its port is reported at once, with its last lines."""

from __future__ import annotations

import shutil

import pytest
from runwright_stack.ports import free_port
from runwright_stack.stack import Stack, StackConfig
from support.stack import new_data_dir

pytestmark = pytest.mark.e2e


def test_a_gateway_that_exits_before_it_listens_is_reported_with_its_last_lines() -> None:
    # A setting only the gateway reads, unreadable: it exits before it opens its port, while
    # the stack still waits for that port.
    stack = Stack(
        StackConfig(
            data_dir=new_data_dir(),
            gateway_port=free_port(),
            admin_token="test-admin-token",
            env={"RUNWRIGHT_SSE_KEEPALIVE_S": "soon"},
        )
    )
    try:
        with pytest.raises(RuntimeError, match="gateway exited with 2 during start-up") as raised:
            stack.start(ready_timeout=120)
        assert "sse_keepalive_s" in str(raised.value).lower(), "its last lines say why"
    finally:
        stack.stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)
