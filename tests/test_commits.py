"""The repair of Faust's acked-offset bookkeeping (streams/commits.py), against Faust's own
`Consumer._new_offset`: with the list as it was seen after a rebalance, a commit moves by one
offset; after the repair, by the whole run of processed records."""
from __future__ import annotations

from collections import defaultdict

from faust.transport.consumer import Consumer
from faust.types import TP
from intervaltree import IntervalTree

from streams.commits import repair_acked

TP0 = TP("messages.requests", 0)


class _Bookkeeping:
    """The attributes `_new_offset` reads, as Faust keeps them."""

    def __init__(self, acked: list[int], committed: int | None):
        self._acked = defaultdict(list, {TP0: acked})
        self._acked_index = defaultdict(set, {TP0: set(acked)})
        self._committed_offset = defaultdict(lambda: None, {TP0: committed})
        self._gap = defaultdict(IntervalTree)


def stalled() -> _Bookkeeping:
    # committed 49; 48 (committed already) and the head of the run acked twice, then 49..2486
    return _Bookkeeping(sorted([48, 49, 50, 51] + list(range(49, 2487))), committed=49)


def test_the_stalled_list_moves_the_commit_by_one_or_two():
    assert Consumer._new_offset(stalled(), TP0) in (50, 51)


def test_after_the_repair_the_commit_takes_the_whole_run():
    bookkeeping = stalled()
    assert repair_acked(bookkeeping) == 4      # 48, and 49-51 acked twice
    assert bookkeeping._acked[TP0] == list(range(49, 2487))
    assert bookkeeping._acked_index[TP0] == set(range(49, 2487))
    assert Consumer._new_offset(bookkeeping, TP0) == 2487


def test_a_healthy_list_is_left_alone_and_a_real_gap_still_holds_the_commit():
    healthy = _Bookkeeping([10, 11, 12], committed=10)
    assert repair_acked(healthy) == 0 and healthy._acked[TP0] == [10, 11, 12]
    gap = _Bookkeeping([10, 11, 14, 15], committed=10)   # 12 and 13 not processed yet
    assert repair_acked(gap) == 0
    assert Consumer._new_offset(gap, TP0) == 12            # never past an unprocessed record
