"""health.backtest.evaluate_gate against the per-call gate, row by row.

The reference is ``ProductionMonitor.should_generate_signals`` itself (a backtest monitor on
an injected clock that keeps nothing), asked once per row in the rows' random order, so its
per-session and per-minute caches are reloaded backwards and forwards; its reason code is the
one it recorded for that very call. The rows aim at what a gate gets wrong: every boundary of
sampled sessions (open, close, break start and end, ±1 µs, ±0.5 s, ±1 s), data exactly at the
previous session's close and at the age limit, the future tolerance to the microsecond,
abutting sessions (CMES, 24/7: data from just before the changeover), lunch breaks (XHKG),
instants outside the calendar's range, and uniform instants across it.
"""

from __future__ import annotations

import math
import random
import zlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from health import MonitorConfig, ProductionMonitor
from health.backtest import GateAnswers, epoch_seconds, evaluate_gate
from health.calendar import get_calendar
from health.gate import REASON_CODES
from health.simulation import SimClock
from health.timestamps import to_epoch
from store.events import GATE

START = datetime(2019, 1, 1, tzinfo=UTC).timestamp()
DELTAS = (-1.0, -0.5, -1e-6, 0.0, 1e-6, 0.5, 1.0)


def random_rows(code: str, n: int, max_age: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    cal = get_calendar(code)
    a = cal.arrays()
    opens, closes = a["opens"], a["closes"]
    first = next(i for i, o in enumerate(opens) if o >= START)
    idx = range(first, len(opens))
    rng = random.Random(seed)
    lo, hi = opens[first], closes[-1]
    now, data = [], []
    while len(now) < n:
        i = rng.choice(idx)
        kind = rng.random()
        if kind < 0.3:
            t = rng.uniform(lo, hi)
        elif kind < 0.7:
            t = rng.uniform(opens[i] - 3600, closes[i] + 3600)
        elif kind < 0.97:
            edges = [opens[i], closes[i], a["break_starts"][i], a["break_ends"][i]]
            t = rng.choice([e for e in edges if e is not None]) + rng.choice(DELTAS)
        else:  # outside the calendar's range
            t = rng.choice([opens[0] - rng.uniform(1, 86400 * 30), closes[-1] + rng.uniform(0, 86400 * 30)])
        j = max(1, min(len(closes) - 1, _session_closing_after(closes, t)))
        kind = rng.random()
        if kind < 0.3:
            d = t - rng.uniform(0, 120)
        elif kind < 0.45:
            d = t - max_age + rng.choice((-1e-6, 0.0, 1e-6, rng.uniform(-60, 60)))
        elif kind < 0.6:
            d = t - rng.choice((rng.uniform(-10, 2), -5.0, -5.0 - 1e-6, -5.0 + 1e-6))
        elif kind < 0.8:
            d = t - rng.uniform(0, 4 * 86400)
        else:  # at the previous session's close, or just around it
            d = closes[j - 1] + rng.choice(DELTAS)
        now.append(t)
        data.append(d)
    return np.array(now), np.array(data)


def _session_closing_after(closes: list[float], t: float) -> int:
    import bisect

    return bisect.bisect_right(closes, t)


def per_call(code: str, now: np.ndarray, data: np.ndarray, max_age_hours: float) -> tuple[list, list]:
    """should_generate_signals row by row: (allowed, the code the monitor recorded)."""
    clock = SimClock(float(now[0]))
    config = MonitorConfig(
        backtest=True, clock=clock, store_path=":memory:", calendar=code, max_data_age_hours=max_age_hours
    )
    allowed, codes = [], []
    with ProductionMonitor(config) as mon:
        latest = mon.recorder.latest
        ask = mon.should_generate_signals
        for t, d in zip(now.tolist(), data.tolist(), strict=True):
            clock.now = t
            ok, _ = ask(d)
            allowed.append(ok)
            codes.append(latest[GATE][3])
    return allowed, codes


def assert_same(code: str, now, data, answers: GateAnswers, allowed: list, codes: list) -> None:
    mismatches = [
        (datetime.fromtimestamp(now[k], UTC).isoformat(), now[k] - data[k], codes[k], answers.code[k])
        for k in range(len(now))
        if answers.allowed[k] != allowed[k] or answers.code[k] != codes[k]
    ]
    assert not mismatches, f"{code}: {len(mismatches)} of {len(now)} rows differ: {mismatches[:10]}"


@pytest.mark.parametrize(
    ("code", "max_age_hours", "n"),
    [
        ("XNYS", 1.0, 100_000),
        ("CMES", 1.0, 100_000),
        ("XNYS", 40.0, 20_000),  # the previous-session rule, not the age limit, refuses overnight data
        ("CMES", 30.0, 20_000),  # abutting sessions: old data judged by its age alone
        ("XHKG", 1.0, 30_000),  # lunch breaks
        ("24/7", 2.0, 20_000),
    ],
)
def test_same_answers_as_should_generate_signals_row_by_row(code: str, max_age_hours: float, n: int) -> None:
    seed = zlib.crc32(f"{code}/{n}".encode())  # fixed: hash() of a str is salted per process
    now, data = random_rows(code, n, max_age_hours * 3600, seed=seed)
    answers = evaluate_gate(now, data, code, max_age_hours)
    allowed, codes = per_call(code, now, data, max_age_hours)
    assert_same(code, now, data, answers, allowed, codes)
    # Every reason the calendar can give was exercised (breaks only where there are some).
    seen = set(codes)
    expected = set(REASON_CODES) - ({"break"} if code != "XHKG" else set())
    if code == "24/7":
        expected -= {"previous_session", "closed"}
    assert expected <= seen, expected - seen
    assert answers.allowed.dtype == bool and len(answers.code) == n


@pytest.mark.parametrize("code", ["XNYS", "CMES"])
def test_a_year_of_bars_bar_by_bar_then_vectorised(code: str) -> None:
    """A backtest's year, 2025, in time order as a bar-by-bar backtester drives it: a bar every
    5 minutes around the clock, its data 5 s old, or left over from the bar before a gap (a
    weekend, a holiday, a night) — yesterday's data on the open of the day after."""
    rng = np.random.default_rng(13)
    now = datetime(2025, 1, 1, tzinfo=UTC).timestamp() + 300.0 * np.arange(1, 365 * 288 + 1)
    lag = np.where(rng.random(now.size) < 0.9, 5.0, rng.choice([3600.0, 17.5 * 3600, 65 * 3600], now.size))
    data = now - lag
    answers = evaluate_gate(now, data, code, 1.0)
    allowed, codes = per_call(code, now, data, 1.0)
    assert_same(code, now, data, answers, allowed, codes)
    assert {"ok", "closed", "stale"} <= set(codes)
    if code == "XNYS":  # overnight data on the open, refused as the previous session's
        assert "previous_session" in codes


def test_timestamp_forms_read_as_the_monitor_reads_them() -> None:
    """Epoch ms and ns by magnitude, datetime64 naive in the exchange's zone (DST gaps and
    folds the way zoneinfo reads them), pandas columns aware or naive, object arrays."""
    import pandas as pd

    ny = ZoneInfo("America/New_York")
    rng = random.Random(7)
    # Wall-clock times around the 2025 and 2026 DST changes, to the microsecond; gap and fold included.
    base = [datetime(2025, 3, 9, 1, 0), datetime(2025, 11, 2, 0, 30), datetime(2026, 3, 8, 1, 30)]
    naive = [b + timedelta(seconds=rng.uniform(0, 3 * 3600)) for b in base for _ in range(2000)]
    naive += [
        datetime(2025, 3, 9, 2, 30),
        datetime(2025, 11, 2, 1, 30),
        datetime(2025, 11, 2, 1, 59, 59, 999999),
    ]
    expected = np.array([to_epoch(d, ny) for d in naive])
    dt64 = np.array(naive, dtype="datetime64[us]")
    assert np.array_equal(epoch_seconds(dt64, ny, "data_ts"), expected)
    assert np.array_equal(epoch_seconds(pd.Series(dt64), ny, "data_ts"), expected)
    assert np.array_equal(epoch_seconds(dt64.astype("datetime64[ns]"), ny, "data_ts"), expected)
    assert np.array_equal(epoch_seconds(np.array(naive, dtype=object), ny, "data_ts"), expected)
    aware = pd.Series(pd.DatetimeIndex(dt64).tz_localize("UTC").tz_convert("Asia/Tokyo"))
    utc_seconds = np.array([to_epoch(d.replace(tzinfo=UTC), ny) for d in naive])
    assert np.array_equal(epoch_seconds(aware, ny, "data_ts"), utc_seconds)
    assert np.array_equal(epoch_seconds(pd.DatetimeIndex(aware), ny, "data_ts"), utc_seconds)
    # Numbers: seconds, ms, us, ns by magnitude; a clock's (now) seconds only.
    secs = np.array([1.7e9 + 0.25, 1_700_000_000_123.0, 1_700_000_000_123_456.0])
    assert np.array_equal(epoch_seconds(secs, ny, "data_ts"), [to_epoch(float(v), ny) for v in secs])
    ints = np.array([1_700_000_000, 1_700_000_000_123, 1_700_000_000_123_456_789], dtype=np.int64)
    assert np.array_equal(epoch_seconds(ints, ny, "data_ts"), [to_epoch(int(v), ny) for v in ints])
    with pytest.raises(ValueError, match=r"now, row 1: .* after 2262"):
        epoch_seconds(np.array([1.7e9, 1.7e12]), ny, "now", magnitudes=False)


@pytest.mark.parametrize(
    ("values", "error", "match"),
    [
        (np.array([1.7e9, math.nan]), ValueError, "row 1: nan is not a finite number"),
        (np.array([1.7e9, -5.0]), ValueError, "row 1: -5.0 lies before 1970"),
        (np.array(["2025-06-11T10:00", "NaT"], dtype="datetime64[s]"), ValueError, "row 1: NaT"),
        (np.array([True, False]), TypeError, "must be epoch seconds"),
        (np.array(["2025-06-11"]), TypeError, "must be epoch seconds"),
    ],
)
def test_bad_rows_are_named(values, error, match) -> None:
    with pytest.raises(error, match=match):
        evaluate_gate(np.full(len(values), 1.75e9), values)


def test_scalars_broadcast_and_limits_are_checked_like_monitor_config() -> None:
    now = datetime(2025, 6, 11, 10, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
    answers = evaluate_gate(now, np.array([now - 5, now - 7200, now + 60]))
    assert answers.allowed.tolist() == [True, False, False]
    assert answers.code.tolist() == ["ok", "stale", "future"]
    with pytest.raises(ValueError, match="max_data_age_hours must be positive"):
        evaluate_gate(now, now, max_data_age_hours=0)
    with pytest.raises(ValueError, match="unknown exchange calendar"):
        evaluate_gate(now, now, "NOPE")


def test_the_dataframe_helper_adds_the_two_columns() -> None:
    import pandas as pd

    from health.backtest_pandas import add_gate_columns

    bars = pd.date_range("2025-11-26 15:00", "2025-11-28 14:00", freq="30min", tz="America/New_York")
    frame = pd.DataFrame({"symbol": "AAPL", "data_ts": bars - pd.Timedelta(seconds=30)}, index=bars)
    out = add_gate_columns(frame)
    assert list(out.columns) == ["symbol", "data_ts", "gate_allowed", "gate_reason"]
    assert "gate_allowed" not in frame.columns  # a copy
    assert str(out.gate_reason.dtype) == "category"
    expected = evaluate_gate(bars, frame.data_ts)
    assert out.gate_allowed.tolist() == expected.allowed.tolist()
    assert out.gate_reason.astype(str).tolist() == expected.code.tolist()
    # Thanksgiving closed, the early close of Friday 13:00 respected, Wednesday's session open.
    allowed = out[out.gate_allowed].index
    assert {t.date().isoformat() for t in allowed} == {"2025-11-26", "2025-11-28"}
    assert max(t for t in allowed if t.day == 28).hour == 12
    named = add_gate_columns(frame.reset_index(names="bar"), now="bar", allowed="ok", reason="why")
    assert named.ok.tolist() == expected.allowed.tolist()
