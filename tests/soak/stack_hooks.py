"""What the soak uses of ``Stack``, in one place: the clustered shape's names, with today's
single-node stack as the fallback (one nats-server, one gateway)."""

from __future__ import annotations

from typing import Any

from runwright_stack.stack import Child, Stack, StackConfig

NOT_SERVICES = frozenset({"demo"})
"""Children that are no part of Runwright (the demo site the jobs drive)."""


def nats_nodes(stack: Stack) -> list[Any]:
    """Each nats-server (``alive``, ``kill``, ``launch``): three when clustered, else one."""
    nodes: list[Any] = getattr(stack, "nats_nodes", None) or [stack.nats]
    return nodes


def gateway_urls(stack: Stack) -> list[str]:
    urls: list[str] = getattr(stack, "gateway_urls", None) or [stack.gateway_url]
    return urls


def services(stack: Stack) -> dict[str, Child]:
    """Every service process by name (``queue``, ``executor-0``; ``gateway-1`` when clustered)."""
    return {n: c for n, c in stack.children.items() if n not in NOT_SERVICES}


def executors(stack: Stack) -> dict[str, Child]:
    return {n: c for n, c in services(stack).items() if n.startswith("executor")}


def clustered(stack: Stack) -> bool:
    return len(nats_nodes(stack)) > 1


def can_cluster() -> bool:
    """Whether this stack knows the clustered shape (``StackConfig.cluster``): the soak runs on
    it whenever it can."""
    return "cluster" in StackConfig.__dataclass_fields__
