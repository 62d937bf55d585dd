from tests.helpers import codes, delivered, request


def test_typ007_fires_on_second_review_request():
    assert "TYP007" in codes(request(contact_reason="review_request"), delivered(7, review_requests=1))


def test_typ007_fires_when_amazon_recorded_a_request():
    assert "TYP007" in codes(request(contact_reason="review_request"), delivered(7, review_requests=2))


def test_typ007_silent_on_first_review_request_and_other_reasons():
    assert "TYP007" not in codes(request(contact_reason="review_request"), delivered(7, review_requests=0))
    assert "TYP007" not in codes(request(contact_reason="invoice"), delivered(7, review_requests=1))
