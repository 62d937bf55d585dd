"""Retention: what the sweep forgets, and what it must never forget (gateway.py, "retention").

Pure: the tables are dicts, time comes in as arguments. The stream half (timer, sweep messages
to the right partition, deletions on the changelog) is tests/stream/test_retention_on_kafka.py.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from streams.config import Config, ConfigError
from streams.gateway import (SELLER_KEY_RETENTION_DAYS, decide, expire_order, expired_orders, expired_seller_keys,
                             on_order_event, on_seller_message, order_cutoff, seller_sweep_messages,
                             seller_usage, sweep_seller_keys)
from streams.policy.rules.volume import window_days
from tests.helpers import request

US = "ATVPDKIKX0DER"
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def ts(days_before: float) -> str:
    return (NOW - timedelta(days=days_before)).isoformat().replace("+00:00", "Z")


def placed(order_id: str, days_before: float, n: int = 0) -> dict:
    return {"event_id": f"e-{order_id}-{n}", "event_type": "order_placed", "occurred_at": ts(days_before),
            "seller_id": "SELLER1", "marketplace_id": US, "order_id": order_id, "buyer_id": "B1",
            "buyer_locale": "en_US", "items": [{"asin": "B000TEST01", "sku": "S", "title": "Mug", "quantity": 1}]}


def shipped(order_id: str, days_before: float) -> dict:
    return {**placed(order_id, days_before, 1), "event_type": "order_shipped"}


def test_order_writes_stamp_last_activity_and_partition():
    orders: dict = {}
    on_order_event(orders, placed("111-0000001-0000001", 50), partition=3, offset=7)
    record = orders["111-0000001-0000001"]
    assert (record["active_at"], record["partition"]) == (ts(50), 3)
    on_order_event(orders, shipped("111-0000001-0000001", 48), partition=3, offset=8)
    assert orders["111-0000001-0000001"]["active_at"] == ts(48)
    decide(orders, request(order_id="111-0000001-0000001", requested_at=ts(10), marketplace_id=US,
                           subject="Order 111-0000001-0000001: delivery update",
                           body="Hello, your order 111-0000001-0000001 will arrive two days later. We apologise."),
           Config(), partition=3)
    assert orders["111-0000001-0000001"]["active_at"] == ts(10)
    # an event that happened earlier (arriving late) does not make the order look older
    late = {**placed("111-0000001-0000001", 60), "event_id": "late", "event_type": "return_requested"}
    on_order_event(orders, late, partition=3, offset=9)
    assert orders["111-0000001-0000001"]["active_at"] == ts(10)


def test_only_orders_inactive_past_the_retention_expire():
    orders: dict = {}
    on_order_event(orders, placed("111-0000001-0000001", 130), partition=1, offset=1)   # past 120 days
    on_order_event(orders, placed("111-0000002-0000002", 100), partition=2, offset=1)   # inside
    on_order_event(orders, placed("111-0000003-0000003", 130), partition=1, offset=2)
    on_order_event(orders, shipped("111-0000003-0000003", 5), partition=1, offset=3)    # active again
    assert list(expired_orders(orders.items(), order_cutoff(NOW, 120))) == [("111-0000001-0000001", 1)]


def test_the_agent_checks_again_before_deleting():
    orders: dict = {}
    on_order_event(orders, placed("111-0000001-0000001", 130), partition=1, offset=1)
    cutoff = order_cutoff(NOW, 120)
    # between the timer's look and the sweep message, the order became active again: kept
    on_order_event(orders, shipped("111-0000001-0000001", 0), partition=1, offset=2)
    assert not expire_order(orders, "111-0000001-0000001", cutoff)
    assert "111-0000001-0000001" in orders
    on_order_event(orders, placed("111-0000002-0000002", 130), partition=1, offset=3)
    assert expire_order(orders, "111-0000002-0000002", cutoff)
    assert "111-0000002-0000002" not in orders
    assert not expire_order(orders, "111-0000002-0000002", cutoff)   # a repeated sweep message: nothing


def test_records_from_before_the_stamp_use_their_lifecycle_dates_and_undated_ones_are_kept():
    legacy = {"state": {"placed_at": ts(200), "shipped_at": ts(190), "delivered_at": None, "cancelled_at": None,
                        "return_requested_at": None}, "optout_at": None, "partition": 0}
    undated = {"state": {"placed_at": None, "shipped_at": None, "delivered_at": None, "cancelled_at": None,
                         "return_requested_at": None}, "optout_at": None, "partition": 0}
    no_partition = {**legacy}
    del no_partition["partition"]
    found = list(expired_orders([("legacy", legacy), ("undated", undated), ("nopart", no_partition)],
                                order_cutoff(NOW, 120)))
    assert found == [("legacy", 0)]   # no partition: no way to reach its agent, kept until written again


def _approve(sellers: dict, message_id: str, days_before: float, seller: str = "SELLER1") -> None:
    decision = {"route": "approved", "critical": False, "violations": [], "warnings": [], "decided_at": ts(days_before),
                "message_id": message_id, "order_id": "111-0000001-0000001", "seller_id": seller,
                "request": request(message_id=message_id, seller_id=seller, marketplace_id=US,
                                   requested_at=ts(days_before))}
    outcome = on_seller_message(sellers, {"type": "decision", "decision": decision, "partition": 0}, Config())
    assert outcome.decision["route"] == "approved"


def _order_placed(sellers: dict, days_before: float, offset: int, seller: str = "SELLER1") -> None:
    on_seller_message(sellers, {"type": "order_placed", "seller_id": seller, "marketplace_id": US,
                                "order_id": "x", "occurred_at": ts(days_before), "source": [0, offset]}, Config())


def test_seller_keys_older_than_the_average_window_go_and_the_cap_is_unchanged():
    sellers: dict = {}
    for days in range(0, 15):                      # orders every day for two weeks
        for n in range(10):
            _order_placed(sellers, days, offset=days * 100 + n)
    for days in (0, 3, 12, 14):
        _approve(sellers, f"m-{days}", days)
    _approve(sellers, "m-other", 14, seller="SELLER2")
    usage_before = seller_usage(sellers, "SELLER1", US, NOW)
    assert usage_before["orders_in_window"] == 70

    expired = expired_seller_keys(sellers.items(), NOW.date())
    assert set(expired) == {"SELLER1", "SELLER2"}
    cutoff_day = (NOW.date() - timedelta(days=SELLER_KEY_RETENTION_DAYS)).isoformat()
    assert all(key.startswith(("d|", "m|")) for keys in expired.values() for key in keys)
    assert "m|SELLER1|m-12" in expired["SELLER1"] and "m|SELLER1|m-3" not in expired["SELLER1"]
    messages = list(seller_sweep_messages(expired, NOW.date()))
    assert {m["seller_id"] for m in messages} == {"SELLER1", "SELLER2"}
    assert all(m["before"] == cutoff_day for m in messages)
    deleted = sum(sweep_seller_keys(sellers, m) for m in messages)
    assert deleted == sum(len(keys) for keys in expired.values()) > 0

    # everything the cap of today (and of the next days) reads is still there
    for day in [NOW.date(), *window_days(NOW.date())]:
        assert f"d|SELLER1|{US}|{day.isoformat()}" in sellers
    assert seller_usage(sellers, "SELLER1", US, NOW) == usage_before
    assert "m|SELLER1|m-0" in sellers and "m|SELLER1|m-3" in sellers
    assert "m|SELLER1|m-12" not in sellers and "m|SELLER2|m-other" not in sellers


def test_a_sweep_message_deletes_only_its_own_sellers_keys_and_only_if_still_old():
    sellers: dict = {}
    _approve(sellers, "m-old", 20, seller="SELLER1")
    _approve(sellers, "m-old", 20, seller="SELLER2")
    before = (NOW.date() - timedelta(days=SELLER_KEY_RETENTION_DAYS)).isoformat()
    keys = ["m|SELLER1|m-old", "m|SELLER2|m-old", "m|SELLER1|missing"]
    assert sweep_seller_keys(sellers, {"type": "sweep", "seller_id": "SELLER1", "before": before, "keys": keys}) == 1
    assert "m|SELLER2|m-old" in sellers          # another seller's key lives in another partition
    # a day key still inside the window when the message arrives is kept
    day = (NOW.date() - timedelta(days=2)).isoformat()
    sellers[f"d|SELLER1|{US}|{day}"] = {"orders": 1, "sent": 0, "seller": "SELLER1", "day": day}
    assert sweep_seller_keys(sellers, {"type": "sweep", "seller_id": "SELLER1", "before": before,
                                       "keys": [f"d|SELLER1|{US}|{day}"]}) == 0


def test_seller_keys_written_before_values_named_their_seller_are_swept_too():
    sellers = {"m|SELLER1|old-message": "2026-10-01", f"d|SELLER1|{US}|2026-10-01": {"orders": 3, "sent": 1},
               f"d|SELLER1|{US}|2026-11-24": {"orders": 3, "sent": 1}}
    expired = expired_seller_keys(sellers.items(), date(2026, 11, 25))
    assert sorted(expired["SELLER1"]) == sorted(["m|SELLER1|old-message", f"d|SELLER1|{US}|2026-10-01"])
    for message in seller_sweep_messages(expired, date(2026, 11, 25)):
        sweep_seller_keys(sellers, message)
    assert list(sellers) == [f"d|SELLER1|{US}|2026-11-24"]


def test_keys_of_messages_the_cap_blocked_are_swept_like_approvals():
    sellers = {"b|SELLER1|old": ["2026-10-01", "SELLER1"], "b|SELLER1|new": ["2026-11-24", "SELLER1"],
               "w|3|messages.requests|0": [1234, 0]}
    expired = expired_seller_keys(sellers.items(), date(2026, 11, 25))
    assert expired == {"SELLER1": ["b|SELLER1|old"]}   # watermarks are few and never expire
    for message in seller_sweep_messages(expired, date(2026, 11, 25)):
        sweep_seller_keys(sellers, message)
    assert sorted(sellers) == ["b|SELLER1|new", "w|3|messages.requests|0"]


def test_sweep_messages_are_batched():
    expired = {"SELLER1": [f"m|SELLER1|{n}" for n in range(1201)]}
    sizes = [len(m["keys"]) for m in seller_sweep_messages(expired, NOW.date(), batch=500)]
    assert sizes == [500, 500, 201]


def test_retention_must_outlast_every_window():
    assert Config.from_dict({"gateway": {"order_retention_days": 0}}).gateway.order_retention_days == 0
    assert Config.from_dict({}).gateway.order_retention_days == 120
    with pytest.raises(ConfigError, match="longer than the 30-day window of defaults"):
        Config.from_dict({"gateway": {"order_retention_days": 30}})
    with pytest.raises(ConfigError, match="sellers.A1"):
        Config.from_dict({"gateway": {"order_retention_days": 60}, "sellers": {"A1": {"completion_window_days": 90}}})
    with pytest.raises(ConfigError, match="sweep_interval_seconds"):
        Config.from_dict({"gateway": {"sweep_interval_seconds": 0}})


class _Table:
    """What key_slices uses of a Faust table: `data` (the store) and `keys()`."""

    def __init__(self, data, keys):
        self.data, self._keys = data, keys

    def keys(self):
        return self._keys()


def test_key_slices_copies_a_dicts_keys_and_reads_other_stores_lazily():
    import asyncio

    from faust.stores.memory import Store as MemoryStore

    from streams.agents import key_slices

    memory = MemoryStore.__new__(MemoryStore)
    live = {f"k{n}": n for n in range(5)}
    table = _Table(memory, lambda: live.keys())

    async def write_between(table, size):   # a dict changed mid-iteration would raise here
        seen = []
        async for chunk in key_slices(table, size):
            seen.append(chunk)
            live[f"new{len(seen)}"] = 0
        return seen
    assert asyncio.run(write_between(table, 2)) == [["k0", "k1"], ["k2", "k3"], ["k4"]]

    pulled = []

    def lazy_keys():   # a RocksDB-like iterator: keys are read as the slices are taken
        for n in range(5):
            pulled.append(n)
            yield f"r{n}"
    rocks = _Table(object(), lazy_keys)

    async def first_slice_only():
        async for chunk in key_slices(rocks, 2):
            return chunk, list(pulled)
    chunk, pulled_then = asyncio.run(first_slice_only())
    assert chunk == ["r0", "r1"] and len(pulled_then) <= 3   # not the whole store at once
