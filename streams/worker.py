"""Run one gateway worker: build the app with the topics' partition count, then Faust's Worker."""
from __future__ import annotations

import asyncio
import logging
import os
import sys

import structlog

from .config import Config, ConfigError
from .gateway import CHANGELOG_TOPICS, INPUT_TOPICS, INTERNAL_TOPICS
from .kafka_admin import create_topics, partition_counts


def configure_logging(level: str = "info") -> None:
    # JSON lines in production (not a terminal), readable in a terminal; MSGGATE_LOG_FORMAT overrides.
    fmt = os.environ.get("MSGGATE_LOG_FORMAT") or ("console" if sys.stderr.isatty() else "json")
    renderer = structlog.dev.ConsoleRenderer() if fmt == "console" else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.TimeStamper(fmt="iso"),
                    structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,   # module-level loggers resolve the configuration once, not per call
    )
    # Faust's own chatter; also avoids the spinner trap that sets the root logger to DEBUG at -l warn.
    for name in ("faust", "aiokafka", "mode"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build(bootstrap: str, config: Config, *, web_port: int, store: str, data_dir: str | None):
    from . import commits, gc_pauses
    from .agents import register_agents
    from .app import make_app
    from .web.views import register_views

    counts = asyncio.run(partition_counts(bootstrap))
    missing = [t for t in (*INPUT_TOPICS, *INTERNAL_TOPICS) if t not in counts]
    if missing:
        raise RuntimeError(f"topics missing on {bootstrap}: {', '.join(missing)}; run `msggate topics create`")
    partitions = {counts[t] for t in (*INPUT_TOPICS, *INTERNAL_TOPICS)}
    if len(partitions) != 1:
        raise RuntimeError(f"input and internal topics must have one partition count (co-partitioning), "
                           f"found {sorted(partitions)}")
    partition_count = partitions.pop()
    # Topics made by an older `msggate topics create` lack the changelogs; they must exist before
    # Faust's group assignment (see kafka_admin.create_topics), so the worker makes them itself.
    asyncio.run(create_topics(bootstrap, partition_count, only=CHANGELOG_TOPICS))
    app = make_app(bootstrap, partitions=partition_count, store=store, web_port=web_port, data_dir=data_dir,
                   processing_guarantee=config.gateway.processing_guarantee,
                   fetch_max_wait_ms=config.gateway.fetch_max_wait_ms)
    register_agents(app, config)
    register_views(app, bootstrap)
    commits.register(app)
    gc_pauses.register(app, config.gateway.gc_freeze_interval_seconds)
    return app


def run_worker(bootstrap: str, *, config_path: str | None, web_port: int, store: str = "memory://",
               data_dir: str | None = None, loglevel: str = "info") -> int:
    import faust

    try:
        config = Config.load(config_path)
    except ConfigError as exc:
        print(f"msggate: configuration error: {exc}", file=sys.stderr)
        return 1
    configure_logging(loglevel)
    try:
        app = build(bootstrap, config, web_port=web_port, store=store, data_dir=data_dir)
    except Exception as exc:
        print(f"msggate: cannot start worker: {exc}", file=sys.stderr)
        return 1
    print(f"msggate worker: broker {bootstrap}, web http://127.0.0.1:{web_port}/", file=sys.stderr, flush=True)
    worker = faust.Worker(app, loglevel="info", quiet=True, redirect_stdouts=False)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
