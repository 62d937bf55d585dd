"""Python's full garbage collections, measured and kept short.

The tables of a worker on the memory store are Python objects: orders, their remembered
decisions, seller counts. Python's cyclic collector walks all of them in a full (generation 2)
collection, which it starts whenever the objects that survived the young generations grew by a
quarter since the last one; the worker stands still meanwhile (measured: 35 ms with the bench's
5,000 orders and 25,000 decisions, and it grows with the tables). Those pauses land in the
decision latency of whatever arrives meanwhile.

`freeze_survivors` moves every object alive into the permanent generation (`gc.freeze()`,
made for this), so full collections walk only what was created since the last freeze. It first
runs a full collection itself, which skips frozen objects and so costs what the young objects
cost: garbage cycles among them are not frozen. Table values are acyclic (dicts, lists, strings):
replaced or deleted, they are freed by reference counting, frozen or not. What is kept is a
garbage cycle that involves an object frozen earlier (asyncio and Kafka client objects replaced
after a reconnect or rebalance, say); `gc.unfreeze()` and a full collection would reclaim it.
"""
from __future__ import annotations

import gc
import time

from .web import metrics

_full_started: list[float] = []


def _time_full_collections(phase: str, info: dict) -> None:
    if info["generation"] != 2:   # young collections are frequent and short: not timed
        return
    if phase == "start":
        _full_started[:] = [time.perf_counter()]
    elif _full_started:
        metrics.GC_PAUSES.observe(time.perf_counter() - _full_started.pop())


def install_pause_metric() -> None:
    """Observe every full collection in `msggate_gc_full_collection_seconds` (once per process)."""
    if _time_full_collections not in gc.callbacks:
        gc.callbacks.append(_time_full_collections)


def freeze_survivors() -> int:
    """Collect what is not frozen yet, then freeze what is alive; returns the frozen count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def register(app, interval_seconds: float) -> None:
    """Measure full collections; every `interval_seconds` (0: never) freeze the survivors."""
    install_pause_metric()
    if not interval_seconds:
        return

    @app.timer(interval=interval_seconds)
    async def freeze_gc_survivors():
        freeze_survivors()
