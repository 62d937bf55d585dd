import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import delivered, order, request

ROOT = Path(__file__).resolve().parent.parent


def run(*args, stdin: str = ""):
    return subprocess.run([sys.executable, "-m", "streams.cli", *args], input=stdin, capture_output=True,
                          text=True, cwd=ROOT)


def test_check_writes_one_decision_per_line_in_order():
    lines = [json.dumps({"request": request(message_id="a"), "order": order()}),
             json.dumps({"request": request(message_id="b", contact_reason="marketing"), "order": order()}),
             json.dumps({"request": request(message_id="c"), "order": None})]
    result = run("check", "-", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    decisions = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["message_id"] for d in decisions] == ["a", "b", "c"]
    assert [d["route"] for d in decisions] == ["approved", "blocked", "blocked"]
    assert decisions[2]["retryable"] is True
    assert decisions[0]["request"] == request(message_id="a")


def test_check_reports_invalid_lines_and_exits_1():
    bad = request(order_id="12-34")
    result = run("check", "-", stdin="not json\n" + json.dumps({"request": bad, "order": None}) + "\n")
    assert result.returncode == 1
    errors = [json.loads(line) for line in result.stdout.splitlines()]
    assert errors[0]["line"] == 1 and "JSON" in errors[0]["error"]
    assert errors[1]["line"] == 2 and "order_id" in errors[1]["error"]


def test_replay_counts_review_requests_and_spreads_opt_out_across_orders():
    base = {"seller_id": "S", "marketplace_id": "M"}
    events = [
        {"event_id": "1", "event_type": "order_placed", "occurred_at": "2026-11-01T00:00:00Z",
         "order_id": "111-1111111-1111111", "buyer_id": "B", "buyer_locale": "en_US", "items": [], **base},
        {"event_id": "2", "event_type": "order_delivered", "occurred_at": "2026-11-02T00:00:00Z",
         "order_id": "111-1111111-1111111", "buyer_id": "B", **base},
        {"event_id": "3", "event_type": "order_placed", "occurred_at": "2026-11-01T00:00:00Z",
         "order_id": "222-2222222-2222222", "buyer_id": "B", "buyer_locale": "en_US", "items": [], **base},
        {"event_id": "4", "event_type": "buyer_opted_out", "occurred_at": "2026-11-03T00:00:00Z",
         "order_id": "222-2222222-2222222", "buyer_id": "B", **base},
    ]
    review = dict(request(order_id="111-1111111-1111111", contact_reason="review_request",
                          subject="Order 111-1111111-1111111", body="Could you review order 111-1111111-1111111?",
                          requested_at="2026-11-09T00:00:00Z"), **base)
    lines = [json.dumps({"order_event": e}) for e in events[:2]]
    lines.append(json.dumps({"message_request": dict(review, message_id="r1")}))
    lines.append(json.dumps({"message_request": dict(review, message_id="r1")}))   # duplicate
    lines.append(json.dumps({"message_request": dict(review, message_id="r2")}))   # second request
    lines += [json.dumps({"order_event": e}) for e in events[2:]]
    lines.append(json.dumps({"message_request": dict(review, message_id="r3", contact_reason="invoice")}))
    result = run("replay", "-", stdin="\n".join(lines) + "\n")
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(d["message_id"], d["route"]) for d in out] == [
        ("r1", "approved"), ("r1", "approved"), ("r2", "blocked"), ("r3", "blocked")]
    assert {v["code"] for v in out[2]["violations"]} == {"TYP007"}
    # the opt-out was sent with order 222 but applies to the buyer's order 111 too
    assert "OPT001" in {v["code"] for v in out[3]["violations"]}


def test_rules_lists_every_code_and_documents_one():
    listing = run("rules")
    assert listing.returncode == 0 and "OPT002" in listing.stdout and "REA001" in listing.stdout
    doc = run("rules", "TIM002")
    assert "5 to 30 days" in doc.stdout and "Example" in doc.stdout
    assert run("rules", "NOPE01").returncode == 2


def test_config_check_accepts_overrides_and_rejects_bad_values(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text('[defaults]\nmax_width_px = 640\n[sellers.S1]\nrules = { OPT003 = "warn" }\n')
    assert run("config", "check", str(good)).returncode == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[sellers.S1]\nrules = { NOPE01 = "warn" }\n')
    result = run("config", "check", str(bad))
    assert result.returncode == 1 and "NOPE01" in result.stderr


def test_usage_error_exits_2():
    assert run("check").returncode == 2


def test_docs_rules_md_is_generated_from_the_registry():
    assert (ROOT / "docs" / "rules.md").read_text() == run("rules", "--markdown").stdout


def test_bench_engine_prints_the_contract_line(tmp_path):
    out = tmp_path / "engine.json"
    result = run("bench", "engine", "--messages", "300", "--json-out", str(out))
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("bench engine: msgs_per_s=") and " p50_us=" in last and " p99_us=" in last
    data = json.loads(out.read_text())
    assert data["messages"] == 300 and data["msgs_per_s"] > 0 and 0 < data["blocked"] < 300
