"""The stateful logic of the gateway, shared by the Faust agents and `msggate replay`.

Faust code stays thin: it decodes, hands records to these functions with its tables
(anything dict-like), and routes what comes back. Nothing here does I/O.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from aiokafka.partitioner import murmur2

from .config import Config
from .policy.engine import VOLUME_CODE, apply_volume, evaluate
from .policy.rules.volume import AVERAGE_WINDOW_DAYS, daily_cap, day_starts_at, marketplace_day, window_days
from .state import apply_event, apply_optout, is_known, new_order_record, remember_decision
from .timeutil import format_ts, parse_ts

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
# Seller-keyed stage (VOL001): a repartition topic keyed by seller_id.
SELLER_STAGE_TOPIC = "msggate.seller-stage"
INTERNAL_TOPICS = (BUYER_EVENTS_TOPIC, ORDER_UPDATES_TOPIC, PENDING_EXPIRY_TOPIC, SELLER_STAGE_TOPIC)
GATEWAY_TOPICS = (*INPUT_TOPICS, *OUTPUT_TOPICS)
# The Faust app id and its tables; Faust names each table's changelog "<app id>-<table>-changelog".
APP_ID = "msggate"
TABLE_NAMES = ("orders", "pending", "buyers", "sellers")
CHANGELOG_TOPICS = tuple(f"{APP_ID}-{name}-changelog" for name in TABLE_NAMES)
MAX_ORDERS_PER_BUYER = 2_000


@dataclass
class EventOutcome:
    """What folding one order event asks the caller to do next."""

    record: dict
    changed: bool
    buyer_messages: list[dict] = field(default_factory=list)   # to the buyer stage, keyed by buyer_id
    seller_messages: list[dict] = field(default_factory=list)  # to the seller stage, keyed by seller_id


def on_order_event(orders: MutableMapping[str, Any], event: dict, partition: int = 0,
                   offset: int | None = None) -> EventOutcome:
    """Fold an order event into its order's record (raises state.ForeignEvent on a seller mismatch).

    `partition`/`offset` locate the event in orders.events: the seller stage uses them to count
    an order once even when the event, or the hop carrying it, is delivered again after a crash.
    """
    order_id = event["order_id"]
    previous = orders.get(order_id)
    first_seen = previous is None or previous["state"]["buyer_id"] is None
    placed_before = previous is not None and previous["state"]["placed_at"] is not None
    record, changed = apply_event(previous, event)
    if not changed:
        return EventOutcome(record, False)
    touch_order(record, event["occurred_at"], partition)
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
    if event["event_type"] == "order_placed" and not placed_before:
        outcome.seller_messages.append({"type": "order_placed", "seller_id": event["seller_id"],
                                        "marketplace_id": event["marketplace_id"], "order_id": order_id,
                                        "occurred_at": event["occurred_at"],
                                        "source": [partition, offset] if offset is not None else None})
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
    """Apply a buyer-level opt-out change, or a seller-stage VOL001 block, to one order."""
    if update.get("type") == "volume_blocked":
        return _undo_approval(orders, update["order_id"], update["message_id"])
    record = orders.get(update["order_id"]) or new_order_record(update["order_id"])
    if apply_optout(record, update["opted_out"], update["at"]):
        touch_order(record, None, update.get("partition"))
        orders[update["order_id"]] = record
        return True
    return False


def decide(orders: MutableMapping[str, Any], request: dict, config: Config, *,
           decided_at: str | None = None, wait_if_unknown: bool = False,
           partition: int | None = None) -> dict | None:
    """Decide a message request against its order's state and update that state.

    Returns the decision, or None when the order is unknown and `wait_if_unknown` is set (the
    caller parks the request until the order arrives or the grace period ends). A message_id
    decided before gets the same decision again and changes nothing.
    """
    return decide_at(orders, request, config, None, decided_at=decided_at, wait_if_unknown=wait_if_unknown,
                     partition=partition)[0]


def decide_at(orders: MutableMapping[str, Any], request: dict, config: Config, source: list | None, *,
              decided_at: str | None = None, wait_if_unknown: bool = False,
              partition: int | None = None) -> tuple[dict | None, list | None]:
    """`decide`, for the stream: `source` is where the decision is taken (`[topic, partition,
    offset, n]`, the n-th decision of that record). It is remembered with the decision, never put
    on the outputs, and returned beside it: the source of the decision's first taking (a message
    decided before keeps its first source), for the seller-stage hop (`seller_hop`)."""
    record = orders.get(request["order_id"])
    if record is not None:
        previous = record["decisions"].get(request["message_id"])
        if previous is not None:
            first_source = previous.get("source")
            if first_source is not None:
                previous = {k: v for k, v in previous.items() if k != "source"}
            return {**previous, "request": request}, first_source
    if not is_known(record):
        if wait_if_unknown:
            return None, None
        return evaluate(request, None, config.for_seller(request["seller_id"]), decided_at=decided_at), None
    state = record["state"]
    if state["seller_id"] != request["seller_id"]:
        # Another seller's order ID: never evaluate against (or leak) that seller's state.
        return evaluate(request, None, config.for_seller(request["seller_id"]), decided_at=decided_at), None
    decision = evaluate(request, state, config.for_seller(request["seller_id"]), decided_at=decided_at)
    if decision["retryable"]:
        return decision, None  # nothing final happened; a retry is evaluated afresh
    if decision["route"] == "approved" and request["contact_reason"] == "review_request":
        state["review_requests"] += 1
    remembered = {k: v for k, v in decision.items() if k != "request"}
    if source is not None:
        remembered["source"] = source
    remember_decision(record, request["message_id"], remembered)
    touch_order(record, request["requested_at"], partition)
    orders[request["order_id"]] = record
    return decision, source


def _undo_approval(orders: MutableMapping[str, Any], order_id: str, message_id: str) -> bool:
    """The seller stage blocked (VOL001) a review request the order stage had approved and counted.

    A blocked review request does not count toward TYP007, and VOL001 is retryable, so the
    order forgets the approval: a retry is evaluated afresh.
    """
    record = orders.get(order_id)
    if record is None:
        return False
    previous = record["decisions"].get(message_id)
    if previous is None or previous["route"] != "approved":
        return False
    del record["decisions"][message_id]
    # Only review requests are sent back (on_seller_message): undo their TYP007 count.
    record["state"]["review_requests"] = max(0, record["state"]["review_requests"] - 1)
    orders[order_id] = record
    return True


# --- seller-keyed stage (VOL001) -----------------------------------------------------------
# Table keys: "d|<seller>|<marketplace>|<day>" -> {"orders": n, "sent": n, "seen": {partition: offset}}
# per marketplace day. "seen" is, per orders.events partition, the highest offset of an order_placed
# already counted in that day: a redelivered event (or hop) carries the same offset and is not
# counted again. It lives in the same value as the count, so both reach the changelog together.
# Offsets of one partition reach one day key in order: the order stage reads the partition in
# order and its hops to one seller go to one seller-stage partition.
#
# Approvals are counted once per message the same way, by where the order stage decided them
# (`source`: topic, partition, offset, n-th decision of that record; a remembered decision keeps
# the source of its first decision): "w|<stage partition>" -> {"<topic>|<partition>": [offset, n]}
# holds, per input partition, the highest source this seller-stage partition has judged (one key,
# so one changelog record per batch however many input partitions its hops came from; before,
# "w|<stage partition>|<topic>|<partition>" per input partition, still read). A source at or
# below it was judged before: counted, unless "b|<seller>|<message_id>" -> [day, seller] says the
# cap blocked it (then it is judged again). One watermark write per seller-stage batch replaces
# one "m|<seller>|<message_id>" write per approval (a changelog record each); hops without
# a source (written before sources existed) still use and write those m| keys.

def counts_toward_cap(decision: dict, config: Config) -> bool:
    """Approved proactive messages go through the seller stage; replies, blocks and sellers
    with VOL001 turned off do not."""
    return (decision["route"] == "approved" and decision["request"]["contact_reason"] != "reply_to_buyer"
            and config.for_seller(decision["seller_id"]).action_for(VOLUME_CODE, "block") != "off")


def _day_key(seller_id: str, marketplace_id: str, day) -> str:
    return f"d|{seller_id}|{marketplace_id}|{day.isoformat()}"


def _message_key(seller_id: str, message_id: str) -> str:
    return f"m|{seller_id}|{message_id}"


def _blocked_key(seller_id: str, message_id: str) -> str:
    return f"b|{seller_id}|{message_id}"


def _watermarks_key(stage_partition: int | None) -> str:
    # the seller-stage partition is the key: a memory table holds the keys of every partition a
    # worker has, and each partition judges its own hops
    return f"w|{'-' if stage_partition is None else stage_partition}"


def _old_watermark_key(stage_partition: int | None, source: list) -> str:
    """One key per input partition, as written before the watermarks of a seller-stage
    partition shared one key: read while the shared key has no entry for that input partition."""
    return f"{_watermarks_key(stage_partition)}|{source[0]}|{source[1]}"


def seller_hop(decision: dict, partition: int | None, source: list | None) -> dict:
    """The seller-stage message for an approval of the order stage: the decision, the order's
    partition, and where the decision was first taken (as `decide_at` returns it)."""
    message = {"type": "decision", "decision": decision, "partition": partition}
    if source is not None:
        message["source"] = source
    return message


def _new_day_counts(seller_id: str, day: date) -> dict[str, Any]:
    # seller and day ride along so that the sweep need not parse them out of the key
    return {"orders": 0, "sent": 0, "seller": seller_id, "day": day.isoformat()}


@lru_cache(maxsize=4096)
def _usage_keys(seller_id: str, marketplace_id: str, day: date) -> tuple[str, tuple[str, ...], str, str]:
    """(today's key, the 7 window days' keys, the day, when it resets) of a seller's marketplace
    day: the same for every approval of that day, and the date and zone arithmetic behind them
    cost more than the lookups (bounded: sellers x marketplaces of about a day)."""
    return (_day_key(seller_id, marketplace_id, day),
            tuple(_day_key(seller_id, marketplace_id, d) for d in window_days(day)), day.isoformat(),
            day_starts_at(marketplace_id, day + timedelta(days=1)).isoformat())


def seller_usage(sellers: MutableMapping[str, Any], seller_id: str, marketplace_id: str, moment,
                 margin: int = 0, day: date | None = None) -> dict[str, Any]:
    """The seller's usage of its daily cap for the marketplace day of `moment` (aware datetime);
    `day`: that marketplace day, when the caller has it."""
    today_key, window_keys, day_text, resets_at = _usage_keys(
        seller_id, marketplace_id, day or marketplace_day(marketplace_id, moment))
    orders_in_window = 0
    for key in window_keys:
        counts = sellers.get(key)
        if counts:
            orders_in_window += counts.get("orders", 0)
    today = sellers.get(today_key) or {}
    return {"seller_id": seller_id, "marketplace_id": marketplace_id, "day": day_text,
            "sent_today": today.get("sent", 0), "orders_today": today.get("orders", 0),
            "orders_in_window": orders_in_window, "cap": daily_cap(orders_in_window, margin),
            "resets_at": resets_at}


@dataclass
class SellerOutcome:
    """What the seller stage asks the caller to do: route `decision`, tell the order stage."""

    decision: dict | None = None
    order_update: dict | None = None   # to the order's partition (VOL001 undid an approval)
    usage: dict | None = None
    swept: int = 0                     # keys deleted by a sweep message


def on_seller_message(sellers: MutableMapping[str, Any], message: dict, config: Config,
                      stage_partition: int | None = None) -> SellerOutcome:
    """The seller stage: counts orders placed and approved proactive messages per marketplace day.

    `{"type": "order_placed", ...}` adds to the day's order count (the 7-day average).
    `{"type": "decision", "decision": ..., "partition": n, "source": [...]}` is an approval of the
    order stage; it comes back approved (and counted once per message) or blocked with VOL001.
    `stage_partition` is the seller-stage partition the message came from (its watermarks).
    """
    if message["type"] == "sweep":
        return SellerOutcome(swept=sweep_seller_keys(sellers, message))
    if message["type"] == "order_placed":
        day = marketplace_day(message["marketplace_id"], parse_ts(message["occurred_at"]))
        key = _day_key(message["seller_id"], message["marketplace_id"], day)
        counts = sellers.get(key) or _new_day_counts(message["seller_id"], day)
        source = message.get("source")
        if source is not None:
            partition, offset = str(source[0]), source[1]
            seen = counts.setdefault("seen", {})
            if offset <= seen.get(partition, -1):
                return SellerOutcome()   # counted before the crash or rebalance that redelivered it
            seen[partition] = offset
        counts["orders"] += 1
        sellers[key] = counts
        return SellerOutcome()
    decision = message["decision"]
    request = decision["request"]
    seller_id, marketplace_id = request["seller_id"], request["marketplace_id"]
    source = message.get("source")
    blocked_key = _blocked_key(seller_id, request["message_id"])
    if source is None:
        if _message_key(seller_id, request["message_id"]) in sellers:
            return SellerOutcome(decision)  # a duplicate of a message already approved and counted
    else:
        marks_key, input_partition, position = _watermarks_key(stage_partition), f"{source[0]}|{source[1]}", source[2:]
        marks = sellers.get(marks_key) or {}
        judged = marks.get(input_partition)
        if judged is None:
            judged = sellers.get(_old_watermark_key(stage_partition, source))
        if judged is not None and position <= judged:
            if blocked_key not in sellers:
                return SellerOutcome(decision)  # judged before and counted: a replay or a duplicate
        else:
            # a new dict, not the stored one changed in place: written once per batch (BufferedTable)
            sellers[marks_key] = {**marks, input_partition: position}
    seller_config = config.for_seller(seller_id)
    requested_at = parse_ts(request["requested_at"])
    day = marketplace_day(marketplace_id, requested_at)
    usage = seller_usage(sellers, seller_id, marketplace_id, requested_at, seller_config.daily_cap_margin, day)
    final = apply_volume(decision, usage, seller_config)
    if final["route"] != "approved":
        update = None
        if request["contact_reason"] == "review_request":
            update = {"type": "volume_blocked", "order_id": request["order_id"],
                      "message_id": request["message_id"], "partition": message.get("partition")}
        if source is not None and blocked_key not in sellers:
            # the order stage remembers it approved (a review request until the update arrives):
            # a duplicate carries the same source and must be judged again, not taken as counted
            sellers[blocked_key] = [usage["day"], seller_id]
        return SellerOutcome(final, update, usage)
    key = _usage_keys(seller_id, marketplace_id, day)[0]
    counts = sellers.get(key) or _new_day_counts(seller_id, day)
    counts["sent"] += 1
    sellers[key] = counts
    if source is None:
        sellers[_message_key(seller_id, request["message_id"])] = [usage["day"], seller_id]
    elif blocked_key in sellers:
        del sellers[blocked_key]   # blocked before, approved now (a later day, a changed margin)
    return SellerOutcome(final, None, {**usage, "sent_today": counts["sent"]})


# --- batching: one hop record per seller-stage partition and order-stage batch ------------------
# The order stage works in batches (agents.py, `take_events`); what a batch sends to one
# seller-stage partition travels as one record, `{"type": "batch", "messages": [...]}`, and the
# seller stage applies it through a BufferedTable: forty approvals in a batch cost one consumed
# record and one write per day count instead of forty of each. Single messages (sweeps, and hops
# written before batching existed) keep their own shape.

SELLER_HOP_MAX_BYTES = 256 * 1024   # well under Kafka's default 1 MB record limit


def seller_partition(seller_id: str, partitions: int) -> int:
    """The seller-stage partition of a seller: the producer's default partitioner (murmur2 of the
    key, as Kafka's Java client), so records sent with it and records keyed by seller_id meet."""
    return (murmur2(seller_id.encode()) & 0x7FFFFFFF) % partitions


class SellerHops:
    """Collects the seller-stage messages of one order-stage batch, grouped by the seller-stage
    partition of their seller, and packs them into records of at most `max_bytes` (a message
    larger than that travels alone). A seller's messages keep their order."""

    def __init__(self, max_bytes: int = SELLER_HOP_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.clear()

    def clear(self) -> None:
        self._pending: dict[int, tuple[bytes, list[bytes]]] = {}   # partition -> (key, messages)
        self._sizes: dict[int, int] = {}
        self._full: list[tuple[int, bytes, list[bytes]]] = []
        self._messages: dict[int, list[dict]] = {}   # partition -> the messages, as added

    def add(self, message: dict, partitions: int) -> None:
        seller_id = message["seller_id"] if "seller_id" in message else message["decision"]["seller_id"]
        partition = seller_partition(seller_id, partitions)
        self._messages.setdefault(partition, []).append(message)
        encoded = orjson.dumps(message)
        key, parts = self._pending.setdefault(partition, (seller_id.encode(), []))
        if parts and self._sizes[partition] + len(encoded) > self.max_bytes:
            self._full.append((partition, key, parts))
            key, parts = self._pending[partition] = (seller_id.encode(), [])
            self._sizes[partition] = 0
        parts.append(encoded)
        self._sizes[partition] = self._sizes.get(partition, 0) + len(encoded) + 1

    def __len__(self) -> int:
        return sum(len(parts) for _, parts in self._pending.values()) + sum(len(p) for _, _, p in self._full)

    def take(self, partitions: Iterable[int]) -> dict[int, list[dict]]:
        """The messages for `partitions`, in the order added, taken out: `records()` no longer
        yields them (the order stage judges them itself, see LocalSellerPartitions)."""
        taken = {}
        for partition in partitions:
            messages = self._messages.pop(partition, None)
            if messages:
                taken[partition] = messages
                self._pending.pop(partition, None)
                self._sizes.pop(partition, None)
        if taken and self._full:
            self._full = [chunk for chunk in self._full if chunk[0] not in taken]
        return taken

    def records(self) -> Iterator[tuple[int, bytes, bytes]]:
        """(partition, key, value) per record to send; empties the collector. The key is the
        first message's seller_id (records carry several sellers; it is for people reading)."""
        chunks = self._full + [(partition, key, parts) for partition, (key, parts) in self._pending.items()]
        self.clear()
        for partition, key, parts in chunks:
            value = parts[0] if len(parts) == 1 else b'{"type":"batch","messages":[' + b",".join(parts) + b"]}"
            yield partition, key, value


class LocalSellerPartitions:
    """Which seller-stage partitions the order stage may judge itself, instead of sending their
    approvals through the seller-stage topic and waiting for them to be read back.

    The hop costs each approval a produce, a fetch and the other agent's turn: in `bench e2e` at
    half rate, p50 38 ms and p99 103 ms after the order stage's decision, against 9 and 38 ms for
    the routes without it. A worker that holds a seller-stage partition holds its sellers-table
    state, so it can apply `on_seller_message` at the order stage's batch end, with the same
    result, when nothing for that partition is still on its way:

    - The seller stage's watermarks are per input partition and assume its records in order. A
      hop sent through the topic and not yet read back (this worker's, or one a previous owner
      of the order partition sent before a rebalance) would be passed by a batch judged here,
      and read back below the watermark: taken as counted when it never was.
    - So a partition turns local only once the seller stage has read back the latest hop this
      worker sent to it through the topic (the fence), every one of them delivered, since the
      last rebalance. Hops of other order partitions (other workers') are judged by their own
      watermarks and sweeps do not depend on order, so both may keep arriving.
    - A rebalance makes every partition remote again (`reset`): the next hop is a new fence,
      later than anything the partitions' previous owners sent.

    Judged here, an approval writes the same table keys (on the seller-stage partition's
    changelog) and sends no hop; a crash before its order-stage batch is acknowledged replays
    the batch, which is recognised by the watermarks, as a replayed hop is."""

    def __init__(self) -> None:
        self.epoch = 0
        self.ready: set[int] = set()
        self._unsent: dict[int, int] = {}        # partition -> fence hops sent, delivery not known yet
        self._fence: dict[int, int] = {}         # partition -> offset of the latest delivered fence hop

    def reset(self) -> None:
        """A rebalance: every partition waits for a new fence."""
        self.epoch += 1
        self.ready.clear()
        self._unsent.clear()
        self._fence.clear()

    def sent(self, partition: int) -> int:
        """A hop is on its way to `partition` through the topic; returns the epoch to deliver it with."""
        self.ready.discard(partition)
        self._unsent[partition] = self._unsent.get(partition, 0) + 1
        return self.epoch

    def delivered(self, partition: int, epoch: int, offset: int | None) -> None:
        """The hop sent in `epoch` is at `offset` (None: its delivery failed, so the partition
        stays remote until the next rebalance rather than trust a gap)."""
        if epoch != self.epoch or offset is None:
            return
        self._unsent[partition] -= 1
        if not self._unsent[partition]:
            del self._unsent[partition]
        self._fence[partition] = max(offset, self._fence.get(partition, -1))

    def read_back(self, partition: int, offset: int) -> bool:
        """The seller stage has applied the record at `offset` of `partition`; True when that
        makes the partition local."""
        fence = self._fence.get(partition)
        if fence is None or offset < fence or partition in self._unsent:
            return False
        del self._fence[partition]
        self.ready.add(partition)
        return True


def seller_hop_messages(hop: dict) -> list[dict]:
    """The messages one seller-stage record carries (a batch, or one message)."""
    return hop["messages"] if hop.get("type") == "batch" else [hop]


_ABSENT = object()


class BufferedTable(MutableMapping):
    """A table seen through one batch: reads are cached and writes kept until `flush()`, which
    writes each changed key once (one changelog record per key and batch). Only for a batch
    that one agent applies within one event: nothing else may write those keys meanwhile."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self._values: dict[str, Any] = {}      # key -> value, or _ABSENT (missing or deleted)
        self._changed: set[str] = set()

    def _lookup(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            value = self.table.get(key, _ABSENT)
            self._values[key] = value
            return value

    def __getitem__(self, key: str) -> Any:
        value = self._lookup(key)
        if value is _ABSENT:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        value = self._lookup(key)
        return default if value is _ABSENT else value

    def __contains__(self, key: object) -> bool:
        return self._lookup(key) is not _ABSENT   # type: ignore[arg-type]

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._changed.add(key)

    def __delitem__(self, key: str) -> None:
        if self._lookup(key) is _ABSENT:
            raise KeyError(key)
        self._values[key] = _ABSENT
        self._changed.add(key)

    def __iter__(self):
        raise TypeError("a BufferedTable is for lookups by key; iterate the table itself")

    def __len__(self) -> int:
        raise TypeError("a BufferedTable is for lookups by key")

    def flush(self) -> int:
        """Write the changed keys to the table; returns how many."""
        for key in self._changed:
            value = self._values[key]
            if value is _ABSENT:
                if key in self.table:
                    del self.table[key]
            else:
                self.table[key] = value
        written = len(self._changed)
        self._changed.clear()
        return written


class PartitionViews:
    """A table seen through one batch of a stage that reads several partitions: one
    BufferedTable per input partition, all written at the batch's end.

    Per partition, because a table write goes to the changelog partition of the event Faust
    holds as current (`set_current`), and a partition's state lives in its own changelog
    partition. One write per changed key and batch, not one per record: the seller stage's day
    counts and watermarks change with nearly every record it reads."""

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self._views: dict[int, tuple[Any, BufferedTable]] = {}

    def view(self, partition: int, event: Any) -> BufferedTable:
        """The batch's view of `partition`; `event` (one of the batch's from that partition)
        is current while its writes are flushed."""
        entry = self._views.get(partition)
        if entry is None:
            entry = self._views[partition] = (event, BufferedTable(self.table))
        return entry[1]

    def clear(self) -> None:
        self._views.clear()

    def flush(self, set_current: Callable[[Any], None]) -> int:
        """Write every partition's changes with its event current; returns how many keys."""
        written = 0
        for event, view in self._views.values():
            set_current(event)
            written += view.flush()
        self.clear()
        return written


class PendingBatch(PartitionViews):
    """The `pending` table (requests parked until their order arrives) seen through one
    order-stage batch, written at the batch's end.

    A parked request was acknowledged when it was parked, so the table is its only record. The
    batch that releases it must forget it only after the decision (or its seller-stage hop) is
    delivered: otherwise a crash in between, with the deletion already on the changelog, would
    leave nothing to decide it again (the releasing order event comes again, but changes nothing
    the second time). The agent therefore flushes the producer when `released` and then calls
    `flush`. An order's parked requests all live in its partition.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        super().__init__(table)
        self.released = False   # set by whoever takes parked requests out of a view

    def clear(self) -> None:
        super().clear()
        self.released = False


# --- retention --------------------------------------------------------------------------------
# Nothing in a Faust table expires by itself. A timer (agents.py) looks for state past its use and
# sends a sweep message to the partition the state lives in; the agent of that partition deletes
# it (Faust writes the deletion to the changelog partition of the event being processed, so it
# must be that one). The message carries the cutoff, and the agent checks the state again: what
# was touched after the timer looked is kept. These functions are that logic, without the clock.

# A seller's day counts feed the 7-day average of the days after it; two more days of margin cover
# marketplace time zones and late hops.
SELLER_KEY_RETENTION_DAYS = AVERAGE_WINDOW_DAYS + 2


def touch_order(record: dict, at: str | None, partition: int | None) -> None:
    """Remember the order's last activity (event time of its events and requests) and its
    partition, so that the sweep knows when it may go and where to send the deletion."""
    if at is not None and (record.get("active_at") is None or parse_ts(at) > parse_ts(record["active_at"])):
        record["active_at"] = at
    if partition is not None:
        record["partition"] = partition


def order_last_active(record: dict) -> datetime | None:
    """`active_at`, or for records written before it existed, the latest lifecycle timestamp."""
    if record.get("active_at"):
        return parse_ts(record["active_at"])
    state = record["state"]
    stamps = [state[k] for k in ("placed_at", "shipped_at", "delivered_at", "cancelled_at", "return_requested_at")
              if state.get(k)] + ([record["optout_at"]] if record.get("optout_at") else [])
    return max(map(parse_ts, stamps)) if stamps else None


def order_expired(record: dict, cutoff: datetime) -> bool:
    """An order last active before `cutoff` (now minus `order_retention_days`) may be forgotten.
    One that never had a timestamp is kept: its age is unknown."""
    last = order_last_active(record)
    return last is not None and last < cutoff


def expired_orders(items: Iterable[tuple[str, dict | None]], cutoff: str) -> Iterator[tuple[str, int]]:
    """(order_id, partition) of every expired order whose partition is known (the sweep timer);
    `cutoff` as `order_cutoff` gives it, the same the sweep message carries."""
    moment = parse_ts(cutoff)
    for order_id, record in items:
        if record is not None and record.get("partition") is not None and order_expired(record, moment):
            yield order_id, record["partition"]


def expire_order(orders: MutableMapping[str, Any], order_id: str, cutoff: str) -> bool:
    """The agent's half of the sweep: delete the order if it is still expired. True if deleted."""
    record = orders.get(order_id)
    if record is None or not order_expired(record, parse_ts(cutoff)):
        return False
    del orders[order_id]
    return True


def _seller_key_owner_and_day(key: str, value: Any) -> tuple[str, str] | None:
    """(seller_id, ISO day) of a `sellers` key, or None for a key the sweep does not know."""
    if key.startswith("d|") and isinstance(value, dict):
        return value.get("seller") or key.split("|")[1], value.get("day") or key.rsplit("|", 1)[1]
    if key.startswith(("m|", "b|")):
        if isinstance(value, list) and len(value) == 2:
            return value[1], value[0]
        if isinstance(value, str):   # written before values named their seller
            return key.split("|")[1], value
    return None


def _seller_cutoff(today: date) -> str:
    return (today - timedelta(days=SELLER_KEY_RETENTION_DAYS)).isoformat()


def expired_seller_keys(items: Iterable[tuple[str, Any]], today: date) -> dict[str, list[str]]:
    """seller_id -> its keys whose day is older than the retention (the sweep timer)."""
    before = _seller_cutoff(today)
    found: dict[str, list[str]] = {}
    for key, value in items:
        owner = _seller_key_owner_and_day(key, value)
        if owner is not None and owner[1] < before:
            found.setdefault(owner[0], []).append(key)
    return found


def seller_sweep_messages(expired: dict[str, list[str]], today: date, batch: int = 500) -> Iterator[dict]:
    """Sweep messages for the seller stage, keyed (like the hops) by seller_id, at most `batch` keys each."""
    before = _seller_cutoff(today)
    for seller_id, keys in expired.items():
        for start in range(0, len(keys), batch):
            yield {"type": "sweep", "seller_id": seller_id, "before": before, "keys": keys[start:start + batch]}


def sweep_seller_keys(sellers: MutableMapping[str, Any], message: dict) -> int:
    """The seller stage's half of the sweep: delete the listed keys that belong to the message's
    seller (so they live in this partition) and are still older than `before`. Returns the count."""
    deleted = 0
    for key in message["keys"]:
        value = sellers.get(key)
        owner = _seller_key_owner_and_day(key, value) if value is not None else None
        if owner is not None and owner[0] == message["seller_id"] and owner[1] < message["before"]:
            del sellers[key]
            deleted += 1
    return deleted


def order_cutoff(now: datetime, retention_days: int) -> str:
    return format_ts(now - timedelta(days=retention_days))
