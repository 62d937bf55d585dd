"""The Faust app and its settings, nothing else."""
from __future__ import annotations

import os

import faust
import orjson
from faust.serializers import codecs

from . import store as budgeted_store
from .consumer import GatewayApp
from .gateway import APP_ID


class OrjsonCodec(codecs.Codec):
    """Table values on the changelog as orjson: measured several times faster than Faust's
    default json codec on our order records."""

    def _dumps(self, value) -> bytes:
        return orjson.dumps(value)

    def _loads(self, data: bytes):
        return orjson.loads(data)


codecs.register("orjson", OrjsonCodec())


def make_app(bootstrap: str, *, partitions: int, store: str = "memory://", web_port: int = 6066,
             data_dir: str | None = None, processing_guarantee: str = "at_least_once",
             fetch_max_wait_ms: int = 100) -> faust.App:
    budgeted_store.install()   # rocksdb:// -> one memory budget for all tables and partitions
    # GatewayApp: Faust's app with a consumer that does not commit past records it never saw.
    return GatewayApp(
        APP_ID,
        broker=[f"kafka://{server}" for server in bootstrap.split(",")],
        store=store,
        topic_partitions=partitions,
        topic_disable_leader=True,
        # A local worker joins its group in a few seconds instead of ~30 s (join = session timeout / 2).
        broker_session_timeout=6.0,
        broker_heartbeat_interval=1.0,
        broker_rebalance_timeout=20.0,
        stream_buffer_maxsize=32768,
        producer_linger_ms=5,
        web_port=web_port,
        web_bind=os.environ.get("MSGGATE_WEB_BIND", "127.0.0.1"),
        web_host="127.0.0.1",
        datadir=data_dir or "/tmp/msggate-worker-data",
        table_cleanup_interval=60.0,
        processing_guarantee=processing_guarantee,
        fetch_max_wait_ms=fetch_max_wait_ms,
    )
