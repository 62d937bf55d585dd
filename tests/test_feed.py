"""The dashboard feed's bookkeeping (pure): counts, rates, the recent table and its filters."""
from __future__ import annotations

from streams.web.feed import RECENT, Feed


def decision(n: int, route: str = "blocked", seller: str = "S1", code: str = "TYP004", marketplace: str = "M1"):
    return {"message_id": f"m{n}", "order_id": "o", "seller_id": seller, "route": route, "decided_at": "t",
            "violations": [{"code": code, "evidence": "e", "detail": "d"}] if route != "approved" else [],
            "warnings": [], "request": {"marketplace_id": marketplace, "subject": "s"}}


def test_counts_rates_and_filters():
    feed = Feed()
    feed.add("messages.blocked", decision(1), now=100.0)
    feed.add("messages.blocked", decision(2, seller="S2", code="CNT008", marketplace="M2"), now=100.5)
    feed.add("messages.needs-important", decision(3, route="needs_important", code="OPT002"), now=101.0)
    feed.count_approved(30, now=101.0)
    feed.add("messages.dead-letter", {"reason": "not valid JSON", "kind": "json"}, now=101.0)
    assert feed.rates(now=102.0)["approved"] == 0.5 and feed.rates(now=102.0)["blocked"] == round(2 / 60, 2)
    summary = feed.summary()   # (its rates use the real clock)
    assert summary["routes"] == {"approved": 30, "blocked": 2, "needs_important": 1}
    assert summary["dead_letters"] == 1 and summary["recent_dead_letters"][0]["kind"] == "json"
    assert feed.rates(now=1000.0)["approved"] == 0.0
    assert [r["message_id"] for r in feed.decisions()] == ["m3", "m2", "m1"]
    assert [r["message_id"] for r in feed.decisions(seller="S2")] == ["m2"]
    assert [r["message_id"] for r in feed.decisions(marketplace="M1", code="TYP004")] == ["m1"]
    assert feed.by_id["m2"]["seller_id"] == "S2"


def test_recent_table_is_bounded_and_forgets_evicted_ids():
    feed = Feed()
    for n in range(RECENT + 10):
        feed.add("messages.blocked", decision(n), now=1.0)
    assert len(feed.recent) == RECENT and len(feed.by_id) == RECENT
    assert "m0" not in feed.by_id and f"m{RECENT + 9}" in feed.by_id


def test_approved_decisions_are_counted_from_end_offsets():
    from streams.web.feed import BACKFILL, ApprovedCounter

    counter = ApprovedCounter()
    # first poll: like the decoded topics, the last BACKFILL records per partition (or all there are)
    assert counter.advance({0: 1000, 1: 50}, starts={0: 0, 1: 10}) == BACKFILL + 40
    assert counter.advance({0: 1000, 1: 50}) == 0
    assert counter.advance({0: 1030, 1: 55}) == 35
    # a partition added later starts at its end; one whose end went back (topic recreated) restarts
    assert counter.advance({0: 1030, 1: 3, 2: 70}) == 0
    assert counter.advance({0: 1031, 1: 5, 2: 72}) == 5
