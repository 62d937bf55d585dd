"""The gateway end to end on a real Apache Kafka broker and a real Faust worker."""
from __future__ import annotations

import time

from tests.helpers import request
from tests.stream.conftest import wait_caught_up

SELLER = {"seller_id": "SELLER1", "marketplace_id": "ATVPDKIKX0DER"}


def event(event_id, event_type, order_id, occurred_at, buyer_id="B1", **extra):
    record = {"event_id": event_id, "event_type": event_type, "occurred_at": occurred_at, "order_id": order_id,
              "buyer_id": buyer_id, **SELLER, **extra}
    if event_type == "order_placed":
        record.setdefault("buyer_locale", "en_US")
        record.setdefault("items", [{"asin": "B000TEST01", "sku": "S", "title": "Mug", "quantity": 1}])
    return record


def msg(message_id, order_id, **overrides):
    base = request(message_id=message_id, order_id=order_id, subject=f"Order {order_id}: delivery update",
                   body=f"Your order {order_id} will arrive two days later than promised.", **SELLER)
    base.update(overrides)
    return base


def by_id(found, message_id):
    return [(topic, record) for topic, record in found if record.get("message_id") == message_id]


def test_routes_to_all_three_topics(gateway):
    oid = "301-0000001-0000001"
    oid2 = "301-0000002-0000002"
    gateway.send([
        ("orders.events", event("t1-1", "order_placed", oid, "2026-11-01T00:00:00Z"), None),
        ("orders.events", event("t1-2", "order_placed", oid2, "2026-11-01T00:00:00Z", buyer_id="B9"), None),
        ("orders.events", event("t1-3", "buyer_opted_out", oid2, "2026-11-02T00:00:00Z", buyer_id="B9"), None),
    ])
    time.sleep(1.5)  # two topics are not ordered against each other: let the events land first
    gateway.send([
        ("messages.requests", msg("t1-ok", oid), None),
        ("messages.requests", msg("t1-bad", oid, contact_reason="marketing"), None),
        ("messages.requests", msg("t1-imp", oid2), None),
    ])
    found = gateway.collect(lambda f: all(by_id(f, m) for m in ("t1-ok", "t1-bad", "t1-imp")))
    assert by_id(found, "t1-ok")[0][0] == "messages.approved"
    topic, record = by_id(found, "t1-bad")[0]
    assert topic == "messages.blocked" and "REA001" in {v["code"] for v in record["violations"]}
    topic, record = by_id(found, "t1-imp")[0]
    assert topic == "messages.needs-important"
    assert record["suggested_subject"].startswith("[Important]")


def test_invalid_records_go_to_dead_letter_and_worker_goes_on(gateway, worker):
    oid = "302-0000001-0000001"
    gateway.send([
        ("messages.requests", b"{not json", oid.encode()),
        ("messages.requests", msg("t2-schema", "12-345"), b"12-345"),
        ("messages.requests", b"\xff\xfe\x00garbage", oid.encode()),
        ("orders.events", event("t2-e", "order_placed", oid, "2026-11-01T00:00:00"), None),  # no time zone
        ("orders.events", event("t2-e2", "order_placed", oid, "2026-11-01T00:00:00Z"), None),
    ])
    # The valid request after the bad records: sent once the worker has read them (in one batch,
    # a slow machine could decide it before its order event, past the grace period: ORD001).
    wait_caught_up(worker.web_port)
    gateway.send([("messages.requests", msg("t2-after", oid), None)])
    found = gateway.collect(lambda f: by_id(f, "t2-after") and
                            sum(1 for t, r in f if t == "messages.dead-letter" and r.get("key") in (oid, "12-345")) >= 4)
    dead = [r for t, r in found if t == "messages.dead-letter" and r.get("key") in (oid, "12-345")]
    reasons = " | ".join(r["reason"] for r in dead)
    assert "not valid JSON" in reasons and "order_id" in reasons and "occurred_at" in reasons
    assert any(r["raw_encoding"] == "base64" for r in dead)
    assert by_id(found, "t2-after")[0][0] == "messages.approved"
    assert worker.proc.poll() is None


def test_duplicate_message_id_gets_same_decision_and_counts_once(gateway):
    oid = "303-0000001-0000001"
    review = msg("t3-r1", oid, contact_reason="review_request", requested_at="2026-11-12T00:00:00Z",
                 body=f"How is your mug? Order {oid}. A review on Amazon would help us.")
    gateway.send([
        ("orders.events", event("t3-1", "order_placed", oid, "2026-11-01T00:00:00Z"), None),
        ("orders.events", event("t3-2", "order_delivered", oid, "2026-11-03T00:00:00Z"), None),
    ])
    # Records of two topics are not ordered against each other by Kafka: let the events land first.
    time.sleep(1.5)
    gateway.send([
        ("messages.requests", review, None),
        ("messages.requests", review, None),
        ("messages.requests", dict(review, message_id="t3-r2"), None),
    ])
    found = gateway.collect(lambda f: len(by_id(f, "t3-r1")) >= 2 and by_id(f, "t3-r2"))
    first, second = by_id(found, "t3-r1")[:2]
    assert first[0] == second[0] == "messages.approved", first[1]["violations"]
    assert first[1]["decided_at"] == second[1]["decided_at"]
    topic, record = by_id(found, "t3-r2")[0]
    assert topic == "messages.blocked" and [v["code"] for v in record["violations"]] == ["TYP007"]


def test_opt_out_on_one_order_reaches_the_buyers_other_order(gateway):
    first, other = "304-0000001-0000001", "304-0000002-0000009"
    gateway.send([
        ("orders.events", event("t4-1", "order_placed", first, "2026-11-01T00:00:00Z", buyer_id="B4"), None),
        ("orders.events", event("t4-2", "order_placed", other, "2026-11-01T00:00:00Z", buyer_id="B4"), None),
        ("orders.events", event("t4-3", "buyer_opted_out", first, "2026-11-02T00:00:00Z", buyer_id="B4"), None),
    ])
    time.sleep(2)  # the opt-out travels through the buyer stage ("within seconds")
    gateway.send([("messages.requests", msg("t4-m", other, contact_reason="other_purchase_related"), None)])
    found = gateway.collect(lambda f: by_id(f, "t4-m"))
    topic, record = by_id(found, "t4-m")[0]
    assert topic == "messages.blocked" and "OPT001" in {v["code"] for v in record["violations"]}


def test_message_before_its_order_waits_for_the_order(gateway):
    oid = "305-0000001-0000001"
    gateway.send([("messages.requests", msg("t5-early", oid), None)])
    time.sleep(1)
    gateway.send([("orders.events", event("t5-1", "order_placed", oid, "2026-11-01T00:00:00Z"), None)])
    found = gateway.collect(lambda f: by_id(f, "t5-early"))
    topic, record = by_id(found, "t5-early")[0]
    assert topic == "messages.approved", record["violations"]


def test_unknown_order_is_blocked_retryable_after_grace_period(gateway):
    from tests.stream.conftest import GRACE_SECONDS

    oid = "306-0000001-0000001"
    sent = time.monotonic()
    gateway.send([("messages.requests", msg("t6-unknown", oid), None)])
    found = gateway.collect(lambda f: by_id(f, "t6-unknown"), timeout=GRACE_SECONDS + 20)
    topic, record = by_id(found, "t6-unknown")[0]
    assert topic == "messages.blocked" and record["retryable"] is True
    assert [v["code"] for v in record["violations"]] == ["ORD001"]
    assert time.monotonic() - sent >= GRACE_SECONDS - 0.5
