"""Commands that run things: broker, worker, dev."""
from __future__ import annotations

import os


def register(sub, add_bootstrap, add_config) -> None:
    p = sub.add_parser("broker", help="run the embedded broker (Apache Kafka, KRaft) on 127.0.0.1",
                       description="Run the embedded broker in the foreground on 127.0.0.1. Prints "
                                   "`broker ready: 127.0.0.1:P` once clients can connect; stops on SIGTERM/Ctrl-C.")
    p.add_argument("--port", type=int, default=9092, help="listener port (default 9092)")
    p.add_argument("--kind", choices=("kafka", "tansu"), default=None,
                   help="kafka (Apache Kafka from Maven Central) or tansu (fallback); default: kafka, else tansu")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("worker", help="run one gateway worker (Faust) against KAFKA_BOOTSTRAP_SERVERS",
                       description="Run one Faust worker. The topics must exist (`msggate topics create`). "
                                   "Web server (dashboard /, /metrics, /healthz, /readyz) on --web-port. "
                                   "SIGTERM finishes and commits what it has, then exits 0.")
    add_bootstrap(p)
    add_config(p)
    p.add_argument("--web-port", type=int, default=int(os.environ.get("MSGGATE_WEB_PORT", "6066")),
                   help="web port (env MSGGATE_WEB_PORT, default 6066)")
    p.add_argument("--store", default=os.environ.get("MSGGATE_STORE", "memory://"),
                   help="table store: memory:// (default) or rocksdb:// (env MSGGATE_STORE)")
    p.add_argument("--data-dir", default=os.environ.get("MSGGATE_DATA_DIR"), help="Faust data folder")
    p.add_argument("--loglevel", default=os.environ.get("MSGGATE_LOGLEVEL", "info"))
    p.set_defaults(func=cmd_worker)

    p = sub.add_parser("dev", help="embedded broker + topics + worker + demo, on this machine",
                       description="Start the embedded broker, create the topics, run a worker, and print the "
                                   "broker address and dashboard URL. Ctrl-C stops everything it started.")
    p.add_argument("--port", type=int, default=9092, help="broker port (default 9092)")
    p.add_argument("--partitions", type=int, default=4, help="partitions per topic (default 4)")
    p.add_argument("--web-port", type=int, default=int(os.environ.get("MSGGATE_WEB_PORT", "6066")))
    p.add_argument("--demo", action="store_true", help="send sample requests and show where each one went")
    add_config(p)
    p.set_defaults(func=cmd_dev)


def cmd_broker(args) -> int:
    import signal
    import sys

    from ..broker import BrokerError, log_to_stderr, start_embedded

    try:
        broker = start_embedded(args.port, args.kind, log=log_to_stderr)
    except BrokerError as exc:
        print(f"msggate: broker failed: {exc}", file=sys.stderr)
        return 1
    print(f"broker ready: {broker.bootstrap}", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        broker.proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        broker.stop()
    return 0


def cmd_worker(args) -> int:
    from ..worker import run_worker

    return run_worker(args.bootstrap_servers, config_path=args.config, web_port=args.web_port,
                      store=args.store, data_dir=args.data_dir, loglevel=args.loglevel)


def cmd_dev(args) -> int:
    from ..dev import run_dev

    return run_dev(port=args.port, partitions=args.partitions, web_port=args.web_port,
                   config_path=args.config, demo=args.demo)
