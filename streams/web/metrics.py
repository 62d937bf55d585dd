"""Prometheus metrics of the gateway (bounded cardinality: no seller ids as labels)."""
from __future__ import annotations

import zlib
from datetime import datetime, timezone

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter("msggate_decisions_total", "Decisions by route", ["route"])
FINDINGS = Counter("msggate_findings_total", "Findings by rule code and action", ["code", "action"])
DEAD_LETTERS = Counter("msggate_dead_letters_total", "Records sent to the dead-letter topic", ["kind"])
LATENCY = Histogram("msggate_decision_seconds", "Worker time to decide one message",
                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60))


SELLER_BUCKETS = 16
DECISIONS_BY_SELLER_BUCKET = Counter(
    "msggate_decisions_by_seller_bucket_total",
    "Decisions by route and seller bucket (crc32(seller_id) mod 16: bounded cardinality; "
    "`msggate stats --seller` names the sellers)", ["route", "seller_bucket"])
CONSUMER_LAG = Gauge("msggate_consumer_lag", "Records not yet read, per assigned input partition",
                     ["topic", "partition"])
CONSUMER_REFETCHES = Gauge("msggate_consumer_refetches",
                           "Jumps in input offsets refetched instead of committed unseen (streams/consumer.py), "
                           "since the worker started")
CONSUMER_GAPS_ACCEPTED = Gauge("msggate_consumer_gaps_accepted",
                               "Offset gaps confirmed by a refetch and skipped (transaction markers, compaction), "
                               "since the worker started")
CONSUMER_HEADS_REFETCHED = Gauge("msggate_consumer_heads_refetched",
                                 "Partitions read again from their committed offset because that record was "
                                 "never acked while later ones were (streams/consumer.py), since the worker started")
STATE_SWEPT = Counter("msggate_state_swept_total", "Table keys deleted by the retention sweep", ["table"])
UNCOMMITTED = Gauge("msggate_uncommitted_records",
                    "Records read but not yet committed, per assigned input partition: what a restart would "
                    "process again. Growing while the worker is idle means Faust stopped committing it "
                    "(README \"Guarantees\")", ["topic", "partition"])
GC_PAUSES = Histogram("msggate_gc_full_collection_seconds",
                      "Python's full (generation 2) garbage collections: the worker stands still meanwhile",
                      buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
TABLE_KEYS = Gauge("msggate_table_keys", "Keys in each table held by this worker (memory store)", ["table"])


def seller_bucket(seller_id: str) -> str:
    return str(zlib.crc32(seller_id.encode()) % SELLER_BUCKETS)


# The labelled series a decision counts in, by label values: `labels()` costs ~2 us a call (a
# lock and a keyword lookup), four calls per decision. Bounded: 3 routes x 16 buckets, and the
# rule codes x actions.
_SERIES: dict[tuple, object] = {}


def _series(metric, *values: str):
    try:
        return _SERIES[metric, values]
    except KeyError:
        series = _SERIES[metric, values] = metric.labels(*values)
        return series


def observe_decision(decision: dict, seconds: float) -> None:
    route = decision["route"]
    _series(DECISIONS, route).inc()
    _series(DECISIONS_BY_SELLER_BUCKET, route, seller_bucket(decision["seller_id"])).inc()
    for findings in (decision["violations"], decision["warnings"]):
        for finding in findings:
            _series(FINDINGS, finding["code"], finding["action"]).inc()
    LATENCY.observe(seconds)


# VOL001: sellers (per marketplace) whose approved proactive messages today reached 80% of the
# daily cap. A set, not a label per seller: the cardinality stays one series.
NEAR_CAP_RATIO = 0.8
_near_cap: dict[tuple[str, str], str] = {}   # (seller_id, marketplace_id) -> marketplace day


def observe_usage(usage: dict) -> None:
    key = (usage["seller_id"], usage["marketplace_id"])
    if usage["cap"] == 0 or usage["sent_today"] >= NEAR_CAP_RATIO * usage["cap"]:
        _near_cap[key] = usage["day"]
    else:
        _near_cap.pop(key, None)


def _sellers_near_cap() -> int:
    from ..policy.rules.volume import marketplace_day

    now = datetime.now(timezone.utc)
    for key, day in list(_near_cap.items()):
        if marketplace_day(key[1], now).isoformat() > day:
            del _near_cap[key]   # their day is over: the cap has reset
    return len(_near_cap)


SELLERS_NEAR_CAP = Gauge("msggate_sellers_near_daily_cap",
                         "Sellers (per marketplace) that used at least 80% of today's VOL001 cap")
SELLERS_NEAR_CAP.set_function(_sellers_near_cap)


def update_lag(consumer) -> None:
    """The consumer's gauges: lag (high watermark - next offset to read) and uncommitted records
    for each partition this worker holds, and the gap-check counters of streams/consumer.py."""
    try:
        CONSUMER_REFETCHES.set(getattr(consumer, "refetches", 0))
        CONSUMER_GAPS_ACCEPTED.set(getattr(consumer, "gaps_accepted", 0))
        CONSUMER_HEADS_REFETCHED.set(getattr(consumer, "heads_refetched", 0))
        assigned = consumer.assignment()
        read_offsets = getattr(consumer, "_read_offset", {})
        for tp in assigned:
            if tp.topic.endswith("-changelog"):
                continue   # changelogs are read during recovery only; their "lag" is not work to do
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            read = read_offsets.get(tp)
            position = read + 1 if read is not None else 0
            CONSUMER_LAG.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, highwater - position))
            committed = getattr(consumer, "_committed_offset", {}).get(tp)   # next offset to read after a restart
            if committed is not None and read is not None:
                UNCOMMITTED.labels(topic=tp.topic, partition=str(tp.partition)).set(max(0, position - committed))
    except Exception:   # metrics must never break the worker
        pass


def update_table_sizes(tables: dict) -> None:
    for name, table in tables.items():
        try:
            store = table.data
            if type(store).__module__.endswith("memory"):
                TABLE_KEYS.labels(table=name).set(len(store))
            else:   # RocksDB: counting keys means a scan; sum the engine's estimate per partition database
                TABLE_KEYS.labels(table=name).set(sum(
                    int(db.property_int_value("rocksdb.estimate-num-keys") or 0)
                    for db in getattr(store, "_dbs", {}).values()))
        except Exception:
            pass
