"""`msggate bench`'s own Kafka clients are ready before a phase's clock starts
(streams/bench_stream.py, `_warm_up`): a fresh consumer's first outputs were consumed ~140 ms
after Kafka had them, which is the load generator starting, not the gateway deciding."""
from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.bench_stream import _warm_up


def test_the_warm_up_ends_once_every_output_partition_has_answered_a_fetch(broker):
    parts = [TopicPartition(topic, p) for topic in ("messages.approved", "messages.blocked") for p in range(4)]

    async def main():
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await consumer.start()
        await producer.start()
        try:
            consumer.assign(parts)
            # A high watermark is known only from a fetch response: none yet.
            assert all(consumer.highwater(tp) is None for tp in parts)
            for tp, end in (await consumer.end_offsets(parts)).items():
                consumer.seek(tp, end)
            await _warm_up(consumer, producer, "messages.requests", parts, timeout=30)
            assert all(consumer.highwater(tp) is not None for tp in parts)
            assert producer.client.cluster.partitions_for_topic("messages.requests")
        finally:
            await producer.stop()
            await consumer.stop()

    asyncio.run(main())
