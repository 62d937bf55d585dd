"""`msggate topics create` makes the tables' changelog topics too, compacted, with the gateway's
partition count: workers that start together on a fresh cluster must find them in the metadata
of their first group assignment (Faust's assignor skips a missing topic; a benchmark with two
workers then left a third of its requests undecided)."""
from __future__ import annotations

import asyncio

import pytest
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


def test_creation_waits_for_the_metadata_and_names_what_never_appears():
    from streams.kafka_admin import _wait_until_described

    class SlowMetadata:
        """Answers like a broker whose metadata learns of one topic on the third look."""

        def __init__(self):
            self.looks = 0

        async def describe_topics(self, topics=None):
            assert topics is None   # naming a missing topic may auto-create it on the broker
            self.looks += 1
            return [{"topic": "a", "partitions": [0, 1] if self.looks >= 3 else []}]

    admin = SlowMetadata()
    asyncio.run(_wait_until_described(admin, ["a"]))
    assert admin.looks == 3
    with pytest.raises(RuntimeError, match=r"after creating them: never$"):
        asyncio.run(_wait_until_described(SlowMetadata(), ["a", "never"], timeout_s=0.3))
