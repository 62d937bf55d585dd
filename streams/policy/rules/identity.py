"""Required content: the order ID, no other order's ID (RULES.md section 2)."""
from __future__ import annotations

from collections.abc import Iterator

from ..model import Context, Finding


def missing_order_id(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a proactive message that does not mention its 17-digit order ID.

    Why is this bad: Amazon requires every permitted proactive message to carry the order ID
    (`3-7-7` digits) in the subject or body, so the buyer knows which purchase it concerns.
    Replies are exempt. Full-width digits and typographic dashes count as written.

    Example: "Your delivery is delayed by two days." for order 123-1234567-1234567.
    Passes: "Order 123-1234567-1234567: your delivery is delayed by two days."
    """
    if not ctx.proactive:
        return
    own = ctx.request["order_id"]
    if not any(found == own for found, _ in ctx.order_ids_mentioned):
        yield Finding("(order ID not found in subject or body)",
                      f"Proactive messages must include the order ID {own} in the subject or body.")


def foreign_order_id(ctx: Context) -> Iterator[Finding]:
    """What it does: blocks a message that mentions an order ID other than its own order's.

    Why is this bad: another order's ID is a sign that the message (or part of it) was meant
    for another buyer, so it may leak that buyer's data.

    Example: a message for 123-1234567-1234567 that says "about order 999-7654321-7654321".
    Passes: a message that mentions only 123-1234567-1234567.
    """
    own = ctx.request["order_id"]
    for found, snippet in ctx.order_ids_mentioned:
        if found != own:
            yield Finding(snippet, f"The message mentions order {found}, which is not its own order {own}.")
            return
