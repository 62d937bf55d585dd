from streams.config import SellerConfig
from tests.helpers import codes, delivered, order, request


def test_tim001_fires_after_30_days():
    assert "TIM001" in codes(request(contact_reason="invoice"), delivered(31))


def test_tim001_fires_just_past_the_window():
    assert "TIM001" in codes(request(contact_reason="other_purchase_related"), delivered(30.01))


def test_tim001_silent_inside_window_and_for_replies_and_undelivered():
    assert "TIM001" not in codes(request(contact_reason="invoice"), delivered(29))
    assert "TIM001" not in codes(request(contact_reason="reply_to_buyer"), delivered(60))
    assert "TIM001" not in codes(request(), order(status="shipped"))


def test_tim002_fires_too_early_and_too_late():
    assert "TIM002" in codes(request(contact_reason="review_request"), delivered(2))
    assert "TIM002" in codes(request(contact_reason="review_request"), delivered(31))


def test_tim002_silent_inside_window():
    assert "TIM002" not in codes(request(contact_reason="review_request"), delivered(5.1))
    assert "TIM002" not in codes(request(contact_reason="review_request"), delivered(29.9))


def test_tim002_bounds_are_configurable():
    config = SellerConfig(review_window_days=(1, 10))
    assert "TIM002" not in codes(request(contact_reason="review_request"), delivered(2), config)
    assert "TIM002" in codes(request(contact_reason="review_request"), delivered(12), config)
