"""Topic administration and small produce/consume helpers (aiokafka)."""
from __future__ import annotations

import asyncio
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .gateway import BUYER_EVENTS_TOPIC, CHANGELOG_TOPICS, GATEWAY_TOPICS, INTERNAL_TOPICS


async def create_topics(bootstrap: str, partitions: int, replication: int = 1, *,
                        only: tuple[str, ...] | None = None) -> list[str]:
    """Create every gateway topic that does not exist yet (or those of `only`); returns the names created.

    The tables' changelog topics are created here too (compacted, like Faust makes them): when
    workers start together on a fresh cluster, Faust's partition assignor runs before the first
    worker has created them, ignores them as missing, and the assignment it hands out left seller-
    stage work unconsumed (seen: a third of a benchmark's requests never decided, lag 0 everywhere).
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        every = (*GATEWAY_TOPICS, *INTERNAL_TOPICS, *CHANGELOG_TOPICS) if only is None else only
        wanted = [t for t in every if t not in existing]
        compacted = {BUYER_EVENTS_TOPIC, *CHANGELOG_TOPICS}
        new = [NewTopic(t, num_partitions=partitions, replication_factor=replication,
                        topic_configs={"cleanup.policy": "compact"} if t in compacted else {})
               for t in wanted]
        if new:
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:   # another worker or operator was faster
                pass
            await _wait_until_described(admin, wanted)
        return wanted
    finally:
        await admin.close()


async def _wait_until_described(admin: AIOKafkaAdminClient, topics: list[str], timeout_s: float = 15.0) -> None:
    """Return once the broker's metadata lists every one of `topics` with its partitions: creation
    is answered before the metadata has them (a test read no partitions right after), and what
    follows a `topics create` (workers, their first group assignment) must find them."""
    deadline = time.monotonic() + timeout_s
    while True:
        counts = await _partitions_per_topic(admin)
        missing = sorted(t for t in topics if not counts.get(t))
        if not missing:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"topics not in the broker's metadata {timeout_s:.0f} s after creating them: "
                               f"{', '.join(missing)}")
        await asyncio.sleep(0.1)


async def _partitions_per_topic(admin: AIOKafkaAdminClient) -> dict[str, int]:
    """Topic -> partition count, Kafka's internal topics (`__…`) left out. One metadata request
    for every topic: one naming a missing topic may auto-create it (auto.create.topics.enable)."""
    return {d["topic"]: len(d["partitions"]) for d in await admin.describe_topics()
            if not d["topic"].startswith("__")}


async def partition_counts(bootstrap: str) -> dict[str, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return await _partitions_per_topic(admin)
    finally:
        await admin.close()
