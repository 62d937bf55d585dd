"""Health, readiness and metrics pages on Faust's web server."""
from __future__ import annotations

import faust
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def register_views(app: faust.App) -> None:
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
        return web.bytes(generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])
