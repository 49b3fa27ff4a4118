"""The soak's HTTP client: each call to a random gateway, retried on another one while a
gateway (or what it needs) is down, counting what the faults cost the clients."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

import httpx

RETRIED = frozenset({502, 503, 504})
SENT = (httpx.ReadError, httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.WriteError)
"""Errors after which the request may have reached the gateway (its answer was lost)."""


class GaveUp(Exception):
    """No gateway answered within the client's patience."""


@dataclass
class SseEvent:
    id: int
    event: str
    data: dict[str, Any]


class Api:
    def __init__(
        self, urls: Callable[[], list[str]], token: str, rng: random.Random, patience_s: float
    ) -> None:
        self.urls = urls
        self.rng = rng
        self.patience_s = patience_s
        self.client = httpx.AsyncClient(
            headers={"Authorization": f"Bearer {token}"},
            timeout=httpx.Timeout(30, connect=5),
            limits=httpx.Limits(max_connections=400, max_keepalive_connections=50),
        )
        self.retries: Counter[str] = Counter()
        """Retried calls by why (``connect``, ``lost answer``, ``503``, ...)."""
        self.server_errors: Counter[str] = Counter()
        """5xx answers other than 502-504, by ``METHOD path-shape status`` (a bug under faults)."""

    def base(self) -> str:
        return self.rng.choice(self.urls())

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        lost: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """The first answer that is not a 5xx; ``lost`` is told when a try may have been
        carried out though its answer never came (the call is retried all the same)."""
        deadline = time.monotonic() + self.patience_s
        delay = 0.2
        while True:
            try:
                response = await self.client.request(method, self.base() + path, json=json_body)
                if response.status_code < 500:
                    return response
                why = str(response.status_code)
                if response.status_code not in RETRIED:
                    shape = "/".join("{id}" if len(p) > 30 else p for p in path.split("/"))
                    self.server_errors[f"{method} {shape} {response.status_code}"] += 1
            except httpx.ConnectError:
                why = "connect"
            except SENT:
                why = "lost answer"
                if lost is not None:
                    lost()
            except httpx.TimeoutException:
                why = "timeout"
            self.retries[why] += 1
            if time.monotonic() > deadline:
                raise GaveUp(f"{method} {path}: no answer in {self.patience_s:g} s ({why})")
            await asyncio.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 3.0)

    async def get_json(self, path: str) -> Any:
        response = await self.call("GET", path)
        response.raise_for_status()
        return response.json()

    async def events(
        self, path: str, last_event_id: int | None, base: str | None = None
    ) -> AsyncGenerator[SseEvent | int, None]:
        """One connection to an SSE stream: the HTTP status first, then each event with an id
        (comments and keep-alives are skipped) until the server ends it or it breaks."""
        headers = {"Last-Event-ID": str(last_event_id)} if last_event_id is not None else {}
        url = (base or self.base()) + path
        timeout = httpx.Timeout(30, connect=5, read=60)
        async with self.client.stream("GET", url, headers=headers, timeout=timeout) as response:
            yield response.status_code
            if response.status_code != 200:
                return
            fields: dict[str, str] = {}
            async for line in response.aiter_lines():
                if line == "":
                    if "data" in fields and "id" in fields:
                        yield SseEvent(
                            int(fields["id"]),
                            fields.get("event", "message"),
                            json.loads(fields["data"]),
                        )
                    fields = {}
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                fields[name] = value[1:] if value.startswith(" ") else value

    async def close(self) -> None:
        await self.client.aclose()
