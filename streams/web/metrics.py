"""Prometheus metrics of the gateway (bounded cardinality: no seller ids as labels)."""
from __future__ import annotations

from datetime import datetime, timezone

from prometheus_client import Counter, Gauge, Histogram

DECISIONS = Counter("msggate_decisions_total", "Decisions by route", ["route"])
FINDINGS = Counter("msggate_findings_total", "Findings by rule code and action", ["code", "action"])
DEAD_LETTERS = Counter("msggate_dead_letters_total", "Records sent to the dead-letter topic", ["kind"])
LATENCY = Histogram("msggate_decision_seconds", "Worker time to decide one message",
                    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5, 30, 60))


def observe_decision(decision: dict, seconds: float) -> None:
    DECISIONS.labels(route=decision["route"]).inc()
    for finding in decision["violations"] + decision["warnings"]:
        FINDINGS.labels(code=finding["code"], action=finding["action"]).inc()
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
