"""`msggate bench e2e | baseline | scale`: the gateway, and a trivial Faust pipeline, on a real broker.

Each run starts its own embedded Apache Kafka on 127.0.0.1 (fresh topics, fresh consumer
groups) unless `--bootstrap-servers` names one, starts the worker(s) as subprocesses, seeds
the orders, then produces message requests and consumes the decisions in this process:

- throughput: requests / (last decision consumed - first request produced), as fast as possible;
- latency: request produced -> its decision consumed (p50/p99/max), at a fixed rate
  (default: half the throughput just measured), so queueing does not dominate;
- CPU seconds and peak RSS of each worker and of the broker, from /proc.

`baseline` is the trivial pipeline of the issue (decode JSON, bump a per-key table counter,
send to an output topic; tuned settings), run in the same invocation so that ratios compare
(the machines are noisy; only ratios taken in one run mean something). It is paced too, so
that the gateway's p99 can be read against what a pipeline doing no work gets in that run.
"""
from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import orjson

from .broker import KafkaBroker, free_port
from .gateway import OUTPUT_TOPICS
from .kafka_admin import create_topics

ROOT = Path(__file__).resolve().parent.parent


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- /proc accounting ----------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# --- processes ------------------------------------------------------------------------------

@dataclass
class Worker:
    proc: subprocess.Popen
    web_port: int | None
    log: Path

    def ready(self, timeout: float = 120) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text(errors='replace')[-2000:]}")
            if self.web_port is None:
                return
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/readyz", timeout=1) as response:
                    body = response.read()
                    if b'"ready":true' in body and b'"assigned_partitions":0' not in body:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("worker not ready in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def start_gateway_worker(bootstrap: str, folder: Path, store: str, index: int, config_path: str | None = None) -> Worker:
    web_port = free_port()
    log = folder / f"worker-{index}.log"
    config = Path(config_path) if config_path else folder / "msggate.toml"
    if not config_path:
        config.write_text("[gateway]\ngrace_period_seconds = 30\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker", "--config", str(config), "--web-port", str(web_port),
         "--store", store, "--data-dir", str(folder / f"data-{index}"), "--loglevel", "warning"],
        cwd=ROOT, env={**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
        stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    return Worker(proc, web_port, log)


def start_baseline_worker(bootstrap: str, folder: Path, partitions: int) -> Worker:
    log = folder / "baseline.log"
    web_port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streams.bench_baseline", bootstrap, str(partitions), str(folder / "baseline-data"),
         str(web_port)], cwd=ROOT, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    return Worker(proc, web_port, log)


# --- load --------------------------------------------------------------------------------------

US = "ATVPDKIKX0DER"
_BODIES = [
    "Hello, your order {oid} will arrive two days later than promised because of a carrier backlog. We apologise.",
    "Hello, the sofa of order {oid} is delivered by a two-person crew. Which weekday between 9 and 12 suits you?",
    "Hello, to complete order {oid} we need the ring size you would like. Please reply with a US size.",
    "Hello, leave a review for order {oid} and get a $10 gift card!",   # ~1 in 4 of these is violating
]


def order_event(n: int, sellers: int) -> dict:
    oid = f"{100 + n % 900:03d}-{n:07d}-{(n * 7919) % 10_000_000:07d}"
    return {"event_id": f"bench-e-{n}", "event_type": "order_placed", "occurred_at": "2026-11-09T10:00:00Z",
            "seller_id": f"S{n % sellers}", "marketplace_id": US, "order_id": oid, "buyer_id": f"B{n}",
            "buyer_locale": "en_US", "items": [{"asin": "B000TEST01", "sku": "S", "title": "Mug", "quantity": 1}]}


def message_request(m: int, event: dict, rng: random.Random) -> dict:
    body = _BODIES[0 if rng.random() < 0.6 else rng.randrange(1, 4)].format(oid=event["order_id"])
    html = rng.random() < 0.3
    if html:
        body = f"<p>{body}</p><p>Kind regards,<br>Northwind</p>"
    return {"message_id": f"bench-m-{m}", "seller_id": event["seller_id"], "marketplace_id": US,
            "order_id": event["order_id"], "contact_reason": "delivery_delay",
            "subject": f"Order {event['order_id']}: delivery update", "body": body,
            "body_format": "html" if html else "text", "requested_at": "2026-11-10T10:00:00Z"}


@dataclass
class Phase:
    produced_at: dict[str, float] = field(default_factory=dict)
    decided_at: dict[str, float] = field(default_factory=dict)
    # Wall clock, for the split by stage: the request produced, the decision's `decided_at` (set
    # by the order stage), its output consumed here; and the decision's route.
    produced_wall: dict[str, float] = field(default_factory=dict)
    stage_wall: dict[str, float] = field(default_factory=dict)
    consumed_wall: dict[str, float] = field(default_factory=dict)
    # the output record's broker append time (LogAppendTime, set on the embedded broker's
    # output topics): splits "after the decision" into the gateway's part and this process's
    appended_wall: dict[str, float] = field(default_factory=dict)
    routes: dict[str, str] = field(default_factory=dict)
    # --backlog: when the stopped workers were let go (the rate is counted from there)
    resumed_at: float | None = None

    def _decided(self) -> list[tuple[float, float]]:
        """(produced at, latency) of each decided request of this phase."""
        return [(self.produced_at[key], decided - self.produced_at[key])
                for key, decided in self.decided_at.items() if key in self.produced_at]

    def summary(self) -> dict:
        latencies = sorted(latency for _, latency in self._decided())
        if not latencies:
            return {"requests": len(self.produced_at), "decided": 0}
        first, last = self.resumed_at or min(self.produced_at.values()), max(self.decided_at.values())
        return {"requests": len(self.produced_at), "decided": len(self.decided_at),
                "msgs_per_s": round(len(self.decided_at) / max(last - first, 1e-9)),
                "p50_ms": _pct(latencies, 0.50), "p99_ms": _pct(latencies, 0.99), "max_ms": round(latencies[-1] * 1000, 1)}

    def over_time(self, window: float = 0.5) -> list[dict]:
        """Latency per `window` seconds of production (by when each request was produced): where
        a tail comes from, a few slow windows or all of them."""
        if not self.produced_at:
            return []
        start = min(self.produced_at.values())
        windows: dict[int, list[float]] = {}
        for produced, latency in self._decided():
            windows.setdefault(int((produced - start) / window), []).append(latency)
        series = []
        for index in sorted(windows):
            values = sorted(windows[index])
            series.append({"at_s": round(index * window, 2), "requests": len(values),
                           "p50_ms": _pct(values, 0.50), "max_ms": round(values[-1] * 1000, 1)})
        return series

    def split(self) -> dict:
        """Where the latency goes: request produced -> decided in the order stage (consuming,
        the batch window, the engine), then decided -> output consumed, for approvals (through
        the seller stage) and for the other routes (sent by the order stage itself); and, where
        the broker stamps its append time, output appended -> consumed by this process."""
        to_decision, after = [], {"approved": [], "other": []}
        for key, decided in self.stage_wall.items():
            if key in self.produced_wall and key in self.consumed_wall:
                to_decision.append(decided - self.produced_wall[key])
                after["approved" if self.routes.get(key) == "approved" else "other"].append(
                    self.consumed_wall[key] - decided)
        # the last leg, this process consuming what Kafka already has (not the gateway's time)
        consumed_after_append = [self.consumed_wall[key] - appended for key, appended in self.appended_wall.items()
                                 if key in self.consumed_wall]
        result = {}
        for name, values in (("to_decision", to_decision), ("approved_after_decision", after["approved"]),
                             ("other_after_decision", after["other"]),
                             ("consumed_after_append", consumed_after_append)):
            if values:
                values.sort()
                result |= {f"{name}_p50_ms": _pct(values, 0.50), f"{name}_p99_ms": _pct(values, 0.99)}
        return result


def paced_rate(rate: float | None, measured_msgs_per_s: float) -> float:
    """A latency phase's rate: `--rate`, else half the rate just measured (at least 50/s)."""
    return rate or max(50.0, measured_msgs_per_s / 2)


def run_paced(bootstrap: str, topic: str, outputs: list[str], records: list, rate: float) -> Phase:
    """A latency phase: `records` produced at `rate` per second, their outputs consumed."""
    paced = Phase()
    asyncio.run(_produce_and_collect(bootstrap, topic, outputs, records, rate, paced,
                                     timeout=max(60, len(records) / rate * 3)))
    return paced


def _pct(values: list[float], q: float) -> float:
    return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 1)


async def _produce_and_collect(bootstrap: str, in_topic: str, out_topics: list[str], records: list[tuple[bytes, bytes, str]],
                               rate: float | None, phase: Phase, timeout: float, backlog_of: list[int] = (),
                               progress=None) -> None:
    """Produce `records` (key, value, id) at `rate`/s (None: as fast as possible); consume their outputs.
    `backlog_of`: worker pids stopped (SIGSTOP) while all records are produced, then let go: the
    rate is then the workers' own, without this process producing beside them. `progress`: a
    callable whose text is added to each progress line."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from aiokafka import TopicPartition

    from .kafka_admin import partition_counts

    # Explicit assignment at the end offsets taken *before* producing: with a subscription the
    # partitions may be assigned (and reset to "latest") only after the first outputs, which
    # were then missed and the run waited for them in vain.
    counts = await partition_counts(bootstrap)
    parts = [TopicPartition(t, p) for t in out_topics for p in range(counts.get(t, 0))]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    consumer.assign(parts)
    for tp, end in (await consumer.end_offsets(parts)).items():
        consumer.seek(tp, end)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    await _warm_up(consumer, producer, in_topic, parts)
    wanted = {record_id for _, _, record_id in records}

    producing = True

    async def consume():
        deadline = time.monotonic() + timeout
        next_report = time.monotonic() + 5
        while wanted.difference(phase.decided_at) and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=200, max_records=10_000)
            now = time.monotonic()
            now_wall = time.time()
            for messages in batch.values():
                for message in messages:
                    record = _record(message.value)
                    record_id = record.get("message_id") or record.get("id")
                    if record_id in wanted and record_id not in phase.decided_at:
                        phase.decided_at[record_id] = now
                        phase.consumed_wall[record_id] = now_wall
                        if message.timestamp_type == LOG_APPEND_TIME:
                            phase.appended_wall[record_id] = message.timestamp / 1000
                        if isinstance(record.get("decided_at"), str):   # the gateway's decisions
                            phase.stage_wall[record_id] = _wall(record["decided_at"])
                            phase.routes[record_id] = record.get("route")
            if not producing and now >= next_report:   # the producer reports while it runs
                say(f"    decided {len(phase.decided_at)}/{len(wanted)}" + (f", {progress()}" if progress else ""))
                next_report = now + 5
        missing = len(wanted) - len(set(phase.decided_at) & wanted)
        if missing:
            say(f"    gave up after {timeout:.0f} s: {missing} of {len(wanted)} still without an output")

    for pid in backlog_of:
        os.kill(pid, signal.SIGSTOP)
    try:
        consuming = asyncio.create_task(consume())
        started = time.monotonic()
        await _produce_all(producer, in_topic, records, rate, phase, started)
    finally:
        for pid in backlog_of:
            os.kill(pid, signal.SIGCONT)
    if backlog_of:
        phase.resumed_at = time.monotonic()
        say("    workers let go on the backlog")
        if phase.resumed_at - started > 5:   # the workers' session timeout is 6 s (streams/app.py)
            say(f"    warning: the workers were stopped for {phase.resumed_at - started:.1f} s, near their 6 s "
                "session timeout: a rebalance may be in the figures (fewer --requests)")
    producing = False
    await consuming
    await producer.stop()
    await consumer.stop()


async def _warm_up(consumer, producer, in_topic: str, parts: list, timeout: float = 10.0) -> None:
    """This process's own clients, ready before the clock starts: the producer knows the input
    topic's partitions, and the consumer has had a fetch response for every output partition (a
    high watermark is known only from one). A fresh consumer's first decisions were consumed
    ~140 ms after Kafka had them (2 of 3 paced phases: decisions appended within ~35 ms of their
    requests in the phase's first 0.1 s, consumed ~145 ms later); that is this process starting,
    not the gateway, and it decided the p99 of a 5,000-request phase. Warmed, 0 of 7 runs."""
    await producer.partitions_for(in_topic)
    deadline = time.monotonic() + timeout
    while any(consumer.highwater(tp) is None for tp in parts) and time.monotonic() < deadline:
        await consumer.getmany(timeout_ms=50)   # at the end offsets: nothing of this phase yet
    if any(consumer.highwater(tp) is None for tp in parts):
        say(f"    warning: the bench's consumer had no fetch response from every output partition within "
            f"{timeout:.0f} s; its first outputs may be read late")


async def _produce_all(producer, in_topic: str, records: list[tuple[bytes, bytes, str]], rate: float | None,
                       phase: Phase, started: float) -> None:
    progress_every = max(1, len(records) // 5)
    for i, (key, value, record_id) in enumerate(records):
        if rate:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        phase.produced_at[record_id] = time.monotonic()
        phase.produced_wall[record_id] = time.time()
        await producer.send(in_topic, value, key=key)
        if (i + 1) % progress_every == 0:
            say(f"    produced {i + 1}/{len(records)}, decided {len(phase.decided_at)}")
    await producer.flush()


async def _produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    try:
        for key, value in records:
            await producer.send(topic, value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def _record(value: bytes) -> dict:
    # Decisions carry message_id; the baseline echoes an "id" field.
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        return {}
    return record if isinstance(record, dict) else {}


def _wall(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


# --- runs --------------------------------------------------------------------------------------

@dataclass
class Cluster:
    bootstrap: str
    broker: KafkaBroker | None
    folder: Path

    @property
    def broker_pid(self) -> int | None:
        return self.broker.proc.pid if self.broker else None


def start_cluster(bootstrap: str | None, partitions: int, folder: Path) -> Cluster:
    broker = None
    if not bootstrap:
        say("  starting the embedded Apache Kafka broker ...")
        broker = KafkaBroker(free_port(), data_dir=folder / "kafka", log=lambda *_: None).start()
        bootstrap = broker.bootstrap
    asyncio.run(create_topics(bootstrap, partitions))
    if broker is not None:   # never on a broker of the user's (--bootstrap)
        asyncio.run(_stamp_append_time(bootstrap, OUTPUT_TOPICS))
    return Cluster(bootstrap, broker, folder)


LOG_APPEND_TIME = 1   # a record's timestamp_type when the broker stamped it


async def _stamp_append_time(bootstrap: str, topics: tuple[str, ...]) -> None:
    """The broker stamps each record of `topics` with its append time (`LogAppendTime`), so the
    split can tell the gateway's time from this process's consuming (`_warm_up` says why)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                                              configs={"message.timestamp.type": "LogAppendTime"})
                                               for topic in topics])
        for response in responses:
            for error_code, error_message, _, name in response.resources:
                if error_code:
                    raise RuntimeError(f"cannot set LogAppendTime on {name}: {error_message} ({error_code})")
    finally:
        await admin.close()


def run_gateway(*, orders: int, requests: int, partitions: int, workers: int, store: str, rate: float | None,
                latency_requests: int, bootstrap: str | None, sellers: int, config_path: str | None = None,
                backlog: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="msggate-bench-") as tmp:
        folder = Path(tmp)
        cluster = start_cluster(bootstrap, partitions, folder)
        procs: list[Worker] = []
        try:
            say(f"  starting {workers} gateway worker(s), {partitions} partitions, store {store} ...")
            procs = [start_gateway_worker(cluster.bootstrap, folder, store, i, config_path) for i in range(workers)]
            for worker in procs:
                worker.ready()
            rng = random.Random(11)
            events = [order_event(n, sellers) for n in range(orders)]
            say(f"  seeding {orders} orders ...")
            asyncio.run(_produce(cluster.bootstrap, "orders.events",
                                 [(e["order_id"].encode(), orjson.dumps(e)) for e in events]))
            say("  waiting until the worker has processed the seed orders ...")
            try:
                asyncio.run(_wait_for_orders(cluster.bootstrap, events, rng, timeout=max(60.0, orders / 200),
                                             workers=procs))
            except RuntimeError as exc:   # the lag check below is the real condition; say what happened
                say(f"  warning: {exc}; waiting for the consumer lag instead")
            _wait_idle(procs, timeout=max(120.0, orders / 100))
            cpu_before = {w.proc.pid: cpu_seconds(w.proc.pid) for w in procs}
            broker_cpu_before = cpu_seconds(cluster.broker_pid) if cluster.broker_pid else 0.0
            say(f"  throughput: {requests} requests " + ("produced while the worker(s) are stopped, then drained ..."
                                                      if backlog else "as fast as possible ..."))
            load = [message_request(m, events[m % orders], rng) for m in range(requests)]
            throughput = Phase()
            started = time.monotonic()
            asyncio.run(_produce_and_collect(
                cluster.bootstrap, "messages.requests", list(OUTPUT_TOPICS),
                [(r["order_id"].encode(), orjson.dumps(r), r["message_id"]) for r in load], None, throughput,
                timeout=max(120, requests / 200), backlog_of=[w.proc.pid for w in procs] if backlog else ()))
            wall = time.monotonic() - started
            result = {"workers": workers, "partitions": partitions, "store": store, "orders": orders,
                      **throughput.summary()}
            if result.get("decided", requests) < requests:
                _report_stall(procs)
            result["worker_cpu_s"] = [round(cpu_seconds(w.proc.pid) - cpu_before[w.proc.pid], 2) for w in procs]
            result["broker_cpu_s"] = round(cpu_seconds(cluster.broker_pid) - broker_cpu_before, 2) \
                if cluster.broker_pid else None
            result["wall_s"] = round(wall, 2)
            if latency_requests:
                target = paced_rate(rate, result["msgs_per_s"])
                say(f"  latency: {latency_requests} requests at {target:.0f}/s ...")
                load = [message_request(requests + m, events[m % orders], rng) for m in range(latency_requests)]
                cpu_before = {w.proc.pid: cpu_seconds(w.proc.pid) for w in procs}
                broker_cpu_before = cpu_seconds(cluster.broker_pid) if cluster.broker_pid else 0.0
                paced = run_paced(cluster.bootstrap, "messages.requests", list(OUTPUT_TOPICS),
                                  [(r["order_id"].encode(), orjson.dumps(r), r["message_id"]) for r in load], target)
                latency = paced.summary()
                result |= {"latency_rate": round(target), "latency_requests": latency_requests,
                           "p50_ms": latency.get("p50_ms"),
                           "p99_ms": latency.get("p99_ms"), "max_ms": latency.get("max_ms"),
                           "latency_decided": latency.get("decided"), "latency_split": paced.split(),
                           "latency_over_time": paced.over_time(),
                           # at a pace, the records come in small batches: CPU per request differs
                           "latency_worker_cpu_s": [round(cpu_seconds(w.proc.pid) - cpu_before[w.proc.pid], 2)
                                                    for w in procs],
                           "latency_broker_cpu_s": round(cpu_seconds(cluster.broker_pid) - broker_cpu_before, 2)
                           if cluster.broker_pid else None}
                worst = sorted(result["latency_over_time"], key=lambda w: w["max_ms"])[-3:]
                if worst:
                    say("    slowest half-seconds (from the phase's start: p50/max ms): " + "; ".join(
                        f"{w['at_s']} s: {w['p50_ms']}/{w['max_ms']}" for w in sorted(worst, key=lambda w: w["at_s"])))
                split = result["latency_split"]
                if split:
                    say("    split (p50/p99 ms): to the order stage's decision {}/{}; then to the output "
                        "consumed: approvals (via the seller stage) {}/{}, other routes {}/{}; of which this "
                        "process consuming what Kafka had {}/{}".format(
                            *(split.get(f"{name}_{q}_ms", "-") for name in
                              ("to_decision", "approved_after_decision", "other_after_decision",
                               "consumed_after_append")
                              for q in ("p50", "p99"))))
            result["worker_rss_mb"] = [round(peak_rss_mb(w.proc.pid)) for w in procs]
            return result
        except Exception as exc:
            tails = "\n".join(f"--- {w.log.name} ---\n{w.log.read_text(errors='replace')[-1500:]}" for w in procs)
            raise RuntimeError(f"{exc}\n{tails}") from exc
        finally:
            for worker in procs:
                worker.stop()
            if cluster.broker:
                cluster.broker.stop()


def _metric_rows(worker: Worker, name: str) -> list[tuple[str, float]]:
    """(labels, value) of each sample of `name` on the worker's /metrics page."""
    import re
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return [(labels, float(value)) for labels, value in re.findall(rf"^{name}\{{([^}}]*)\}} ([0-9.e+]+)$", text, re.M)]


def _consumer_lag(workers: list[Worker]) -> float:
    """Records the workers have yet to read, over all their partitions (the gauge refreshes every 5 s)."""
    return sum(value for worker in workers for _, value in _metric_rows(worker, "msggate_consumer_lag"))


def _report_stall(workers: list[Worker]) -> None:
    """Requests left without a decision: say what the workers were doing (lag per partition,
    their warnings), so a stalled run can be diagnosed from its output alone."""
    for index, worker in enumerate(workers):
        say(f"  worker {index} (pid {worker.proc.pid}, {'running' if worker.proc.poll() is None else 'exited'}):")
        try:
            for name in ("msggate_consumer_lag", "msggate_uncommitted_records"):
                busy = [f"{labels} {value:,.0f}" for labels, value in _metric_rows(worker, name) if value > 0]
                say(f"    {name}: " + ("; ".join(busy) if busy else "0 everywhere"))
        except OSError as exc:
            say(f"    metrics unreadable: {exc}")
        lines = [line for line in worker.log.read_text(errors="replace").splitlines()
                 if ("WARNING" in line or "ERROR" in line) and "producer buffer full" not in line]
        for line in lines[-15:]:
            say(f"    {line[:220]}")


def _lag_text(workers: list[Worker]) -> str:
    try:
        return f"workers' consumer lag {_consumer_lag(workers):,.0f} records"
    except OSError as exc:   # a progress line never stops the run
        return f"consumer lag unreadable ({exc})"


def _wait_idle(workers: list[Worker], timeout: float) -> None:
    """Wait until no worker lags on any partition (the seed also feeds the buyer and seller
    stages: their backlog would otherwise be measured as request latency)."""
    # Also the order stage's: with a large seed the probe requests above may have been decided
    # ORD001 at the end of their grace period, before their orders were read.
    say("  waiting until the workers have read everything (order, buyer and seller stages) ...")
    deadline = time.monotonic() + timeout
    idle_since = None
    next_report = time.monotonic() + 10
    while time.monotonic() < deadline:
        lag = _consumer_lag(workers)
        if lag == 0:
            idle_since = idle_since or time.monotonic()
            if time.monotonic() - idle_since > 6:   # the gauge refreshes every 5 s
                return
        else:
            idle_since = None
        if time.monotonic() >= next_report:   # a large seed takes minutes: say how far it is
            say(f"    consumer lag {lag:,.0f} records")
            next_report = time.monotonic() + 10
        time.sleep(1)
    raise RuntimeError(f"the workers did not catch up with the seed within {timeout:.0f} s (lag {lag:,.0f})")


async def _wait_for_orders(bootstrap: str, events: list[dict], rng: random.Random, timeout: float,
                           workers: list[Worker]) -> None:
    """Send one request per partition-ish sample of orders; when all are decided, the seed is in.
    Progress lines say the workers' consumer lag: a seed of a million orders takes many minutes."""
    probe = Phase()
    sample = [events[i] for i in range(0, len(events), max(1, len(events) // 32))] + [events[-1]]
    records = []
    for i, event in enumerate(sample):
        request = message_request(10**9 + i, event, rng)
        request["body"] = _BODIES[0].format(oid=event["order_id"])
        records.append((request["order_id"].encode(), orjson.dumps(request), request["message_id"]))
    await _produce_and_collect(bootstrap, "messages.requests",
                               ["messages.approved", "messages.blocked", "messages.needs-important"],
                               records, None, probe, timeout=timeout, progress=lambda: _lag_text(workers))
    if len(probe.decided_at) < len(records):
        raise RuntimeError("the seed orders were not processed in time")


def run_baseline(*, requests: int, partitions: int, bootstrap: str | None, keys: int, backlog: bool = False,
                 latency_requests: int = 0, rate: float | None = None) -> dict:
    """The trivial pipeline as fast as possible, then (`latency_requests`) paced at `rate`, by
    default half its own rate as the gateway's latency phase is: what Faust, the broker and this
    machine give a pipeline that does no work, for the gateway's latency to be read against."""
    with tempfile.TemporaryDirectory(prefix="msggate-baseline-") as tmp:
        folder = Path(tmp)
        cluster = start_cluster(bootstrap, partitions, folder)
        asyncio.run(create_topics(cluster.bootstrap, partitions, only=("bench.baseline.in", "bench.baseline.out")))
        worker = None
        try:
            say("  starting the trivial Faust pipeline ...")
            worker = start_baseline_worker(cluster.bootstrap, folder, partitions)
            worker.ready()
            rng = random.Random(5)
            warm = Phase()
            asyncio.run(_produce_and_collect(cluster.bootstrap, "bench.baseline.in", ["bench.baseline.out"],
                                             _baseline_records(200, keys, rng, "warm"), None, warm, timeout=60))
            cpu_before = cpu_seconds(worker.proc.pid)
            say(f"  baseline: {requests} records as fast as possible ...")
            phase = Phase()
            asyncio.run(_produce_and_collect(cluster.bootstrap, "bench.baseline.in", ["bench.baseline.out"],
                                             _baseline_records(requests, keys, rng, "b"), None, phase,
                                             timeout=max(120, requests / 500),
                                             backlog_of=[worker.proc.pid] if backlog else ()))
            result = {"partitions": partitions, **phase.summary(),
                      "worker_cpu_s": round(cpu_seconds(worker.proc.pid) - cpu_before, 2)}
            if latency_requests and result.get("msgs_per_s"):
                target = paced_rate(rate, result["msgs_per_s"])
                say(f"  baseline latency: {latency_requests} records at {target:.0f}/s ...")
                latency = run_paced(cluster.bootstrap, "bench.baseline.in", ["bench.baseline.out"],
                                    _baseline_records(latency_requests, keys, rng, "p"), target).summary()
                result |= {"latency_rate": round(target), "latency_requests": latency_requests,
                           "latency_p50_ms": latency.get("p50_ms"),
                           "latency_p99_ms": latency.get("p99_ms"), "latency_max_ms": latency.get("max_ms"),
                           "latency_decided": latency.get("decided")}
            result["worker_rss_mb"] = round(peak_rss_mb(worker.proc.pid))
            return result
        finally:
            if worker:
                worker.stop()
            if cluster.broker:
                cluster.broker.stop()


def _baseline_records(count: int, keys: int, rng: random.Random, prefix: str) -> list[tuple[bytes, bytes, str]]:
    padding = "x" * 900   # ~1 KB records, like a message request
    out = []
    for n in range(count):
        key = f"k{rng.randrange(keys)}"
        out.append((key.encode(), orjson.dumps({"id": f"{prefix}-{n}", "key": key, "body": padding}), f"{prefix}-{n}"))
    return out


# --- the command -----------------------------------------------------------------------------

def _interrupt(*_) -> None:
    say("  stopping: the broker and workers this bench started are being stopped ...")
    raise KeyboardInterrupt


def undecided(name: str, result: dict) -> list[str]:
    """What a phase of `result` left without a decision, one message per phase: a latency taken
    over the records that came out is no measure of the ones that did not."""
    problems = []
    if result.get("decided") != result.get("requests"):
        problems.append(f"{name}: only {result.get('decided') or 0} of {result.get('requests')} records as fast as "
                        f"possible came out")
    if result.get("latency_requests") and result.get("latency_decided") != result["latency_requests"]:
        problems.append(f"{name}: only {result.get('latency_decided') or 0} of {result['latency_requests']} paced "
                        f"records came out (at {result.get('latency_rate')}/s)")
    return problems


def _line(name: str, result: dict, keys: list[str]) -> str:
    def fmt(value):
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return str(value)
    return f"bench {name}: " + " ".join(f"{k}={fmt(result[k])}" for k in keys if k in result and result[k] is not None)


def cmd_bench_stream(args) -> int:
    # SIGTERM (a CI timeout, `kill`) as Ctrl-C: the runs' `finally` blocks stop the broker and the
    # workers they started; by default Python would exit at once and leave them running.
    signal.signal(signal.SIGTERM, _interrupt)
    bootstrap = args.bootstrap_servers_explicit
    results: dict = {"bench": args.name}
    try:
        if args.name in ("baseline", "e2e") and not (args.name == "e2e" and args.no_baseline):
            say(f"bench baseline: trivial Faust pipeline, {args.partitions} partitions")
            results["baseline"] = run_baseline(requests=args.requests, partitions=args.partitions,
                                               bootstrap=bootstrap, keys=args.orders, backlog=args.backlog,
                                               latency_requests=args.latency_requests, rate=args.rate)
            say("  " + _line("baseline", results["baseline"], ["msgs_per_s", "p50_ms", "p99_ms", "worker_cpu_s",
                                                               "latency_rate", "latency_p50_ms", "latency_p99_ms"]))
        if args.name == "e2e":
            say(f"bench e2e: gateway, {args.partitions} partitions, {args.workers} worker(s), store {args.store}")
            e2e = run_gateway(orders=args.orders, requests=args.requests, partitions=args.partitions,
                              workers=args.workers, store=args.store, rate=args.rate,
                              latency_requests=args.latency_requests, bootstrap=bootstrap, sellers=args.sellers,
                              config_path=args.config, backlog=args.backlog)
            if "baseline" in results and results["baseline"].get("msgs_per_s"):
                e2e["baseline_msgs_per_s"] = results["baseline"]["msgs_per_s"]
                e2e["vs_baseline"] = round(e2e["msgs_per_s"] / results["baseline"]["msgs_per_s"], 2)
                # the trivial pipeline's own p99 at its paced rate: what the machine, Faust and
                # the broker leave of the latency target in this run
                e2e["baseline_p99_ms"] = results["baseline"].get("latency_p99_ms")
            results["e2e"] = e2e
        if args.name == "scale":
            runs = {}
            for workers in (1, 2):
                say(f"bench scale: gateway with {workers} worker(s), {args.partitions} partitions")
                runs[workers] = run_gateway(orders=args.orders, requests=args.requests, partitions=args.partitions,
                                            workers=workers, store=args.store, rate=None, latency_requests=0,
                                            bootstrap=bootstrap, sellers=args.sellers, config_path=args.config,
                                            backlog=args.backlog)
                say("  " + _line("run", runs[workers], ["msgs_per_s", "worker_cpu_s", "broker_cpu_s", "wall_s"]))
            results["scale"] = {
                "one_worker_msgs_per_s": runs[1]["msgs_per_s"], "two_workers_msgs_per_s": runs[2]["msgs_per_s"],
                "ratio": round(runs[2]["msgs_per_s"] / max(runs[1]["msgs_per_s"], 1), 2),
                "one_worker_cpu_s": runs[1]["worker_cpu_s"], "two_workers_cpu_s": runs[2]["worker_cpu_s"],
                "broker_cpu_s_one": runs[1]["broker_cpu_s"], "broker_cpu_s_two": runs[2]["broker_cpu_s"],
                "wall_s_one": runs[1]["wall_s"], "wall_s_two": runs[2]["wall_s"], "cores": os.cpu_count()}
    except Exception as exc:
        print(f"msggate bench {args.name}: failed: {exc}", file=sys.stderr)
        return 1
    if args.json_out:
        Path(args.json_out).write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    if args.name == "baseline":
        baseline = results["baseline"]
        print(_line("baseline", baseline, ["msgs_per_s", "p50_ms", "p99_ms", "max_ms", "worker_cpu_s",
                                           "worker_rss_mb", "latency_rate", "latency_p50_ms", "latency_p99_ms",
                                           "partitions"]))
        problems = undecided("baseline", baseline)
        for problem in problems:
            print(f"msggate bench {problem}", file=sys.stderr)
        return 1 if problems else 0
    elif args.name == "e2e":
        e2e = results["e2e"]
        # the trivial pipeline's too: a ratio to a baseline that lost records is no ratio
        problems = undecided("e2e", e2e) + (undecided("baseline", results["baseline"]) if "baseline" in results else [])
        for problem in problems:
            print(f"msggate bench {problem}", file=sys.stderr)
        print(_line("e2e", e2e, ["msgs_per_s", "p50_ms", "p99_ms", "max_ms", "latency_rate", "baseline_msgs_per_s",
                                 "vs_baseline", "baseline_p99_ms", "worker_cpu_s", "worker_rss_mb", "broker_cpu_s",
                                 "partitions", "workers", "store"]))
        return 1 if problems else 0
    else:
        print(_line("scale", results["scale"], list(results["scale"])))
    return 0
