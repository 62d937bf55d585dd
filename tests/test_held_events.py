"""`held_events` (streams/agents.py): an event whose agent body is cancelled half-way stays
unacked, so a worker stop cannot commit past it; a finished event is acked as before.

Runs a real Faust stream over an in-memory channel; each record carries the one reference
Faust's conductor gives a message per subscribing stream."""
from __future__ import annotations

import asyncio
import gc

import pytest
from faust.types import Message

from streams.agents import held_events
from streams.app import make_app


def _message(offset: int, generation_id: int) -> Message:
    message = Message("messages.requests", 0, offset, 0.0, 0, None, b"k", b"v", None,
                      generation_id=generation_id)
    message.incref()   # what the conductor does when it delivers the record to one stream
    return message


def _drive(count: int, agent, waiting: int | None = None) -> list[Message]:
    """Run `agent(stream, gate)` over a real Faust stream of `count` records: `waiting` of them
    (all by default) are in the channel before the agent starts, the rest arrive one by one while
    it runs. Then the worker stops: the agent's task is cancelled (a body waiting on `gate` is
    stopped there) and the stream's generators are closed."""
    app = make_app("127.0.0.1:9", partitions=1)
    messages = [_message(offset, app.consumer_generation_id) for offset in range(count)]
    waiting = count if waiting is None else waiting

    async def main():
        app.flow_control.resume()
        channel = app.channel()
        stream = app.stream(channel)

        async def put(message: Message) -> None:
            await channel.put(app.create_event(message.key, message.value, {}, message))

        for message in messages[:waiting]:
            await put(message)
        task = asyncio.ensure_future(agent(stream, asyncio.Event()))
        for message in messages[waiting:]:
            await asyncio.sleep(0.05)
            await put(message)
        for _ in range(50):
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gc.collect()                       # the stream's generator is closed: its `finally` acks
        for _ in range(10):
            await asyncio.sleep(0.01)

    app.loop.run_until_complete(main())
    return messages


def _run(cancel_during: int | None, iterate) -> list[Message]:
    async def agent(stream, gate):
        async for event in iterate(stream):
            if event.message.offset == cancel_during:
                await gate.wait()      # the worker stops here, mid-body
            await asyncio.sleep(0)
    return _drive(3, agent)


def test_a_cancelled_body_leaves_its_event_unacked():
    messages = _run(cancel_during=1, iterate=held_events)
    assert [m.acked for m in messages] == [True, False, False]


def test_finished_events_are_acked():
    messages = _run(cancel_during=None, iterate=held_events)
    assert [m.acked for m in messages] == [True, True, True]


def test_without_holding_faust_acks_the_cancelled_event():
    """Why: Faust's own iteration acks the event whose body was cancelled."""
    messages = _run(cancel_during=1, iterate=lambda stream: stream.events())
    assert [m.acked for m in messages] == [True, True, False]


def _run_batches(cancel_during: int | None, first: int, later: int) -> tuple[list[Message], list[list[int]]]:
    """`drained_batches` over `first` records waiting before the agent starts, then `later` more
    put one by one while it runs; returns the messages and the offsets of each batch seen."""
    from streams.agents import drained_batches

    batches: list[list[int]] = []

    async def agent(stream, gate):
        async for batch in drained_batches(stream, size=4):
            batches.append([event.message.offset for event in batch])
            if cancel_during in batches[-1]:
                await gate.wait()      # the worker stops here, mid-batch
            await asyncio.sleep(0)
    return _drive(first + later, agent, waiting=first), batches


def test_drained_batches_take_what_waits_at_most_size_and_lone_records_at_once():
    messages, batches = _run_batches(cancel_during=None, first=6, later=2)
    assert batches == [[0, 1, 2, 3], [4, 5], [6], [7]]
    assert all(m.acked for m in messages)


def test_a_cancelled_drained_batch_stays_unacked_whole():
    messages, batches = _run_batches(cancel_during=5, first=6, later=2)
    assert batches == [[0, 1, 2, 3], [4, 5]]
    assert [m.acked for m in messages] == [True, True, True, True, False, False, False, False]
