"""Faust's Kafka consumer, with its gap filling made safe (README "Guarantees"), and with a
fetch wait of our choosing (`PromptFetchConsumerThread`, docs/benchmarks.md).

faust-streaming's consumer (`faust/transport/consumer.py`, `Consumer._drain_messages`) keeps a
read offset per partition. When a fetched record's offset jumps more than one past it, Faust
assumes the offsets in between do not exist (compaction, transaction markers) and records them
as a "gap"; gap offsets count as acknowledged, so the next commit passes them. A record that
arrives later below the read offset is dropped.

Around a restart or a rebalance the offsets in between *do* exist: records were seen arriving
out of order right after "Worker ready", Faust filled 7 gaps of ~15 offsets each, committed
past them, and dropped the skipped records when they came (4,484 of them); the requests among
them were never decided (the SIGKILL and rebalance fault tests lost 53-146 requests).

The race behind it (seen in the logs: the same 13-offset jump on every partition at once):
`perform_seek` seeks to the committed offset in the consumer thread, a batch fetched from there
is delivered meanwhile, then the read offset is set back to the committed offset; the next
fetch continues after the batch, a jump. Faust counts the batch as done, though the stream
buffers it was put into are cleared when the flow resumes.

This consumer trusts a gap only once Kafka has shown it twice: on the first jump it seeks the
partition back to the first missing offset and skips the record; the refetch then either
delivers the missing records (processed as usual, nothing lost) or comes back with the same
record again (the gap is real, e.g. a transaction marker, and is filled as Faust does).
Refetching is always safe under at-least-once; only accepting a gap could lose records.

Records arriving *below* the read offset are dropped by Faust as already read. After a restart
they were seen arriving for a whole batch that had been delivered into stream buffers cleared
later (a SIGKILL run lost a seller-stage hop so). Unless committed already, they are processed
here: a record processed before is processed again, as after any restart (at-least-once; the
stages recognise repeats).

Nor does this consumer commit past an unprocessed record at the head of a partition. Faust's
`_new_offset` holds the commit only when the first acked offset is *more than one* past the
committed one (the committed offset is the next record to read), so a single record at the head
that was delivered but never acked is committed past: lost at the next restart (faust-streaming
#606, open PR #707; there with concurrency, but any record dropped from a stream buffer does the
same). Here the commit waits for it (`_new_offset`), or for a gap that covers it (`_add_gap`, which
Faust also started one past the committed offset). A head still missing after the refetch patience
is read again from the committed offset (`refetch_missing_heads`): it was dropped, not delayed.

`_drain_messages` is faust-streaming 0.15.3's loop with these changes (marked "msggate");
tests/test_consumer_gaps.py fails when an upgrade changes Faust's loop, so the copy is re-read.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field, replace
from typing import cast

import faust
import structlog
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as aiokafka_driver
from mode import Service

log = structlog.get_logger("msggate")

# Records of the batch fetched before the seek still arrive; this many skipped without the
# refetch arriving means the seek was lost (e.g. overridden by a rebalance): seek again.
MAX_SKIPPED = 50_000
# Nor may skipping last: a refetch seeks within ~ one fetch (fetch_max_wait_ms, 100 ms). Records
# still arriving past the one seen this long after the seek mean it was overtaken: seek again.
# Seen in SIGKILL stress runs (README "Guarantees"): three seller-stage partitions skipped every
# hop for 60 s after the restart, and the approvals in them were never routed. A partition that
# goes quiet meanwhile sends no record to notice it by: a timer seeks those
# (`GapCheckingConsumer.seek_overdue_refetches`).
REFETCH_PATIENCE_SECONDS = 5.0

_now = time.monotonic   # tests drive the clock

REFETCH = "refetch"        # seek back to the first missing offset, skip this record
SKIP = "skip"              # a record fetched before the seek: it will come again
ACCEPT_GAP = "accept_gap"  # the refetch showed the same jump: the offsets do not exist


@dataclass(frozen=True)
class Refetch:
    """A partition being refetched from `first_missing` after a jump to `seen`."""
    first_missing: int
    seen: int
    seeks: int = 1
    skipped: int = 0
    sought_at: float = field(default=0.0, compare=False)   # monotonic clock of the last seek


def judge_jump(pending: Refetch | None, first_missing: int, offset: int,
               now: float = 0.0) -> tuple[str, Refetch | None]:
    """What to do with a record at `offset` when the partition's next record should have been
    `first_missing` (the read offset after a seek, else one past it), given the refetch under way
    for it, if any; `now` is the monotonic clock.

    A gap is accepted only when a refetch shows the same record again (a real gap: a fetch from the
    first missing offset always starts at the same record). A refetch that shows an earlier record
    is sought again, however often: until session 16 this gave up after 5 seeks and filled the gap,
    which could pass records that exist (records of fetches from before the seeks were arriving).

    Returns the action and the refetch state to keep (None: none under way)."""
    if pending is None or pending.first_missing != first_missing:
        return REFETCH, Refetch(first_missing, offset, sought_at=now)
    if offset == pending.seen:
        return ACCEPT_GAP, None
    if offset > pending.seen:
        if pending.skipped + 1 >= MAX_SKIPPED:
            return REFETCH, Refetch(first_missing, pending.seen, pending.seeks + 1, sought_at=now)
        if now - pending.sought_at >= REFETCH_PATIENCE_SECONDS:
            # seek again (not counted in `seeks`, which counts jumps seen): always safe under
            # at-least-once; accepting the gap is not
            return REFETCH, Refetch(first_missing, pending.seen, pending.seeks, sought_at=now)
        return SKIP, Refetch(first_missing, pending.seen, pending.seeks, pending.skipped + 1, pending.sought_at)
    # An earlier record than last time but still not the first missing one: a record of a fetch from
    # before the seek, or the refetch's first record. Look again, with it as the one to see twice;
    # each stale fetch can do this once, so it converges on the refetch's own first record.
    return REFETCH, Refetch(first_missing, offset, pending.seeks + 1, sought_at=now)


def overdue_refetches(refetching: dict, now: float) -> list:
    """The partitions whose refetch has waited `REFETCH_PATIENCE_SECONDS` since its last seek
    without the missing records arriving (their arrival ends the refetch)."""
    return [tp for tp, pending in refetching.items() if now - pending.sought_at >= REFETCH_PATIENCE_SECONDS]


class PromptFetchConsumerThread(aiokafka_driver.AIOKafkaConsumerThread):
    """Faust's consumer thread, its aiokafka consumer with the app's `fetch_max_wait_ms`.

    faust-streaming creates the worker's consumer with `fetch_max_wait_ms=1500`, fixed. aiokafka
    (`Fetcher._get_actions_per_node`) sends no fetch to a broker while one is in flight, and
    leaves out of a fetch the partitions whose records still wait in its buffer. Once those
    records are 100 ms old (`prefetch_backoff`), it fetches the other partitions alone; when
    these are quiet (order events, expiry markers) the broker holds that fetch for the whole
    wait, and the busy partitions, drained meanwhile, wait behind it. Under load this fed
    itself: in bench e2e at 250 requests/s, decisions came ~2.7 s after their requests (p50),
    with both of the worker's threads idle (4 of 6 runs); with 100 ms, 0.10-0.28 s in 8 of 8."""

    def _create_worker_consumer(self, transport):
        consumer = super()._create_worker_consumer(transport)
        # read by AIOKafkaConsumer.start() when it creates its Fetcher (tests pin that)
        consumer._fetch_max_wait_ms = self.app.fetch_max_wait_ms
        return consumer


class GapCheckingConsumer(aiokafka_driver.Consumer):
    """faust-streaming's aiokafka consumer; `_drain_messages` refetches before filling a gap."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._refetching: dict = {}
        # Per partition, the offset Faust last sought it to. Faust's read offset means "last record
        # read" after a record but "next record to read" after a seek (`perform_seek` sets it to the
        # committed offset), so right after a seek the record *at* the read offset is missing too.
        self._sought: dict = {}
        self.refetches = 0       # seeks back to a first missing offset (exposed for tests/metrics)
        self.gaps_accepted = 0   # gaps confirmed by a refetch and filled
        self.redelivered = 0     # uncommitted records below the read offset, processed (not dropped)
        self._redelivered_at: dict = {}
        self.heads_refetched = 0   # partitions read again from a committed offset never acked
        # per partition: (committed offset, when first seen unacked while later offsets were acked)
        self._missing_heads: dict = {}

    def _new_consumer_thread(self):
        return PromptFetchConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def seek_to_committed(self):
        committed = await super().seek_to_committed()
        # perform_seek sets the read offsets to these right after this returns
        self._sought.update({tp: offset for tp, offset in committed.items() if offset is not None})
        return committed

    async def seek(self, partition, offset: int) -> None:
        await super().seek(partition, offset)
        self._sought[faust_consumer.ensure_TP(partition)] = offset   # the key Faust's read offsets use

    async def _judge_gap(self, tp, r_offset: int, message) -> bool:
        """True when the record may be processed (a confirmed gap has been filled)."""
        first_missing = r_offset if self._sought.get(tp) == r_offset else r_offset + 1
        action, state = judge_jump(self._refetching.get(tp), first_missing, message.offset, _now())
        if state is None:
            self._refetching.pop(tp, None)
        else:
            self._refetching[tp] = state
        if action == REFETCH:
            await self._refetch(tp, first_missing, "consumer_gap_refetch", got=message.offset, seeks=state.seeks)
            return False
        if action == SKIP:
            return False
        self.gaps_accepted += 1
        log.info("consumer_gap_accepted", topic=tp.topic, partition=tp.partition,
                 first=first_missing, last=message.offset - 1)
        # up to the record before this one (Faust's own call includes the record: acked twice then,
        # which splits the run a commit takes)
        await self._add_gap(tp, first_missing, message.offset - 1)
        return True

    async def _refetch(self, tp, first_missing: int, event: str, **fields) -> None:
        """Seek `tp` back to its first missing offset (logged as `event`)."""
        self.refetches += 1
        log.info(event, topic=tp.topic, partition=tp.partition, expected=first_missing, **fields)
        try:
            # The driver's seek only: Faust's `seek` also moves the read offset, which must stay.
            await self._seek(tp, first_missing)
        except Exception as exc:
            # e.g. revoked meanwhile: records past the seen one are skipped until a seek again
            log.warning("consumer_gap_refetch_failed", topic=tp.topic, partition=tp.partition,
                        error=repr(exc))

    @Service.timer(1.0)
    async def _refetch_timer(self) -> None:
        await self.seek_overdue_refetches()
        await self.refetch_missing_heads()

    async def _add_gap(self, tp, offset_from: int, offset_to: int) -> None:
        """Faust's, except that a gap may start *at* the committed offset: it is the next record to
        read, so a transaction marker there (the first record after a seek is one past it, judged a
        jump) is a gap like any other; Faust starts gaps one past it, and the commit would wait."""
        committed = self._committed_offset[tp]
        if committed is not None:
            offset_from = max(offset_from, committed)
        if offset_from <= offset_to:   # intervaltree intervals exclude their end
            gap_for_tp = self._gap[tp]
            gap_for_tp.addi(offset_from, offset_to + 1)
            await asyncio.sleep(0)
            gap_for_tp.merge_overlaps()

    def _new_offset(self, tp):
        """Faust's, but never past the committed offset while that record is neither acked nor a gap."""
        committed = self._committed_offset[tp]
        if self._head_missing(tp, committed):
            seen = self._missing_heads.get(tp)
            if seen is None or seen[0] != committed:
                self._missing_heads[tp] = (committed, _now())
                log.info("consumer_commit_held", topic=tp.topic, partition=tp.partition, committed=committed,
                         first_acked=min(self._acked[tp]))
            return None
        self._missing_heads.pop(tp, None)
        return super()._new_offset(tp)

    def _head_missing(self, tp, committed: int | None) -> bool:
        """Later offsets acked, but not the one at `committed` (the next to read), nor is it a gap."""
        acked = self._acked.get(tp)
        return committed is not None and bool(acked) and min(acked) > committed \
            and not self._gap[tp].overlaps(committed)

    async def refetch_missing_heads(self) -> None:
        """Read again from the committed offset the partitions whose head record has been missing
        for the refetch patience while later records were acked: with one agent per partition,
        records are acked in order, so the head was dropped (not still in hand) and would never come
        otherwise. Records after it come again too and are recognised (at-least-once)."""
        if not self._missing_heads:
            return
        now, assigned = _now(), self.assignment()
        for tp, (offset, since) in list(self._missing_heads.items()):
            if tp not in assigned or self._committed_offset.get(tp) != offset or not self._head_missing(tp, offset):
                del self._missing_heads[tp]   # revoked, committed since, or the head came
                continue
            if now - since < REFETCH_PATIENCE_SECONDS:
                continue
            self._missing_heads[tp] = (offset, now)
            self.heads_refetched += 1
            log.warning("consumer_head_refetch", topic=tp.topic, partition=tp.partition, offset=offset,
                        first_acked=min(self._acked[tp]), waited_s=round(now - since, 1))
            try:
                # Faust's seek: the read offset too, so the refetch is judged as after a restart
                # (a record one past it is a jump, a marker at it a gap)
                await self.seek(tp, offset)
            except Exception as exc:
                log.warning("consumer_head_refetch_failed", topic=tp.topic, partition=tp.partition,
                            error=repr(exc))

    async def seek_overdue_refetches(self) -> None:
        """Seek again the refetches whose records have not come within the patience.

        `judge_jump` does so when a later record of the partition arrives. But a refetch's seek
        can be overtaken (by Faust's own seek to the committed offset, around a restart) by a
        position past every record the partition holds; if nothing more is produced to it (the
        seller stage's partitions once a burst is over), no record ever comes to tell. Seen in
        SIGKILL stress runs with a consumer change that is not on main (docs/benchmarks.md):
        seller-stage partitions refetching "expected 10, got 14" received nothing for four
        minutes, and the approvals in them were never routed. Seeking again is
        always safe under at-least-once (records already read come again and are recognised)."""
        now = _now()
        overdue = overdue_refetches(self._refetching, now)
        if not overdue:
            return
        assigned = self.assignment()
        for tp in overdue:
            pending = self._refetching.get(tp)
            if pending is None:
                continue
            if tp not in assigned:   # revoked: its next owner reads it from the committed offset
                del self._refetching[tp]
                continue
            self._refetching[tp] = replace(pending, sought_at=now, skipped=0)
            await self._refetch(tp, pending.first_missing, "consumer_gap_refetch_again", seen=pending.seen,
                                waited_s=round(now - pending.sought_at, 1))

    def _uncommitted(self, tp, offset: int, topic: str) -> bool:
        """A record below the read offset that is not committed yet, on a topic with acks."""
        committed = self._committed_offset.get(tp)   # None: nothing committed on this partition
        if (committed is not None and offset < committed) or not self.app.topics.acks_enabled_for(topic):
            return False
        if self._redelivered_at.get(tp) != self._read_offset.get(tp):   # one line per burst
            self._redelivered_at[tp] = self._read_offset.get(tp)
            log.info("consumer_reprocessing_below_read_offset", topic=tp.topic, partition=tp.partition,
                     offset=offset, read_offset=self._read_offset.get(tp), committed=committed)
        return True

    async def _drain_messages(self, fetcher) -> None:  # pragma: no cover - run by Faust's Fetcher
        # faust-streaming 0.15.3 `Consumer._drain_messages`, unchanged but for the lines marked msggate.
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = cast(Service, self)._stopped.is_set
        fetcher_should_stop = cast(Service, fetcher)._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        flag_consumer_fetching = faust_consumer.CONSUMER_FETCHING
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for
        refetching, sought = self._refetching, self._sought  # msggate

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(flag_consumer_fetching)
                ait = getmany(timeout=1.0)

                # Sleeping because sometimes getmany is called in a loop
                # never releasing to the event loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            # We have a gap in income messages
                            if gap > 1 and r_offset:
                                acks_enabled = acks_enabled_for(message.topic)
                                if acks_enabled:
                                    # msggate: refetch first; fill the gap only once confirmed.
                                    if not await self._judge_gap(tp, r_offset, message):
                                        continue
                            # msggate: one past a seek position skips the record at it
                            elif gap == 1 and sought and sought.get(tp) == r_offset \
                                    and acks_enabled_for(message.topic):
                                if not await self._judge_gap(tp, r_offset, message):
                                    continue
                            elif refetching and tp in refetching:  # msggate: the refetch arrived
                                del refetching[tp]
                            if gap == 0 and sought:  # msggate: read the seek position, so the
                                sought.pop(tp, None)  # read offset means "last read" again
                            if commit_every is not None:
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            await self.wait_first(
                                callback(message), self.suspend_flow.wait()
                            )
                            set_read_offset(tp, offset)
                        elif self._uncommitted(tp, offset, message.topic):
                            # msggate: below the read offset but never committed: read before and
                            # lost with a cleared stream buffer, or processed and not yet committed
                            # (then a duplicate, as after any restart). Processed, not dropped.
                            self.redelivered += 1
                            await self.wait_first(
                                callback(message), self.suspend_flow.wait()
                            )
                        else:
                            self.log.dev(
                                "DROPPED MESSAGE ROFF %r: k=%r v=%r",
                                offset,
                                message.key,
                                message.value,
                            )
                    unset_flag(flag_consumer_fetching)

        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                # we're already stopping so ignore
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(flag_consumer_fetching)


class GapCheckingTransport(aiokafka_driver.Transport):
    Consumer = GapCheckingConsumer


class GatewayApp(faust.App):
    """faust.App whose consumer is `GapCheckingConsumer` (the producer transport is Faust's), with
    its consumer's fetch wait (`PromptFetchConsumerThread`)."""

    def __init__(self, *args, fetch_max_wait_ms: int = 100, **kwargs) -> None:
        self.fetch_max_wait_ms = fetch_max_wait_ms
        super().__init__(*args, **kwargs)

    def _new_transport(self):
        return GapCheckingTransport(self.conf.broker_consumer, self)
