"""The worker's web server (Faust's own, aiohttp): dashboard, JSON API, health, metrics.

Faust's web server rather than a second ASGI app: the command contract puts the dashboard,
`/metrics` and the health pages on the worker's port, one process has one port to open, and the
pages need nothing Faust's views lack.
"""
from __future__ import annotations

import asyncio
import time

import faust
import orjson
import structlog
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from . import metrics
from .feed import BACKFILL, ApprovedCounter, Feed
from .render import DASHBOARD_CSP, DASHBOARD_JS, DETAIL_CSP, dashboard_page, detail_page

log = structlog.get_logger("msggate.web")
FEED_TOPICS = ("messages.approved", "messages.blocked", "messages.needs-important", "messages.dead-letter")
_SECURITY = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def register_views(app: faust.App, bootstrap: str | None = None) -> None:
    feed = Feed()
    app.msggate_feed = feed

    @app.page("/healthz")
    async def healthz(web, request):
        return web.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(web, request):
        # Not ready while tables recover from their changelogs or before partitions are assigned.
        recovering = app.tables.recovery.in_recovery if app.tables else True
        assigned = len(app.assignor.assigned_actives()) if app.assignor else 0
        ready = not recovering and app.rebalancing is False
        return web.json({"ready": ready, "recovering": recovering, "assigned_partitions": assigned},
                        status=200 if ready else 503)

    @app.page("/metrics")
    async def metrics_page(web, request):
        metrics.update_table_sizes(getattr(app, "msggate_tables", {}))
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    @app.page("/")
    async def dashboard(web, request):
        return web.html(dashboard_page(), headers={**_SECURITY, "Content-Security-Policy": DASHBOARD_CSP})

    @app.page("/dashboard.js")
    async def dashboard_js(web, request):
        return web.bytes(DASHBOARD_JS.encode(), content_type="text/javascript", headers=_SECURITY)

    @app.page("/api/summary")
    async def api_summary(web, request):
        return web.bytes(orjson.dumps(feed.summary()), content_type="application/json", headers=_SECURITY)

    @app.page("/api/decisions")
    async def api_decisions(web, request):
        query = request.query
        try:
            limit = max(1, min(500, int(query.get("limit", "100"))))
        except ValueError:
            limit = 100
        rows = feed.decisions(seller=query.get("seller") or None, marketplace=query.get("marketplace") or None,
                              code=(query.get("code") or "").upper() or None, route=query.get("route") or None,
                              limit=limit)
        return web.bytes(orjson.dumps(rows), content_type="application/json", headers=_SECURITY)

    @app.page("/decision/{message_id}")
    async def decision_page(web, request, message_id):
        decision = feed.by_id.get(message_id)
        if decision is None:
            return web.html("<!doctype html><p>Not among the latest blocked or needs-important decisions of this "
                            "dashboard; try <code>msggate explain MESSAGE_ID</code>.</p>", status=404,
                            headers={**_SECURITY, "Content-Security-Policy": DETAIL_CSP})
        return web.html(detail_page(decision), headers={**_SECURITY, "Content-Security-Policy": DETAIL_CSP})

    @app.page("/api/decision/{message_id}")
    async def api_decision(web, request, message_id):
        decision = feed.by_id.get(message_id)
        if decision is None:
            return web.json({"error": "unknown message_id"}, status=404)
        return web.bytes(orjson.dumps(decision), content_type="application/json", headers=_SECURITY)

    if bootstrap:
        @app.task
        async def follow_output_topics():
            await _follow(bootstrap, feed)

    @app.timer(interval=5.0)
    async def consumer_lag():
        metrics.update_lag(app.consumer)


APPROVED_POLL_S = 1.0


async def _follow(bootstrap: str, feed: Feed) -> None:
    """Read every partition of the output topics but `messages.approved` (no group), starting
    BACKFILL records back; count the approved ones from that topic's end offsets, every second."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    from ..kafka_admin import partition_counts

    while True:
        consumer = None
        try:
            counts = await partition_counts(bootstrap)
            parts = [TopicPartition(t, p) for t in FEED_TOPICS if t in counts for p in range(counts[t])
                     if t != "messages.approved"]
            approved = [TopicPartition("messages.approved", p) for p in range(counts.get("messages.approved", 0))]
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            await consumer.start()
            consumer.assign(parts)
            ends = await consumer.end_offsets(parts + approved)
            starts = await consumer.beginning_offsets(parts + approved)
            for tp in parts:
                consumer.seek(tp, max(starts[tp], ends[tp] - BACKFILL))
            # the bulk of the traffic: counted from end offsets, never fetched (this runs in every worker)
            approved_counter = ApprovedCounter()
            feed.count_approved(approved_counter.advance({tp: ends[tp] for tp in approved}, starts))
            polled = time.monotonic()
            while True:
                batch = await consumer.getmany(timeout_ms=1000, max_records=2000)
                if approved and time.monotonic() - polled >= APPROVED_POLL_S:
                    polled = time.monotonic()
                    feed.count_approved(approved_counter.advance(await consumer.end_offsets(approved)))
                for tp, records in batch.items():
                    for record in records:
                        try:
                            feed.add(tp.topic, orjson.loads(record.value))
                        except (orjson.JSONDecodeError, TypeError, AttributeError):
                            continue
        except asyncio.CancelledError:
            raise
        except Exception as exc:   # the dashboard must never take the worker down
            log.warning("dashboard_feed_failed", error=str(exc))
            await asyncio.sleep(5)
        finally:
            if consumer is not None:
                await consumer.stop()
