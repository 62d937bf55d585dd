"""Fault injection on the real broker: SIGKILL the worker in the middle of 5,000 requests.

Promises checked (issue "Reliability"): no request without a decision, no order with two
approved review requests, every re-delivered request decided as before, opt-outs and review
counts restored from the changelogs. The figures of the run are printed and written to
test-artifacts/fault-report.txt.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

from streams.timeutil import format_ts, utcnow
from tests.helpers import request

ORDERS = 600
REQUESTS = 5000
SELLERS = 50          # ~100 proactive messages per seller: far below the daily cap floor of 600
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def oid(i: int) -> str:
    return f"{700 + i % 100:03d}-{i:07d}-8880001"


def seller(i: int) -> str:
    return f"FAULT{i % SELLERS}"


def events_for(i: int) -> list[dict]:
    base = {"seller_id": seller(i), "marketplace_id": "ATVPDKIKX0DER", "order_id": oid(i), "buyer_id": f"FB{i}"}
    out = [{**base, "event_id": f"f-{i}-p", "event_type": "order_placed", "occurred_at": "2026-11-01T10:00:00Z",
            "buyer_locale": "en_US", "items": [{"asin": "B000TEST01", "sku": "S", "title": "Drill", "quantity": 1}]},
           {**base, "event_id": f"f-{i}-d", "event_type": "order_delivered", "occurred_at": "2026-11-03T10:00:00Z"}]
    if i % 10 == 0:
        out.append({**base, "event_id": f"f-{i}-o", "event_type": "buyer_opted_out",
                    "occurred_at": "2026-11-04T10:00:00Z"})
    return out


def requests_stream() -> list[dict]:
    """Per order: review A, other messages, review B (A before B: same partition, so in order)."""
    out = []
    for i in range(ORDERS):
        o = oid(i)
        common = {"seller_id": seller(i), "marketplace_id": "ATVPDKIKX0DER", "order_id": o,
                  "requested_at": "2026-11-12T10:00:00Z", "subject": f"Order {o}"}
        out.append(request(message_id=f"f-{i}-rA", contact_reason="review_request", **common,
                           body=f"Hello, how is the drill of order {o}? A product review on Amazon would help others."))
    others = REQUESTS - 2 * ORDERS
    for n in range(others):
        i = n % ORDERS
        o = oid(i)
        out.append(request(message_id=f"f-{i}-x{n}", contact_reason="other_purchase_related", seller_id=seller(i),
                           marketplace_id="ATVPDKIKX0DER", order_id=o, requested_at="2026-11-12T10:00:00Z",
                           subject=f"Order {o}",
                           body=f"Hello, the warranty card for the drill of order {o} ships separately this week; "
                                f"no action is needed."))
    for i in range(ORDERS):
        o = oid(i)
        out.append(request(message_id=f"f-{i}-rB", contact_reason="review_request", seller_id=seller(i),
                           marketplace_id="ATVPDKIKX0DER", order_id=o, requested_at="2026-11-12T11:00:00Z",
                           subject=f"Order {o}",
                           body=f"Hello again, could you review the drill of order {o} on Amazon?"))
    return out


def test_sigkill_mid_stream_loses_nothing_and_approves_no_review_twice(gateway, worker):
    gateway.send([("orders.events", e, None) for i in range(ORDERS) for e in events_for(i)])
    time.sleep(3)   # events first (two topics are not ordered against each other)
    stream = requests_stream()
    assert len(stream) == REQUESTS
    ids = {r["message_id"] for r in stream}
    cut = 2500
    gateway.send([("messages.requests", r, None) for r in stream[:cut]])
    time.sleep(1.0)
    decided_before_kill = len({r["message_id"] for _, r in gateway.collect(lambda f: True, timeout=1)} & ids)
    worker.kill()
    killed_at_wall = format_ts(utcnow())   # to place the decisions' decided_at on failure
    killed_at = time.monotonic()
    gateway.send([("messages.requests", r, None) for r in stream[cut:]])
    worker.start()
    restarted_in = time.monotonic() - killed_at

    def all_decided(found):
        return ids <= {r.get("message_id") for _, r in found}
    found = gateway.collect(all_decided, timeout=240)
    decisions: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for topic, record in found:
        if record.get("message_id") in ids:
            decisions[record["message_id"]].append((topic, record))
    lost = ids - set(decisions)
    published_twice = sum(1 for v in decisions.values() if len(v) > 1)

    # re-deliver 300 requests decided before and after the crash: same route, same codes
    replay = stream[:150] + stream[-150:]
    gateway.send([("messages.requests", r, None) for r in replay])
    replay_ids = {r["message_id"] for r in replay}
    again = gateway.collect(lambda f: all(
        sum(1 for _, r in f if r.get("message_id") == m) > len(decisions[m]) for m in replay_ids), timeout=120)
    counts = defaultdict(list)
    for topic, record in again:
        if record.get("message_id") in replay_ids:
            counts[record["message_id"]].append((topic, sorted(v["code"] for v in record["violations"])))
    differing = [m for m, outs in counts.items() if len(set(map(str, outs))) > 1]

    approved_reviews = defaultdict(set)
    for mid, outs in decisions.items():
        for topic, record in outs:
            if topic == "messages.approved" and record["request"]["contact_reason"] == "review_request":
                approved_reviews[record["order_id"]].add(mid)
    double_approved = [o for o, mids in approved_reviews.items() if len(mids) > 1]
    opted_out_approved = [mid for mid, outs in decisions.items() for topic, r in outs
                          if topic == "messages.approved" and int(r["order_id"].split("-")[1]) % 10 == 0]
    report = (f"fault run: {REQUESTS} requests, worker SIGKILLed after {cut} were produced "
              f"({decided_before_kill} decided at the kill), restarted in {restarted_in:.1f} s; "
              f"lost={len(lost)} published_twice={published_twice} double_approved_reviews={len(double_approved)} "
              f"redelivered={len(replay_ids)} differing={len(differing)} opted_out_approved={len(opted_out_approved)} "
              f"orders_with_one_approved_review={len(approved_reviews)}/{ORDERS - ORDERS // 10}")
    print(report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "fault-report.txt").write_text(report + "\n")

    # On failure, say where to look: dead letters (they carry no message_id at the top level)
    # and what the worker logged (one run lost whole seller-stage records skipped after a restart).
    dead = [r.get("reason", "")[:200] for topic, r in found if topic == "messages.dead-letter"]
    log_lines = worker.log.read_text(errors="replace").splitlines()
    errors = [line[:300] for line in log_lines if "ERROR" in line or "Traceback" in line or "failed" in line][-20:]
    # and what the consumer did about offsets (refetches, gaps, held commits: streams/consumer.py)
    consumer = [line[:300] for line in log_lines if '"event": "consumer_' in line][-20:]
    trace = ""
    if lost:
        trace = gateway.trace(set(sorted(lost)[:5]), {oid(int(m.split("-")[1])) for m in sorted(lost)[:5]})
        (ARTIFACTS / "fault-lost-trace.txt").write_text(trace + "\n")
    assert not lost, (f"{len(lost)} requests without a decision, e.g. {sorted(lost)[:5]}; dead letters: "
                      f"{len(dead)} {dead[:5]}\nwhere they got to:\n{trace}\nworker errors:\n" + "\n".join(errors)
                      + "\nworker consumer log:\n" + "\n".join(consumer))
    def reviews_of(order_id: str) -> list:
        # rA's and rB's decisions (route, codes, decided_at): on failure, whether each came
        # before or after the kill, and which one was replayed
        i = int(order_id.split("-")[1])
        return [(mid, [(topic, [v["code"] for v in r["violations"]], r.get("decided_at"))
                       for topic, r in decisions.get(mid, [])]) for mid in (f"f-{i}-rA", f"f-{i}-rB")]

    assert not double_approved, (double_approved[:5], [reviews_of(o) for o in double_approved[:3]],
                                 f"killed at {killed_at_wall}")
    assert not differing, differing[:5]
    assert not opted_out_approved, opted_out_approved[:5]
    # every order not opted out got exactly its first review request approved
    assert len(approved_reviews) == ORDERS - ORDERS // 10
    wrong_review = [o for o, mids in approved_reviews.items() if mids != {f"f-{int(o.split('-')[1])}-rA"}]
    assert not wrong_review, (len(wrong_review), [reviews_of(o) for o in wrong_review[:3]],
                              f"killed at {killed_at_wall}")
    assert worker.proc.poll() is None


def test_rebalance_to_a_second_worker_and_back_loses_nothing(gateway, worker, broker, tmp_path):
    from tests.stream.conftest import WorkerProcess

    base = 100_000
    gateway.send([("orders.events", {**e, "event_id": "rb-" + e["event_id"], "order_id": oid(base + i),
                                     "buyer_id": f"RB{i}"}, None)
                  for i in range(200) for e in events_for(i) if e["event_type"] != "buyer_opted_out"])
    time.sleep(3)
    stream = []
    for n in range(3000):
        i = n % 200
        o = oid(base + i)
        reason = "review_request" if n < 400 else "other_purchase_related"   # two review requests per order
        stream.append(request(message_id=f"rb-{n}", contact_reason=reason, seller_id=seller(i),
                              marketplace_id="ATVPDKIKX0DER", order_id=o, requested_at="2026-11-12T10:00:00Z",
                              subject=f"Order {o}", body=f"Hello, the warranty card for order {o} ships this week; "
                                                         f"a product review on Amazon would help others."))
    ids = {r["message_id"] for r in stream}
    second = WorkerProcess(broker.bootstrap, tmp_path)
    gateway.send([("messages.requests", r, None) for r in stream[:1000]])
    second.start()                     # partitions move: the group rebalances onto two workers
    gateway.send([("messages.requests", r, None) for r in stream[1000:2000]])
    assert second.stop() == 0, second.tail()   # and back to one
    gateway.send([("messages.requests", r, None) for r in stream[2000:]])
    found = gateway.collect(lambda f: ids <= {r.get("message_id") for _, r in f}, timeout=240)
    decided = {r["message_id"] for _, r in found if r.get("message_id") in ids}
    lost = sorted(ids - decided, key=lambda m: int(m.split("-")[1]))
    # Which ones, where (their orders' partitions follow from the ids) and what the workers logged:
    # one CI run lost 53 here and said nothing more.
    trace = gateway.trace(set(lost[:5]), {oid(base + int(m.split("-")[1]) % 200) for m in lost[:5]}) if lost else ""
    assert not lost, (f"{len(lost)} lost: {lost[:20]}\nwhere the first got to:\n{trace}"
                      f"\n--- first worker ---\n{worker.tail()}\n--- second worker ---\n{second.tail()}")
    approved_reviews = defaultdict(set)
    for topic, record in found:
        if record.get("message_id") in ids and topic == "messages.approved" \
                and record["request"]["contact_reason"] == "review_request":
            approved_reviews[record["order_id"]].add(record["message_id"])
    assert len(approved_reviews) == 200
    assert all(len(m) == 1 for m in approved_reviews.values())


def test_a_flood_of_unknown_orders_is_bounded_and_every_message_decided(gateway, worker):
    from tests.stream.conftest import GRACE_SECONDS, MAX_PENDING

    flood = [request(message_id=f"flood-{n}", order_id=f"999-{n:07d}-0000000", subject="Order",
                     body=f"Order 999-{n:07d}-0000000 is late.") for n in range(400)]
    ids = {r["message_id"] for r in flood}
    started = time.monotonic()
    gateway.send([("messages.requests", r, None) for r in flood])
    early = gateway.collect(lambda f: sum(r.get("message_id") in ids for _, r in f) >= 400 - 4 * MAX_PENDING,
                            timeout=GRACE_SECONDS - 0.5)
    decided_early = {r["message_id"] for _, r in early if r.get("message_id") in ids}
    assert time.monotonic() - started < GRACE_SECONDS + 5
    # past the bound, requests do not wait for the grace period: most are decided at once
    assert len(decided_early) >= 400 - 4 * MAX_PENDING
    found = gateway.collect(lambda f: ids <= {r.get("message_id") for _, r in f}, timeout=60)
    final = {r["message_id"]: r for _, r in found if r.get("message_id") in ids}
    assert set(final) == ids
    assert all(r["route"] == "blocked" and r["retryable"] and r["violations"][0]["code"] == "ORD001"
               for r in final.values())
    assert worker.proc.poll() is None


def test_a_graceful_restart_republishes_at_most_the_same_decisions(gateway, worker):
    """SIGTERM is the deploy path: the worker commits what it processed before it exits, so a
    rolling restart should publish nothing again; if Faust's commit on stop falls short, what is
    replayed must be the same decision (same route, same codes), never a different one."""
    first = 20_000   # order numbers of their own: oid() keeps them apart from the tests above
    numbers = range(first, first + 200)
    gateway.send([("orders.events", e, None) for i in numbers for e in events_for(i)])
    time.sleep(2)
    stream = [request(message_id=f"g-{i}-{n}", contact_reason="review_request" if n == 0 else "other_purchase_related",
                      seller_id=seller(i), marketplace_id="ATVPDKIKX0DER", order_id=oid(i),
                      requested_at="2026-11-12T10:00:00Z", subject=f"Order {oid(i)}",
                      body=f"Hello, how is the drill of order {oid(i)}? A product review on Amazon would help others."
                      if n == 0 else f"Hello, the manual for order {oid(i)} is attached.")
              for n in range(5) for i in numbers]
    ids = {r["message_id"] for r in stream}
    gateway.send([("messages.requests", r, None) for r in stream])
    gateway.collect(lambda f: ids <= {r.get("message_id") for _, r in f}, timeout=120)
    assert worker.stop() == 0, worker.tail()
    worker.start()
    # Markers after the restart, one per order: their decisions come after anything replayed.
    markers = [request(message_id=f"g-{i}-marker", contact_reason="other_purchase_related", seller_id=seller(i),
                       marketplace_id="ATVPDKIKX0DER", order_id=oid(i), requested_at="2026-11-12T10:00:00Z",
                       subject=f"Order {oid(i)}", body=f"Hello, order {oid(i)} left our warehouse today.")
               for i in numbers]
    marker_ids = {r["message_id"] for r in markers}
    gateway.send([("messages.requests", r, None) for r in markers])
    found = gateway.collect(lambda f: marker_ids <= {r.get("message_id") for _, r in f}, timeout=120)
    outcomes = defaultdict(list)
    for topic, record in found:
        if record.get("message_id") in ids | marker_ids:
            outcomes[record["message_id"]].append((topic, sorted(v["code"] for v in record["violations"])))
    assert set(outcomes) == ids | marker_ids, "a request or marker without a decision"
    again = [m for m in ids if len(outcomes[m]) > 1]
    differing = [m for m in again if len(set(map(str, outcomes[m]))) > 1]
    report = f"graceful restart: {len(again)} of {len(ids)} decisions published again, {len(differing)} differing"
    print(report)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "graceful-restart-report.txt").write_text(report + "\n")
    assert not differing, differing[:5]
    approved_reviews = [m for m in ids if m.endswith("-0") and outcomes[m][0][0] == "messages.approved"]
    assert len(approved_reviews) == len(numbers) - len(numbers) // 10   # opted-out orders: none


def test_requests_written_in_transactions_are_all_decided(gateway, worker, broker):
    """An aggregator may produce with Kafka transactions: each commit leaves a marker that takes
    an offset but is never delivered, a real gap. The consumer refetches once to tell it from
    records arriving out of order (streams/consumer.py), then fills it; nothing may stall or be lost."""
    import asyncio
    import re
    import urllib.request

    import orjson
    from aiokafka import AIOKafkaProducer

    first = 30_000   # order numbers of their own
    numbers = range(first, first + 40)
    gateway.send([("orders.events", e, None) for i in numbers for e in events_for(i)
                  if e["event_type"] != "buyer_opted_out"])
    time.sleep(2)
    stream = [request(message_id=f"tx-{i}-{n}", contact_reason="other_purchase_related", seller_id=seller(i),
                      marketplace_id="ATVPDKIKX0DER", order_id=oid(i), requested_at="2026-11-12T10:00:00Z",
                      subject=f"Order {oid(i)}", body=f"Hello, the manual for order {oid(i)} is attached.")
              for n in range(10) for i in numbers]
    ids = {r["message_id"] for r in stream}
    accepted_before = worker.log.read_text(errors="replace").count("consumer_gap_accepted")

    async def send_in_transactions():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="msggate-test-aggregator")
        await producer.start()
        try:
            for start in range(0, len(stream), 40):   # 10 transactions: markers between the requests
                async with producer.transaction():
                    for record in stream[start:start + 40]:
                        await producer.send("messages.requests", orjson.dumps(record),
                                            key=record["order_id"].encode())
        finally:
            await producer.stop()

    asyncio.run(send_in_transactions())
    found = gateway.collect(lambda f: ids <= {r.get("message_id") for _, r in f}, timeout=120)
    decided = {r["message_id"] for _, r in found if r.get("message_id") in ids}
    assert decided == ids, f"{len(ids - decided)} undecided\n{worker.tail()}"
    assert all(topic == "messages.approved" for topic, r in found if r.get("message_id") in ids)
    # the markers were met as gaps, confirmed by a refetch and filled (the path under test ran)
    assert worker.log.read_text(errors="replace").count("consumer_gap_accepted") > accepted_before
    gaps_accepted, deadline = 0.0, time.monotonic() + 20   # the gauge is updated every 5 s
    while gaps_accepted == 0 and time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5) as response:
            metrics = response.read().decode()
        gaps_accepted = float(re.search(r"^msggate_consumer_gaps_accepted (\S+)$", metrics, re.M).group(1))
        time.sleep(1)
    assert gaps_accepted > 0
    assert worker.proc.poll() is None
