"""The dashboard in a real browser (Debian's headless Chromium) against the running worker."""
from __future__ import annotations

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from tests.stream.test_gateway_on_kafka import event, msg

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = ('<p>Order 308-0000001-0000001: <script>document.body.insertAdjacentHTML("beforeend",'
           '"<div id=pwned>pwned</div>")</script>see <a href="javascript:alert(1)">here</a>'
           '<img src="https://tracker.example/open.gif?uid=1" alt="logo" onerror="document.title=\'pwned\'">'
           '<b onmouseover="alert(1)">visit https://evil.example/deals</b></p>')


def chromium() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    assert binary, "Chromium is needed for the browser test: `make test` installs Debian's chromium"
    return binary


def browse(url: str, *extra: str) -> str:
    result = subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                             "--virtual-time-budget=5000", *extra, url], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def routed(gateway, worker):
    oid = "308-0000001-0000001"
    gateway.send([("orders.events", event("t6-1", "order_placed", oid, "2026-11-01T00:00:00Z", buyer_id="B6"), None)])
    time.sleep(1.5)
    gateway.send([("messages.requests", msg("t6-ok", oid), None),
                  ("messages.requests", msg("t6-promo", oid, body=f"Order {oid}: use discount code SAVE10 on your "
                                                                  f"next order!"), None),
                  ("messages.requests", msg("t6-hostile", oid, body_format="html", body=HOSTILE), None)])
    gateway.collect(lambda f: {"t6-ok", "t6-promo", "t6-hostile"} <= {r.get("message_id") for _, r in f})
    base = f"http://127.0.0.1:{worker.web_port}"
    deadline = time.monotonic() + 30   # the dashboard's own consumer follows the output topics
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/decisions?limit=500") as response:
            shown = {d["message_id"] for d in orjson.loads(response.read())}
        with urllib.request.urlopen(f"{base}/api/summary") as response:   # approved: from end offsets, each second
            approved = orjson.loads(response.read())["routes"]["approved"]
        if {"t6-promo", "t6-hostile"} <= shown and approved >= 1:
            break
        time.sleep(0.5)
    return base


def test_dashboard_shows_counts_and_the_blocked_message_with_its_code(routed):
    ARTIFACTS.mkdir(exist_ok=True)
    dom = browse(f"{routed}/", "--dump-dom")
    blocked = int(re.search(r'id="count-blocked">(\d+)<', dom).group(1))
    approved = int(re.search(r'id="count-approved">(\d+)<', dom).group(1))
    assert blocked >= 2 and approved >= 1, dom[:2000]
    row = re.search(r"<tr>(?:(?!</tr>).)*t6-promo(?:(?!</tr>).)*</tr>", dom, re.S)
    assert row and "TYP003" in row.group(0) and "discount code" in row.group(0)
    browse(f"{routed}/", "--window-size=1280,1000", f"--screenshot={ARTIFACTS / 'dashboard.png'}")
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 10_000


def test_filters_narrow_the_table(routed):
    with urllib.request.urlopen(f"{routed}/api/decisions?code=TYP003&seller=SELLER1") as response:
        rows = orjson.loads(response.read())
    assert rows and all("TYP003" in r["codes"] and r["seller_id"] == "SELLER1" for r in rows)
    with urllib.request.urlopen(f"{routed}/api/decisions?marketplace=NOPE") as response:
        assert orjson.loads(response.read()) == []


def test_a_hostile_body_renders_inert(routed):
    url = f"{routed}/decision/t6-hostile"
    with urllib.request.urlopen(url) as response:
        csp = response.headers["Content-Security-Policy"]
        served = response.read().decode()
    assert "script-src" not in csp and "img-src data:" in csp and "default-src 'none'" in csp
    assert "<script" not in served and "onerror" not in served and "onmouseover" not in served
    assert "javascript:" not in served and 'src="https://tracker.example' not in served
    dom = browse(url, "--dump-dom")
    assert 'id="pwned"' not in dom and "<title>pwned" not in dom
    assert "remote image not loaded: tracker.example" in dom
    assert "CNT007" in dom or "CNT001" in dom   # the findings are listed, escaped, on the same page
    browse(url, "--window-size=1280,1000", f"--screenshot={ARTIFACTS / 'decision-hostile.png'}")
