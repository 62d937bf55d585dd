"""When a message may be sent, relative to delivery (RULES.md section 1)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from ...timeutil import parse_ts
from ..model import Context, Finding


def outside_completion_window(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a proactive message requested more than 30 days after delivery.

    Why is this bad: Amazon allows proactive messages only within 30 days of order completion.
    Replies to the buyer are not proactive and are not limited. Orders not yet delivered have
    no closed window. The window is configurable per seller (`completion_window_days`, max 30).

    Example: `delivery_delay` requested 31 days after `delivered_at`.
    Passes: `invoice` requested 29 days after `delivered_at`.
    """
    if ctx.order is None or not ctx.proactive or not ctx.order.get("delivered_at"):
        return
    delivered_at = parse_ts(ctx.order["delivered_at"])
    limit = timedelta(days=ctx.config.completion_window_days)
    if ctx.now > delivered_at + limit:
        days = (ctx.now - delivered_at).total_seconds() / 86400
        yield Finding(f"requested {days:.1f} days after delivery ({ctx.order['delivered_at']})",
                      f"Proactive messages must be sent within {limit.days} days of delivery.")


def review_request_timing(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a review request sent earlier than 5 or later than 30 days after delivery.

    Why is this bad: Amazon's own "Request a Review" window is 5 to 30 days after delivery;
    requests outside it are unsolicited. Both bounds are configurable (`review_window_days`).
    A request before delivery is REA002's job.

    Example: `review_request` 2 days after `delivered_at`.
    Passes: `review_request` 10 days after `delivered_at`.
    """
    if ctx.reason != "review_request" or ctx.order is None or not ctx.order.get("delivered_at"):
        return
    delivered_at = parse_ts(ctx.order["delivered_at"])
    low, high = ctx.config.review_window_days
    age = ctx.now - delivered_at
    days = age.total_seconds() / 86400
    if age < timedelta(days=low):
        yield Finding(f"{days:.1f} days after delivery",
                      f"Review requests may be sent from {low} days after delivery; this one is too early.")
    elif age > timedelta(days=high):
        yield Finding(f"{days:.1f} days after delivery",
                      f"Review requests may be sent up to {high} days after delivery; this one is too late.")
