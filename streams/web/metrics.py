"""Prometheus metrics of the gateway (bounded cardinality: no seller ids as labels)."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

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
