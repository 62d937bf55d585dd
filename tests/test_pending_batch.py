"""PendingBatch: the order stage's parked requests are forgotten at the end of a batch, after
its decisions are delivered, each partition's writes with one of its own events current."""
from __future__ import annotations

from streams.gateway import PendingBatch


class RecordingTable(dict):
    """A table that records, for each write, which event was current (its changelog partition)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.current = None
        self.writes: list[tuple[str, str, object]] = []

    def __setitem__(self, key, value) -> None:
        self.writes.append((self.current, "set", key))
        super().__setitem__(key, value)

    def __delitem__(self, key) -> None:
        self.writes.append((self.current, "del", key))
        super().__delitem__(key)


def test_releases_reach_the_table_only_at_flush_with_their_partitions_event_current():
    table = RecordingTable({"order-a": [{"request": "a1"}], "order-b": [{"request": "b1"}, {"request": "b2"}]})
    batch = PendingBatch(table)
    on_0 = batch.view(0, "event-of-partition-0")
    on_3 = batch.view(3, "event-of-partition-3")
    assert batch.view(0, "a later event of partition 0") is on_0
    del on_0["order-a"]
    on_3["order-b"] = [{"request": "b2"}]
    batch.released = True
    # nothing written yet: a crash now leaves both parked requests in the table
    assert table.writes == [] and "order-a" in table and len(table["order-b"]) == 2
    # the batch itself already sees them as released (no second release from a later event)
    assert on_0.get("order-a") is None and on_3["order-b"] == [{"request": "b2"}]

    def set_current(event) -> None:
        table.current = event
    assert batch.flush(set_current) == 2
    assert sorted(table.writes) == [("event-of-partition-0", "del", "order-a"),
                                    ("event-of-partition-3", "set", "order-b")]
    assert table == {"order-b": [{"request": "b2"}]}
    assert not batch.released and batch.flush(set_current) == 0


def test_a_failed_batch_writes_nothing():
    table = RecordingTable({"order-a": [{"request": "a1"}]})
    batch = PendingBatch(table)
    del batch.view(1, "event")["order-a"]
    batch.released = True
    batch.clear()          # the batch raised: its events are replayed, the parked request stays
    assert batch.flush(lambda event: None) == 0
    assert table == {"order-a": [{"request": "a1"}]} and not batch.released
