"""Rule gates (registry.Rule.gate): the engine skips a rule whose gate names none of the
message's facts. A wrong gate would silently switch its rule off, so gated and ungated
evaluation must agree everywhere we can look, and every gate name must exist."""
from __future__ import annotations

import copy

import pytest

from streams.bench import generate
from streams.config import SellerConfig
from streams.policy import engine, lexicons
from streams.policy.model import FACTS, Context
from streams.policy.registry import RULES
from streams.timeutil import parse_ts
from tests.policy.test_corpus import CASES


def test_every_gate_names_a_known_fact():
    known = FACTS | set(lexicons.prefiltered_names())
    assert not FACTS & set(lexicons.prefiltered_names()), "a fact and a prefilter name share a name"
    for rule in RULES:
        if rule.gate is not None:
            assert rule.gate and rule.gate <= known, (rule.code, rule.gate - known)


def _inputs():
    for _meta, _entry, case in CASES:
        yield case["request"], case["order"]
        if case["request"]["body_format"] == "text":   # the same text as HTML paragraphs
            request = copy.deepcopy(case["request"])
            request["body"] = "<p>" + request["body"].replace("\n\n", "</p><p>").replace("\n", "<br>") + "</p>"
            request["body_format"] = "html"
            yield request, case["order"]
    for seed in (1, 2):
        yield from generate(600, seed=seed)


def _decisions(config):
    return [engine.evaluate(request, order, config) for request, order in _inputs()]


@pytest.mark.parametrize("config", [SellerConfig(), SellerConfig(brand_image_hosts=frozenset({"cdn.brand.example"}))],
                         ids=["defaults", "brand-hosts"])
def test_gates_change_no_decision(config, monkeypatch):
    gated = _decisions(config)
    monkeypatch.setattr(engine, "GATES_ON", False)
    ungated = _decisions(config)
    assert len(gated) > 1000
    fired = {v["code"] for d in ungated for v in d["violations"] + d["warnings"]}
    assert len(fired) >= 35        # the inputs exercise (nearly) every rule
    for with_gates, without in zip(gated, ungated):
        assert with_gates == without, with_gates["message_id"]


def _facts(body: str, body_format: str = "text", **order_fields) -> frozenset[str]:
    request = {"message_id": "m", "seller_id": "S", "marketplace_id": "ATVPDKIKX0DER", "order_id": "123-1234567-1234567",
               "contact_reason": "delivery_delay", "subject": "Order 123-1234567-1234567", "body": body,
               "body_format": body_format, "requested_at": "2026-11-10T10:00:00Z"}
    order = {"order_id": "123-1234567-1234567", "buyer_locale": "en_US", **order_fields}
    return Context(request=request, order=order, config=SellerConfig(), now=parse_ts(request["requested_at"]),
                   critical=False).facts


def test_facts_say_what_a_message_has():
    plain = _facts("Your sofa arrives on Tuesday between 9 and 12.")
    assert not plain & {"links", "images", "styles", "breaks", "tables", "non_ascii", "opted_out", "delivered"}
    html = _facts('<p style="color:red">Hi <a href="https://x.example">x</a><img src="https://i.example/a.png"></p>',
                  "html", buyer_opted_out=True, delivered_at="2026-11-01T00:00:00Z")
    assert {"links", "images", "styles", "opted_out", "delivered"} <= html
    assert "marketing" in _facts("Use discount code SAVE10 on your next order!")
    assert "non_ascii" in _facts("Ihre Bestellung kommt am Dienstag, vielen Dank für Ihre Geduld.")
