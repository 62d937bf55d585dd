"""`msggate topics create` makes the tables' changelog topics too, compacted, with the gateway's
partition count: workers that start together on a fresh cluster must find them in the metadata
of their first group assignment (Faust's assignor skips a missing topic; a benchmark with two
workers then left a third of its requests undecided)."""
from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.broker import KafkaBroker, free_port
from streams.gateway import CHANGELOG_TOPICS, TABLE_NAMES
from streams.kafka_admin import create_topics, partition_counts


def _cleanup_policies(bootstrap: str, topics: tuple[str, ...]) -> dict[str, str]:
    async def run():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, t) for t in topics])
        finally:
            await admin.close()
        policies = {}
        for response in responses:
            for resource in response.resources:
                name, entries = resource[3], resource[4]
                policies[name] = next(entry[1] for entry in entries if entry[0] == "cleanup.policy")
        return policies

    return asyncio.run(run())


def test_changelog_topics_are_created_compacted_with_the_gateway_partitions(tmp_path):
    # A broker of its own: on the session broker a worker may have made the changelogs already.
    kafka = KafkaBroker(free_port(), data_dir=tmp_path / "kafka", log=lambda *_: None).start()
    try:
        created = asyncio.run(create_topics(kafka.bootstrap, partitions=3))
        assert set(CHANGELOG_TOPICS) <= set(created)
        assert CHANGELOG_TOPICS == tuple(f"msggate-{name}-changelog" for name in TABLE_NAMES)
        counts = asyncio.run(partition_counts(kafka.bootstrap))
        assert {counts.get(topic) for topic in CHANGELOG_TOPICS} == {3}
        assert _cleanup_policies(kafka.bootstrap, CHANGELOG_TOPICS) == dict.fromkeys(CHANGELOG_TOPICS, "compact")
        assert asyncio.run(create_topics(kafka.bootstrap, partitions=3)) == []   # idempotent
    finally:
        kafka.stop()
