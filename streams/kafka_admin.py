"""Topic administration and small produce/consume helpers (aiokafka)."""
from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .gateway import BUYER_EVENTS_TOPIC, GATEWAY_TOPICS, INTERNAL_TOPICS


async def create_topics(bootstrap: str, partitions: int, replication: int = 1) -> list[str]:
    """Create every gateway topic that does not exist yet; returns the names created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [t for t in (*GATEWAY_TOPICS, *INTERNAL_TOPICS) if t not in existing]
        new = [NewTopic(t, num_partitions=partitions, replication_factor=replication,
                        topic_configs={"cleanup.policy": "compact"} if t == BUYER_EVENTS_TOPIC else {})
               for t in wanted]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass
        return wanted
    finally:
        await admin.close()


async def partition_counts(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        names = [t for t in await admin.list_topics() if not t.startswith("__")]
        described = await admin.describe_topics(names)
        return {d["topic"]: len(d["partitions"]) for d in described}
    finally:
        await admin.close()
