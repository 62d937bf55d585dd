"""Hostile and broken input at the edge and in the engine: a clear dead-letter reason or a
decision, never an exception, within bounded work (limits are checked before parsing)."""
from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from streams.config import Config, ConfigError, GatewaySettings, SellerConfig
from streams.policy.engine import evaluate
from streams.records import InvalidRecord, decode_message_request, validate
from tests.helpers import ORDER_ID, attachment, order, request

LIMITS = GatewaySettings()


def dead_letter_reason(raw: bytes) -> tuple[str, str]:
    with pytest.raises(InvalidRecord) as caught:
        decode_message_request(raw, LIMITS)
    return caught.value.kind, caught.value.reason


def decide(req: dict) -> dict:
    decision = evaluate(decode_message_request(orjson.dumps(req), LIMITS), order(), SellerConfig())
    validate("decision", decision)
    return decision


def test_not_utf8_not_json_and_deep_json_are_dead_lettered_with_the_reason():
    assert dead_letter_reason(b'{"body": "\xff\xfe"}') [0] == "json"
    assert "not valid JSON" in dead_letter_reason(b"{not json")[1]
    kind, reason = dead_letter_reason(b"[" * 100_000 + b"]" * 100_000)
    assert kind == "json" and "depth" in reason


def test_a_10_mb_body_is_refused_before_parsing():
    kind, reason = dead_letter_reason(orjson.dumps(request(body="x" * (10 * 1024 * 1024))))
    assert kind == "limit" and "max_record_bytes" in reason


@pytest.mark.parametrize(("overrides", "setting"), [
    ({"subject": "s" * 251}, "max_subject_chars"),
    ({"attachments": [attachment("invoice", f"f{i}.pdf") for i in range(6)]}, "max_attachments"),
    ({"attachments": [attachment("invoice", "big.pdf", size_bytes=11 * 1024 * 1024)]}, "max_attachment_bytes"),
    ({"body_format": "html", "body": "<b>x</b>" * 30_000}, "max_html_tags"),
    ({"body_format": "html", "body": "<p " + " ".join(f"a{i}='1'" for i in range(25_000)) + ">hi</p>"},
     "max_html_attributes"),
])
def test_each_limit_is_a_named_setting_enforced_at_the_edge(overrides, setting):
    kind, reason = dead_letter_reason(orjson.dumps(request(**overrides)))
    assert kind == "limit" and setting in reason


def test_limits_are_configurable_and_validated():
    config = Config.from_dict({"gateway": {"max_subject_chars": 10}})
    with pytest.raises(InvalidRecord):
        decode_message_request(orjson.dumps(request(subject="a subject of more than ten")), config.gateway)
    with pytest.raises(ConfigError):
        Config.from_dict({"gateway": {"max_body_chars": -1}})


def test_just_under_the_limits_is_decided():
    req = request(subject=f"Order {ORDER_ID} " + "s" * 200,
                  attachments=[attachment("invoice", f"f{i}.pdf") for i in range(5)])
    assert decide(req)["route"] in ("approved", "blocked")


def test_html_bombs_get_a_decision():
    deep = decide(request(body_format="html", body="<div>" * 20_000 + f"Order {ORDER_ID} delayed" + "</div>" * 20_000))
    assert deep["route"] in ("approved", "blocked")
    many_links = decide(request(body_format="html", body="".join(
        f'<a href="https://evil{i}.example/">x</a>' for i in range(10_000))))
    assert "CNT001" in {v["code"] for v in many_links["violations"]}


def test_long_runs_without_spaces_are_linear():
    """Found by this suite: `\\S+@\\S+` over a 1 MB word was quadratic (minutes)."""
    assert decide(request(body="a" * 1_000_000))["route"] in ("approved", "blocked")
    assert decide(request(body=("a" * 100 + " at ") * 10_000))["route"] in ("approved", "blocked")


def test_unknown_fields_are_carried_not_judged():
    decision = decide(request(extra_field={"nested": [1, 2, 3]}))
    assert decision["request"]["extra_field"] == {"nested": [1, 2, 3]}


_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=400)
_tags = st.sampled_from(["p", "div", "a", "img", "table", "tr", "td", "font", "style", "script", "br", "center",
                         "span", "b", "center"])


_attribute_names = st.sampled_from(["href", "src", "style", "alt", "width", "height", "align", "color", "role",
                                    "face", "hidden", "aria-label", "title", "bgcolor", "valign", "class",
                                    "data-msggate-link"])   # the last: once written by analysis itself
# values the checks parse: sizes, CSS declarations, URLs (random text rarely hits them)
_attribute_values = st.sampled_from(["0", "1", "2px", " 2 ", "1.5", "٣", "１", "²", "-1", "1e9", "nan", "100%", "3rem",
                                     "12pt", "px", "display:none", "opacity:0.0", "width:1px;height:1px",
                                     "margin: 80px", "font-family: Comic Sans", ":;:", "presentation",
                                     "https://x.example/a.gif", "http://t.example/open.gif?uid=1", "www.shop.com",
                                     "https://[::1]:99/x", "https://user@host:99999/x", "mailto:a@b.example", "7"])


@st.composite
def html_bodies(draw):
    parts = []
    for _ in range(draw(st.integers(0, 25))):
        tag = draw(_tags)
        attrs = draw(st.dictionaries(_attribute_names, st.one_of(_text, _attribute_values), max_size=3))
        rendered = " ".join(f'{k}="{v.replace(chr(34), "&quot;")}"' for k, v in attrs.items())
        closing = draw(st.booleans())
        parts.append(f"<{tag} {rendered}>{draw(_text)}" + (f"</{tag}>" if closing else ""))
    if draw(st.booleans()):
        parts.append(draw(_text))   # raw junk, possibly broken markup
    return "".join(parts)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=_text, body=st.one_of(_text, html_bodies()), body_format=st.sampled_from(["text", "html"]),
       reason=st.sampled_from(["delivery_delay", "review_request", "reply_to_buyer", "order_issue", "marketing",
                               "invoice"]),
       opted_out=st.booleans(), delivered_days=st.one_of(st.none(), st.integers(0, 60)))
# found by this test: "²" is a digit to str.isdigit() but not a number to float() (CNT007 raised)
@example(subject="", body="<IMG WIDTH=²>", body_format="html", reason="delivery_delay", opted_out=False,
         delivered_days=None)
# found by a fuzzer: analysis trusted an attribute it wrote into the document itself (IndexError)
@example(subject="", body='<img src="https://x.example/l.png" data-msggate-link="7">', body_format="html",
         reason="delivery_delay", opted_out=False, delivered_days=None)
def test_the_engine_never_raises_and_always_returns_a_valid_decision(subject, body, body_format, reason,
                                                                    opted_out, delivered_days):
    from tests.helpers import delivered

    state = order(buyer_opted_out=opted_out) if delivered_days is None \
        else delivered(delivered_days, buyer_opted_out=opted_out)
    req = request(subject=subject, body=body, body_format=body_format, contact_reason=reason)
    decision = evaluate(req, state, SellerConfig())
    validate("decision", decision)
    assert decision["route"] in ("approved", "blocked", "needs_important")
    assert (decision["route"] == "blocked") == any(v["code"] != "OPT002" for v in decision["violations"])
    for finding in decision["violations"] + decision["warnings"]:
        assert finding["detail"] and len(finding["evidence"]) <= 300
