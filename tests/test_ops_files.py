"""ops/ is kept honest: the Grafana dashboard names only metrics the gateway exports, and the
compose file mounts the files that exist."""
from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import generate_latest

from streams.web import metrics

ROOT = Path(__file__).resolve().parents[1]


class _FakeConsumer:
    def assignment(self):
        from faust.types import TP
        return {TP("messages.requests", 0)}

    def highwater(self, tp):
        return 10

    @property
    def _read_offset(self):
        from faust.types import TP
        return {TP("messages.requests", 0): 7}

    @property
    def _committed_offset(self):
        from faust.types import TP
        return {TP("messages.requests", 0): 5}


class _Table:
    def __init__(self, n):
        from faust.stores.memory import Store  # noqa: F401  (module name ends with "memory")
        self.data = type("Store", (dict,), {"__module__": "faust.stores.memory"})({i: i for i in range(n)})


def exported_names() -> set[str]:
    metrics.observe_decision({"route": "blocked", "seller_id": "S", "violations": [
        {"code": "TYP004", "action": "block"}], "warnings": []}, 0.001)
    metrics.DEAD_LETTERS.labels(kind="json").inc(0)
    metrics.STATE_SWEPT.labels(table="orders").inc(0)
    metrics.update_lag(_FakeConsumer())
    metrics.update_table_sizes({"orders": _Table(3)})
    text = generate_latest().decode()
    return {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line and not line.startswith("#")}


def test_grafana_dashboard_uses_only_exported_metric_names():
    dashboard = json.loads((ROOT / "ops/grafana/msggate-dashboard.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bmsggate_[a-z_]+", expr)}
    assert len(used) >= 8
    missing = used - exported_names()
    assert not missing, f"the dashboard names metrics the gateway does not export: {sorted(missing)}"


def test_compose_mounts_existing_ops_files():
    compose = (ROOT / "docker-compose.yml").read_text()
    for path in re.findall(r"\./(ops/[\w./-]+):", compose):
        assert (ROOT / path).exists(), path
    assert "ops/prometheus.yml" in compose and "ops/grafana/msggate-dashboard.json" in compose


def test_uncommitted_records_are_read_minus_committed():
    metrics.update_lag(_FakeConsumer())
    text = generate_latest().decode()
    assert 'msggate_uncommitted_records{partition="0",topic="messages.requests"} 3.0' in text   # 7 + 1 - 5
    assert 'msggate_consumer_lag{partition="0",topic="messages.requests"} 2.0' in text          # 10 - 8


def test_each_decision_counts_once_in_its_route_bucket_and_findings():
    from prometheus_client import REGISTRY

    def value(name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    bucket = metrics.seller_bucket("S-count")
    before = (value("msggate_decisions_total", route="needs_important"),
              value("msggate_decisions_by_seller_bucket_total", route="needs_important", seller_bucket=bucket),
              value("msggate_findings_total", code="TYP005", action="needs_important"),
              value("msggate_findings_total", code="STY002", action="warn"))
    decision = {"route": "needs_important", "seller_id": "S-count", "violations": [
        {"code": "TYP005", "action": "needs_important"}], "warnings": [{"code": "STY002", "action": "warn"}]}
    for _ in range(3):
        metrics.observe_decision(decision, 0.001)
    metrics.observe_decision({**decision, "route": "approved", "violations": []}, 0.001)
    after = (value("msggate_decisions_total", route="needs_important"),
             value("msggate_decisions_by_seller_bucket_total", route="needs_important", seller_bucket=bucket),
             value("msggate_findings_total", code="TYP005", action="needs_important"),
             value("msggate_findings_total", code="STY002", action="warn"))
    assert [a - b for a, b in zip(after, before)] == [3, 3, 3, 4]
