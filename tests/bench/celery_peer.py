"""Celery with Redis, the peer queue of ``make bench submit``.

Runs only under the benchmark's own environment (``.bench/celery``, from
``celery-requirements.txt``), never in Runwright's: it imports nothing of ours. The benchmark
starts a worker with ``celery -A celery_peer worker`` and asks this module, as a script, for its
figures, which it prints as one JSON object.

- ``latency N``: N tasks one after another; each sample is submit (before ``apply_async``) to
  the task's body starting in the worker (its own ``time.time()``, pushed to a Redis list).
- ``burst N CLIENTS``: N ``apply_async`` calls from CLIENTS threads at once; accepted per
  second and the per-call latency (the enqueue is done when Redis has answered the push).
- ``drain N CLIENTS``: as ``burst``, then until the worker has run all N tasks.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid

import redis
from celery import Celery

URL = os.environ.get("PEER_REDIS_URL", "redis://127.0.0.1:6379/0")

app = Celery("peer", broker=URL)
app.conf.update(
    task_ignore_result=True,
    worker_prefetch_multiplier=1,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)
_redis = redis.Redis.from_url(URL)


@app.task(name="peer.touch")
def touch(key: str) -> None:
    started = time.time()
    _redis.rpush(key, started)


def latency(count: int) -> dict[str, list[float]]:
    samples = []
    for _ in range(count):
        key = f"peer:{uuid.uuid4()}"
        sent = time.time()
        touch.apply_async(args=[key])
        _, started = _redis.blpop([key], timeout=30) or (None, None)
        if started is None:
            raise SystemExit("a task did not start within 30 s")
        samples.append(float(started) - sent)
        time.sleep(0.05)
    return {"samples": samples}


def burst(count: int, clients: int, wait: bool) -> dict[str, object]:
    key = f"peer:{uuid.uuid4()}"
    calls: list[float] = []
    per_client = [count // clients + (1 if i < count % clients else 0) for i in range(clients)]
    lock = threading.Lock()
    ready = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        ready.wait()
        mine = []
        for _ in range(n):
            sent = time.perf_counter()
            touch.apply_async(args=[key])
            mine.append(time.perf_counter() - sent)
        with lock:
            calls.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in per_client]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    accepted = time.perf_counter() - started
    result: dict[str, object] = {"accepted_s": accepted, "calls": calls}
    if wait:
        deadline = time.monotonic() + 600
        while _redis.llen(key) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        result["drained_s"] = time.perf_counter() - started
        result["ran"] = _redis.llen(key)
    return result


def main() -> None:
    mode, *numbers = sys.argv[1:]
    args = [int(n) for n in numbers]
    if mode == "latency":
        out: dict[str, object] = dict(latency(args[0]))
    elif mode in ("burst", "drain"):
        out = burst(args[0], args[1], wait=mode == "drain")
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
