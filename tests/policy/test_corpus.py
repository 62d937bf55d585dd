"""Labelled corpus (tests/corpus/*.toml): route accuracy and per-code recall of the engine.

Fails below 95% route accuracy, or when any clean message (labelled approved) is blocked,
or when a file is too small to mean anything. The report is printed and written to
test-artifacts/corpus-report.txt so a run leaves its figures behind.
"""
from __future__ import annotations

import tomllib
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from streams.config import SellerConfig
from streams.policy.engine import evaluate

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REQUESTED_AT = datetime(2026, 11, 10, 10, tzinfo=timezone.utc)
LANGUAGES = ("en", "de", "fr", "es", "it", "ja")


def _ts(days_before: float) -> str:
    return (REQUESTED_AT - timedelta(days=days_before)).isoformat().replace("+00:00", "Z")


def _order(entry: dict, meta: dict) -> dict | None:
    kind = entry.get("order", "shipped")
    if kind == "unknown":
        return None
    state = {
        "order_id": meta["order_id"], "seller_id": "SELLER1", "marketplace_id": meta["marketplace"],
        "buyer_id": "BUYER1", "buyer_locale": meta["locale"], "status": "placed",
        "placed_at": _ts(20 if kind.startswith("delivered") else 3), "shipped_at": None, "delivered_at": None,
        "cancelled_at": None, "return_requested_at": None,
        "review_requests": entry.get("review_requests", 0), "buyer_opted_out": entry.get("opted_out", False),
        "items": [{"asin": "B0CORPUS01", "sku": "SKU-1", "title": "Item", "quantity": 1}],
    }
    if kind == "shipped":
        state |= {"status": "shipped", "shipped_at": _ts(1)}
    elif kind.startswith("delivered") or kind == "return":
        days = float(kind.split(":")[1]) if ":" in kind else 10.0
        state |= {"status": "delivered", "placed_at": _ts(days + 5), "shipped_at": _ts(days + 2),
                  "delivered_at": _ts(days)}
        if kind == "return":
            state["return_requested_at"] = _ts(1)
    elif kind == "cancelled":
        state |= {"status": "cancelled", "cancelled_at": _ts(1)}
    elif kind != "placed":
        raise ValueError(f"{entry['id']}: unknown order kind {kind!r}")
    return state


def _request(entry: dict, meta: dict) -> dict:
    fill = lambda text: text.replace("{order}", meta["order_id"])  # noqa: E731
    req = {
        "message_id": entry["id"], "seller_id": "SELLER1", "marketplace_id": meta["marketplace"],
        "order_id": meta["order_id"], "contact_reason": entry["reason"], "subject": fill(entry["subject"]),
        "body": fill(entry["body"]), "body_format": entry.get("format", "text"),
        "requested_at": REQUESTED_AT.isoformat().replace("+00:00", "Z"),
    }
    if "attachments" in entry:
        req["attachments"] = [
            {"filename": name, "content_type": "application/pdf", "size_bytes": 120_000, "kind": kind}
            for kind, name in (a.split(":", 1) for a in entry["attachments"])]
    return req


def load_corpus() -> list[tuple[dict, dict, dict]]:
    cases = []
    for path in sorted(CORPUS.glob("*.toml")):
        data = tomllib.loads(path.read_text())
        meta = {k: data[k] for k in ("language", "locale", "marketplace", "order_id")}
        for entry in data["message"]:
            cases.append((meta, entry, {"request": _request(entry, meta), "order": _order(entry, meta)}))
    return cases


CASES = load_corpus()


def test_corpus_is_large_and_covers_every_language_and_format():
    assert len(CASES) >= 150
    ids = [entry["id"] for _, entry, _ in CASES]
    assert len(ids) == len(set(ids)), "corpus ids must be unique"
    per_language = Counter(meta["language"] for meta, _, _ in CASES)
    assert set(per_language) == set(LANGUAGES)
    for lang in LANGUAGES:
        entries = [e for m, e, _ in CASES if m["language"] == lang]
        assert sum(e["route"] == "approved" for e in entries) >= 8, lang
        assert sum(e["route"] != "approved" for e in entries) >= 8, lang
        assert any(e.get("format") == "html" for e in entries), lang


def test_route_accuracy_and_per_code_recall():
    results = []
    for meta, entry, case in CASES:
        decision = evaluate(case["request"], case["order"], SellerConfig())
        found = {f["code"] for f in decision["violations"] + decision["warnings"]}
        results.append((meta, entry, decision, found))

    correct = sum(d["route"] == e["route"] for _, e, d, _ in results)
    accuracy = correct / len(results)
    expected_codes = Counter(c for _, e, _, _ in results for c in e.get("codes", []))
    hit_codes = Counter(c for _, e, _, found in results for c in e.get("codes", []) if c in found)
    clean_blocked = [(e["id"], sorted(found)) for _, e, d, found in results
                     if e["route"] == "approved" and d["route"] == "blocked"]
    wrong = [(e["id"], e["route"], d["route"], sorted(found)) for _, e, d, found in results if d["route"] != e["route"]]
    missed = [(e["id"], c, sorted(found)) for _, e, _, found in results for c in e.get("codes", []) if c not in found]

    lines = [f"corpus: {len(results)} messages, route accuracy {accuracy:.1%} ({correct}/{len(results)})"]
    for lang in LANGUAGES:
        sub = [(e, d) for m, e, d, _ in results if m["language"] == lang]
        lines.append(f"  {lang}: {sum(d['route'] == e['route'] for e, d in sub)}/{len(sub)}")
    lines.append("per-code recall:")
    lines += [f"  {code}: {hit_codes[code]}/{n}" for code, n in sorted(expected_codes.items())]
    lines += [f"wrong route: {w}" for w in wrong] + [f"missed code: {m}" for m in missed]
    report = "\n".join(lines)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "corpus-report.txt").write_text(report + "\n")
    print(report)

    assert not clean_blocked, f"clean messages blocked: {clean_blocked}"
    assert accuracy >= 0.95, report


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_violating_message_names_its_codes_with_evidence(lang):
    """Each labelled code must come with evidence and a detail a seller can read."""
    for meta, entry, case in CASES:
        if meta["language"] != lang or not entry.get("codes"):
            continue
        decision = evaluate(case["request"], case["order"], SellerConfig())
        for finding in decision["violations"] + decision["warnings"]:
            assert finding["detail"], (entry["id"], finding)
