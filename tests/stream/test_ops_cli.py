"""The on-call commands against the running gateway: explain, tail filters, replay-dead-letter, metrics."""
from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from tests.stream.test_gateway_on_kafka import event, msg

OID = "307-0000001-0000001"


def cli(broker, *args, stdin: str | None = None):
    return subprocess.run([sys.executable, "-m", "streams.cli", *args, "--bootstrap-servers", broker.bootstrap],
                          capture_output=True, text=True, timeout=120, input=stdin)


def test_explain_tail_and_replay_dead_letter(gateway, broker, tmp_path):
    gateway.send([("orders.events", event("t7-1", "order_placed", OID, "2026-11-01T00:00:00Z", buyer_id="B7"), None)])
    time.sleep(1.5)
    broken = msg("t7-fixme", OID)
    broken["requested_at"] = "2026-11-10T10:00:00"          # no time zone: dead letter
    gateway.send([("messages.requests", msg("t7-promo", OID, body=f"Order {OID}: 20% off your next order with "
                                                                   f"coupon code SAVE20!"), None),
                  ("messages.requests", broken, None)])
    gateway.collect(lambda f: any(r.get("message_id") == "t7-promo" for _, r in f)
                    and any(r.get("key") == OID and "requested_at" in r.get("reason", "") for _, r in f))

    explained = cli(broker, "explain", "t7-promo")
    assert explained.returncode == 0, explained.stderr
    assert "t7-promo: BLOCKED" in explained.stdout and "TYP003" in explained.stdout
    assert "evidence: 20% off your next" in explained.stdout
    dead = cli(broker, "explain", "t7-fixme")
    assert dead.returncode == 0 and "dead letter (schema)" in dead.stdout and "time zone" in dead.stdout
    assert cli(broker, "explain", "no-such-message").returncode == 1

    tail = cli(broker, "tail", "blocked", "--from-beginning", "--seller", "SELLER1", "--marketplace",
               "ATVPDKIKX0DER", "--code", "TYP003", "--json", "--timeout", "3")
    records = [json.loads(line) for line in tail.stdout.splitlines()]
    assert any(r["message_id"] == "t7-promo" for r in records)
    assert all("TYP003" in {v["code"] for v in r["violations"]} for r in records)
    assert cli(broker, "tail", "blocked", "--from-beginning", "--marketplace", "NOPE", "--timeout", "2").stdout == ""

    listed = cli(broker, "replay-dead-letter", "--kind", "schema", "--key", OID, "--dry-run")
    assert listed.returncode == 0 and "1 record(s) to re-submit" in listed.stdout, listed.stdout + listed.stderr
    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(json.dumps({"message_request": {**broken, "requested_at": "2026-11-10T10:00:00Z"}}) + "\n")
    sent = cli(broker, "replay-dead-letter", "--fixed", str(fixed))
    assert sent.returncode == 0 and "1 record(s) re-submitted" in sent.stdout
    found = gateway.collect(lambda f: any(r.get("message_id") == "t7-fixme" and "route" in r for _, r in f))
    assert any(r.get("message_id") == "t7-fixme" and r.get("route") == "approved" for _, r in found)


def test_metrics_expose_what_the_grafana_dashboard_uses(worker):
    time.sleep(6)   # the lag gauge is refreshed every 5 s
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.web_port}/metrics") as response:
        text = response.read().decode()
    for name in ("msggate_decisions_total", "msggate_decisions_by_seller_bucket_total", "msggate_findings_total",
                 "msggate_decision_seconds_bucket", "msggate_consumer_lag", "msggate_table_keys",
                 "msggate_dead_letters_total", "msggate_sellers_near_daily_cap", "msggate_uncommitted_records"):
        assert f"\n{name}" in text, name
    assert 'msggate_table_keys{table="orders"}' in text
