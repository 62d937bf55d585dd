"""The bench's progress while a large seed is worked through (`bench e2e --orders 1000000` takes
many minutes): each line says the workers' consumer lag, read from their /metrics page, and a
page that cannot be read never stops the run."""
from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from streams.bench_stream import Worker, _consumer_lag, _lag_text, _metric_rows
from streams.broker import free_port

METRICS = """# HELP msggate_consumer_lag Records not yet read
# TYPE msggate_consumer_lag gauge
msggate_consumer_lag{topic="orders.events",partition="0"} 1234.0
msggate_consumer_lag{topic="orders.events",partition="1"} 0.0
msggate_consumer_lag{topic="msggate.seller-stage",partition="3"} 2.5e+03
msggate_consumer_lag_seconds{topic="orders.events"} 99.0
msggate_uncommitted_records{topic="orders.events",partition="0"} 7.0
"""


@pytest.fixture
def metrics_worker():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = METRICS.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Worker(proc=None, web_port=server.server_address[1], log=Path("/dev/null"))
    finally:
        server.shutdown()
        server.server_close()


def test_the_lag_is_summed_over_partitions_and_workers(metrics_worker):
    assert _consumer_lag([metrics_worker]) == 3734.0
    assert _consumer_lag([metrics_worker, metrics_worker]) == 7468.0
    assert _lag_text([metrics_worker]) == "workers' consumer lag 3,734 records"


def test_only_the_named_metric_is_read(metrics_worker):
    # msggate_consumer_lag_seconds shares the prefix; it is not a lag in records
    assert [value for _, value in _metric_rows(metrics_worker, "msggate_consumer_lag")] == [1234.0, 0.0, 2500.0]
    assert _metric_rows(metrics_worker, "msggate_uncommitted_records") == \
        [('topic="orders.events",partition="0"', 7.0)]


def test_an_unreadable_page_is_said_not_raised():
    gone = Worker(proc=None, web_port=free_port(), log=Path("/dev/null"))   # nothing listens there
    assert _lag_text([gone]).startswith("consumer lag unreadable (")
