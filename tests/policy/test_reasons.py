import pytest

from tests.helpers import codes, decide, delivered, order, request


@pytest.mark.parametrize("reason", ["marketing", "newsletter", "shipment_confirmation", "thank_you", "survey"])
def test_rea001_fires_on_unpermitted_reason(reason):
    assert "REA001" in codes(request(contact_reason=reason), order())


@pytest.mark.parametrize("reason", ["delivery_delay", "order_fulfillment", "invoice", "reply_to_buyer"])
def test_rea001_silent_on_permitted_reason(reason):
    assert "REA001" not in codes(request(contact_reason=reason), order())


@pytest.mark.parametrize("reason,state", [
    ("review_request", order(status="shipped")),
    ("review_request", order(status="cancelled", cancelled_at="2026-11-03T00:00:00Z")),
    ("return_inquiry", order(status="delivered", delivered_at="2026-11-05T00:00:00Z")),
    ("delivery_delay", delivered(2)),
    ("heavy_bulky_delivery", delivered(2)),
    ("custom_design_confirmation", order(status="shipped")),
    ("order_fulfillment", order(status="cancelled", cancelled_at="2026-11-03T00:00:00Z")),
])
def test_rea002_fires_when_reason_does_not_fit_state(reason, state):
    assert "REA002" in codes(request(contact_reason=reason), state)


@pytest.mark.parametrize("reason,state", [
    ("review_request", delivered(7)),
    ("return_inquiry", delivered(3, return_requested_at="2026-11-09T00:00:00Z")),
    ("delivery_delay", order(status="shipped")),
    ("custom_design_confirmation", order(status="placed", shipped_at=None)),
    ("order_issue", order(status="cancelled", cancelled_at="2026-11-03T00:00:00Z")),
])
def test_rea002_silent_when_reason_fits_state(reason, state):
    assert "REA002" not in codes(request(contact_reason=reason), state)


def test_ord001_unknown_order_is_blocked_and_retryable():
    decision = decide(request(), None)
    assert decision["route"] == "blocked"
    assert [v["code"] for v in decision["violations"]] == ["ORD001"]
    assert decision["retryable"] is True


def test_ord001_silent_when_order_known():
    decision = decide(request(), order())
    assert decision["route"] == "approved" and decision["retryable"] is False


def test_unknown_order_with_content_violation_is_not_retryable():
    decision = decide(request(contact_reason="marketing"), None)
    assert {"ORD001", "REA001"} <= {v["code"] for v in decision["violations"]}
    assert decision["retryable"] is False
