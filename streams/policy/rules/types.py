"""Prohibited message types (RULES.md section 3)."""
from __future__ import annotations

from collections.abc import Iterator

from ..model import Context, Finding


def repeat_review_request(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a second review or feedback request for the same order.

    Why is this bad: Amazon allows one review/seller-feedback request per order. Requests the
    gateway approved before and those Amazon recorded (a `review_solicited` order event, e.g.
    from the "Request a Review" button) both count.

    Example: a `review_request` for an order whose `review_requests` is 1.
    Passes: the first `review_request` (`review_requests` is 0).
    """
    if ctx.reason == "review_request" and ctx.order and ctx.order.get("review_requests", 0) >= 1:
        yield Finding(f"review_requests = {ctx.order['review_requests']}",
                      "This order already had a review request; Amazon allows only one per order.")
