from tests.helpers import ORDER_ID, codes, order, request


def test_id001_fires_without_order_id():
    assert "ID001" in codes(request(subject="Delivery update", body="Your parcel is two days late."), order())


def test_id001_fires_with_a_truncated_order_id():
    assert "ID001" in codes(request(subject="Update", body="Order 123-1234567 is late."), order())


def test_id001_silent_with_order_id_in_subject_or_body_or_fullwidth():
    assert "ID001" not in codes(request(subject=f"Order {ORDER_ID}", body="Late, sorry."), order())
    assert "ID001" not in codes(request(subject="Update", body=f"Order {ORDER_ID} is late."), order())
    fullwidth = "１２３-１２３４５６７-１２３４５６７"
    assert "ID001" not in codes(request(subject="Update", body=f"Order {fullwidth} is late."), order())


def test_id001_silent_for_replies():
    assert "ID001" not in codes(request(contact_reason="reply_to_buyer", subject="Re: question",
                                        body="Yes, it is dishwasher safe."), order())


def test_id002_fires_on_another_orders_id():
    assert "ID002" in codes(request(body=f"Order {ORDER_ID} and also 999-7654321-7654321 are late."), order())


def test_id002_silent_on_own_id_only():
    assert "ID002" not in codes(request(), order())
