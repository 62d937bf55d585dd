"""Who may be contacted, and why: contact reason and order state (RULES.md section 1)."""
from __future__ import annotations

from collections.abc import Iterator

from ...config import PERMITTED_REASONS
from ..model import Context, Finding

NOT_AFTER_DELIVERY = {"delivery_delay", "heavy_bulky_delivery", "home_service_appointment"}
ALLOWED_ON_CANCELLED = {"order_issue", "invoice", "return_inquiry", "reply_to_buyer"}


def contact_reason_not_permitted(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a message whose `contact_reason` is not one of Amazon's permitted reasons.

    Why is this bad: sellers may contact buyers only to complete an order or answer a
    question. Marketing, newsletters, order or shipment confirmations, thank-you notes
    and surveys are not permitted reasons, whatever the text says.

    Example: `contact_reason: "marketing"` (also `newsletter`, `shipment_confirmation`, `survey`).
    Passes: `contact_reason: "delivery_delay"`.
    """
    if ctx.reason not in PERMITTED_REASONS:
        yield Finding(ctx.reason, f"'{ctx.reason}' is not a permitted reason to contact a buyer on Amazon.")


def contact_reason_invalid_for_order_state(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a permitted reason that does not fit the order's current state.

    Why is this bad: a review request before delivery, a delay notice after delivery or a
    custom-design confirmation after shipment cannot be "necessary to complete the order",
    so Amazon treats it as unsolicited contact.
    Checked: `review_request` before delivery or on a cancelled order; `return_inquiry` with no
    return requested; `delivery_delay`, `heavy_bulky_delivery`, `home_service_appointment` after
    delivery; `custom_design_confirmation` after shipment; on a cancelled order anything but
    `order_issue`, `invoice`, `return_inquiry` (and replies).

    Example: `review_request` for an order whose status is `shipped`.
    Passes: `review_request` 7 days after `delivered_at`.
    """
    order, reason = ctx.order, ctx.reason
    if order is None or reason not in PERMITTED_REASONS:
        return
    status = order.get("status")
    if status == "cancelled" and reason not in ALLOWED_ON_CANCELLED:
        yield Finding(f"{reason} on a cancelled order",
                      f"The order was cancelled; '{reason}' messages are not allowed on cancelled orders.")
        return
    if reason == "review_request" and status != "delivered":
        yield Finding(f"review_request while order is {status}",
                      "A review request may only be sent after the order was delivered.")
    elif reason == "return_inquiry" and not order.get("return_requested_at"):
        yield Finding("return_inquiry without a return request",
                      "The buyer has not requested a return, so a return inquiry is not necessary.")
    elif reason in NOT_AFTER_DELIVERY and status == "delivered":
        yield Finding(f"{reason} after delivery",
                      f"The order was already delivered; a '{reason}' message is no longer needed.")
    elif reason == "custom_design_confirmation" and status in ("shipped", "delivered"):
        yield Finding(f"custom_design_confirmation while order is {status}",
                      "A custom design can only be confirmed before the order ships.")


def order_unknown(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks (retryable) a message whose order the gateway has no state for.

    Why is this bad: without the order's state no timing, opt-out or review-count rule can be
    checked, and approving blind could break all of them. In the stream the message waits for
    the order's events for a grace period (default 30 s) first; offline `check` decides at once.

    Example: a request for order 111-0000000-0000000 with `"order": null`.
    Passes: the same request with the order's state snapshot.
    """
    if ctx.order is None:
        yield Finding(ctx.request["order_id"],
                      "No order state is known for this order yet; retry once the order events have arrived.")
