"""timeutil: `now_ts` is `format_ts(utcnow())`, cheaper (it stamps every decision)."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from streams import timeutil


@given(st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))   # up to 2100
@example(1_764_990_000.0009995)    # rounds up to the next millisecond's microsecond
@example(1_764_990_000.9999996)    # rounds up to the next second
@example(1_764_990_000.0)
def test_now_ts_writes_what_format_ts_writes_for_the_same_instant(moment):
    assert timeutil._stamp(moment) == timeutil.format_ts(datetime.fromtimestamp(moment, timezone.utc))


def test_now_ts_across_seconds_in_any_order():
    # the cached prefix of one second must never leak into another
    rng = random.Random(3)
    moments = [1_764_990_000 + rng.uniform(-5, 5) for _ in range(2_000)]
    for moment in moments:
        assert timeutil._stamp(moment) == timeutil.format_ts(datetime.fromtimestamp(moment, timezone.utc))


def test_now_ts_is_the_clock():
    before = datetime.now(timezone.utc)
    stamped = timeutil.parse_ts(timeutil.now_ts())
    after = datetime.now(timezone.utc)
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= stamped <= after
