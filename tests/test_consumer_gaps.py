"""The consumer's gap check (streams/consumer.py): Faust fills a jump in offsets at once and
commits past records it never saw; ours refetches first and fills only a gap Kafka shows twice.

The decision is tested as a pure function; the loop is tested by driving the consumer's own
`_drain_messages` with a scripted sequence of fetched records, the one way to reproduce the
out-of-order arrival deterministically (the fault tests in tests/stream/ meet it on real Kafka)."""
from __future__ import annotations

import asyncio
import hashlib
import inspect
from collections import defaultdict
from types import SimpleNamespace

from faust.transport import consumer as faust_consumer
from faust.types import TP
from intervaltree import IntervalTree

from streams import consumer as gap
from streams.app import make_app

TP0 = TP("messages.requests", 0)


# --- the decision ------------------------------------------------------------------------------

def test_a_first_jump_is_refetched_not_filled():
    action, state = gap.judge_jump(None, first_missing=27, offset=42)
    assert action == gap.REFETCH
    assert state == gap.Refetch(first_missing=27, seen=42)


def test_the_same_jump_after_a_refetch_is_a_real_gap():
    action, state = gap.judge_jump(gap.Refetch(27, 42), first_missing=27, offset=42)
    assert (action, state) == (gap.ACCEPT_GAP, None)


def test_records_fetched_before_the_seek_are_skipped():
    action, state = gap.judge_jump(gap.Refetch(27, 42), first_missing=27, offset=43)
    assert action == gap.SKIP
    assert state == gap.Refetch(27, 42, seeks=1, skipped=1)


def test_an_earlier_record_is_refetched_again_never_taken_for_a_gap():
    # Records of fetches from before the seeks keep arriving, each earlier than the last: none is
    # proof that 27.. do not exist (until session 16, the fifth such record filled the gap).
    state = gap.Refetch(27, 42)
    for seen in range(41, 29, -1):
        action, state = gap.judge_jump(state, first_missing=27, offset=seen)
        assert action == gap.REFETCH and state.seen == seen
    assert state.seeks == 13
    # the refetch's own first record twice: a real gap
    action, state = gap.judge_jump(state, first_missing=27, offset=30)
    assert (action, state) == (gap.ACCEPT_GAP, None)


def test_a_lost_seek_is_repeated_after_too_many_skips():
    state = gap.Refetch(27, 42, skipped=gap.MAX_SKIPPED - 1)
    action, state = gap.judge_jump(state, first_missing=27, offset=50)
    assert action == gap.REFETCH and state == gap.Refetch(27, 42, seeks=2)


def test_a_refetch_still_skipping_after_its_patience_seeks_again():
    # Records past the one seen keep coming long after the seek: the seek was overtaken.
    state = gap.Refetch(27, 42, sought_at=100.0)
    action, state = gap.judge_jump(state, first_missing=27, offset=43, now=100.0 + gap.REFETCH_PATIENCE_SECONDS - 0.1)
    assert action == gap.SKIP and state.sought_at == 100.0
    action, state = gap.judge_jump(state, first_missing=27, offset=44, now=100.0 + gap.REFETCH_PATIENCE_SECONDS)
    assert action == gap.REFETCH
    assert (state.first_missing, state.seen, state.seeks, state.skipped) == (27, 42, 1, 0)   # no step to accepting
    assert state.sought_at == 100.0 + gap.REFETCH_PATIENCE_SECONDS


def test_a_refetch_for_another_read_offset_starts_over():
    # The read offset moved (a seek to the committed offset): the old refetch is stale.
    action, state = gap.judge_jump(gap.Refetch(27, 42), first_missing=60, offset=70)
    assert action == gap.REFETCH and state == gap.Refetch(60, 70)


# --- why: Faust's own bookkeeping commits past a filled gap -------------------------------------

def test_fausts_gap_filling_commits_offsets_that_were_never_processed():
    """The behaviour this module exists for, on Faust's own methods: offset 27 processed, a
    jump to 42 filled as a gap, 42 processed: the commit passes 28..41."""
    book = SimpleNamespace(_acked=defaultdict(list, {TP0: [27, 42]}), _acked_index=defaultdict(set),
                           _committed_offset=defaultdict(lambda: None, {TP0: 27}),
                           _gap=defaultdict(IntervalTree))
    asyncio.run(faust_consumer.Consumer._add_gap(book, TP0, 28, 42))
    assert faust_consumer.Consumer._new_offset(book, TP0) == 43


def test_the_copied_loop_matches_the_installed_faust():
    """`GapCheckingConsumer._drain_messages` is Faust 0.15.3's loop plus our check. If Faust's
    changes, re-read it, carry the change over, and update this digest."""
    source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == \
        "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


# --- the loop -------------------------------------------------------------------------------------

class _Drain:
    """The app's real consumer with its fetch replaced by scripted batches of offsets."""

    def __init__(self, batches: list[list[int]], read_offset: int, sought: bool = False,
                 committed: int | None = None):
        app = make_app("127.0.0.1:9", partitions=1)
        # What Faust's conductor records when an agent subscribes with acks (at worker start).
        app.topics._acking_topics.add(TP0.topic)
        self.consumer = app.consumer
        assert isinstance(self.consumer, gap.GapCheckingConsumer)
        self.batches, self.processed, self.seeks = list(batches), [], []
        self.consumer._read_offset[TP0] = read_offset
        self.consumer._committed_offset[TP0] = read_offset if committed is None else committed
        if sought:   # as `perform_seek` leaves it: the read offset is the next record to read
            self.consumer._sought[TP0] = read_offset
        self.fetcher = SimpleNamespace(_stopped=asyncio.Event())

        async def getmany(timeout):
            if not self.batches:
                self.fetcher._stopped.set()
                return
            for offset in self.batches.pop(0):
                yield TP0, SimpleNamespace(offset=offset, topic=TP0.topic, key=None, value=None)

        async def callback(message):
            self.processed.append(message.offset)

        async def seek(tp, offset):
            self.seeks.append(offset)

        self.consumer.getmany, self.consumer.callback, self.consumer._seek = getmany, callback, seek

    def run(self) -> "_Drain":
        # On the consumer's own loop, as in a worker (mode's wait_first waits on that loop).
        self.consumer.loop.run_until_complete(self.consumer._drain_messages(self.fetcher))
        return self


def test_the_loop_refetches_records_that_arrived_out_of_order():
    # Read offset 26; 42.. arrive first (as seen after a restart), then the refetch from 27.
    run = _Drain([[42, 43, 44], list(range(27, 46))], read_offset=26).run()
    assert run.seeks == [27]
    assert run.processed == list(range(27, 46))          # nothing skipped, nothing twice
    assert not run.consumer._gap[TP0]                      # and nothing marked done unseen
    assert run.consumer.refetches == 1 and run.consumer.gaps_accepted == 0


def test_the_loop_fills_a_gap_the_refetch_confirms():
    # A transaction marker at 27: the refetch from 27 starts at 28 again.
    run = _Drain([[28, 29], [28, 29, 30]], read_offset=26).run()
    assert run.seeks == [27]
    assert run.processed == [28, 29, 30]
    assert run.consumer.gaps_accepted == 1
    assert [(i.begin, i.end) for i in run.consumer._gap[TP0]] == [(27, 28)]   # 27 only: 28 is a record


def test_the_loop_never_fills_a_gap_from_stale_records_arriving_earlier_each_time():
    # Records of fetches from before the seeks, each earlier than the last, then the refetch from
    # 27. Until session 16 the sixth filled 27..36 as a gap: committed past records that exist.
    run = _Drain([[42], [41], [40], [39], [38], [37], list(range(27, 46))], read_offset=26).run()
    assert run.seeks == [27] * 6
    assert run.processed == list(range(27, 46))
    assert run.consumer.gaps_accepted == 0 and not run.consumer._gap[TP0]


def test_the_loop_seeks_again_when_the_refetch_is_overtaken(monkeypatch):
    # Read offset 26; 42.. arrive, the refetch's seek is overtaken (only later records come),
    # then, past the patience, the loop seeks again and the refetch from 27 arrives.
    clock = iter([0.0, 1.0, 2.0, 1.0 + gap.REFETCH_PATIENCE_SECONDS, 9.0, 9.0, 9.0])
    monkeypatch.setattr(gap, "_now", lambda: next(clock))
    run = _Drain([[42], [50, 51], [52], list(range(27, 53))], read_offset=26).run()
    assert run.seeks == [27, 27]
    assert run.processed == list(range(27, 53))          # nothing skipped for good, nothing twice
    assert not run.consumer._gap[TP0] and run.consumer.gaps_accepted == 0


def test_the_loop_leaves_consecutive_records_alone():
    run = _Drain([[27, 28], [29, 30]], read_offset=26).run()
    assert run.seeks == [] and run.processed == [27, 28, 29, 30]


def test_the_loop_still_drops_committed_records_below_the_read_offset():
    run = _Drain([[10, 11], [26, 27]], read_offset=26).run()
    assert run.processed == [26, 27] and run.consumer.redelivered == 0


def test_the_loop_processes_uncommitted_records_below_the_read_offset():
    # Read offset 267 from a batch whose stream buffer was cleared; committed is 168: the
    # batch comes again and is processed (Faust drops it as already read).
    run = _Drain([list(range(168, 172)), [268]], read_offset=267, committed=168).run()
    assert run.processed == [168, 169, 170, 171, 268]
    assert run.consumer.redelivered == 4
    assert run.consumer._read_offset[TP0] == 268     # the read offset does not move back


def test_after_a_seek_the_record_at_the_read_offset_is_refetched_too():
    # perform_seek set the read offset to the committed 211; a batch from 225 arrives first.
    run = _Drain([[225, 226], list(range(211, 227))], read_offset=211, sought=True).run()
    assert run.seeks == [211]
    assert run.processed == list(range(211, 227))


def test_after_a_seek_one_record_past_it_is_a_jump():
    # Faust sees no gap here (212 is one past 211), yet 211 was never read.
    run = _Drain([[212, 213], [211, 212, 213]], read_offset=211, sought=True).run()
    assert run.seeks == [211]
    assert run.processed == [211, 212, 213]


def test_after_a_seek_in_order_records_are_not_refetched():
    run = _Drain([[211, 212], [213]], read_offset=211, sought=True).run()
    assert run.seeks == [] and run.processed == [211, 212, 213]


def test_a_marker_at_the_seek_position_is_a_real_gap():
    run = _Drain([[212, 213], [212, 213]], read_offset=211, sought=True).run()
    assert run.seeks == [211]
    assert run.processed == [212, 213] and run.consumer.gaps_accepted == 1
    # the gap starts at the committed 211 (Faust's own starts one past it), so the commit moves
    assert run.consumer._gap[TP0].overlaps(211)
    _ack(run.consumer, 212, 213)
    assert run.consumer._new_offset(TP0) == 214


# --- the commit head: never past a record at the committed offset that was not acked ------------

def _ack(consumer, *offsets: int) -> None:
    consumer._acked[TP0].extend(offsets)
    consumer._acked_index[TP0].update(offsets)


def _consumer(committed: int):
    consumer = make_app("127.0.0.1:9", partitions=1).consumer
    consumer._committed_offset[TP0] = committed
    consumer._read_offset[TP0] = 2590
    return consumer


def test_fausts_commit_passes_one_unacked_record_at_the_head():
    """faust-streaming #606 / PR #707, on Faust's own method: committed 2585 (the next record to
    read), 2586..2589 acked, 2585 not: Faust commits 2590, and 2585 is never read again."""
    book = SimpleNamespace(_acked=defaultdict(list, {TP0: [2586, 2587, 2588, 2589]}),
                           _acked_index=defaultdict(set, {TP0: {2586, 2587, 2588, 2589}}),
                           _committed_offset=defaultdict(lambda: None, {TP0: 2585}),
                           _gap=defaultdict(IntervalTree))
    assert faust_consumer.Consumer._new_offset(book, TP0) == 2590


def test_our_commit_waits_for_the_head_then_takes_the_whole_run(monkeypatch):
    monkeypatch.setattr(gap, "_now", lambda: 100.0)
    consumer = _consumer(committed=2585)
    _ack(consumer, 2586, 2587, 2588, 2589)
    assert consumer._new_offset(TP0) is None
    assert consumer._missing_heads[TP0] == (2585, 100.0)
    _ack(consumer, 2585)
    assert consumer._new_offset(TP0) == 2590
    assert TP0 not in consumer._missing_heads


def test_in_order_acks_commit_as_before():
    consumer = _consumer(committed=2585)
    _ack(consumer, 2585, 2586, 2587)
    assert consumer._new_offset(TP0) == 2588
    empty = _consumer(committed=2585)
    assert empty._new_offset(TP0) is None and not empty._missing_heads


def test_a_missing_head_is_read_again_past_the_patience(monkeypatch):
    """The record at the committed offset was dropped (acks are in order per partition, so it is
    not still in hand): only reading the partition again from there brings it."""
    now = [100.0]
    monkeypatch.setattr(gap, "_now", lambda: now[0])
    consumer = _consumer(committed=2585)
    revoked = TP("messages.requests", 1)
    consumer._committed_offset[revoked] = 7
    consumer._acked[revoked].extend([8, 9])
    _ack(consumer, 2586, 2587)
    assert consumer._new_offset(TP0) is None and consumer._new_offset(revoked) is None
    seeks = []

    async def seek(tp, offset):
        seeks.append((tp, offset))

    monkeypatch.setattr(consumer, "_seek", seek)
    monkeypatch.setattr(consumer, "assignment", lambda: {TP0})
    now[0] = 100.0 + gap.REFETCH_PATIENCE_SECONDS - 0.1
    consumer.loop.run_until_complete(consumer.refetch_missing_heads())
    assert seeks == []                                   # not yet: it may still come
    now[0] = 100.0 + gap.REFETCH_PATIENCE_SECONDS
    consumer.loop.run_until_complete(consumer.refetch_missing_heads())
    assert seeks == [(TP0, 2585)] and consumer.heads_refetched == 1
    # read as after a restart: the read offset is the seek position, so a record one past it is a jump
    assert consumer._read_offset[TP0] == 2585 and consumer._sought[TP0] == 2585
    assert revoked not in consumer._missing_heads        # its next owner reads it from the committed offset
    consumer.loop.run_until_complete(consumer.refetch_missing_heads())
    assert seeks == [(TP0, 2585)]                        # once per patience, not once per tick
    _ack(consumer, 2585)                                 # the head came: nothing more to read again
    now[0] += 2 * gap.REFETCH_PATIENCE_SECONDS
    consumer.loop.run_until_complete(consumer.refetch_missing_heads())
    assert seeks == [(TP0, 2585)] and TP0 not in consumer._missing_heads


def test_a_head_committed_meanwhile_is_not_read_again(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(gap, "_now", lambda: now[0])
    consumer = _consumer(committed=2585)
    _ack(consumer, 2586, 2587)
    assert consumer._new_offset(TP0) is None
    consumer._committed_offset[TP0] = 2588               # e.g. a restart's seek, or a gap filled
    monkeypatch.setattr(consumer, "assignment", lambda: {TP0})
    now[0] += gap.REFETCH_PATIENCE_SECONDS
    consumer.loop.run_until_complete(consumer.refetch_missing_heads())
    assert consumer.heads_refetched == 0 and TP0 not in consumer._missing_heads


def test_the_refetched_head_is_processed_and_committed():
    # After the seek back to 2585: the refetch delivers 2585 (and 2586.. again); 2585 is acked,
    # and the commit takes the whole run.
    run = _Drain([[2585, 2586, 2587]], read_offset=2585, sought=True, committed=2585)
    _ack(run.consumer, 2586, 2587)
    run.consumer.callback = _acking(run)
    run.run()
    assert run.processed == [2585, 2586, 2587] and run.seeks == []
    assert run.consumer._new_offset(TP0) == 2588


def _acking(run: "_Drain"):
    async def callback(message):
        run.processed.append(message.offset)
        if message.offset not in run.consumer._acked_index[TP0]:
            _ack(run.consumer, message.offset)
    return callback


# --- a refetch no record comes for: the timer seeks again -------------------------------------

def test_a_refetch_is_overdue_only_past_its_patience():
    refetching = {TP0: gap.Refetch(27, 42, sought_at=100.0)}
    assert gap.overdue_refetches(refetching, 100.0 + gap.REFETCH_PATIENCE_SECONDS - 0.1) == []
    assert gap.overdue_refetches(refetching, 100.0 + gap.REFETCH_PATIENCE_SECONDS) == [TP0]


def test_the_timer_seeks_again_a_refetch_no_record_came_for(monkeypatch):
    """Stress runs: a seller-stage partition refetching "expected 10, got 14" got no record for
    minutes (its seek overtaken past everything it held); only a timer can notice."""
    consumer = make_app("127.0.0.1:9", partitions=1).consumer
    revoked, fresh = TP("msggate.seller-stage", 1), TP("msggate.seller-stage", 2)
    consumer._refetching.update({TP0: gap.Refetch(10, 14, seeks=2, skipped=7, sought_at=0.0),
                                 revoked: gap.Refetch(5, 9, sought_at=0.0),
                                 fresh: gap.Refetch(3, 8, sought_at=gap.REFETCH_PATIENCE_SECONDS)})
    seeks = []

    async def seek(tp, offset):
        seeks.append((tp, offset))

    monkeypatch.setattr(consumer, "_seek", seek)
    monkeypatch.setattr(consumer, "assignment", lambda: {TP0, fresh})
    monkeypatch.setattr(gap, "_now", lambda: gap.REFETCH_PATIENCE_SECONDS + 1.0)
    consumer.loop.run_until_complete(consumer.seek_overdue_refetches())
    assert seeks == [(TP0, 10)]                          # to the first missing offset, again
    assert consumer._refetching[TP0] == gap.Refetch(10, 14, seeks=2)   # not a step to accepting
    assert consumer._refetching[TP0].sought_at == gap.REFETCH_PATIENCE_SECONDS + 1.0
    assert revoked not in consumer._refetching           # its next owner reads it afresh
    assert consumer._refetching[fresh].sought_at == gap.REFETCH_PATIENCE_SECONDS   # not yet due
    consumer.loop.run_until_complete(consumer.seek_overdue_refetches())
    assert seeks == [(TP0, 10)]                          # once per patience, not once per tick


def test_the_timer_runs_with_the_consumer():
    assert "_refetch_timer" in gap.GapCheckingConsumer._tasks["streams.consumer.GapCheckingConsumer"]
