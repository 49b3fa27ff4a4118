"""Stream replicas are the installation's setting: every stream the system declares is created
with ``RUNWRIGHT_STREAM_REPLICAS`` copies (or its own override), and asking a single nats-server
for more copies than it has servers stops with a message naming the setting."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import pytest_asyncio
from nats.aio.client import Client
from runwright_bus.topology import Replicas, ensure_topology, stream_config
from runwright_common.errors import SettingsError
from runwright_common.settings import load
from runwright_proto import streams
from runwright_stack.nats_server import NatsServer
from runwright_stack.ports import free_port, wait_for_port


@pytest_asyncio.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url)
    js = client.jetstream()
    for spec in streams.ALL_STREAMS:
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(spec.name)
    yield client
    await client.close()


def test_the_setting_and_its_per_stream_overrides_reach_every_stream_config() -> None:
    replicas = load(
        Replicas,
        {
            "RUNWRIGHT_STREAM_REPLICAS": "3",
            "RUNWRIGHT_STREAM_REPLICAS_BY_STREAM": '{"EVENTS": 5}',
        },
    )
    configs = {s.name: stream_config(s, replicas.of(s.name)) for s in streams.ALL_STREAMS}
    assert {name: c.num_replicas for name, c in configs.items()} == {
        "DISPATCH": 3,
        "REPORTS": 3,
        "EVENTS": 5,
        "ARTIFACTS": 3,
    }
    assert load(Replicas, {}).of("DISPATCH") == 1, "one copy unless told"


def test_an_override_for_a_stream_that_does_not_exist_names_the_setting() -> None:
    replicas = load(Replicas, {"RUNWRIGHT_STREAM_REPLICAS_BY_STREAM": '{"EVENT": 3}'})
    with pytest.raises(
        SettingsError, match="RUNWRIGHT_STREAM_REPLICAS_BY_STREAM: no stream 'EVENT'"
    ):
        replicas.check(s.name for s in streams.ALL_STREAMS)
    with pytest.raises(SettingsError, match="RUNWRIGHT_STREAM_REPLICAS: replicas must be 1 to 5"):
        Replicas(stream_replicas=0).check([])


async def test_streams_are_created_with_the_configured_replicas(
    nc: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWRIGHT_STREAM_REPLICAS", "1")
    await ensure_topology(nc.jetstream(), streams.ALL_STREAMS)
    for spec in streams.ALL_STREAMS:
        info = await nc.jetstream().stream_info(spec.name)
        assert info.config.num_replicas == 1


async def test_more_replicas_than_servers_is_refused_with_a_message_naming_the_setting(
    nc: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNWRIGHT_STREAM_REPLICAS", "3")
    with pytest.raises(SettingsError) as refused:
        await ensure_topology(nc.jetstream(), streams.ALL_STREAMS)
    assert "RUNWRIGHT_STREAM_REPLICAS" in str(refused.value)
    assert "3 replicas" in str(refused.value)


def varz(server: NatsServer) -> dict[str, object]:
    with urllib.request.urlopen(f"{server.monitor_url}/varz", timeout=10) as answer:
        body: dict[str, object] = json.load(answer)
    return body


@pytest.mark.parametrize("durable", [True, False])
def test_a_durable_server_fsyncs_before_it_acknowledges(tmp_path: Path, durable: bool) -> None:
    """As under ``make run`` (durable): ``sync_interval: always``; the suite's own servers keep
    the default interval (speed over a power loss nobody tests)."""
    node = NatsServer(tmp_path, tmp_path, durable=durable)
    node.monitor_port = free_port()
    node.start()
    try:
        wait_for_port(node.monitor_port, 15)
        config = varz(node)["jetstream"]["config"]  # type: ignore[index]
        assert bool(config.get("sync_always")) is durable
    finally:
        node.stop()
