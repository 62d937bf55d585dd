"""VOL001 daily-limit-exceeded: the cap arithmetic, marketplace days, and the seller stage's fold."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from streams.cli.offline import Replayer
from streams.config import Config, SellerConfig
from streams.gateway import on_order_event, on_seller_message, seller_usage
from streams.policy.rules.volume import daily_cap, marketplace_day, window_days
from tests.helpers import codes, order, request

US = "ATVPDKIKX0DER"
JP = "A1VC38T7YXB528"


def usage(sent: int, cap: int = 1100) -> dict:
    return {"seller_id": "SELLER1", "marketplace_id": US, "day": "2026-11-10", "sent_today": sent,
            "orders_today": 0, "orders_in_window": 700, "cap": cap, "resets_at": "2026-11-11T00:00:00-08:00"}


def test_cap_is_five_times_the_seven_day_average_plus_600():
    assert daily_cap(700) == 1100          # 100 orders a day
    assert daily_cap(0) == 600             # no history: the floor
    assert daily_cap(10) == 607            # 5 x 10/7 = 7.1 -> 7 (never round the cap up)
    assert daily_cap(700, margin=200) == 900
    assert daily_cap(0, margin=700) == 0


def test_window_is_the_seven_days_before_today():
    assert window_days(date(2026, 11, 10)) == [date(2026, 11, d) for d in range(9, 2, -1)]


def test_marketplace_day_follows_the_marketplace_time_zone():
    late_evening_pacific = datetime(2026, 11, 11, 7, 30, tzinfo=timezone.utc)   # 23:30 on the 10th in LA
    assert marketplace_day(US, late_evening_pacific) == date(2026, 11, 10)
    assert marketplace_day(JP, late_evening_pacific) == date(2026, 11, 11)       # 16:30 on the 11th in Tokyo
    assert marketplace_day("UNKNOWN", late_evening_pacific) == date(2026, 11, 11)


def test_fires_when_the_cap_is_used_up():
    from streams.policy.engine import evaluate
    decision = evaluate(request(), order(), SellerConfig(), seller_usage=usage(1100))
    assert decision["route"] == "blocked"
    assert decision["retryable"] is True
    finding = decision["violations"][0]
    assert finding["code"] == "VOL001"
    assert "1100" in finding["evidence"] and "2026-11-11T00:00:00-08:00" in finding["detail"]


def test_does_not_fire_below_the_cap_for_replies_or_without_usage():
    from streams.policy.engine import evaluate
    assert evaluate(request(), order(), SellerConfig(), seller_usage=usage(1099))["route"] == "approved"
    reply = request(contact_reason="reply_to_buyer")
    assert "VOL001" not in {v["code"] for v in evaluate(reply, order(), SellerConfig(),
                                                        seller_usage=usage(5000))["violations"]}
    assert "VOL001" not in codes(request(), order())


def test_warn_setting_reports_without_blocking():
    from streams.policy.engine import evaluate
    config = Config.from_dict({"defaults": {"rules": {"VOL001": "warn"}}}).for_seller("SELLER1")
    decision = evaluate(request(), order(), config, seller_usage=usage(1100))
    assert decision["route"] == "approved"
    assert [w["code"] for w in decision["warnings"]] == ["VOL001"]


# --- the seller stage (pure fold over a dict table), driven through Replayer like `replay` ----

def _placed(n: int, seller: str, day: date, marketplace: str = US) -> dict:
    return {"event_id": f"e-{seller}-{day}-{n}", "event_type": "order_placed",
            "occurred_at": f"{day.isoformat()}T20:00:00Z", "seller_id": seller, "marketplace_id": marketplace,
            "order_id": f"{100 + day.day:03d}-{n:07d}-{hash(seller) % 10_000_000:07d}", "buyer_id": f"B-{seller}-{n}",
            "buyer_locale": "en_US", "items": [{"asin": "B000TEST01", "sku": "S", "title": "Mug", "quantity": 1}]}


def _message(number: int, order_id: str, seller: str, at: str, reason: str = "delivery_delay") -> dict:
    return request(message_id=f"{seller}-m-{number}", seller_id=seller, marketplace_id=US, order_id=order_id,
                   contact_reason=reason, requested_at=at, subject=f"Order {order_id}: delivery update",
                   body=f"Hello, your order {order_id} will arrive two days later than promised. We apologise.")


def _seller_with_history(replayer: Replayer, seller: str, per_day: int) -> list[str]:
    order_ids = []
    for back in range(1, 8):
        day = date(2026, 11, 10) - timedelta(days=back)
        for n in range(per_day):
            event = _placed(n, seller, day)
            replayer.order_event(event)
            order_ids.append(event["order_id"])
    return order_ids


def test_message_1101_of_the_day_is_blocked_and_the_next_marketplace_day_is_approved():
    replayer = Replayer(Config())
    order_ids = _seller_with_history(replayer, "SELLERA", 100)
    routes = [replayer.message_request(_message(i, order_ids[i % len(order_ids)], "SELLERA",
                                                "2026-11-10T18:00:00Z"))["route"] for i in range(1101)]
    assert routes.count("approved") == 1100 and routes[-1] == "blocked"
    # 23:30 in Los Angeles is still the same marketplace day (already the 11th in UTC)
    late = replayer.message_request(_message(2000, order_ids[0], "SELLERA", "2026-11-11T07:30:00Z"))
    assert late["route"] == "blocked" and late["violations"][0]["code"] == "VOL001"
    next_day = replayer.message_request(_message(2001, order_ids[0], "SELLERA", "2026-11-11T09:00:00Z"))
    assert next_day["route"] == "approved"


def test_two_sellers_never_share_a_count_and_a_new_seller_gets_the_floor():
    replayer = Replayer(Config())
    a_orders = _seller_with_history(replayer, "SELLERA", 1)
    b_orders = _seller_with_history(replayer, "SELLERB", 1)
    for i in range(605):   # cap of A: 5 x 7/7 + 600 = 605
        assert replayer.message_request(_message(i, a_orders[i % 7], "SELLERA", "2026-11-10T18:00:00Z"))["route"] == "approved"
    assert replayer.message_request(_message(605, a_orders[0], "SELLERA", "2026-11-10T18:00:00Z"))["route"] == "blocked"
    assert replayer.message_request(_message(0, b_orders[0], "SELLERB", "2026-11-10T18:00:00Z"))["route"] == "approved"
    moment = datetime(2026, 11, 10, 18, tzinfo=timezone.utc)
    assert seller_usage(replayer.sellers, "SELLERB", US, moment)["sent_today"] == 1
    assert seller_usage(replayer.sellers, "SELLERC", US, moment)["cap"] == 600


def test_duplicates_are_counted_once_and_replies_not_at_all():
    replayer = Replayer(Config())
    order_ids = _seller_with_history(replayer, "SELLERA", 1)
    first = _message(1, order_ids[0], "SELLERA", "2026-11-10T18:00:00Z")
    assert replayer.message_request(first)["route"] == "approved"
    assert replayer.message_request(first)["route"] == "approved"
    reply = _message(2, order_ids[0], "SELLERA", "2026-11-10T18:00:00Z", reason="reply_to_buyer")
    assert replayer.message_request(reply)["route"] == "approved"
    moment = datetime(2026, 11, 10, 18, tzinfo=timezone.utc)
    assert seller_usage(replayer.sellers, "SELLERA", US, moment)["sent_today"] == 1


def test_margin_lowers_the_cap_per_seller():
    replayer = Replayer(Config.from_dict({"sellers": {"SELLERA": {"daily_cap_margin": 598}}}))
    order_ids = _seller_with_history(replayer, "SELLERA", 1)
    at = "2026-11-10T18:00:00Z"
    routes = [replayer.message_request(_message(i, order_ids[0], "SELLERA", at))["route"] for i in range(8)]
    assert routes == ["approved"] * 7 + ["blocked"]     # 605 - 598 = 7


def test_a_review_request_blocked_by_the_cap_does_not_count_toward_typ007():
    replayer = Replayer(Config.from_dict({"sellers": {"SELLERA": {"daily_cap_margin": 605}}}))
    order_ids = _seller_with_history(replayer, "SELLERA", 1)
    oid = order_ids[-1]   # placed on 2026-11-03
    replayer.order_event({**_placed(0, "SELLERA", date(2026, 11, 3)), "event_id": "d-1",
                          "event_type": "order_delivered", "occurred_at": "2026-11-04T10:00:00Z"})
    ask = _message(1, oid, "SELLERA", "2026-11-10T18:00:00Z", reason="review_request")
    ask["body"] = f"Hello, would you share a product review of order {oid} on Amazon?"
    blocked = replayer.message_request(ask)
    assert [v["code"] for v in blocked["violations"]] == ["VOL001"]
    assert replayer.orders[oid]["state"]["review_requests"] == 0
    assert ask["message_id"] not in replayer.orders[oid]["decisions"]   # retryable: judged afresh


def test_order_placed_counts_once_per_order():
    sellers: dict = {}
    config = Config()
    message = {"type": "order_placed", "seller_id": "S", "marketplace_id": US, "order_id": "1",
               "occurred_at": "2026-11-09T20:00:00Z"}
    on_seller_message(sellers, message, config)
    replayer = Replayer(config)
    event = _placed(0, "S", date(2026, 11, 9))
    replayer.order_event(event)
    replayer.order_event(event)                                   # redelivered
    replayer.order_event({**event, "event_id": "other-id"})       # a second order_placed for the same order
    moment = datetime(2026, 11, 10, 18, tzinfo=timezone.utc)
    assert seller_usage(replayer.sellers, "S", US, moment)["orders_in_window"] == 1
    assert seller_usage(sellers, "S", US, moment)["orders_in_window"] == 1


def test_an_order_placed_redelivered_after_a_crash_is_counted_once():
    """The order stage re-reads orders.events from its last commit after a crash: its hops carry
    the event's partition and offset, so the seller stage counts each event once."""
    sellers: dict = {}
    config = Config()
    moment = datetime(2026, 11, 10, 18, tzinfo=timezone.utc)

    def hop(order_id: str, partition: int, offset: int) -> dict:
        return {"type": "order_placed", "seller_id": "S", "marketplace_id": US, "order_id": order_id,
                "occurred_at": "2026-11-09T20:00:00Z", "source": [partition, offset]}
    for n in range(5):
        on_seller_message(sellers, hop(f"a{n}", 0, 10 + n), config)
    on_seller_message(sellers, hop("b0", 3, 2), config)            # another partition: its own offsets
    assert seller_usage(sellers, "S", US, moment)["orders_in_window"] == 6
    for n in range(5):                                             # redelivered: same offsets
        on_seller_message(sellers, hop(f"a{n}", 0, 10 + n), config)
    on_seller_message(sellers, hop("b0", 3, 2), config)
    assert seller_usage(sellers, "S", US, moment)["orders_in_window"] == 6
    on_seller_message(sellers, hop("a5", 0, 15), config)           # the next new event is counted
    on_seller_message(sellers, hop("b1", 3, 3), config)
    assert seller_usage(sellers, "S", US, moment)["orders_in_window"] == 8


def test_an_order_stage_hop_carries_its_events_partition_and_offset():
    orders: dict = {}
    outcome = on_order_event(orders, _placed(0, "S", date(2026, 11, 9)), partition=4, offset=1234)
    assert [m["source"] for m in outcome.seller_messages] == [[4, 1234]]


# --- approvals counted once by where they were decided (source watermarks) ----------------------

def _approval(n: int, offset: int, seller: str = "SELLERA", partition: int = 0, index: int = 0) -> dict:
    from streams.policy.engine import evaluate
    ask = _message(n, "123-1234567-1234567", seller, "2026-11-10T18:00:00Z")
    decision = evaluate(ask, order(seller_id=seller, order_id=ask["order_id"]), Config().for_seller(seller))
    assert decision["route"] == "approved", decision["violations"]
    return {"type": "decision", "decision": decision, "partition": partition,
            "source": ["messages.requests", partition, offset, index]}


def _sent(sellers: dict, seller: str = "SELLERA") -> int:
    return seller_usage(sellers, seller, US, datetime(2026, 11, 10, 18, tzinfo=timezone.utc))["sent_today"]


def test_approvals_with_sources_are_counted_once_and_write_no_key_per_message():
    sellers: dict = {}
    config = Config()
    hops = [_approval(n, offset=100 + n) for n in range(10)] + [_approval(10, offset=7, partition=3)]
    for hop in hops:
        assert on_seller_message(sellers, hop, config, stage_partition=5).decision["route"] == "approved"
    assert _sent(sellers) == 11
    assert not [k for k in sellers if k.startswith(("m|", "b|"))]
    assert sellers["w|5"] == {"messages.requests|0": [109, 0], "messages.requests|3": [7, 0]}
    for hop in hops:   # replayed after a crash, or duplicates whose remembered decision kept the source
        assert on_seller_message(sellers, hop, config, stage_partition=5).decision["route"] == "approved"
    assert _sent(sellers) == 11
    # the second decision taken from one record (released parked requests) is a new one
    assert on_seller_message(sellers, _approval(11, offset=109, index=1), config, 5).decision["route"] == "approved"
    assert _sent(sellers) == 12
    # another seller-stage partition keeps its own watermarks
    on_seller_message(sellers, _approval(12, offset=50), config, stage_partition=6)
    assert _sent(sellers) == 13


def test_watermarks_written_one_key_per_input_partition_are_still_honoured():
    """Tables from before the watermarks of a seller-stage partition shared one key: an approval at
    or below the old key's position was counted then, and is not counted again."""
    sellers: dict = {"w|5|messages.requests|0": [105, 0]}
    config = Config()
    for n in range(10):
        on_seller_message(sellers, _approval(n, offset=100 + n), config, stage_partition=5)
    assert _sent(sellers) == 4   # offsets 106-109
    assert sellers["w|5"] == {"messages.requests|0": [109, 0]}
    on_seller_message(sellers, _approval(3, offset=103), config, stage_partition=5)   # a replay
    assert _sent(sellers) == 4


def test_a_duplicate_of_a_message_the_cap_blocked_is_judged_again_not_taken_as_counted():
    """The order stage remembers the approval it sent; the seller stage blocked it (VOL001). A
    duplicate comes with the same source, below the watermark: it must not pass as counted."""
    sellers: dict = {}
    tight = Config.from_dict({"defaults": {"daily_cap_margin": 593}})    # cap 600 - 593 = 7 (no history)
    hops = [_approval(n, offset=n) for n in range(8)]
    routes = [on_seller_message(sellers, hop, tight, 0).decision["route"] for hop in hops]
    assert routes == ["approved"] * 7 + ["blocked"]
    assert "b|SELLERA|SELLERA-m-7" in sellers
    again = on_seller_message(sellers, hops[7], tight, 0).decision
    assert again["route"] == "blocked" and again["violations"][0]["code"] == "VOL001"
    assert _sent(sellers) == 7
    looser = Config.from_dict({"defaults": {"daily_cap_margin": 592}})   # the seller's margin changed
    assert on_seller_message(sellers, hops[7], looser, 0).decision["route"] == "approved"
    assert _sent(sellers) == 8 and "b|SELLERA|SELLERA-m-7" not in sellers
    assert on_seller_message(sellers, hops[7], looser, 0).decision["route"] == "approved"
    assert _sent(sellers) == 8


def test_hops_without_a_source_still_count_once_by_message_id():
    """Hops written before sources existed (still in the topic after an upgrade)."""
    sellers: dict = {}
    hop = _approval(1, offset=0)
    del hop["source"]
    for _ in range(2):
        assert on_seller_message(sellers, hop, Config()).decision["route"] == "approved"
    assert _sent(sellers) == 1 and "m|SELLERA|SELLERA-m-1" in sellers


def test_decide_remembers_the_source_and_the_hop_carries_it_but_decisions_never_do():
    from streams.gateway import decide, decide_at, seller_hop
    replayer = Replayer(Config())
    order_ids = _seller_with_history(replayer, "SELLERA", 1)
    ask = _message(1, order_ids[0], "SELLERA", "2026-11-10T18:00:00Z")
    source = ["messages.requests", 2, 41, 0]
    first, first_source = decide_at(replayer.orders, ask, Config(), source)
    again, again_source = decide_at(replayer.orders, ask, Config(), ["messages.requests", 2, 99, 0])
    assert first["route"] == again["route"] == "approved"
    assert "source" not in first and "source" not in again
    assert replayer.orders[order_ids[0]]["decisions"][ask["message_id"]]["source"] == source
    assert first_source == again_source == source          # the first decision's, not the replay's
    assert seller_hop(again, 2, again_source)["source"] == source
    assert "source" not in decide(replayer.orders, ask, Config())   # the offline path: same decision
