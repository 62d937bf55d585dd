"""The order stage judging seller-stage partitions itself (LocalSellerPartitions, SellerHops.take).

A partition may turn local only once nothing for it is still on its way through the topic: a hop
read back after a later batch judged locally would be below the watermark and taken as counted."""
from __future__ import annotations

from datetime import date

import orjson
import pytest

from streams.config import Config, ConfigError
from streams.gateway import (BufferedTable, LocalSellerPartitions, SellerHops, on_seller_message, seller_hop_messages,
                             seller_partition)
from tests.test_seller_batching import _decision, _placed


def test_a_partition_is_remote_until_the_seller_stage_reads_back_the_fence():
    local = LocalSellerPartitions()
    assert not local.ready
    epoch = local.sent(3)
    assert not local.read_back(3, 10)          # delivery not known yet: anything may be in between
    local.delivered(3, epoch, 42)
    assert not local.read_back(3, 41)          # an earlier record: the fence is still on its way
    assert local.ready == set()
    assert local.read_back(3, 42)
    assert local.ready == {3}
    assert not local.read_back(3, 43)          # already local: said once


def test_every_hop_on_its_way_is_waited_for_and_the_latest_is_the_fence():
    local = LocalSellerPartitions()
    first, second = local.sent(1), local.sent(1)
    local.delivered(1, first, 10)
    assert not local.read_back(1, 10)          # the second hop's offset is not known yet
    local.delivered(1, second, 11)
    assert not local.read_back(1, 10)          # below the latest fence
    assert local.read_back(1, 11)


def test_a_hop_sent_through_the_topic_makes_a_local_partition_remote_again():
    local = LocalSellerPartitions()
    local.delivered(2, local.sent(2), 5)
    assert local.read_back(2, 5)
    epoch = local.sent(2)                      # e.g. a batch that started before it turned local
    assert local.ready == set()
    local.delivered(2, epoch, 9)
    assert not local.read_back(2, 8) and local.read_back(2, 9)


def test_a_rebalance_makes_every_partition_remote_and_ignores_earlier_deliveries():
    local = LocalSellerPartitions()
    local.delivered(0, local.sent(0), 1)
    assert local.read_back(0, 1)
    stale = local.sent(4)
    local.reset()
    assert local.ready == set()
    local.delivered(4, stale, 7)               # a fence of before the rebalance proves nothing now
    assert not local.read_back(4, 7) and not local.read_back(4, 100)
    fresh = local.sent(4)
    local.delivered(4, fresh, 101)
    assert local.read_back(4, 101)


def test_a_failed_delivery_keeps_the_partition_remote():
    local = LocalSellerPartitions()
    epoch = local.sent(6)
    local.delivered(6, epoch, None)
    assert not local.read_back(6, 0) and not local.read_back(6, 10_000)
    assert local.ready == set()


def test_take_returns_a_partitions_messages_in_order_and_records_leave_them_out():
    hops = SellerHops(max_bytes=2_000)   # small: some partitions fill more than one record
    messages = [_decision(seller, n) for n in range(12) for seller in ("SA", "SB", "SC", "SD")]
    for message in messages:
        hops.add(message, 4)
    partition_of = {m["decision"]["message_id"]: seller_partition(m["decision"]["seller_id"], 4) for m in messages}
    local = {partition_of[messages[0]["decision"]["message_id"]]}
    taken = hops.take(local | {99})            # a partition without messages is left out
    assert set(taken) == local
    (partition,) = local
    assert taken[partition] == [m for m in messages if partition_of[m["decision"]["message_id"]] == partition]
    sent = [(p, m["decision"]["message_id"]) for p, _, value in hops.records()
            for m in seller_hop_messages(orjson.loads(value))]
    assert sent and all(p not in local for p, _ in sent)
    assert sorted(mid for _, mid in sent) == sorted(mid for mid, p in partition_of.items() if p not in local)
    assert len(hops) == 0 and hops.take({partition}) == {}   # records() emptied it


def test_judged_locally_after_the_fence_counts_as_the_seller_stage_would():
    """The same hops, all through the seller stage, or the first ones through it and the rest judged
    at the order stage's batch end once the fence is read back: the same decisions and counts."""
    config = Config.from_dict({"defaults": {"daily_cap_margin": 597}})   # cap 5 x 7/7 + 600 - 597 = 8
    history = [_placed("SA", n, date(2026, 11, 9), ["orders.events", 0, n]) for n in range(7)]
    approvals = []
    for n in range(12):
        hop = _decision("SA", n)
        hop["source"] = ["messages.requests", n % 2, 100 + n, 0]
        approvals.append(hop)

    def through_the_stage(messages, table):
        view = BufferedTable(table)
        outcomes = [on_seller_message(view, m, config, 1) for m in messages]
        view.flush()
        return outcomes

    one_way = {}
    expected = through_the_stage(history + approvals, one_way)

    table, local = {}, LocalSellerPartitions()
    before = through_the_stage(history + approvals[:4], table)     # read back: the fence was the last
    local.delivered(1, local.sent(1), 4)
    assert local.read_back(1, 4)
    after = through_the_stage(approvals[4:], table)                # judged here, in two batches
    routes = [(o.decision["message_id"], o.decision["route"]) for o in (before + after) if o.decision]
    assert routes == [(o.decision["message_id"], o.decision["route"]) for o in expected if o.decision]
    assert any(route == "blocked" for _, route in routes) and any(route == "approved" for _, route in routes)
    assert table == one_way


def test_judging_locally_is_on_by_default_and_can_be_turned_off():
    assert Config().gateway.seller_stage_local is True
    assert Config.from_dict({"gateway": {"seller_stage_local": False}}).gateway.seller_stage_local is False
    with pytest.raises(ConfigError, match="seller_stage_local"):
        Config.from_dict({"gateway": {"seller_stage_local": "no"}})
