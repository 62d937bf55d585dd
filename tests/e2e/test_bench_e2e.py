"""`msggate bench e2e` briefly, for well-formed output (numbers are reported, never asserted on)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^bench e2e: msgs_per_s=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+) max_ms=([\d.]+) latency_rate=\d+ "
                  r"baseline_msgs_per_s=(\d+) vs_baseline=([\d.]+) baseline_p99_ms=([\d.]+) worker_cpu_s=[\d.]+ "
                  r"worker_rss_mb=\d+ "
                  r"broker_cpu_s=[\d.]+ partitions=2 workers=1 store=memory://$")


def test_bench_e2e_runs_baseline_and_gateway_and_prints_the_contract_line(tmp_path):
    out = tmp_path / "e2e.json"
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "e2e", "--requests", "300", "--orders", "100",
         "--latency-requests", "100", "--partitions", "2", "--json-out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    match = LINE.match(last)
    assert match, last
    assert int(match.group(1)) > 0 and int(match.group(5)) > 0
    assert "throughput: 300 requests" in result.stderr       # progress goes to stderr
    data = json.loads(out.read_text())
    assert data["e2e"]["decided"] == data["e2e"]["requests"] == 300
    assert data["e2e"]["latency_decided"] == 100
    assert data["baseline"]["decided"] == 300
    # the trivial pipeline paced too (at half its own rate): its p99 is the one on the e2e line
    assert data["baseline"]["latency_decided"] == 100
    assert 0 < data["baseline"]["latency_p50_ms"] <= data["baseline"]["latency_p99_ms"]
    assert data["baseline"]["latency_rate"] == max(50, round(data["baseline"]["msgs_per_s"] / 2))
    assert float(match.group(7)) == data["e2e"]["baseline_p99_ms"] == data["baseline"]["latency_p99_ms"]
    assert "baseline latency: 100 records at" in result.stderr
    assert abs(data["e2e"]["vs_baseline"] - data["e2e"]["msgs_per_s"] / data["baseline"]["msgs_per_s"]) < 0.01
    # the latency split by stage: every request's decision seen, approvals and other routes apart
    split = data["e2e"]["latency_split"]
    for name in ("to_decision", "approved_after_decision", "other_after_decision"):
        assert 0 <= split[f"{name}_p50_ms"] <= split[f"{name}_p99_ms"], split
    # the embedded broker stamps outputs with its append time (absent without): this process's
    # own last leg, apart from the gateway's
    assert 0 <= split["consumed_after_append_p50_ms"] <= split["consumed_after_append_p99_ms"], split
    assert "of which this process consuming what Kafka had" in result.stderr
    assert "split (p50/p99 ms): to the order stage's decision" in result.stderr
    # and over time, per half-second of production: every paced request in one window
    windows = data["e2e"]["latency_over_time"]
    assert sum(w["requests"] for w in windows) == 100
    assert all(0 <= w["p50_ms"] <= w["max_ms"] for w in windows)
    assert [w["at_s"] for w in windows] == sorted(w["at_s"] for w in windows)
    # the paced phase's own CPU, per worker and for the broker (small batches cost more per request)
    assert len(data["e2e"]["latency_worker_cpu_s"]) == 1 and data["e2e"]["latency_worker_cpu_s"][0] > 0
    assert data["e2e"]["latency_broker_cpu_s"] > 0


def test_bench_backlog_stops_the_workers_while_producing_then_counts_from_their_release(tmp_path):
    out = tmp_path / "backlog.json"
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "bench", "e2e", "--backlog", "--requests", "300", "--orders", "100",
         "--latency-requests", "0", "--partitions", "2", "--json-out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stderr.count("workers let go on the backlog") == 2     # the baseline's and the gateway's
    assert "produced while the worker(s) are stopped" in result.stderr
    data = json.loads(out.read_text())
    assert data["e2e"]["decided"] == data["baseline"]["decided"] == 300
    assert data["e2e"]["msgs_per_s"] > 0 and data["e2e"]["vs_baseline"] > 0
    assert result.stdout.strip().splitlines()[-1].startswith("bench e2e: msgs_per_s=")


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:   # the parent's pid
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_sigterm_stops_the_broker_and_worker_the_bench_started():
    import signal
    import time

    bench = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "bench", "e2e", "--no-baseline", "--requests", "100000",
         "--orders", "100", "--partitions", "2"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    children: set[int] = set()
    try:
        started = []
        for line in bench.stderr:   # wait until the gateway's throughput phase is under way
            started.append(line)
            if "throughput:" in line:
                break
        children = _children(bench.pid)
        assert len(children) >= 2, "".join(started)   # the broker and the worker
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(120) == 130
        deadline = time.monotonic() + 60
        while any(map(_alive, children)) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not [pid for pid in children if _alive(pid)]
    finally:
        if bench.poll() is None:
            bench.kill()
        for pid in children | _children(bench.pid):   # what a failure left (orphans lose their parent)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
