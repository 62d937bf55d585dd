"""A Faust table whose changelog records are sent at the end of the agent's batch.

Faust sends a changelog record for every table write, through its per-record envelope:
`send_soon` builds a FutureMessage and a PendingMessage, serialises through its schema registry,
queues the record in its producer buffer, and a background task publishes it (sensors, topic
lookup, producer) and runs callbacks on delivery. In a profile of `bench e2e` that path was
~10% of the worker's time, for the one write of an order's record per request.

`BatchedChangelogTable` keeps Faust's table (store, recovery, standbys) and changes only when
and how its changelog records leave: while a batch is open (`open_batch`), a write serialises
its value and remembers it by key; `send_batch` sends one record per changed key, the last
value (or a tombstone), straight to the producer, to the changelog partition of the event that
was current at the write, as Faust would. The agent calls it before its batch is acknowledged,
and Faust flushes the producer before it commits offsets, so a committed record's state is on
the changelog, as before. A batch cut short (cancelled) sends what it has not sent Faust's way
(`send_rest_soon`): the store holds its writes, so the changelog must too. Outside a batch,
writes go Faust's way.

The order stage sends these records after its seller-stage hops and the approvals it judges
itself, without waiting for either: a crash in between replays the batch (its offsets are
committed only after Faust flushes the producer), against the state the changelog has, and
decides it the same way; the seller stage recognises a hop it has counted by its source. A
batch after one cut short first lets Faust's buffer publish the older records (`send_batch`).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import faust
import orjson
import structlog

log = structlog.get_logger("msggate")

_DELETED = None   # a tombstone's value


class BatchedChangelogTable(faust.Table):
    """faust.Table with its changelog records sent once per key and batch (module docstring).

    Values must serialise with orjson (the gateway's tables use the "orjson" codec); keys are
    strings, encoded as Faust's json key serializer encodes them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch: dict[Any, tuple[int, bytes | None]] | None = None
        self._sent_faust_way = False   # records queued by send_rest_soon, maybe not published yet

    def open_batch(self) -> None:
        """From now until `send_batch`, writes are remembered, not sent."""
        self._batch = {}

    def send_rest_soon(self) -> int:
        """The batch was cut short (cancelled at a rebalance or a stop; its events are replayed):
        send what it wrote and has not sent yet Faust's way, now (`send_soon` queues without
        awaiting, so this works inside a cancellation), and go back to Faust's way.

        Its writes are in the store. Dropping their records would leave the changelog behind
        the store for good: the replayed events find their decisions remembered and write
        nothing, so a later recovery from the changelog (a restart, or a rebalance, which
        re-reads a memory store's partitions) would take the order back past them; a review
        request counted there would be forgotten, and the next one approved. Returns how many."""
        batch, self._batch = self._batch, None
        if not batch:
            return 0
        for key, (partition, value) in batch.items():
            # the value is already the bytes the table's codec writes
            self.send_changelog(partition, key, value, value_serializer="raw")
        self._sent_faust_way = True
        return len(batch)

    async def _publish_faust_way(self) -> None:
        # Faust's buffer hands its records to the same producer, which keeps a partition's
        # records in the order it got them
        try:
            await self.app.producer.buffer.flush()
        except RuntimeError as exc:   # the producer is stopping (so is the worker): do not fail the batch
            log.warning("changelog_buffer_not_flushed", table=self.name, error=str(exc))

    def on_key_set(self, key: Any, value: Any) -> None:
        if self._batch is None:
            return super().on_key_set(key, value)
        # serialised now, as Faust does: what the store holds is what the changelog gets
        self._batch[key] = (self.partition_for_key(key), orjson.dumps(value))

    def on_key_del(self, key: Any) -> None:
        if self._batch is None:
            return super().on_key_del(key)
        self._batch[key] = (self.partition_for_key(key), _DELETED)

    def encode_key(self, key: Any) -> bytes:
        """The key's bytes on the changelog, the same Faust's json key serializer writes (so that
        compaction sees one key): orjson's and json's are equal on ASCII strings."""
        if isinstance(key, str) and key.isascii():
            return orjson.dumps(key)
        return self.changelog_topic.prepare_key(key, self.key_serializer)[0]

    async def send_batch(self, send: Callable[[str, bytes, bytes | None, int], Awaitable[Any]]) -> int:
        """Send one changelog record per key written since `open_batch`; returns how many.
        `send(topic, key, value, partition)` hands a record to the producer and returns its
        delivery future; on delivery, the store learns the record's offset (RocksDB keeps it, so
        a restart recovers from there), as after Faust's own send."""
        batch = self._batch
        if not batch:
            self._batch = None
            return 0
        if self._sent_faust_way:
            # A cut-short batch's records still in Faust's buffer are older than these: published
            # after them, a key's last record on the changelog would be the older value, and a
            # recovery would take the order back (a counted review request forgotten).
            await self._publish_faust_way()
            self._sent_faust_way = False
        topic = self.changelog_topic.get_topic_name()
        count = len(batch)
        for key, (partition, value) in list(batch.items()):
            delivery = await send(topic, self.encode_key(key), value, partition)
            # forgotten once queued: if a cancellation cuts this loop short, `send_rest_soon`
            # sends the rest (a record cut off inside `send` goes twice: same key, same value)
            del batch[key]
            delivery.add_done_callback(self._on_delivered)
        self._batch = None
        return count

    def _on_delivered(self, delivery) -> None:
        if delivery.cancelled() or delivery.exception() is not None:
            log.warning("changelog_send_failed", table=self.name,
                        error="cancelled" if delivery.cancelled() else repr(delivery.exception()))
            return
        self._on_changelog_sent(delivery)   # Faust's: the persisted offset (RocksDB)
