"""The stateful logic of the gateway, shared by the Faust agents and `msggate replay`.

Faust code stays thin: it decodes, hands records to these functions with its tables
(anything dict-like), and routes what comes back. Nothing here does I/O.
"""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from .config import Config
from .policy.engine import evaluate
from .state import apply_event, apply_optout, is_known, new_order_record, remember_decision
from .timeutil import parse_ts

ROUTE_TOPICS = {
    "approved": "messages.approved",
    "blocked": "messages.blocked",
    "needs_important": "messages.needs-important",
}
DEAD_LETTER_TOPIC = "messages.dead-letter"
INPUT_TOPICS = ("orders.events", "messages.requests")
OUTPUT_TOPICS = (*ROUTE_TOPICS.values(), DEAD_LETTER_TOPIC)
# Internal topics: buyer-keyed opt-out stage, and its answers back to the order partitions.
BUYER_EVENTS_TOPIC = "msggate.buyer-events"
ORDER_UPDATES_TOPIC = "msggate.order-updates"
PENDING_EXPIRY_TOPIC = "msggate.pending-expiry"
INTERNAL_TOPICS = (BUYER_EVENTS_TOPIC, ORDER_UPDATES_TOPIC, PENDING_EXPIRY_TOPIC)
GATEWAY_TOPICS = (*INPUT_TOPICS, *OUTPUT_TOPICS)
MAX_ORDERS_PER_BUYER = 2_000


@dataclass
class EventOutcome:
    """What folding one order event asks the caller to do next."""

    record: dict
    changed: bool
    buyer_messages: list[dict] = field(default_factory=list)   # to the buyer stage, keyed by buyer_id


def on_order_event(orders: MutableMapping[str, Any], event: dict, partition: int = 0) -> EventOutcome:
    """Fold an order event into its order's record (raises state.ForeignEvent on a seller mismatch)."""
    order_id = event["order_id"]
    previous = orders.get(order_id)
    first_seen = previous is None or previous["state"]["buyer_id"] is None
    record, changed = apply_event(previous, event)
    if not changed:
        return EventOutcome(record, False)
    orders[order_id] = record
    outcome = EventOutcome(record, True)
    buyer_id = event["buyer_id"]
    if first_seen:
        outcome.buyer_messages.append({"type": "register", "buyer_id": buyer_id, "order_id": order_id,
                                       "partition": partition})
    if event["event_type"] in ("buyer_opted_out", "buyer_opted_in"):
        outcome.buyer_messages.append({"type": "optout", "buyer_id": buyer_id, "order_id": order_id,
                                       "opted_out": event["event_type"] == "buyer_opted_out",
                                       "at": event["occurred_at"]})
    return outcome


def on_buyer_message(buyers: MutableMapping[str, Any], message: dict) -> list[dict]:
    """The buyer stage: remembers a buyer's orders and opt-out; returns order updates to send.

    Each update is `{"order_id", "partition", "opted_out", "at"}`, to be delivered to the
    order's own partition so the per-order table applies it there.
    """
    buyer_id = message["buyer_id"]
    buyer = buyers.get(buyer_id) or {"opted_out": False, "at": None, "orders": {}}
    updates: list[dict] = []
    if message["type"] == "register":
        buyer["orders"][message["order_id"]] = message["partition"]
        if len(buyer["orders"]) > MAX_ORDERS_PER_BUYER:
            buyer["orders"].pop(next(iter(buyer["orders"])))
        if buyer["at"] is not None:
            updates.append({"order_id": message["order_id"], "partition": message["partition"],
                            "opted_out": buyer["opted_out"], "at": buyer["at"]})
    elif message["type"] == "optout":
        if buyer["at"] is None or parse_ts(message["at"]) >= parse_ts(buyer["at"]):
            buyer["opted_out"], buyer["at"] = message["opted_out"], message["at"]
            updates.extend({"order_id": order_id, "partition": partition, "opted_out": buyer["opted_out"],
                            "at": buyer["at"]} for order_id, partition in buyer["orders"].items()
                           if order_id != message["order_id"])
    buyers[buyer_id] = buyer
    return updates


def on_order_update(orders: MutableMapping[str, Any], update: dict) -> bool:
    """Apply a buyer-level opt-out change to one order (the order may not be known yet)."""
    record = orders.get(update["order_id"]) or new_order_record(update["order_id"])
    if apply_optout(record, update["opted_out"], update["at"]):
        orders[update["order_id"]] = record
        return True
    return False


def decide(orders: MutableMapping[str, Any], request: dict, config: Config, *,
           decided_at: str | None = None, wait_if_unknown: bool = False) -> dict | None:
    """Decide a message request against its order's state and update that state.

    Returns the decision, or None when the order is unknown and `wait_if_unknown` is set (the
    caller parks the request until the order arrives or the grace period ends). A message_id
    decided before gets the same decision again and changes nothing.
    """
    record = orders.get(request["order_id"])
    if record is not None:
        previous = record["decisions"].get(request["message_id"])
        if previous is not None:
            return {**previous, "request": request}
    if not is_known(record):
        if wait_if_unknown:
            return None
        return evaluate(request, None, config.for_seller(request["seller_id"]), decided_at=decided_at)
    state = record["state"]
    if state["seller_id"] != request["seller_id"]:
        # Another seller's order ID: never evaluate against (or leak) that seller's state.
        return evaluate(request, None, config.for_seller(request["seller_id"]), decided_at=decided_at)
    decision = evaluate(request, state, config.for_seller(request["seller_id"]), decided_at=decided_at)
    if decision["retryable"]:
        return decision  # nothing final happened; a retry is evaluated afresh
    if decision["route"] == "approved" and request["contact_reason"] == "review_request":
        state["review_requests"] += 1
    remember_decision(record, request["message_id"], {k: v for k, v in decision.items() if k != "request"})
    orders[request["order_id"]] = record
    return decision
