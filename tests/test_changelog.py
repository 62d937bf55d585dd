"""BatchedChangelogTable (streams/changelog.py): inside a batch, one changelog record per key
with its last value, to the partition of the event current at the write, and the bytes Faust
would have written; outside a batch, Faust's own path. Recovery from these records runs on the
real broker in tests/stream (restart, SIGKILL and RocksDB tests)."""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest

from streams.agents import set_current_event
from streams.app import make_app
from streams.changelog import BatchedChangelogTable


class _Event:
    """What Faust's table reads of the current event: its message's topic and partition."""

    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(topic="messages.requests", partition=partition)


_EVENTS = {p: _Event(p) for p in range(4)}   # Faust holds the current event by weak reference


def _current(partition: int) -> None:
    set_current_event(_EVENTS[partition])


@pytest.fixture()
def table():
    app = make_app("127.0.0.1:9", partitions=4)
    table = app.tables.add(BatchedChangelogTable(app, name="orders", default=None, beacon=app.tables.beacon,
                                                 key_type=str))
    table.value_serializer = "orjson"
    faust_sent = []
    table.send_changelog = lambda partition, key, value, *a, **k: faust_sent.append((partition, key, value)) \
        or SimpleNamespace(message=SimpleNamespace(partition=partition))
    table.faust_sent = faust_sent
    return table


def _send_batch(table) -> list[tuple]:
    sent = []

    async def send(topic, key, value, partition):
        sent.append((topic, key, value, partition))
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(SimpleNamespace(topic_partition=(topic, partition), offset=len(sent)))
        return delivered

    async def run():
        count = await table.send_batch(send)
        await asyncio.sleep(0)   # delivery callbacks
        return count

    assert asyncio.run(run()) == len(sent)
    return sent


def test_a_batch_sends_one_record_per_key_with_its_last_value_and_partition(table):
    delivered = []
    table._on_changelog_sent = lambda delivery: delivered.append(delivery.result().offset)
    table.open_batch()
    _current(1)
    table["111-1111111-1111111"] = {"n": 1}
    table["222-2222222-2222222"] = {"n": 1}
    table["111-1111111-1111111"] = {"n": 2}
    _current(3)
    table["333-3333333-3333333"] = {"n": 1}
    del table["222-2222222-2222222"]
    assert table.faust_sent == []                       # nothing through Faust's envelope
    sent = _send_batch(table)
    assert sent == [("msggate-orders-changelog", b'"111-1111111-1111111"', b'{"n":2}', 1),
                    ("msggate-orders-changelog", b'"222-2222222-2222222"', None, 3),   # tombstone, where deleted
                    ("msggate-orders-changelog", b'"333-3333333-3333333"', b'{"n":1}', 3)]
    assert delivered == [1, 2, 3]                        # the store hears of each offset (RocksDB keeps it)
    assert table["111-1111111-1111111"] == {"n": 2} and "222-2222222-2222222" not in table


def test_the_value_is_taken_at_the_write_as_faust_does(table):
    table.open_batch()
    _current(0)
    record = {"n": 1}
    table["111-1111111-1111111"] = record
    record["n"] = 99   # changed afterwards without a write: the store (RocksDB) would not have it either
    assert _send_batch(table)[0][2] == b'{"n":1}'


def test_outside_a_batch_and_after_it_writes_go_fausts_way(table):
    _current(2)
    table["111-1111111-1111111"] = {"n": 1}
    table.open_batch()
    table["222-2222222-2222222"] = {"n": 1}
    _send_batch(table)
    table["333-3333333-3333333"] = {"n": 1}
    assert [key for _, key, _ in table.faust_sent] == ["111-1111111-1111111", "333-3333333-3333333"]


def test_a_batch_cut_short_sends_its_writes_fausts_way_not_nothing(table):
    """Cancelled at a rebalance, the batch's writes are in the store: dropping their records left
    the changelog behind it, and a recovery took the order back past a counted review request."""
    table.open_batch()
    _current(2)
    table["111-1111111-1111111"] = {"n": 1}
    table["111-1111111-1111111"] = {"n": 2}
    table["333-3333333-3333333"] = {"n": 1}
    del table["333-3333333-3333333"]
    assert table.send_rest_soon() == 2
    assert table.faust_sent == [(2, "111-1111111-1111111", b'{"n":2}'), (2, "333-3333333-3333333", None)]
    table["444-4444444-4444444"] = {"n": 1}            # and after it, Faust's way again
    assert table.faust_sent[-1][1] == "444-4444444-4444444"
    assert _send_batch(table) == []


def test_a_send_cut_short_leaves_the_unsent_records_for_send_rest_soon(table):
    table.open_batch()
    _current(1)
    for n in range(3):
        table[f"{n}00-0000000-0000000"] = {"n": n}
    sent = []

    async def send(topic, key, value, partition):
        if len(sent) == 1:
            raise asyncio.CancelledError   # the agent cancelled while the second record is queued
        sent.append(key)
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(SimpleNamespace(topic_partition=(topic, partition), offset=1))
        return delivered

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(table.send_batch(send))
    assert sent == [b'"000-0000000-0000000"']
    table.send_rest_soon()
    assert [key for _, key, _ in table.faust_sent] == ["100-0000000-0000000", "200-0000000-0000000"]


@pytest.mark.parametrize("key", ["111-1111111-1111111", 'quote " and \\ backslash', "tab\tnew\nline", "Bestellung ß"])
def test_keys_are_the_bytes_fausts_key_serializer_writes_or_decode_alike(table, key):
    faust_bytes = table.changelog_topic.prepare_key(key, table.key_serializer)[0]
    ours = table.encode_key(key)
    assert orjson.loads(ours) == key
    assert ours == faust_bytes   # compaction sees one key, whoever wrote it


def test_after_a_batch_cut_short_the_next_batch_waits_for_fausts_buffer_first(table):
    """The cut-short batch's records go through Faust's buffer; the next batch's go straight to the
    producer. Published after them, the older value would be a key's last record on the changelog."""
    order = []

    async def publish_faust_way():
        order.append("faust buffer published")

    table._publish_faust_way = publish_faust_way
    table.open_batch()
    _current(0)
    table["555-5555555-5555555"] = {"n": 1}
    table.send_rest_soon()
    table.open_batch()
    table["555-5555555-5555555"] = {"n": 2}
    sent = _send_batch(table)
    assert order == ["faust buffer published"] and sent[0][2] == b'{"n":2}'
    table.open_batch()
    table["555-5555555-5555555"] = {"n": 3}
    _send_batch(table)
    assert order == ["faust buffer published"]   # once: nothing of Faust's way since
