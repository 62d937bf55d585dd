"""`StartedProducer` (streams/agents.py): the producer is asked of Faust once; after that,
getting it takes no turn of the event loop (Faust's `maybe_start_producer` takes two or three
per call, one per `asyncio.sleep(0)` of mode's stampede wrapper)."""
from __future__ import annotations

import asyncio

from streams.agents import StartedProducer
from streams.app import make_app


async def _turns_taken(call) -> int:
    """How many turns of the event loop `await call()` lets another task take."""
    ticks, done = 0, False

    async def ticker():
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)   # the ticker is running
    before = ticks
    await call()
    taken = ticks - before
    done = True
    await task
    return taken


def test_fausts_own_call_takes_turns_of_the_event_loop_every_time():
    # why StartedProducer exists, on a real app whose producer counts as started
    app = make_app("127.0.0.1:9", partitions=1)

    async def run():
        app.producer.maybe_start = _noop   # no broker here: starting is not what is measured
        assert await app.maybe_start_producer() is app.producer
        return await _turns_taken(app.maybe_start_producer)

    assert asyncio.run(run()) >= 2


def test_the_producer_is_asked_once_then_returned_without_a_turn():
    asked = []

    class App:
        async def maybe_start_producer(self):
            asked.append(1)
            await asyncio.sleep(0)
            return "the producer"

    async def run():
        started = StartedProducer(App())
        assert await started.get() == "the producer"
        return await _turns_taken(started.get), started

    turns, started = asyncio.run(run())
    assert turns == 0
    assert started.producer == "the producer" and asked == [1]


async def _noop():
    return None
