"""`msggate bench` fails when a phase left records without a decision (streams/bench_stream.py
`undecided`): a p99 over the records that came out says nothing of those that did not."""
from __future__ import annotations

from streams.bench_stream import undecided

COMPLETE = {"requests": 300, "decided": 300, "latency_requests": 100, "latency_decided": 100, "latency_rate": 400}


def test_a_complete_run_has_nothing_to_report():
    assert undecided("e2e", COMPLETE) == []
    assert undecided("e2e", {"requests": 300, "decided": 300}) == []   # --latency-requests 0: no paced phase


def test_records_missing_from_the_flat_out_phase_are_reported():
    assert undecided("e2e", {**COMPLETE, "decided": 299}) == \
        ["e2e: only 299 of 300 records as fast as possible came out"]


def test_records_missing_from_the_paced_phase_are_reported_too():
    # before: the exit code looked at the flat-out phase only, and a stalled paced phase printed
    # a p99 over the records that happened to come out
    assert undecided("baseline", {**COMPLETE, "latency_decided": 97}) == \
        ["baseline: only 97 of 100 paced records came out (at 400/s)"]
    assert undecided("e2e", {**COMPLETE, "latency_decided": None}) == \
        ["e2e: only 0 of 100 paced records came out (at 400/s)"]
