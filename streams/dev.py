"""`msggate dev`: embedded broker, topics, one worker, optional demo. Ctrl-C stops all it started."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import orjson

from .broker import BrokerError, log_to_stderr, start_embedded
from .kafka_admin import create_topics

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.jsonl"


def _wait_ready(web_port: int, proc: subprocess.Popen, timeout: float = 120) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/readyz", timeout=1) as response:
                body = response.read()
                if b'"ready":true' in body and b'"assigned_partitions":0' not in body:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _demo(bootstrap: str, started: float) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from .gateway import OUTPUT_TOPICS

    lines = [orjson.loads(line) for line in DEMO.read_bytes().splitlines() if line.strip()]
    wanted = {line["message_request"]["message_id"] for line in lines if "message_request" in line}

    async def go():
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
        await producer.start()
        previous_topic = None
        for line in lines:
            topic, record = (("orders.events", line["order_event"]) if "order_event" in line
                             else ("messages.requests", line["message_request"]))
            if topic == "messages.requests" and previous_topic == "orders.events":
                await asyncio.sleep(1.0)  # let the order events land first (two topics are not ordered)
            previous_topic = topic
            await producer.send_and_wait(topic, orjson.dumps(record), key=record["order_id"].encode())
        await producer.stop()
        consumer = AIOKafkaConsumer(*OUTPUT_TOPICS, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
        await consumer.start()
        deadline = time.monotonic() + 30
        first = True
        while wanted and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for m in records:
                    d = orjson.loads(m.value)
                    if d.get("message_id") in wanted:
                        wanted.discard(d["message_id"])
                        if first:
                            print(f"first decision {time.monotonic() - started:.1f} s after start", flush=True)
                            first = False
                        codes = " ".join(v["code"] for v in d["violations"]) or "-"
                        print(f"  demo {d['message_id']:<22} -> {m.topic:<26} {codes}", flush=True)
        await consumer.stop()

    print("demo: sending examples/demo.jsonl ...", flush=True)
    asyncio.run(go())


async def _wait_for_group_coordinator(bootstrap: str, timeout: float = 30) -> None:
    """A fresh broker creates its consumer-offsets topic on the first group join; joining once
    here spares the worker's first join an ERROR line ("GroupCoordinatorNotAvailable")."""
    import logging

    from aiokafka import AIOKafkaConsumer

    quiet = logging.getLogger("aiokafka")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)
    consumer = AIOKafkaConsumer("messages.approved", bootstrap_servers=bootstrap, group_id="msggate-dev-warmup",
                                enable_auto_commit=False)
    try:
        await asyncio.wait_for(consumer.start(), timeout)
        await asyncio.wait_for(consumer.getmany(timeout_ms=500), timeout)
    except Exception:   # only a courtesy: the worker retries on its own
        pass
    finally:
        await consumer.stop()
        quiet.setLevel(level)


def run_dev(port: int, partitions: int, web_port: int, config_path: str | None, demo: bool) -> int:
    started = time.monotonic()
    try:
        broker = start_embedded(port, log=log_to_stderr)
    except BrokerError as exc:
        print(f"msggate: broker failed: {exc}", file=sys.stderr)
        return 1
    worker = None
    try:
        print(f"broker ready: {broker.bootstrap}", flush=True)
        asyncio.run(create_topics(broker.bootstrap, partitions))
        asyncio.run(_wait_for_group_coordinator(broker.bootstrap))
        command = [sys.executable, "-m", "streams.cli", "worker", "--bootstrap-servers", broker.bootstrap,
                   "--web-port", str(web_port)]
        if config_path:
            command += ["--config", config_path]
        worker = subprocess.Popen(command, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap})
        if not _wait_ready(web_port, worker):
            print("msggate: the worker did not become ready", file=sys.stderr)
            return 1
        print(f"worker ready: dashboard http://127.0.0.1:{web_port}/  metrics http://127.0.0.1:{web_port}/metrics",
              flush=True)
        print(f"try: KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap} msggate tail blocked", flush=True)
        if demo:
            _demo(broker.bootstrap, started)
        print("running; Ctrl-C stops the worker and the broker", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
        worker.wait()
        return 0 if worker.returncode == 0 else 1
    except KeyboardInterrupt:
        return 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        broker.stop()
