"""The trivial Faust pipeline that `msggate bench baseline` measures the gateway against.

Decode JSON, bump a per-key table counter, send to an output topic: memory store,
concurrency 1, the tuned settings measured on our machines (stream buffer, linger, commit
batching, framework loggers quiet). Run: python -m streams.bench_baseline BOOTSTRAP PARTITIONS DATADIR WEBPORT
"""
from __future__ import annotations

import logging
import sys

import faust
import orjson


def main(bootstrap: str, partitions: int, data_dir: str, web_port: int) -> None:
    for name in ("faust", "aiokafka", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING)
    app = faust.App("msggate-baseline", broker=f"kafka://{bootstrap}", store="memory://",
                    topic_partitions=partitions, topic_disable_leader=True, broker_session_timeout=6.0,
                    broker_heartbeat_interval=1.0, stream_buffer_maxsize=32768, broker_commit_every=50_000,
                    producer_linger_ms=5, web_port=web_port, web_bind="127.0.0.1", web_host="127.0.0.1",
                    datadir=data_dir)
    source = app.topic("bench.baseline.in", key_serializer="raw", value_serializer="raw")
    sink = app.topic("bench.baseline.out", key_serializer="raw", value_serializer="raw")
    counts = app.Table("baseline-counts", default=int, key_type=str)

    @app.agent(source, concurrency=1)
    async def count(stream):
        async for event in stream.events():
            record = orjson.loads(event.message.value)
            counts[record["key"]] += 1
            await sink.send(key=event.message.key, value=orjson.dumps({"id": record["id"], "count": counts[record["key"]]}))

    @app.page("/readyz")
    async def readyz(web, request):
        recovering = app.tables.recovery.in_recovery if app.tables else True
        assigned = len(app.assignor.assigned_actives()) if app.assignor else 0
        ready = not recovering and app.rebalancing is False
        return web.json({"ready": ready, "assigned_partitions": assigned}, status=200 if ready else 503)

    worker = faust.Worker(app, loglevel="info", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
