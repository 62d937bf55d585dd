"""The production store (RocksDB, one memory budget per worker) on the real broker.

The session worker runs on the memory store; here it steps aside for a RocksDB worker that
takes over every partition, must recover the tables from the changelogs the other worker wrote,
keep state across its own restart (local RocksDB files + changelogs), and then hands back.
"""
from __future__ import annotations

import re
import time
import urllib.request

import pytest

from tests.helpers import request
from tests.stream.conftest import WorkerProcess, wait_caught_up

SELLER = {"seller_id": "SELLERR", "marketplace_id": "ATVPDKIKX0DER"}


def placed(order_id: str, buyer: str) -> dict:
    return {"event_id": f"rdb-{order_id}", "event_type": "order_placed", "occurred_at": "2026-11-01T10:00:00Z",
            "order_id": order_id, "buyer_id": buyer, "buyer_locale": "en_US",
            "items": [{"asin": "B000TEST01", "sku": "S", "title": "Lamp", "quantity": 1}], **SELLER}


def delivered(order_id: str, buyer: str) -> dict:
    return {"event_id": f"rdb-{order_id}-d", "event_type": "order_delivered", "occurred_at": "2026-11-03T10:00:00Z",
            "order_id": order_id, "buyer_id": buyer, **SELLER}


def review(message_id: str, order_id: str) -> dict:
    return request(message_id=message_id, order_id=order_id, contact_reason="review_request",
                   requested_at="2026-11-12T10:00:00Z", subject=f"Order {order_id}",
                   body=f"Hello, how do you like the lamp of order {order_id}? A review on Amazon would help.",
                   **SELLER)


def routes(found, ids):
    return {r["message_id"]: topic for topic, r in found if r.get("message_id") in ids}


@pytest.fixture
def rocksdb_worker(broker, worker, tmp_path):
    """The session worker stops; a RocksDB worker owns every partition; afterwards, the reverse."""
    assert worker.stop() == 0, worker.tail()
    process = WorkerProcess(broker.bootstrap, tmp_path, store="rocksdb://").start()
    yield process
    if process.proc.poll() is None:
        process.stop()
    worker.start()


def test_rocksdb_worker_recovers_and_keeps_state_across_a_restart(gateway, rocksdb_worker):
    orders = [f"611-{n:07d}-4440001" for n in range(40)]
    gateway.send([("orders.events", e, None) for n, o in enumerate(orders)
                  for e in (placed(o, f"RB{n}"), delivered(o, f"RB{n}"))])
    wait_caught_up(rocksdb_worker.web_port)   # delivered applied before the review requests
    first = {f"rdb-{o}-1": o for o in orders}
    gateway.send([("messages.requests", review(m, o), None) for m, o in first.items()])
    records = gateway.collect(lambda f: set(first) <= set(routes(f, first)), timeout=90)
    found = routes(records, first)
    assert set(found.values()) == {"messages.approved"}, \
        {r["message_id"]: [v["code"] for v in r["violations"]] for _, r in records if r.get("message_id") in first}

    assert rocksdb_worker.stop() == 0, rocksdb_worker.tail()
    assert list((rocksdb_worker.folder / "data").rglob("*.sst")) or list((rocksdb_worker.folder / "data").rglob("*.log")), \
        "no RocksDB files written"
    rocksdb_worker.start()
    second = {f"rdb-{o}-2": o for o in orders}     # a second review request per order: TYP007
    gateway.send([("messages.requests", review(m, o), None) for m, o in second.items()])
    found = gateway.collect(lambda f: set(second) <= set(routes(f, second)), timeout=90)
    assert set(routes(found, second).values()) == {"messages.blocked"}
    codes = {r["message_id"]: {v["code"] for v in r["violations"]} for _, r in found if r.get("message_id") in second}
    assert all("TYP007" in c for c in codes.values()), codes

    keys: dict[str, float] = {}
    deadline = time.monotonic() + 20   # the gauges refresh every few seconds
    while keys.get("orders", 0) < len(orders) and time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{rocksdb_worker.web_port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        keys = {m.group(1): float(m.group(2))
                for m in re.finditer(r'^msggate_table_keys\{table="(\w+)"\} (\S+)$', metrics, re.M)}
        time.sleep(1)
    assert keys.get("orders", 0) >= len(orders), keys   # RocksDB's estimate, read from the databases
