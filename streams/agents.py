"""The agents: decode -> look up state -> evaluate -> update state -> route.

One agent reads the two co-partitioned input topics (plus two internal co-partitioned
topics) so that an order's events and messages are handled in one place, in arrival order.
A second agent is the buyer-keyed stage that carries a buyer's opt-out to all its orders.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import time
import weakref
from collections import Counter
from itertools import islice

import faust
import orjson
import structlog
from faust.stores.memory import Store as MemoryStore
from faust.streams import _current_event   # Faust's own "current event" (see set_current_event)

from . import store
from .changelog import BatchedChangelogTable
from .config import Config
from .gateway import (BUYER_EVENTS_TOPIC, DEAD_LETTER_TOPIC, INPUT_TOPICS, ORDER_UPDATES_TOPIC,
                      PENDING_EXPIRY_TOPIC, ROUTE_TOPICS, SELLER_STAGE_TOPIC, TABLE_NAMES, LocalSellerPartitions,
                      PartitionViews, PendingBatch, SellerHops, counts_toward_cap, decide_at, expire_order,
                      expired_orders, expired_seller_keys, on_buyer_message, on_order_event, on_order_update,
                      on_seller_message, order_cutoff, seller_hop, seller_hop_messages, seller_partition,
                      seller_sweep_messages)
from .policy.engine import warm_up
from .records import InvalidRecord, decode_message_request, decode_order_event
from .state import ForeignEvent, is_known
from .timeutil import format_ts, now_ts, utcnow
from .web import metrics

log = structlog.get_logger("msggate")


async def held_events(stream):
    """`stream.events()`, each event held until the agent's body is done with it.

    Faust's stream acks an event in a `finally` around its `yield`, so when the agent is
    cancelled half-way through one (worker stop, SIGTERM), closing the generator acks it and the
    stop's commit passes a record whose decision or hop was never sent: lost (seen in the
    rebalance fault test: one request, on the worker that was stopped). One more reference per
    event, released only once the body has finished, leaves a cancelled event unacked; it is
    read again after the restart."""
    async for event in stream.events():
        message = event.message
        message.incref()
        yield event
        message.decref()   # not reached when the body is cancelled: the stream's ack then keeps one


async def held_batches(stream, size: int, within: float):
    """`stream.take_events(size, within)`, each batch held like `held_events` holds an event:
    take_events acknowledges a batch when the loop leaves it, also when the agent is cancelled
    half-way (worker stop) or its body raises; held, those events are replayed instead of lost."""
    async for batch in stream.take_events(size, within=within):
        for event in batch:
            event.message.incref()
        yield batch
        for event in batch:   # before take_events acks the batch, so that its ack is the last
            event.message.decref()


async def drained_batches(stream, size: int):
    """What is already waiting in the stream's queue, as one batch of at most `size` events,
    without a window: a lone record is a batch of one at once, a backlog makes large batches.
    Each event is held (one more reference) until its batch is done and acknowledged here, so
    a batch cut short (worker stop, a raising body) is replayed instead of lost."""
    queue = stream.channel.queue
    batch = []
    async for event in stream.events():
        event.message.incref()   # the stream acks each event when the next one is asked for
        batch.append(event)
        if len(batch) < size and not queue.empty():
            continue
        yield batch
        for held in batch:   # not reached when the body is cancelled or raises
            await stream.ack(held)
        batch = []


MAX_PENDING_PER_ORDER = 50
MAX_SWEPT_PER_RUN = 100_000


class StartedProducer:
    """The app's producer, asked of Faust once.

    `App.maybe_start_producer` is wrapped in mode's `stampede`, which awaits `asyncio.sleep(0)`
    two or three times per call: as many turns of the event loop (and chances for Faust's
    consumer thread to take the GIL) for every record sent. Asked per record (bench e2e, ~29,500
    requests through the order stage): its changelog sends took 3.8-4.7 s of wall time, 1.6 s
    asked once; its handling of the records (decisions sent) 5.3-5.5 s, 3.9 s. The producer
    (under exactly_once, the transaction manager) is one object for the worker's life, so the
    answer is kept."""

    __slots__ = ("app", "producer")

    def __init__(self, app) -> None:
        self.app, self.producer = app, None

    async def get(self):
        if self.producer is None:
            self.producer = await self.app.maybe_start_producer()
        return self.producer


def log_failed_delivery(delivery: asyncio.Future) -> None:
    if not delivery.cancelled() and delivery.exception() is not None:
        log.warning("send_failed", error=repr(delivery.exception()))


def set_current_event(event) -> None:
    """Make `event` the one Faust attributes table writes to (their changelog partition).

    `take_events` hands over a list; Faust sets its current event (a context variable) only
    while iterating one by one, in the task that drains the stream. Set in the agent's own
    task, it affects only this task. Not `Stream._set_current_event`: that also sets the
    stream's attribute, which the draining task reads for the next record it buffers."""
    _current_event.set(weakref.ref(event))


class SellerPartitionEvent:
    """Stands for a seller-stage record of `partition` while the order stage writes the sellers
    table for it (judge_here): Faust takes a write's changelog partition (and RocksDB database)
    from the current event's message, and checks its topic against the changelog's partitions.
    Its offset, -1, marks dead letters of such writes: no record of the topic was read."""

    __slots__ = ("message", "__weakref__")

    def __init__(self, partition: int) -> None:
        self.message = _StandInMessage(SELLER_STAGE_TOPIC, partition)


class _StandInMessage:
    __slots__ = ("topic", "partition", "offset", "key", "value")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic, self.partition, self.offset, self.key, self.value = topic, partition, -1, None, None


async def key_slices(table, size: int):
    """The table's keys in slices, yielding to the event loop between them. A dict (memory store)
    cannot be iterated while the agents write to it, so its keys are copied first (C speed);
    RocksDB iterators can, and copying millions of keys at once would stall the loop."""
    if isinstance(table.data, MemoryStore):
        keys = list(table.keys())
        chunks = (keys[start:start + size] for start in range(0, len(keys), size))
    else:
        iterator = iter(table.keys())
        chunks = iter(lambda: list(islice(iterator, size)), [])
    for chunk in chunks:
        yield chunk
        await asyncio.sleep(0)


def register_agents(app: faust.App, config: Config) -> None:
    raw = {"key_serializer": "raw", "value_serializer": "raw"}
    main_topics = app.topic(*INPUT_TOPICS, ORDER_UPDATES_TOPIC, PENDING_EXPIRY_TOPIC, **raw)
    buyer_topic = app.topic(BUYER_EVENTS_TOPIC, **raw)
    seller_topic = app.topic(SELLER_STAGE_TOPIC, **raw)
    dead_letter = app.topic(DEAD_LETTER_TOPIC, **raw)
    buyer_events = app.topic(BUYER_EVENTS_TOPIC, **raw)
    order_updates = app.topic(ORDER_UPDATES_TOPIC, **raw)
    expiry = app.topic(PENDING_EXPIRY_TOPIC, **raw)

    # RocksDB opens one database per table and partition; Faust's defaults give each a 2 GiB block
    # cache and 3 x 64 MiB memtables, so memory grew with partitions x tables. All databases share
    # one budget instead (streams/store.py); these are the per-database memtable sizes within it.
    store.configure(config.gateway.rocksdb_memory_mb)
    store_options = {"write_buffer_size": 8 * 1024**2, "max_write_buffer_number": 2}
    # The order stage writes each request's order record: its changelog records leave once per key
    # and batch, straight to the producer (streams/changelog.py).
    orders = app.tables.add(BatchedChangelogTable(app, name="orders", default=None, beacon=app.tables.beacon,
                                                  key_type=str, options=store_options))
    pending = app.Table("pending", default=None, key_type=str, options=store_options)
    buyers = app.Table("buyers", default=None, key_type=str, options=store_options)
    sellers = app.Table("sellers", default=None, key_type=str, options=store_options)
    for table in (orders, pending, buyers, sellers):
        # Faust derives the codec from value_type (json); orjson is set before the changelog topic
        # is created (lazily, at first use), so writes and recovery both use it.
        table.value_serializer = "orjson"
    grace = config.gateway.grace_period_seconds
    warm_up()
    app.msggate_tables = {"orders": orders, "pending": pending, "buyers": buyers, "sellers": sellers}
    assert tuple(app.msggate_tables) == TABLE_NAMES   # kafka_admin creates their changelogs by these names

    async def internal_error_to_dead_letter(message, exc: Exception, value: bytes | None = None) -> None:
        await to_dead_letter(message, f"internal error: {type(exc).__name__}: {exc}", "internal", value)

    async def to_dead_letter(message, reason: str, kind: str, value: bytes | None = None) -> None:
        """`value`: the part of the record that failed (one message of a batched hop), else all of it."""
        metrics.DEAD_LETTERS.labels(kind=kind).inc()
        value = (message.value or b"") if value is None else value
        try:
            text, encoding = value.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(value).decode(), "base64"
        record = {"reason": reason, "kind": kind, "topic": message.topic, "partition": message.partition,
                  "offset": message.offset, "key": (message.key or b"").decode("utf-8", "replace"),
                  "raw": text, "raw_encoding": encoding, "received_at": format_ts(utcnow())}
        log.warning("dead_letter", topic=message.topic, offset=message.offset, reason=reason)
        await dead_letter.send(key=message.key, value=orjson.dumps(record))

    # Asked once, not per decision: building the debug line's arguments costs more than the rest of route's own work.
    log_each_decision = log.is_enabled_for(logging.DEBUG)

    started_producer = StartedProducer(app)

    async def send_record(topic: str, key: bytes, value: bytes | None, partition: int | None = None) -> asyncio.Future:
        """`Topic.send` for the records sent per decision, without Faust's per-record envelope
        (FutureMessage, channel, sensors): 4.5% of the worker's time in a profile, against 7.1%
        for Topic.send on the same records. The same producer Faust's own send
        uses (under exactly_once its transaction manager), so Faust still flushes it before it
        commits offsets; a failed delivery is logged, as Faust's send does."""
        producer = await started_producer.get()   # suspends only the first time
        delivery = await producer.send(topic, key, value, partition, None, None)
        delivery.add_done_callback(log_failed_delivery)
        return delivery

    async def route(decision: dict, started: float) -> None:
        metrics.observe_decision(decision, time.perf_counter() - started)
        if log_each_decision:
            log.debug("decision", message_id=decision["message_id"], order_id=decision["order_id"],
                      seller_id=decision["seller_id"], route=decision["route"],
                      codes=[v["code"] for v in decision["violations"]])
        await send_record(ROUTE_TOPICS[decision["route"]], decision["order_id"].encode(), orjson.dumps(decision))

    # What the current order-stage batch sends to the seller stage: one record per seller-stage
    # partition, sent when the batch is done (before its events are acknowledged).
    seller_hops = SellerHops()

    async def finish(decided: tuple[dict, list | None], started: float, partition: int) -> None:
        """Route a per-order decision (with its source, as `decide_at` returns them); approved
        proactive messages first pass the seller stage."""
        decision, source = decided
        if counts_toward_cap(decision, config):
            to_seller_stage(seller_hop(decision, partition, source))
        else:
            await route(decision, started)

    def seller_partitions() -> int:
        # the topic's own count once the consumer knows it (created by `topics create`)
        return app.consumer.topic_partitions(SELLER_STAGE_TOPIC) or app.conf.topic_partitions

    def to_seller_stage(message: dict) -> None:
        seller_hops.add(message, seller_partitions())

    # The seller-stage partitions whose hops the order stage judges itself (LocalSellerPartitions
    # says when that is safe); their table writes go to those partitions' changelog, as the
    # seller stage's would.
    local_sellers = LocalSellerPartitions()
    local_views = PartitionViews(sellers)

    async def forget_local_sellers(*args, **kwargs) -> None:
        local_sellers.reset()

    app.on_partitions_revoked.connect(forget_local_sellers)
    app.on_partitions_assigned.connect(forget_local_sellers)

    # Not under exactly_once: Faust commits a changelog write's transaction with the offsets of
    # the table's own source partition (here the seller-stage one), which a partition judged
    # locally no longer receives records on; its writes would wait in an open transaction.
    judge_locally = config.gateway.seller_stage_local and config.gateway.processing_guarantee == "at_least_once"

    async def send_seller_hops() -> None:
        local = seller_hops.take(local_sellers.ready) if judge_locally else None
        if local:
            await judge_here(local)
        for partition, key, value in seller_hops.records():
            epoch = local_sellers.sent(partition)
            delivery = await send_record(SELLER_STAGE_TOPIC, key, value, partition)
            delivery.add_done_callback(
                lambda done, partition=partition, epoch=epoch: local_sellers.delivered(
                    partition, epoch, None if done.cancelled() or done.exception() else done.result().offset))

    async def judge_here(local: dict[int, list[dict]]) -> None:
        """The seller stage's work for the hops of local partitions, at the order stage's batch end:
        no await between the first read and the write of the table (nor in the seller stage's
        own batch), so neither stage's buffered view hides the other's writes."""
        started = time.perf_counter()
        outcomes, failed = [], []
        try:
            for partition, members in local.items():
                stand_in = SellerPartitionEvent(partition)
                judge_members(local_views.view(partition, stand_in), members, stand_in.message, outcomes, failed)
            local_views.flush(set_current_event)
        except BaseException:
            local_views.clear()   # no stale reads for the next batch; this one is replayed
            raise
        await act_on_seller_outcomes(outcomes, failed, started)

    def judge_members(view, members: list[dict], message, outcomes: list, failed: list) -> None:
        """The seller stage's step for `members` of one record of `message`'s partition (or, at
        the order stage, of a stand-in for it): outcomes, and failures for the dead-letter topic."""
        for member in members:
            try:
                outcomes.append((message, on_seller_message(view, member, config, message.partition)))
            except Exception as exc:  # never lose the decision: it goes to the dead-letter topic
                log.exception("seller_stage_failed", partition=message.partition, offset=message.offset)
                failed.append((message, exc, orjson.dumps(member)))

    # In memory, per worker: parked requests per input partition (after a restart the restored
    # ones are not counted, so the bound holds within a factor of two).
    parked_per_partition: Counter[int] = Counter()

    # The pending table as the current batch sees it: written at the batch's end (PendingBatch).
    pending_batch = PendingBatch(pending)

    async def handle_request(message, started: float, pending_view) -> None:
        request = decode_message_request(message.value, config.gateway)
        if message.key is not None and message.key.decode("utf-8", "replace") != request["order_id"]:
            raise InvalidRecord(f"record key {message.key!r} is not the order_id {request['order_id']!r}",
                                kind="key")
        source = [message.topic, message.partition, message.offset, 0]
        decided = decide_at(orders, request, config, source, decided_at=now_ts(),
                            wait_if_unknown=grace > 0, partition=message.partition)
        if decided[0] is not None:
            await finish(decided, started, message.partition)
            return
        parked = pending_view.get(request["order_id"]) or []
        if len(parked) >= MAX_PENDING_PER_ORDER or \
                parked_per_partition[message.partition] >= config.gateway.max_pending_per_partition:
            # A flood of unknown-order messages must not exhaust the worker: past the bound they
            # are decided now (ORD001, retryable) instead of waiting for the grace period.
            await finish(decide_at(orders, request, config, source, decided_at=now_ts(),
                                   partition=message.partition), started, message.partition)
            return
        parked.append({"request": request, "deadline": time.time() + grace, "partition": message.partition})
        pending_view[request["order_id"]] = parked
        parked_per_partition[message.partition] += 1

    async def release_pending(message, pending_view, order_id: str, only_message: str | None = None) -> None:
        """Decide the requests parked for `order_id`; `message` is the record that releases them
        (their decisions' source: the n-th decision of that record)."""
        parked = pending_view.get(order_id)
        if not parked:
            return
        keep = []
        for index, entry in enumerate(parked):
            if only_message is not None and entry["request"]["message_id"] != only_message:
                keep.append(entry)
                continue
            source = [message.topic, message.partition, message.offset, index]
            decided = decide_at(orders, entry["request"], config, source, decided_at=now_ts(),
                                partition=entry["partition"])
            parked_per_partition[entry["partition"]] = max(0, parked_per_partition[entry["partition"]] - 1)
            await finish(decided, time.perf_counter(), entry["partition"])
            pending_batch.released = True
        if keep:
            pending_view[order_id] = keep
        else:
            del pending_view[order_id]

    async def handle_order_event(message, pending_view) -> None:
        event = decode_order_event(message.value)
        try:
            outcome = on_order_event(orders, event, partition=message.partition, offset=message.offset)
        except ForeignEvent as exc:
            raise InvalidRecord(str(exc), kind="foreign") from None
        for buyer_message in outcome.buyer_messages:
            await buyer_events.send(key=buyer_message["buyer_id"].encode(), value=orjson.dumps(buyer_message))
        for seller_message in outcome.seller_messages:
            to_seller_stage(seller_message)
        if outcome.changed and is_known(outcome.record):
            await release_pending(message, pending_view, event["order_id"])

    async def handle(event) -> None:
        message = event.message
        started = time.perf_counter()
        pending_view = pending_batch.view(message.partition, event)
        try:
            if message.topic == "messages.requests":
                await handle_request(message, started, pending_view)
            elif message.topic == "orders.events":
                await handle_order_event(message, pending_view)
            elif message.topic == ORDER_UPDATES_TOPIC:
                on_order_update(orders, orjson.loads(message.value))
            elif message.topic == PENDING_EXPIRY_TOPIC:
                marker = orjson.loads(message.value)
                if marker.get("type") == "expire_order":   # the sweep (below)
                    if expire_order(orders, marker["order_id"], marker["cutoff"]):
                        metrics.STATE_SWEPT.labels(table="orders").inc()
                else:
                    await release_pending(message, pending_view, marker["order_id"], marker["message_id"])
        except InvalidRecord as exc:
            await to_dead_letter(message, exc.reason, exc.kind)
        except Exception as exc:  # one bad record must never stop the worker
            log.exception("record_failed", topic=message.topic, offset=message.offset)
            await internal_error_to_dead_letter(message, exc)

    @app.agent(main_topics, concurrency=1)
    async def gateway(stream):
        # In batches: the events of a batch are acknowledged after it is done, hops included, so
        # a crash replays the whole batch (decisions already remembered are routed again).
        async for batch in held_batches(stream, config.gateway.order_batch_max,
                                        config.gateway.order_batch_window_ms / 1000):
            try:
                orders.open_batch()
                for event in batch:
                    set_current_event(event)
                    await handle(event)
                # Hops and local approvals first: the order records after them cost approvals
                # 6-12 ms at p50 (measured). A batch cancelled meanwhile sends its order records
                # through Faust's buffer, which the next batch lets publish before its own.
                if len(seller_hops):
                    await send_seller_hops()
                await orders.send_batch(send_record)   # before the batch is acknowledged
                if pending_batch.released:
                    # released requests are forgotten only once their decisions and hops are
                    # delivered (PendingBatch says why): rare, so the round trip is affordable
                    await app.producer.flush()
                pending_batch.flush(set_current_event)
            except BaseException:
                seller_hops.clear()   # replayed with their events
                pending_batch.clear()
                orders.send_rest_soon()   # its writes are in the table: never drop their records
                raise

    async def send_order_update(update: dict) -> None:
        """Back to the order's own partition, named explicitly (not the producer's key hash), so
        it does not depend on the platform's partitioner."""
        await order_updates.send(key=update["order_id"].encode(), value=orjson.dumps(update),
                                 partition=update["partition"])

    @app.agent(buyer_topic, concurrency=1)
    async def buyer_stage(stream):
        async for event in held_events(stream):
            try:
                for update in on_buyer_message(buyers, orjson.loads(event.message.value)):
                    await send_order_update(update)
            except Exception:
                log.exception("buyer_stage_failed", offset=event.message.offset)

    # The seller stage's view of the sellers table, one per seller-stage partition of a batch.
    seller_batch = PartitionViews(sellers)

    @app.agent(seller_topic, concurrency=1)
    async def seller_stage(stream):
        # In batches: the batch's writes reach the table (and its changelog) once per key,
        # before its decisions are routed. A crash in between replays the batch, and the
        # approvals it had counted are recognised (their sources, at or below the watermarks)
        # rather than counted twice. Per record, each day count and watermark was written again
        # for nearly every hop (1.5 changelog records per approval). Batches of what is waiting,
        # not of a window: each hop record already carries an order-stage batch, and a window
        # here added its length to every approval's latency (p50 34 -> 24 ms at 300/s).
        async for batch in drained_batches(stream, config.gateway.order_batch_max):
            started = time.perf_counter()
            outcomes = []   # (record, outcome)
            failed = []     # (record, error, the part that failed or None): sent once the batch is written
            try:
                # no await from here to the flush: the order stage may judge local partitions
                # (judge_here) between two awaits, and this batch's views must not hide its writes
                for event in batch:
                    message = event.message
                    try:
                        members = seller_hop_messages(orjson.loads(message.value))
                    except Exception as exc:
                        failed.append((message, exc, None))
                        continue
                    judge_members(seller_batch.view(message.partition, event), members, message, outcomes, failed)
                seller_batch.flush(set_current_event)
            except BaseException:
                seller_batch.clear()   # replayed with their events
                raise
            for event in batch:
                if local_sellers.read_back(event.message.partition, event.message.offset):
                    log.info("seller_partition_local", partition=event.message.partition)
            await act_on_seller_outcomes(outcomes, failed, started)

    async def act_on_seller_outcomes(outcomes: list, failed: list, started: float) -> None:
        """After a batch is written: its failures to the dead-letter topic, then its outcomes routed."""
        for message, exc, value in failed:
            await internal_error_to_dead_letter(message, exc, value)
        for message, outcome in outcomes:
            try:
                if outcome.swept:
                    metrics.STATE_SWEPT.labels(table="sellers").inc(outcome.swept)
                if outcome.usage is not None:
                    metrics.observe_usage(outcome.usage)
                if outcome.order_update is not None:
                    await send_order_update(outcome.order_update)
                if outcome.decision is not None:
                    await route(outcome.decision, started)
            except Exception as exc:
                log.exception("seller_stage_failed", offset=message.offset)
                await internal_error_to_dead_letter(message, exc, orjson.dumps(outcome.decision))

    sent_markers: set[tuple[str, str]] = set()

    @app.timer(interval=1.0)
    async def expire_pending():
        # Deadlines are checked here, but the decision is taken in the agent, inside the order's
        # partition, via a marker record: table writes stay on the right changelog partition.
        now = time.time()
        for order_id, parked in list(pending.items()):
            for entry in parked or []:
                marker = (order_id, entry["request"]["message_id"])
                if entry["deadline"] <= now and marker not in sent_markers:
                    sent_markers.add(marker)
                    await expiry.send(key=order_id.encode(), partition=entry["partition"],
                                      value=orjson.dumps({"order_id": order_id, "message_id": marker[1]}))
        if len(sent_markers) > 100_000:
            sent_markers.clear()

    retention_days = config.gateway.order_retention_days

    # Keys this worker asked to delete recently: the agents may not have reached those sweep
    # messages by the next run (a backlog, a restart), and asking again would only add load.
    sweep_asked: dict[str, float] = {}
    sweep_memory_seconds = 5 * config.gateway.sweep_interval_seconds

    def ask_once(key: str) -> bool:
        now = time.monotonic()
        if now - sweep_asked.get(key, -sweep_memory_seconds) < sweep_memory_seconds:
            return False
        if len(sweep_asked) > 2 * MAX_SWEPT_PER_RUN:
            for stale in [k for k, at in sweep_asked.items() if now - at >= sweep_memory_seconds]:
                del sweep_asked[stale]
        sweep_asked[key] = now
        return True

    @app.timer(interval=config.gateway.sweep_interval_seconds)
    async def sweep_state():
        """Find state past its use and ask the agent of its partition to delete it (gateway.py,
        "retention"); reading the tables in slices, so millions of keys do not stall the agents.
        At most MAX_SWEPT_PER_RUN keys per table and run: the first sweep of a large old table
        spreads its deletions over several runs instead of one burst."""
        now = utcnow()
        orders_found = sellers_found = 0
        if retention_days:
            cutoff = order_cutoff(now, retention_days)
            async for chunk in key_slices(orders, 2_000):
                for order_id, partition in expired_orders(((k, orders.get(k)) for k in chunk), cutoff):
                    if not ask_once(order_id):
                        continue
                    orders_found += 1
                    await expiry.send(key=order_id.encode(), partition=partition,
                                      value=orjson.dumps({"type": "expire_order", "order_id": order_id,
                                                          "cutoff": cutoff}))
                if orders_found >= MAX_SWEPT_PER_RUN:
                    break
        async for chunk in key_slices(sellers, 5_000):
            expired = {seller_id: fresh for seller_id, keys in
                       expired_seller_keys(((k, sellers.get(k)) for k in chunk), now.date()).items()
                       if (fresh := [k for k in keys if ask_once(k)])}
            for message in seller_sweep_messages(expired, now.date()):
                sellers_found += len(message["keys"])
                await seller_topic.send(key=message["seller_id"].encode(), value=orjson.dumps(message),
                                        partition=seller_partition(message["seller_id"], seller_partitions()))
            if sellers_found >= MAX_SWEPT_PER_RUN:
                break
        if orders_found or sellers_found:
            log.info("state_sweep", expired_orders=orders_found, expired_seller_keys=sellers_found)
