"""streams/gc_pauses.py: full collections are measured, and freezing keeps them off the tables."""
from __future__ import annotations

import gc
import weakref

import pytest

from streams import gc_pauses
from streams.config import Config, ConfigError
from streams.web import metrics


@pytest.fixture(autouse=True)
def unfrozen():
    yield
    gc.unfreeze()


def _full_collections_observed() -> float:
    return metrics.GC_PAUSES._sum.get(), sum(bucket.get() for bucket in metrics.GC_PAUSES._buckets)


def test_frozen_table_values_are_out_of_full_collections_and_still_freed_when_replaced():
    table = {f"order-{n}": {"state": {"status": "shipped"}, "decisions": {f"m-{n}": {"route": "approved"}}}
             for n in range(20_000)}
    tracked_before = len(gc.get_objects(generation=2)) + len(gc.get_objects(generation=1))
    frozen = gc_pauses.freeze_survivors()
    # each value holds two dicts the collector tracks (one of only strings it does not track)
    assert frozen >= 2 * 20_000
    assert len(gc.get_objects(generation=2)) + len(gc.get_objects(generation=1)) < tracked_before - 2 * 20_000
    for key in list(table)[:10_000]:                 # replaced: freed by reference counting, frozen or not
        table[key] = None
    assert gc.get_freeze_count() <= frozen - 2 * 10_000


def test_garbage_cycles_made_since_the_last_freeze_are_collected_not_frozen():
    class Node:
        pass

    first, second = Node(), Node()
    first.other, second.other = second, first      # a cycle: reference counting alone never frees it
    alive = weakref.ref(first)
    del first, second
    gc_pauses.freeze_survivors()
    assert alive() is None


def test_full_collections_are_observed_and_young_ones_are_not():
    gc_pauses.install_pause_metric()
    gc_pauses.install_pause_metric()                 # idempotent: one callback
    assert gc.callbacks.count(gc_pauses._time_full_collections) == 1
    _, before = _full_collections_observed()
    gc.collect(0)
    gc.collect(1)
    assert _full_collections_observed()[1] == before
    gc.collect()
    assert _full_collections_observed()[1] == before + 1


def test_the_freeze_interval_is_configurable_and_validated():
    assert Config().gateway.gc_freeze_interval_seconds == 10.0
    assert Config.from_dict({"gateway": {"gc_freeze_interval_seconds": 0}}).gateway.gc_freeze_interval_seconds == 0
    assert Config.from_dict({"gateway": {"gc_freeze_interval_seconds": 60}}).gateway.gc_freeze_interval_seconds == 60
    for bad in (0.5, -1, 4000, "10", True):
        with pytest.raises(ConfigError, match="gc_freeze_interval_seconds"):
            Config.from_dict({"gateway": {"gc_freeze_interval_seconds": bad}})
