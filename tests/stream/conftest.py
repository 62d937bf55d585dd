"""One real Apache Kafka broker and one gateway worker for all stream tests of a run."""
from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.broker import KafkaBroker, free_port
from streams.gateway import APP_ID, OUTPUT_TOPICS, SELLER_STAGE_TOPIC, seller_hop_messages
from streams.kafka_admin import create_topics

ROOT = Path(__file__).resolve().parents[2]
GRACE_SECONDS = 4
MAX_PENDING = 25   # per partition: small, so the flood test reaches it


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    kafka = KafkaBroker(free_port(), data_dir=tmp_path_factory.mktemp("kafka"), log=print).start()
    asyncio.run(create_topics(kafka.bootstrap, partitions=4))
    yield kafka
    kafka.stop()


class WorkerProcess:
    """One `msggate worker` subprocess; restartable on the same data dir and web port."""

    def __init__(self, bootstrap: str, folder: Path, store: str | None = None):
        self.bootstrap, self.folder, self.store = bootstrap, folder, store
        self.config = folder / "msggate.toml"
        # MSGGATE_TEST_GUARANTEE=exactly_once runs the whole stream suite with Kafka transactions.
        guarantee = os.environ.get("MSGGATE_TEST_GUARANTEE", "at_least_once")
        self.config.write_text(f"[gateway]\ngrace_period_seconds = {GRACE_SECONDS}\n"
                               f"max_pending_per_partition = {MAX_PENDING}\n"
                               f"processing_guarantee = \"{guarantee}\"\n")
        self.web_port = free_port()
        self.log = folder / "worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "WorkerProcess":
        log = open(self.log, "ab")
        env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap}
        self.proc = subprocess.Popen([sys.executable, "-m", "streams.cli", "worker", "--config", str(self.config),
                                      "--web-port", str(self.web_port), "--data-dir", str(self.folder / "data")]
                                     + (["--store", self.store] if self.store else []),
                                     cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.tail()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/readyz", timeout=1) as response:
                    if b'"ready":true' in response.read() and _assigned(self.web_port):
                        return self
            except OSError:
                pass
            time.sleep(0.5)
        pytest.fail("worker not ready: " + self.tail())

    def stop(self) -> int:
        """SIGTERM (the graceful stop of the command contract); returns the exit code."""
        self.proc.terminate()
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:   # never leave a worker behind: kill it, report the hang
            self.proc.kill()
            self.proc.wait(30)
            return -9

    def kill(self) -> None:
        """SIGKILL: no shutdown, no commit, no flush; the crash the changelogs must survive."""
        self.proc.kill()
        self.proc.wait(30)

    def restart(self) -> None:
        assert self.stop() == 0, self.tail()
        self.start()

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@pytest.fixture(scope="session")
def worker(broker, tmp_path_factory):
    process = WorkerProcess(broker.bootstrap, tmp_path_factory.mktemp("worker")).start()
    yield process
    assert process.stop() == 0, process.tail()


def wait_caught_up(web_port: int, timeout: float = 120) -> None:
    """Until the worker has read everything on its input partitions (msggate_consumer_lag, updated
    every 5 s, zero twice in a row), then a second for the agents to finish. A worker that starts
    after a rebalance-heavy run may first replay a backlog (README "Guarantees"), and a test that
    needs its events applied before its requests must not race that."""
    deadline, zeros = time.monotonic() + timeout, 0
    while zeros < 2 and time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as response:
            text = response.read().decode()
        lags = [float(v) for v in re.findall(r"^msggate_consumer_lag\{[^}]*\} (\S+)$", text, re.M)]
        zeros = zeros + 1 if lags and sum(lags) == 0 else 0
        time.sleep(3)
    time.sleep(1)


def _assigned(web_port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/readyz", timeout=1) as response:
        return b'"assigned_partitions":0' not in response.read()


class Gateway:
    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    def send(self, records: list[tuple[str, bytes | dict, bytes | None]]) -> None:
        async def go():
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
            await producer.start()
            try:
                pending = []
                for topic, value, key in records:
                    raw = value if isinstance(value, bytes) else orjson.dumps(value)
                    if key is None and isinstance(value, dict):
                        key = value["order_id"].encode()
                    pending.append(await producer.send(topic, raw, key=key))
                await asyncio.gather(*pending)   # in order per partition; one round trip per batch
            finally:
                await producer.stop()
        asyncio.run(go())

    def collect(self, want, timeout: float = 30) -> list[tuple[str, dict]]:
        """All output records (topic, record) until `want(records)` is true or the timeout."""
        async def go():
            # Under exactly_once, a downstream sender must read committed records only.
            isolation = "read_committed" if os.environ.get("MSGGATE_TEST_GUARANTEE") == "exactly_once" \
                else "read_uncommitted"
            consumer = AIOKafkaConsumer(*OUTPUT_TOPICS, bootstrap_servers=self.bootstrap, isolation_level=isolation,
                                        auto_offset_reset="earliest", enable_auto_commit=False)
            await consumer.start()
            found: list[tuple[str, dict]] = []
            try:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    batch = await consumer.getmany(timeout_ms=500)
                    for records in batch.values():
                        found.extend((m.topic, orjson.loads(m.value)) for m in records)
                    if want(found):
                        break
            finally:
                await consumer.stop()
            return found
        return asyncio.run(go())

    def trace(self, message_ids: set[str], order_ids: set[str]) -> str:
        """Where requests without a decision got to, for a failing test's message: each one's
        input record, the seller-stage hops that carry it, its order's last changelog record (did
        the order stage decide it?), the seller stage's watermarks (which sources it judged), and
        the group's committed offsets of those partitions. Never raises."""
        def parsed(raw: bytes | None):   # other tests write malformed records to the same topics
            try:
                return orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                return None

        async def records(topics: list[str]) -> list:
            """Every record of `topics` from the beginning to the end offsets at the start."""
            consumer = AIOKafkaConsumer(*topics, bootstrap_servers=self.bootstrap, auto_offset_reset="earliest",
                                        enable_auto_commit=False)   # no group: all partitions, nothing committed
            await consumer.start()
            try:
                deadline = time.monotonic() + 60
                while not consumer.assignment() and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                tps = list(consumer.assignment())
                ends = await consumer.end_offsets(tps) if tps else {}
                out = []
                while time.monotonic() < deadline and any([await consumer.position(tp) < ends[tp] for tp in tps]):
                    for batch in (await consumer.getmany(timeout_ms=1000)).values():
                        out.extend(batch)
                return out
            finally:
                await consumer.stop()

        async def go() -> str:
            lines, partitions = [], set()
            for m in await records(["messages.requests"]):
                value = parsed(m.value)
                if isinstance(value, dict) and value.get("message_id") in message_ids:
                    lines.append(f"request {value['message_id']}: {m.topic}[{m.partition}]@{m.offset}")
                    partitions.add((m.topic, m.partition))
            for m in await records([SELLER_STAGE_TOPIC]):
                hop = parsed(m.value)
                for member in seller_hop_messages(hop) if isinstance(hop, dict) else ():
                    request = (member.get("decision") or {}).get("request") or {}
                    if request.get("message_id") in message_ids:
                        lines.append(f"hop of {request['message_id']}: {m.topic}[{m.partition}]@{m.offset} "
                                     f"source={member.get('source')} timestamp={m.timestamp}")
                        partitions.add((m.topic, m.partition))
            last = {}
            for m in await records([f"{APP_ID}-orders-changelog"]):
                order_id = parsed(m.key)   # Faust's table keys are JSON
                if isinstance(order_id, str) and order_id in order_ids:
                    last[order_id] = (m.partition, m.offset, parsed(m.value))
            for order_id, (partition, offset, value) in sorted(last.items()):
                decisions = (value or {}).get("decisions", {})
                decided = {m: (decisions[m]["route"], decisions[m].get("source")) for m in sorted(message_ids)
                           if m in decisions}
                lines.append(f"order {order_id}: last changelog record [{partition}]@{offset} decides {decided}")
            watermarks = {}   # the seller stage's, per seller-stage partition: which sources it judged
            for m in await records([f"{APP_ID}-sellers-changelog"]):
                key = parsed(m.key)
                if isinstance(key, str) and key.startswith("w|"):
                    watermarks[key] = (m.partition, m.offset, parsed(m.value))
            lines.extend(f"seller-stage watermarks {key}: [{p}]@{o} {v}" for key, (p, o, v) in sorted(watermarks.items()))
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
            await admin.start()
            try:
                committed = await admin.list_consumer_group_offsets(APP_ID)
            finally:
                await admin.close()
            for topic, partition in sorted(partitions):
                meta = committed.get(TopicPartition(topic, partition))
                lines.append(f"committed {topic}[{partition}]: {meta.offset if meta else None}")
            return "\n".join(lines)
        try:
            return asyncio.run(go())
        except Exception as exc:   # called on a failure: the loss is what to report, not the trace's own error
            return f"(trace failed: {exc!r})"


@pytest.fixture(scope="session")
def gateway(broker, worker):
    return Gateway(broker.bootstrap)
