"""Batched seller-stage hops: the order stage packs a batch's messages per seller-stage partition
into one record (SellerHops) and the seller stage applies it through a BufferedTable. Batching must
change the number of records and table writes, never a decision or a count."""
from __future__ import annotations

import random
from datetime import date, timedelta

import orjson
import pytest

from streams.config import Config
from streams.gateway import BufferedTable, SellerHops, on_seller_message, seller_hop_messages, seller_partition
from streams.policy.engine import evaluate
from tests.helpers import order, request

US = "ATVPDKIKX0DER"


class CountingDict(dict):
    """A table that counts its writes (each one is a changelog record in the worker)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def __setitem__(self, key, value) -> None:
        self.writes += 1
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self.writes += 1
        super().__delitem__(key)


def _placed(seller: str, n: int, day: date, source: list[int]) -> dict:
    return {"type": "order_placed", "seller_id": seller, "marketplace_id": US, "order_id": f"{seller}-o{n}",
            "occurred_at": f"{day.isoformat()}T20:00:00Z", "source": source}


def _decision(seller: str, n: int, reason: str = "delivery_delay") -> dict:
    order_id = f"{100 + ord(seller[-1]) % 100:03d}-{n % 7:07d}-1234567"
    ask = request(message_id=f"{seller}-m{n}", seller_id=seller, marketplace_id=US, order_id=order_id,
                  contact_reason=reason, requested_at="2026-11-10T18:00:00Z", subject=f"Order {order_id}",
                  body=f"Hello, your order {order_id} will arrive two days later than promised. We apologise.")
    if reason == "review_request":
        ask["body"] = f"Hello, would you share a product review of order {order_id} on Amazon?"
    state = order(seller_id=seller, marketplace_id=US, order_id=ask["order_id"])
    if reason == "review_request":
        state |= {"status": "delivered", "delivered_at": "2026-11-03T10:00:00Z"}
    decision = evaluate(ask, state, Config().for_seller(seller))
    assert decision["route"] == "approved", decision["violations"]
    return {"type": "decision", "decision": decision, "partition": n % 4}


def _traffic(rng: random.Random, sources: bool = True) -> list[dict]:
    """Order history, then approvals past a small cap (margin), duplicates, review requests and
    redelivered order_placed hops, for three sellers interleaved. With `sources`, approvals carry
    where the order stage decided them (four input partitions, offsets in order); without, they
    are hops written before sources existed (counted once by message id)."""
    messages = []
    for seller in ("SA", "SB", "SC"):
        offset = 0
        for back in range(1, 8):
            for n in range(3):
                offset += 1
                messages.append(_placed(seller, back * 10 + n, date(2026, 11, 10) - timedelta(days=back),
                                        [back % 2, offset]))
    live = []
    for n in range(40):
        seller = rng.choice(("SA", "SB", "SC"))
        live.append(_decision(seller, n, "review_request" if n % 9 == 0 else "delivery_delay"))
        if sources:
            live[-1]["source"] = ["messages.requests", n % 4, 1000 + n, 0]
        if rng.random() < 0.2:
            live.append(live[rng.randrange(len(live))])            # a duplicate of an earlier request
        if rng.random() < 0.1:
            live.append(messages[rng.randrange(len(messages))])    # an order_placed redelivered
    return messages + live


def _summary(outcome) -> tuple:
    decision = outcome.decision
    return (decision and decision["message_id"], decision and decision["route"],
            decision and [v["code"] for v in decision["violations"]], outcome.order_update,
            outcome.usage and (outcome.usage["sent_today"], outcome.usage["cap"]))


def _stage_partition(message: dict) -> int:
    seller_id = message["seller_id"] if "seller_id" in message else message["decision"]["seller_id"]
    return seller_partition(seller_id, 2)


@pytest.mark.parametrize("sources", [True, False], ids=["sources", "message-ids"])
@pytest.mark.parametrize("seed", range(5))
def test_batched_hops_decide_and_count_exactly_as_one_by_one(seed, sources):
    rng = random.Random(seed)
    config = Config.from_dict({"defaults": {"daily_cap_margin": 607}})   # cap 5 x 21/7 + 600 - 607 = 8
    traffic = _traffic(rng, sources)

    one_by_one = CountingDict()
    expected = [_summary(on_seller_message(one_by_one, message, config, _stage_partition(message)))
                for message in traffic]

    batched = CountingDict()
    got, start = [], 0
    while start < len(traffic):
        size = rng.randint(1, 30)
        hops = SellerHops()
        for message in traffic[start:start + size]:
            hops.add(message, partitions=2)
        for partition, _key, value in hops.records():
            buffered = BufferedTable(batched)
            got += [(m, on_seller_message(buffered, m, config, partition))
                    for m in seller_hop_messages(orjson.loads(value))]
            buffered.flush()
        start += size

    # Grouping by partition reorders messages across partitions, never within a seller: compare per message.
    by_id = {}
    for message, outcome in got:
        by_id.setdefault(orjson.dumps(message), []).append(_summary(outcome))
    for message, summary in zip(traffic, expected):
        assert by_id[orjson.dumps(message)].pop(0) == summary
    assert dict(batched) == dict(one_by_one)
    assert any(s[1] == "blocked" for s in expected) and any(s[1] == "approved" for s in expected)
    assert batched.writes < one_by_one.writes
    assert any(k.startswith("m|") for k in batched) != sources   # sources: watermarks, not a key per message


def test_a_replayed_batch_counts_nothing_twice():
    config = Config()
    sellers = CountingDict()
    batch = [_placed("SA", 1, date(2026, 11, 9), [0, 5])] + \
        [_decision("SA", n) | {"source": ["messages.requests", 0, n, 0]} for n in range(10)]
    for _ in range(2):   # the worker crashed after the writes, before the commit: the hop comes again
        buffered = BufferedTable(sellers)
        routes = [on_seller_message(buffered, m, config).decision for m in batch]
        buffered.flush()
        assert [d["route"] for d in routes if d] == ["approved"] * 10
    day = sellers["d|SA|" + US + "|2026-11-10"]
    assert day["sent"] == 10
    assert sellers["d|SA|" + US + "|2026-11-09"]["orders"] == 1


def test_seller_hops_group_per_partition_keep_each_sellers_order_and_respect_the_size_limit():
    hops = SellerHops(max_bytes=4_000)
    sellers = [f"S{n}" for n in range(6)]
    sent = [_decision(seller, n) for n in range(8) for seller in sellers]
    big = _decision("S0", 99)
    big["decision"]["request"]["body"] = "x" * 10_000          # larger than a record may be: goes alone
    for message in sent + [big]:
        hops.add(message, partitions=3)
    assert len(hops) == len(sent) + 1
    records = list(hops.records())
    assert len(hops) == 0 and list(hops.records()) == []
    per_seller: dict[str, list[dict]] = {}
    for partition, key, value in records:
        members = seller_hop_messages(orjson.loads(value))
        assert {seller_partition(m["decision"]["seller_id"], 3) for m in members} == {partition}
        assert key.decode() == members[0]["decision"]["seller_id"]
        if len(members) > 1:
            assert len(value) <= 4_000
        for member in members:
            per_seller.setdefault(member["decision"]["seller_id"], []).append(member)
    for seller in sellers:
        expected = [m for m in sent if m["decision"]["seller_id"] == seller] + ([big] if seller == "S0" else [])
        assert per_seller[seller] == expected
    assert len({partition for partition, _, _ in records}) == len({seller_partition(s, 3) for s in sellers})
    assert len(records) > 3    # the limit split them


def test_seller_partition_is_the_producers_default_partitioner():
    """Sweeps and old hops are keyed by seller_id and placed by the producer's partitioner:
    batched hops must reach the same partition for the same seller."""
    from aiokafka.partitioner import DefaultPartitioner

    partitioner = DefaultPartitioner()
    for partitions in (1, 3, 8, 12):
        every = list(range(partitions))
        for n in range(300):
            seller = f"A{n * 7919:X}SELLER"
            assert seller_partition(seller, partitions) == partitioner(seller.encode(), every, every)


def test_a_single_message_keeps_its_own_shape():
    hops = SellerHops()
    message = _placed("SA", 1, date(2026, 11, 9), [0, 1])
    hops.add(message, partitions=8)
    [(partition, key, value)] = hops.records()
    assert partition == seller_partition("SA", 8) and key == b"SA" and orjson.loads(value) == message
    assert seller_hop_messages(orjson.loads(value)) == [message]


def test_buffered_table_reads_through_and_writes_each_key_once():
    table = CountingDict()
    table["kept"], table["gone"] = 1, 2
    table.writes = 0
    buffered = BufferedTable(table)
    assert buffered.get("kept") == 1 and "gone" in buffered and "new" not in buffered
    assert buffered.get("new", "default") == "default"
    with pytest.raises(KeyError):
        buffered["new"]
    for n in range(50):
        buffered["new"] = n
    del buffered["gone"]
    assert "gone" not in buffered and buffered["new"] == 49
    assert table.writes == 0 and "new" not in table and table["gone"] == 2   # nothing written yet
    assert buffered.flush() == 2
    assert table == {"kept": 1, "new": 49} and table.writes == 2
    with pytest.raises(KeyError):
        del buffered["never"]
    with pytest.raises(TypeError):
        iter(buffered)


def test_the_order_batch_is_configurable_and_validated():
    from streams.config import ConfigError

    assert (Config().gateway.order_batch_max, Config().gateway.order_batch_window_ms) == (500, 20)
    tuned = Config.from_dict({"gateway": {"order_batch_max": 1, "order_batch_window_ms": 2}}).gateway
    assert (tuned.order_batch_max, tuned.order_batch_window_ms) == (1, 2)
    for bad in ({"order_batch_max": 0}, {"order_batch_window_ms": -5}, {"order_batch_max": "500"}):
        with pytest.raises(ConfigError, match="order_batch"):
            Config.from_dict({"gateway": bad})


def test_a_batch_of_hop_records_counts_as_record_by_record_and_writes_each_key_once_per_partition():
    """The seller stage takes its records in batches (PartitionViews): the decisions and counts
    are those of applying the hop records one by one, each changed key is written once per batch,
    and with an event of its own seller-stage partition current (its changelog partition)."""
    from streams.gateway import PartitionViews

    class RecordingTable(CountingDict):
        current = None
        written_with: dict

        def __setitem__(self, key, value) -> None:
            self.written_with = getattr(self, "written_with", {})
            self.written_with.setdefault(key, set()).add(self.current)
            super().__setitem__(key, value)

    rng = random.Random(7)
    config = Config.from_dict({"defaults": {"daily_cap_margin": 607}})
    traffic = _traffic(rng)
    hop_records = []   # (partition, value): what the order stage sent, in small batches
    for start in range(0, len(traffic), 4):
        hops = SellerHops()
        for message in traffic[start:start + 4]:
            hops.add(message, partitions=2)
        hop_records += [(partition, value) for partition, _key, value in hops.records()]

    record_by_record = CountingDict()
    expected = []
    for partition, value in hop_records:
        buffered = BufferedTable(record_by_record)
        expected += [_summary(on_seller_message(buffered, m, config, partition))
                     for m in seller_hop_messages(orjson.loads(value))]
        buffered.flush()

    batched = RecordingTable()
    views = PartitionViews(batched)
    got = []
    for partition, value in hop_records:
        view = views.view(partition, f"an event of partition {partition}")
        got += [_summary(on_seller_message(view, m, config, partition)) for m in seller_hop_messages(orjson.loads(value))]
    assert batched.writes == 0   # nothing reaches the table before the batch is done

    def set_current(event) -> None:
        batched.current = event
    written = views.flush(set_current)

    assert got == expected and dict(batched) == dict(record_by_record)
    assert any(s[1] == "blocked" for s in got) and any(s[1] == "approved" for s in got)
    assert batched.writes == written == len(batched) < record_by_record.writes / 2
    for key, events in batched.written_with.items():
        owner = key.split("|")[1] if key.startswith("d|") else None
        if owner is not None:
            assert events == {f"an event of partition {seller_partition(owner, 2)}"}
        elif key.startswith("w|"):
            assert events == {f"an event of partition {key.split('|')[1]}"}
    assert len([key for key in batched if key.startswith("w|")]) == 2   # one per seller-stage partition
