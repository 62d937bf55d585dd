"""One seller's configuration, state or flood never changes another seller's decisions, and no
decision carries another seller's data."""
from __future__ import annotations

import orjson

from streams.cli.offline import Replayer
from streams.config import Config
from tests.helpers import ORDER_ID, request

CONFIG = Config.from_dict({"sellers": {
    "STRICT": {"rules": {"STY011": "block", "TYP002": "off"}, "brand_image_hosts": ["cdn.strict.example"],
               "daily_cap_margin": 600}}})


def placed(seller: str, order_id: str, buyer: str, title: str) -> dict:
    return {"event_id": f"{seller}-{order_id}", "event_type": "order_placed", "occurred_at": "2026-11-01T10:00:00Z",
            "seller_id": seller, "marketplace_id": "A1PA6795UKMFR9", "order_id": order_id, "buyer_id": buyer,
            "buyer_locale": "en_US", "items": [{"asin": "B0SECRET01", "sku": "SECRET", "title": title, "quantity": 1}]}


def test_one_sellers_overrides_do_not_reach_another_seller():
    replayer = Replayer(CONFIG)
    replayer.order_event(placed("STRICT", ORDER_ID, "B-STRICT", "Strict mug"))
    replayer.order_event(placed("OTHER", "111-1111111-1111111", "B-OTHER", "Other mug"))
    typo = "Your order {oid} will arrive tomorow, two days late. We apologise."
    strict = replayer.message_request(request(message_id="s1", seller_id="STRICT", order_id=ORDER_ID,
                                              body=typo.format(oid=ORDER_ID)))
    other = replayer.message_request(request(message_id="o1", seller_id="OTHER", order_id="111-1111111-1111111",
                                             subject="Order 111-1111111-1111111",
                                             body=typo.format(oid="111-1111111-1111111")))
    assert strict["route"] == "blocked" and "STY011" in {v["code"] for v in strict["violations"]}
    assert other["route"] == "approved" and "STY011" in {w["code"] for w in other["warnings"]}
    # STRICT's margin of 600 leaves it a cap of 0; OTHER keeps the floor of 600
    assert [v["code"] for v in replayer.message_request(request(
        message_id="s2", seller_id="STRICT", order_id=ORDER_ID))["violations"]] == ["VOL001"]
    assert replayer.message_request(request(message_id="o2", seller_id="OTHER", order_id="111-1111111-1111111",
                                            subject="Order 111-1111111-1111111",
                                            body="Order 111-1111111-1111111 is two days late."))["route"] == "approved"


def test_a_request_naming_another_sellers_order_sees_none_of_its_state():
    replayer = Replayer(Config())
    replayer.order_event(placed("OWNER", ORDER_ID, "B-OWNER-SECRET", "Owner's secret product"))
    intruder = replayer.message_request(request(message_id="i1", seller_id="INTRUDER", order_id=ORDER_ID))
    assert intruder["route"] == "blocked" and intruder["violations"][0]["code"] == "ORD001"
    text = orjson.dumps(intruder).decode()
    assert "B-OWNER-SECRET" not in text and "secret product" not in text.lower() and "OWNER" not in text
    # and the owner's order state is untouched by the intruder's request
    assert replayer.orders[ORDER_ID]["decisions"] == {}


def test_a_flood_from_one_seller_does_not_change_anothers_cap():
    replayer = Replayer(Config())
    replayer.order_event(placed("FLOOD", ORDER_ID, "B1", "Mug"))
    replayer.order_event(placed("QUIET", "111-1111111-1111111", "B2", "Mug"))
    for n in range(700):
        replayer.message_request(request(message_id=f"f{n}", seller_id="FLOOD", order_id=ORDER_ID))
    quiet = replayer.message_request(request(message_id="q1", seller_id="QUIET", order_id="111-1111111-1111111",
                                             subject="Order 111-1111111-1111111",
                                             body="Order 111-1111111-1111111 is two days late."))
    assert quiet["route"] == "approved"
