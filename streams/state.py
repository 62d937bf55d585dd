"""The per-order state and how each order event changes it: a pure fold.

`OrderRecord` is what the per-order table holds: the public order-state snapshot
(`schemas/order_state.json`) plus the bookkeeping needed for idempotency
(event ids applied, decisions already taken per message id).
"""
from __future__ import annotations

from typing import Any

from .timeutil import parse_ts

# Keep idempotency memory bounded per order; an order sees few events and messages.
MAX_EVENT_IDS = 200
MAX_DECISIONS = 200

_STATUS_RANK = {None: 0, "placed": 1, "shipped": 2, "delivered": 3}


def new_order_state(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "seller_id": None,
        "marketplace_id": None,
        "buyer_id": None,
        "buyer_locale": None,
        "status": None,
        "placed_at": None,
        "shipped_at": None,
        "delivered_at": None,
        "cancelled_at": None,
        "return_requested_at": None,
        "review_requests": 0,
        "buyer_opted_out": False,
        "items": None,
    }


def new_order_record(order_id: str) -> dict[str, Any]:
    return {"state": new_order_state(order_id), "event_ids": [], "decisions": {}, "optout_at": None}


class ForeignEvent(ValueError):
    """An event that names a different seller (or buyer) than the order it targets."""


def _advance_status(state: dict, status: str) -> None:
    current = state["status"]
    if current == "cancelled":
        return
    if _STATUS_RANK.get(status, 0) > _STATUS_RANK.get(current, 0):
        state["status"] = status


def _later(current: str | None, candidate: str) -> bool:
    return current is None or parse_ts(candidate) >= parse_ts(current)


def apply_event(record: dict | None, event: dict) -> tuple[dict, bool]:
    """Fold one order event into an order record. Returns (record, changed).

    Events may arrive out of order and more than once: an event id seen before
    changes nothing, a status never moves backwards, and opt-out/opt-in is decided
    by `occurred_at`, not arrival.
    """
    record = record if record is not None else new_order_record(event["order_id"])
    state = record["state"]
    if event["event_id"] in record["event_ids"]:
        return record, False
    if state["seller_id"] is not None and state["seller_id"] != event["seller_id"]:
        raise ForeignEvent(
            f"event seller_id {event['seller_id']!r} does not own order {event['order_id']}"
        )
    if state["buyer_id"] is not None and state["buyer_id"] != event["buyer_id"]:
        raise ForeignEvent(f"event buyer_id does not match the buyer of order {event['order_id']}")
    state["seller_id"] = event["seller_id"]
    state["marketplace_id"] = state["marketplace_id"] or event["marketplace_id"]
    state["buyer_id"] = event["buyer_id"]

    kind, at = event["event_type"], event["occurred_at"]
    if kind == "order_placed":
        state["placed_at"] = at
        state["buyer_locale"] = event.get("buyer_locale")
        state["items"] = event.get("items")
        _advance_status(state, "placed")
    elif kind == "order_shipped":
        state["shipped_at"] = at
        _advance_status(state, "shipped")
    elif kind == "order_delivered":
        state["delivered_at"] = at
        _advance_status(state, "delivered")
    elif kind == "order_cancelled":
        state["cancelled_at"] = at
        state["status"] = "cancelled"
    elif kind == "return_requested":
        state["return_requested_at"] = at
    elif kind == "review_solicited":
        state["review_requests"] += 1
    elif kind in ("buyer_opted_out", "buyer_opted_in"):
        apply_optout(record, kind == "buyer_opted_out", at)
    # return_received / refund_issued: recorded for idempotency only; no rule reads them yet.
    record["event_ids"] = (record["event_ids"] + [event["event_id"]])[-MAX_EVENT_IDS:]
    return record, True


def apply_optout(record: dict, opted_out: bool, at: str) -> bool:
    """Apply a buyer's opt-out/opt-in; the latest `occurred_at` wins. Returns True if applied."""
    if not _later(record.get("optout_at"), at):
        return False
    record["optout_at"] = at
    record["state"]["buyer_opted_out"] = opted_out
    return True


def is_known(record: dict | None) -> bool:
    """An order is known once its order_placed (or any later lifecycle event) was seen."""
    if record is None:
        return False
    return record["state"]["status"] is not None


def remember_decision(record: dict, message_id: str, decision: dict) -> None:
    decisions = record["decisions"]
    decisions[message_id] = decision
    if len(decisions) > MAX_DECISIONS:
        for stale in list(decisions)[: len(decisions) - MAX_DECISIONS]:
            del decisions[stale]
