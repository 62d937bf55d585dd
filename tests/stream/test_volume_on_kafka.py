"""VOL001 on the real broker: the seller-keyed stage counts a seller's messages across partitions."""
from __future__ import annotations

import time
from datetime import date, timedelta

from tests.helpers import request

US = "ATVPDKIKX0DER"


def placed(seller: str, order_id: str, day: date, n: int) -> dict:
    return {"event_id": f"vol-{seller}-{order_id}", "event_type": "order_placed",
            "occurred_at": f"{day.isoformat()}T20:00:00Z", "seller_id": seller, "marketplace_id": US,
            "order_id": order_id, "buyer_id": f"VB-{seller}-{n}", "buyer_locale": "en_US",
            "items": [{"asin": "B000TEST01", "sku": "S", "title": "Mug", "quantity": 1}]}


def message(seller: str, message_id: str, order_id: str, at: str) -> dict:
    return request(message_id=message_id, seller_id=seller, marketplace_id=US, order_id=order_id,
                   requested_at=at, subject=f"Order {order_id}: delivery update",
                   body=f"Hello, your order {order_id} will arrive two days later than promised. We apologise.")


def decisions_for(found, ids: set[str]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for _topic, record in found:
        if record.get("message_id") in ids:
            out.setdefault(record["message_id"], []).append(record)
    return out


def test_daily_cap_across_partitions_days_sellers_and_a_restart(gateway, worker):
    # Seller V: 100 orders a day on each of the 7 days before 2026-11-10 -> cap 5 x 100 + 600 = 1,100.
    orders = []
    for back in range(1, 8):
        day = date(2026, 11, 10) - timedelta(days=back)
        orders += [(f"{900 + back}-{n:07d}-5550001", day, n) for n in range(100)]
    events = [("orders.events", placed("SELLERV", oid, day, n), None) for oid, day, n in orders]
    events.append(("orders.events", placed("SELLERW", "908-0000001-5550002", date(2026, 11, 9), 0), None))
    gateway.send(events)
    time.sleep(2)  # the events' order_placed counts reach the seller stage before the messages

    at = "2026-11-10T18:00:00Z"  # 10:00 in Los Angeles
    v_ids = [f"vol-v-{i}" for i in range(1101)]
    gateway.send([("messages.requests", message("SELLERV", mid, orders[i % len(orders)][0], at), None)
                  for i, mid in enumerate(v_ids)]
                 + [("messages.requests", message("SELLERW", "vol-w-1", "908-0000001-5550002", at), None)])
    wanted = set(v_ids) | {"vol-w-1"}
    found = decisions_for(gateway.collect(lambda f: len(decisions_for(f, wanted)) == len(wanted), timeout=120),
                          wanted)
    assert len(found) == len(wanted), f"{len(wanted) - len(found)} decisions missing"
    assert all(len(v) == 1 for v in found.values()), "a request was decided twice"
    routes = [found[mid][0]["route"] for mid in v_ids]
    assert routes.count("approved") == 1100 and routes.count("blocked") == 1
    over = next(found[mid][0] for mid in v_ids if found[mid][0]["route"] == "blocked")
    assert [v["code"] for v in over["violations"]] == ["VOL001"] and over["retryable"] is True
    assert "2026-11-11T00:00:00-08:00" in over["violations"][0]["detail"]
    assert found["vol-w-1"][0]["route"] == "approved"   # another seller's count is its own

    worker.restart()   # the counts come back from the changelog

    late = "vol-v-late"       # 23:30 on the 10th in Los Angeles (already the 11th in UTC): still over the cap
    next_day = "vol-v-next"   # 01:00 on the 11th in Los Angeles: a new day
    gateway.send([("messages.requests", message("SELLERV", late, orders[0][0], "2026-11-11T07:30:00Z"), None),
                  ("messages.requests", message("SELLERV", next_day, orders[1][0], "2026-11-11T09:00:00Z"), None),
                  ("messages.requests", message("SELLERV", v_ids[0], orders[0][0], at), None)])
    found = decisions_for(gateway.collect(
        lambda f: len(decisions_for(f, {late, next_day, v_ids[0]}).get(v_ids[0], [])) == 2
        and len(decisions_for(f, {late, next_day})) == 2, timeout=60), {late, next_day, v_ids[0]})
    assert found[late][0]["route"] == "blocked"
    assert [v["code"] for v in found[late][0]["violations"]] == ["VOL001"]
    assert found[next_day][0]["route"] == "approved"
    first, again = found[v_ids[0]][:2]   # a duplicate gets the same decision (approved, or VOL001 if it was #1101)
    assert again["route"] == first["route"]
    assert [v["code"] for v in again["violations"]] == [v["code"] for v in first["violations"]]


def test_stats_shows_each_sellers_usage_against_its_cap(gateway, broker):
    """Runs after the cap test above (same session broker): SELLERV used its 1,100 on 2026-11-10."""
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "streams.cli", "stats", "--bootstrap-servers", broker.bootstrap,
                             "--at", "2026-11-10T18:00:00Z", "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    usage = {(u["seller_id"], u["marketplace_id"]): u for u in stats["daily_cap"]}
    assert ("SELLERV", US) in usage, (result.stdout[:1500], result.stderr[-1500:])
    assert usage[("SELLERV", US)]["cap"] == 1100
    assert usage[("SELLERV", US)]["sent_today"] == 1100
    assert usage[("SELLERW", US)]["sent_today"] == 1 and usage[("SELLERW", US)]["cap"] == 600
    assert stats["routes"]["approved"] >= 1101 and stats["routes"]["blocked"] >= 2
    assert any(c["code"] == "VOL001" and c["count"] >= 2 for c in stats["codes"])
    text = subprocess.run([sys.executable, "-m", "streams.cli", "stats", "--bootstrap-servers", broker.bootstrap,
                           "--at", "2026-11-10T18:00:00Z", "--seller", "SELLERV"],
                          capture_output=True, text=True, timeout=120)
    assert "SELLERV" in text.stdout and "1100/1100 (100%)" in text.stdout, text.stdout


def _stats(broker, at: str) -> dict:
    import json
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "streams.cli", "stats", "--bootstrap-servers", broker.bootstrap,
                             "--at", at, "--json"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return {(u["seller_id"], u["marketplace_id"]): u for u in json.loads(result.stdout)["daily_cap"]}


def test_orders_are_counted_once_through_a_sigkill(gateway, worker, broker):
    """A worker killed before it commits re-reads orders.events and msggate.seller-stage from its
    last commit: the redelivered order_placed events must not raise the seller's cap."""
    at = "2026-11-20T18:00:00Z"
    orders = [(f"{950 + back}-{n:07d}-5550003", date(2026, 11, 20) - timedelta(days=back), n)
              for back in range(1, 8) for n in range(40)]          # 40 a day -> cap 5 x 40 + 600 = 800
    gateway.send([("orders.events", placed("SELLERK", oid, day, n), None) for oid, day, n in orders])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:   # counted (and in the changelog), offsets maybe not yet committed
        usage = _stats(broker, at).get(("SELLERK", US))
        if usage and usage["orders_in_window"] == len(orders):
            break
    worker.kill()
    worker.start()
    # A message of the seller after the restart: its hop queues behind any redelivered ones.
    gateway.send([("messages.requests", message("SELLERK", "vol-k-1", orders[0][0], at), None)])
    found = decisions_for(gateway.collect(lambda f: "vol-k-1" in decisions_for(f, {"vol-k-1"}), timeout=90),
                          {"vol-k-1"})
    assert found["vol-k-1"][0]["route"] == "approved"
    usage = _stats(broker, at)[("SELLERK", US)]
    assert usage["orders_in_window"] == len(orders) and usage["cap"] == 800, usage
    assert usage["sent_today"] == 1


def _hopped_message_ids(bootstrap: str) -> set[str]:
    """The message ids of every approval that travelled through the seller-stage topic so far."""
    import asyncio

    import orjson
    from aiokafka import AIOKafkaConsumer

    from streams.gateway import SELLER_STAGE_TOPIC, seller_hop_messages

    async def go() -> set[str]:
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            from aiokafka import TopicPartition
            tps = [TopicPartition(SELLER_STAGE_TOPIC, p) for p in consumer.partitions_for_topic(SELLER_STAGE_TOPIC)
                   or await _partitions(consumer)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            ids: set[str] = set()
            async def behind() -> bool:
                return any([await consumer.position(tp) < ends[tp] for tp in tps])

            while await behind():
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        for member in seller_hop_messages(orjson.loads(record.value)):
                            if member.get("type") == "decision":
                                ids.add(member["decision"]["message_id"])
            return ids
        finally:
            await consumer.stop()

    async def _partitions(consumer) -> set[int]:
        await consumer._client.force_metadata_update()
        return consumer.partitions_for_topic(SELLER_STAGE_TOPIC)

    return asyncio.run(go())


def test_approvals_of_a_caught_up_seller_partition_are_judged_without_the_hop(gateway, worker, broker):
    """Once the seller stage has read back the hops this worker sent to a partition, the order stage
    judges that partition's approvals itself (LocalSellerPartitions): they are counted the same,
    and no longer travel through msggate.seller-stage."""
    at = "2026-11-24T18:00:00Z"
    order_id = "960-0000001-5550004"
    gateway.send([("orders.events", placed("SELLERL", order_id, date(2026, 11, 23), 0), None)])
    rounds = [[f"vol-l-{r}-{i}" for i in range(5)] for r in range(3)]
    for ids in rounds:   # each round decided before the next: the first ones' hops are the fences
        gateway.send([("messages.requests", message("SELLERL", mid, order_id, at), None) for mid in ids])
        found = decisions_for(gateway.collect(lambda f: len(decisions_for(f, set(ids))) == len(ids), timeout=60),
                              set(ids))
        assert [found[mid][0]["route"] for mid in ids] == ["approved"] * len(ids)
    hopped = _hopped_message_ids(broker.bootstrap)
    assert not set(rounds[-1]) & hopped, "judged through the seller-stage topic after it was read back"
    usage = _stats(broker, at)[("SELLERL", US)]
    assert usage["sent_today"] == 15 and usage["orders_in_window"] == 1, usage   # each approval counted once
    assert '"seller_partition_local"' in worker.log.read_text(errors="replace")
