import pytest

from streams.config import SellerConfig
from tests.helpers import ORDER_ID, codes, decide, delivered, order, request


def test_opt001_blocks_non_critical_to_opted_out_buyer():
    decision = decide(request(contact_reason="review_request"), delivered(7, buyer_opted_out=True))
    assert decision["route"] == "blocked" and "OPT001" in {v["code"] for v in decision["violations"]}


def test_opt001_silent_for_replies_and_critical_and_not_opted_out():
    assert "OPT001" not in codes(request(contact_reason="reply_to_buyer"), order(buyer_opted_out=True))
    assert "OPT001" not in codes(request(subject=f"[Important] {ORDER_ID}"), order(buyer_opted_out=True))
    assert "OPT001" not in codes(request(contact_reason="review_request"), delivered(7))


@pytest.mark.parametrize("subject", [f"Important: order {ORDER_ID}", f"(Important) {ORDER_ID}",
                                     f"**Important** {ORDER_ID}", f"Order {ORDER_ID}"])
def test_opt002_needs_important_without_a_valid_tag(subject):
    decision = decide(request(subject=subject), order(buyer_opted_out=True))
    assert decision["route"] == "needs_important"
    assert decision["suggested_subject"].startswith("[Important] ")
    assert "Important:" not in decision["suggested_subject"]


@pytest.mark.parametrize("subject", [f"[Important] Order {ORDER_ID}", f"Order {ORDER_ID} [IMPORTANT]",
                                     f"Order {ORDER_ID} [important] delay"])
def test_opt002_silent_with_a_valid_tag(subject):
    decision = decide(request(subject=subject), order(buyer_opted_out=True))
    assert decision["route"] == "approved"


def test_opt002_critical_template_mode_never_accepts_a_subject_tag():
    config = SellerConfig(important_mode="critical_template")
    decision = decide(request(subject=f"[Important] Order {ORDER_ID}"), order(buyer_opted_out=True), config)
    assert decision["route"] == "needs_important"
    assert "template" in decision["violations"][0]["detail"]
    assert "[Important]" not in decision["suggested_subject"]


def test_opt003_blocks_tag_on_non_critical():
    assert "OPT003" in codes(request(contact_reason="review_request", subject=f"[Important] {ORDER_ID}"),
                             delivered(7))


def test_opt003_silent_on_critical_or_untagged():
    assert "OPT003" not in codes(request(subject=f"[Important] {ORDER_ID}"), order())
    assert "OPT003" not in codes(request(contact_reason="review_request"), delivered(7))


def test_invoice_critical_only_when_configured():
    req = request(contact_reason="invoice", subject=f"[Important] Invoice {ORDER_ID}")
    assert "OPT003" in codes(req, delivered(3))
    config = SellerConfig(critical_reasons=SellerConfig().critical_reasons | {"invoice"})
    assert "OPT003" not in codes(req, delivered(3), config)
