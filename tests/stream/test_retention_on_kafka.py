"""Retention on the real broker: the sweep forgets what is past its use, from the right partition.

The session worker steps aside for one with a sweep every second. Orders last active 1,000 days
ago (retention 365 days) and seller keys older than nine days must go; recent orders and today's
seller counts must stay; each deletion must be the last record of the order's own changelog
partition, so that no restart brings it back. (The RocksDB sweep, which reads its keys through
an iterator while the agents write, runs in tests/stream/test_rocksdb_on_kafka.py.)
"""
from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest

from streams import gateway
from streams.cli.ops import _snapshot as snapshot
from streams.policy.rules.volume import marketplace_day
from tests.helpers import request
from tests.stream.conftest import WorkerProcess

SELLER = {"marketplace_id": "ATVPDKIKX0DER"}
NOW = datetime.now(timezone.utc)
OLD = [f"721-{n:07d}-5550001" for n in range(4)]
NEW = [f"731-{n:07d}-5550001" for n in range(4)]


def ts(days_before: float) -> str:
    return (NOW - timedelta(days=days_before)).isoformat(timespec="seconds").replace("+00:00", "Z")


def _day(days_before: float) -> str:
    """The marketplace day (its own time zone) of NOW minus `days_before`, as the seller stage counts it."""
    return marketplace_day(SELLER["marketplace_id"], NOW - timedelta(days=days_before)).isoformat()


def _day_key(days_before: float) -> str:
    """The seller stage's key for the seller's counts of that day."""
    return gateway._day_key(seller_of(""), SELLER["marketplace_id"],
                            marketplace_day(SELLER["marketplace_id"], NOW - timedelta(days=days_before)))


def seller_of(order_id: str) -> str:
    return "SELLERT"


def events(order_id: str, placed_days_before: float) -> list[dict]:
    base = {"order_id": order_id, "buyer_id": f"B-{order_id}", "seller_id": seller_of(order_id), **SELLER}
    return [{**base, "event_id": f"ret-{order_id}-p", "event_type": "order_placed", "occurred_at": ts(placed_days_before),
             "buyer_locale": "en_US", "items": [{"asin": "B000TEST01", "sku": "S", "title": "Lamp", "quantity": 1}]},
            {**base, "event_id": f"ret-{order_id}-d", "event_type": "order_delivered",
             "occurred_at": ts(placed_days_before - 1)}]


def message(message_id: str, order_id: str, days_before: float, reason: str = "order_issue") -> dict:
    return request(message_id=message_id, order_id=order_id, contact_reason=reason, requested_at=ts(days_before),
                   subject=f"Order {order_id}: your lamp",
                   body=f"Hello, about your order {order_id}: the lamp manual is on the product page. Thank you.",
                   seller_id=seller_of(order_id), **SELLER)


def decisions(found, ids) -> dict[str, tuple[str, set[str]]]:
    return {r["message_id"]: (topic, {v["code"] for v in r["violations"]}) for topic, r in found
            if r.get("message_id") in ids}


def swept(web_port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'msggate_state_swept_total\{table="(\w+)"\} ([0-9.e+]+)', text)}


def changelog_records(bootstrap: str, topic: str, keys: set[bytes]) -> dict[bytes, list[tuple[int, bytes | None]]]:
    """(partition, value) of every record of `keys` in a changelog topic, in offset order per
    partition (read the way `msggate stats` reads the sellers changelog)."""
    async def read():
        found: dict[bytes, list[tuple[int, bytes | None]]] = {k: [] for k in keys}
        async for _topic, record in snapshot(bootstrap, [topic]):
            if record.key in found:
                found[record.key].append((record.partition, record.value))
        return found
    return asyncio.run(read())


@pytest.fixture
def sweeping_worker(broker, worker, tmp_path):
    """Starts, when called, a worker that sweeps every second in place of the session worker."""
    started: list[WorkerProcess] = []

    def start() -> WorkerProcess:
        assert worker.stop() == 0, worker.tail()
        process = WorkerProcess(broker.bootstrap, tmp_path)
        process.config.write_text(process.config.read_text() + "order_retention_days = 365\n"
                                  "sweep_interval_seconds = 1\n")
        started.append(process.start())
        return process

    yield start
    for process in started:
        if process.proc.poll() is None:
            process.stop()
        worker.start()


def test_the_sweep_forgets_old_state_from_its_own_partition_and_keeps_recent_state(broker, gateway, sweeping_worker):
    # state written by the session worker (it sweeps once an hour): old and recent orders, and
    # approved proactive messages, old ones (seller keys of 999 days ago) and today's
    gateway.send([("orders.events", e, None) for o in OLD for e in events(o, 1000)]
                 + [("orders.events", e, None) for o in NEW for e in events(o, 3)])
    time.sleep(2)
    first = {f"ret-{o}-1": message(f"ret-{o}-1", o, 999) for o in OLD}
    first |= {f"ret-{o}-1": message(f"ret-{o}-1", o, 0) for o in NEW}
    gateway.send([("messages.requests", m, None) for m in first.values()])
    found = decisions(gateway.collect(lambda f: set(first) <= set(decisions(f, first)), timeout=60), first)
    assert {topic for topic, _ in found.values()} == {"messages.approved"}, found

    sweeper = sweeping_worker()   # recovers that state from the changelogs, then sweeps every second
    counts: dict[str, float] = {}
    deadline = time.monotonic() + 30
    old_days = [_day_key(1000), _day_key(999)]   # the old orders' day, their approvals' day
    while time.monotonic() < deadline and not (counts.get("orders", 0) >= len(OLD)
                                               and counts.get("sellers", 0) >= len(old_days)):
        time.sleep(1)
        counts = swept(sweeper.web_port)
    # 4 old orders (and any other test's orders dated more than a year back); the seller day keys
    # of 1,000 and 999 days ago (and any other test's). Approvals decided in the stream are
    # recognised by their source (watermarks), so they leave no per-message key to sweep: this
    # count asked for 4 more, which only other tests' keys made up when the whole suite ran.
    assert counts.get("orders", 0) >= len(OLD), counts
    assert counts.get("sellers", 0) >= len(old_days), counts
    seller_changelog = changelog_records(broker.bootstrap, "msggate-sellers-changelog",
                                         {json.dumps(key).encode() for key in old_days})
    for key in old_days:
        records = seller_changelog[json.dumps(key).encode()]
        assert records and records[-1][1] is None, (key, records)   # written, then deleted

    # The deletions went to the changelog partition that holds each order (not another one, which
    # a restart would resolve in whichever order it recovers the partitions).
    changelog = changelog_records(broker.bootstrap, "msggate-orders-changelog", {f'"{o}"'.encode() for o in OLD})
    for order_id in OLD:
        records = changelog[f'"{order_id}"'.encode()]
        assert len({partition for partition, _ in records}) == 1, records
        assert records[-1][1] is None, records   # the last word is a deletion

    def replies(tag: str) -> dict[str, dict]:
        return {f"ret-{o}-{tag}": message(f"ret-{o}-{tag}", o, 0, reason="reply_to_buyer") for o in OLD + NEW}

    def caught_up(tag: str) -> None:
        """Wait until the worker has read past anything it had to read again (at-least-once: after
        a restart it may reprocess old order events, which bring an old order back until the next
        sweep), then give the sweep a few runs."""
        probes = replies(f"probe{tag}")
        gateway.send([("messages.requests", m, None) for m in probes.values()])
        gateway.collect(lambda f: set(probes) <= set(decisions(f, probes)), timeout=90)
        time.sleep(3)

    caught_up("2")
    batch = replies("2")
    gateway.send([("messages.requests", m, None) for m in batch.values()])
    found = decisions(gateway.collect(lambda f: set(batch) <= set(decisions(f, batch)), timeout=60), batch)
    for order_id in OLD:   # forgotten: unknown order after the grace period
        assert found[f"ret-{order_id}-2"] == ("messages.blocked", {"ORD001"}), found
    for order_id in NEW:   # kept
        assert found[f"ret-{order_id}-2"][0] == "messages.approved", found

    # today's seller count was not swept: a second proactive message today is counted on top
    again = {f"ret-{o}-4": message(f"ret-{o}-4", o, 0) for o in NEW}
    gateway.send([("messages.requests", m, None) for m in again.values()])
    found = decisions(gateway.collect(lambda f: set(again) <= set(decisions(f, again)), timeout=60), again)
    assert {topic for topic, _ in found.values()} == {"messages.approved"}, found
    stats = subprocess.run([sys.executable, "-m", "streams.cli", "stats", "--seller", seller_of(NEW[0]), "--json",
                            "--bootstrap-servers", broker.bootstrap], capture_output=True, text=True, timeout=120)
    assert stats.returncode == 0, stats.stderr
    usage = json.loads(stats.stdout)["daily_cap"]   # one row: the seller's current marketplace day
    # Every NEW message was requested at NOW. If the marketplace's midnight passed since (a CI
    # run at 08:00 UTC), the current day is a new one, and nothing was sent in it yet.
    sent = 2 * len(NEW) if [u["day"] for u in usage] == [_day(0)] else 0
    assert [u["sent_today"] for u in usage] == [sent], stats.stdout
