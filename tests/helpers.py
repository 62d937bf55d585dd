"""Builders for requests and order states used across the tests."""
from __future__ import annotations

from streams.config import SellerConfig
from streams.policy.engine import evaluate

ORDER_ID = "123-1234567-1234567"


def request(**overrides) -> dict:
    base = {
        "message_id": "m-1", "seller_id": "SELLER1", "marketplace_id": "A1PA6795UKMFR9",
        "order_id": ORDER_ID, "contact_reason": "delivery_delay",
        "subject": f"Order {ORDER_ID}: delivery update",
        "body": f"Hello, your order {ORDER_ID} will arrive two days later than promised. We apologise.",
        "body_format": "text", "requested_at": "2026-11-10T10:00:00Z",
    }
    base.update(overrides)
    return base


def order(**overrides) -> dict:
    base = {
        "order_id": ORDER_ID, "seller_id": "SELLER1", "marketplace_id": "A1PA6795UKMFR9",
        "buyer_id": "BUYER1", "buyer_locale": "en_US", "status": "shipped",
        "placed_at": "2026-11-01T10:00:00Z", "shipped_at": "2026-11-02T10:00:00Z", "delivered_at": None,
        "cancelled_at": None, "return_requested_at": None, "review_requests": 0, "buyer_opted_out": False,
        "items": [{"asin": "B000TEST01", "sku": "MUG-1", "title": "Ceramic mug", "quantity": 1}],
    }
    base.update(overrides)
    return base


def delivered(days_before: float, **overrides) -> dict:
    """An order delivered `days_before` days before the default requested_at (2026-11-10T10:00Z)."""
    from datetime import datetime, timedelta, timezone

    at = datetime(2026, 11, 10, 10, tzinfo=timezone.utc) - timedelta(days=days_before)
    return order(status="delivered", delivered_at=at.isoformat().replace("+00:00", "Z"), **overrides)


def codes(req: dict, state: dict | None, config: SellerConfig | None = None) -> set[str]:
    decision = evaluate(req, state, config or SellerConfig())
    return {f["code"] for f in decision["violations"] + decision["warnings"]}


def decide(req: dict, state: dict | None, config: SellerConfig | None = None) -> dict:
    return evaluate(req, state, config or SellerConfig())


BODY = f"Order {ORDER_ID}: your parcel is delayed by two days."


def attachment(kind: str = "other", filename: str = "file.pdf", content_type: str = "application/pdf",
               size_bytes: int = 1000) -> dict:
    return {"filename": filename, "content_type": content_type, "size_bytes": size_bytes, "kind": kind}


def html(extra: str) -> dict:
    """An HTML request whose body is a valid delay notice plus `extra` markup."""
    return request(body_format="html", body=f"<p>{BODY}</p>{extra}")
