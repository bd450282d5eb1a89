"""Property tests over the public API (hypothesis): whatever the loop hands us — every
timestamp form and extreme, hostile text, bad configuration, a clock that goes back, returns
NaN or raises — each call

- returns in bounded time,
- either raises TypeError/ValueError (the caller's bug) or records what it was given,
- leaves every later event landing in the store,
- and leaves the day's report — JSON, Nagios line, rich text through the CLI — renderable.

Example counts are modest by default; ``HYPOTHESIS_PROFILE=long`` runs 20x as many.
"""

from __future__ import annotations

import io
import math
import os
import time
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from conftest import NY, FakeClock, ny, query
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from console.cli import check_main
from console.nagios import nagios_line
from console.report_text import render_report
from console.sanitize import json_text
from health import MonitorConfig, ProductionMonitor
from health.calendar import get_calendar
from health.loader import ReportUnavailable, build_report

LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
settings.register_profile(
    "health-properties",
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "health-properties-long", settings.get_profile("health-properties"), max_examples=800
)
PROFILE = settings.get_profile("health-properties-long" if LONG else "health-properties")
FEW = settings(PROFILE, max_examples=PROFILE.max_examples // 3)  # a monitor built per example

CALL_BOUND = 0.25  # seconds: far above a call's cost, low enough to catch a stall or a hang
T0 = ny(2025, 12, 10, 11, 0).timestamp()

# -- strategies ------------------------------------------------------------------------------
EXTREMES = [
    0, -1, 1, 1e20, 2**63, 2**63 - 1, 2**64, 2**70, 10**400, -(2**63), 9_223_372_036.854775807,
    math.nan, math.inf, -math.inf, -0.0, True, False, None, "2025-12-10", b"1765382400", [T0],
    pd.NaT, np.datetime64("2025-12-10T16:00"), np.int64(int(T0)), np.float64("nan"),
    np.int64(int(T0 * 1e9)), Decimal("1765382400"), Fraction(1765382400, 1),
    datetime(1, 1, 1), datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59),
    datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))),
    datetime(1970, 1, 1), datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC),
    pd.Timestamp.min, pd.Timestamp.max, pd.Timestamp.max.tz_localize("UTC"),
]  # fmt: skip
EPOCHS = st.floats(min_value=-1e21, max_value=1e21, allow_nan=False)
NEAR_NOW = st.floats(min_value=T0 - 86400 * 3, max_value=T0 + 86400 * 3)
TIMESTAMPS = st.one_of(
    st.sampled_from(EXTREMES),
    EPOCHS,
    st.integers(min_value=-(2**80), max_value=2**80),
    NEAR_NOW,
    NEAR_NOW.map(lambda s: int(s * 1e3)),  # epoch ms
    NEAR_NOW.map(lambda s: int(s * 1e6)),  # epoch µs
    NEAR_NOW.map(lambda s: int(s * 1e9)),  # epoch ns
    st.datetimes(),  # naive, years 1..9999
    st.datetimes(timezones=st.timezones()),  # aware, any IANA zone
    st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)).map(pd.Timestamp),
    st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1)).map(np.datetime64),
)

HOSTILE_TEXT = [
    "[bold red]PWNED[/bold red]",
    "[link=https://example.com]click[/link]",
    "\x1b[31mred\x1b[0m",
    "\x1b]0;title\x07",
    "\x1b]52;c;cGF3bmVk\x07",
    "\x9b31m\x9d0;x\x9c",
    "\x00NUL\x00",
    "bad\udc80",
    "\ud800",
    "\u202eevil\u202c",
    "A" * (1 << 20),
    "",
]
TEXT = st.one_of(
    st.sampled_from(HOSTILE_TEXT),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=200),  # surrogates, controls
    st.lists(st.sampled_from(HOSTILE_TEXT[:-2]), max_size=4).map("".join),
)


# -- helpers ---------------------------------------------------------------------------------
def _queued() -> float:
    """Seconds this thread has waited on a CPU's run queue (the kernel's schedstat; 0 where
    there is none): a shared, loaded machine's doing, not the call's."""
    try:
        with open("/proc/thread-self/schedstat", "rb") as f:
            return int(f.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def timed(call):
    """The call, bounded by its own time: wall time less the run-queue waits (a call blocked
    on a lock or the disk still counts in full)."""
    queued, start = _queued(), time.perf_counter()
    try:
        return call()
    finally:
        elapsed = time.perf_counter() - start
        own = elapsed - (_queued() - queued)
        assert own < CALL_BOUND, f"a call took {own * 1e3:.0f} ms of its own ({elapsed * 1e3:.0f} ms wall)"


def with_examples(test, name: str, values):
    """Every listed extreme runs on every run, whatever the generator draws."""
    for value in values:
        test = example(**{name: value})(test)
    return test


def calls_or_refuses(call) -> bool:
    """True if the call returned (so it recorded), False if it refused with TypeError or
    ValueError; anything else fails the property."""
    try:
        timed(call)
    except (TypeError, ValueError):
        return False
    return True


def renders(store_path, day: date, now: float) -> None:
    """The day's report as JSON, Nagios line and rich text; UNKNOWN only for a documented
    reason (ReportUnavailable: a day outside the calendar, before the store)."""
    try:
        report = build_report(store_path, day, "XNYS", now=now)
    except ReportUnavailable:
        return
    json_text(report.to_json())
    assert nagios_line(report).startswith("PRODUCTION HEALTH ")
    Console(file=io.StringIO(), width=100).print(render_report(report))


def cli_renders(store_path, day: date, capsys) -> None:
    for extra in ([], ["--json"], ["--nagios"]):
        with pytest.raises(SystemExit) as done:
            check_main(
                [
                    "--store",
                    str(store_path),
                    "--date",
                    day.isoformat(),
                    "--now",
                    "2026-01-02T00:00:00Z",
                    *extra,
                ]
            )
        out = capsys.readouterr()
        assert done.value.code in (0, 1, 2), out.err
        assert "internal error" not in out.err


def gate_total(store_path) -> int:
    return query(store_path, "SELECT coalesce(sum(count), 0) FROM gate")[0][0]


# -- timestamps ------------------------------------------------------------------------------
def test_any_timestamp_is_refused_or_recorded_and_the_day_still_reports(make_monitor, store_path, capsys):
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    monitor = make_monitor(clock=clock)
    expected = {"gate": 0, "signals": [], "canaries": []}

    def check(value) -> None:
        if calls_or_refuses(lambda: monitor.should_generate_signals(value)):
            expected["gate"] += 1
        n = len(expected["canaries"])
        if calls_or_refuses(lambda: monitor.record_signal(f"P{n}", value)):
            expected["signals"].append(f"P{n}")
        canary = f"C{n}"
        timed(lambda: monitor.record_signal(canary, clock.now))  # a later event
        expected["canaries"].append(canary)
        assert monitor.flush(5.0)
        renders(store_path, clock.now.date(), T0 + 86400)

    PROFILE(with_examples(given(value=TIMESTAMPS)(check), "value", EXTREMES))()
    monitor.close()
    stored = {s for (s,) in query(store_path, "SELECT symbol FROM signals")}
    assert stored == set(expected["signals"]) | set(expected["canaries"])
    assert gate_total(store_path) == expected["gate"]
    cli_renders(store_path, date(2025, 12, 10), capsys)


# -- hostile text ----------------------------------------------------------------------------
def test_any_text_is_recorded_and_shown_literally(make_monitor, store_path, capsys) -> None:
    clock = FakeClock(ny(2025, 12, 10, 17, 0))  # after hours: the symbol goes into the alert too
    monitor = make_monitor(clock=clock)
    recorded = []

    @PROFILE
    @given(symbol=TEXT, detail=TEXT)
    @example(symbol="bad\udc80", detail="\x9b31m")
    @example(symbol="A" * (1 << 20), detail="[bold]x[/bold]\x1b]0;t\x07")
    def check(symbol: str, detail: str) -> None:
        clock.advance(1)
        assert calls_or_refuses(
            lambda: monitor.record_signal(symbol, clock.now - timedelta(seconds=3), note=detail)
        )
        recorded.append(symbol)
        timed(lambda: monitor.record_signal("CANARY", clock.now))
        recorded.append("CANARY")
        assert monitor.flush(5.0)
        assert not monitor.recorder.failed

    check()
    monitor.close()
    assert query(store_path, "SELECT count(*) FROM signals") == [(len(recorded),)]
    stored = [s for (s,) in query(store_path, "SELECT symbol FROM signals ORDER BY id")]
    for ours, theirs in zip(recorded, stored, strict=True):  # exact, or its readable replacement
        assert theirs == ours or theirs == ours.encode("utf-8", "backslashreplace").decode()
    renders(store_path, date(2025, 12, 10), T0 + 86400)
    for extra in (["--json"], []):
        with pytest.raises(SystemExit) as done:
            check_main(
                ["--store", str(store_path), "--date", "2025-12-10", "--now", "2025-12-12T00:00:00Z", *extra]
            )
        out = capsys.readouterr().out
        assert done.value.code in (0, 1, 2)
        raw = [c for c in out if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) <= 0x9F]
        assert raw == [], raw[:5]


@FEW
@given(source=TEXT)
@example(source="loop\udc80")
@example(source="\x1b]0;x\x07[bold]loop\x9b")
def test_any_loop_name_is_refused_or_works(source: str, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("source") / "h.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    try:
        config = MonitorConfig(source=source, store_path=str(path), clock=clock)
    except (TypeError, ValueError):
        return
    with ProductionMonitor(config) as monitor:
        assert calls_or_refuses(lambda: monitor.should_generate_signals(clock.now))
        timed(lambda: monitor.record_signal("S", clock.now))
    assert query(path, "SELECT count(*) FROM signals") == [(1,)]
    renders(path, date(2025, 12, 10), T0 + 86400)


# -- configuration ---------------------------------------------------------------------------
ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.sampled_from([math.inf, -math.inf, math.nan, 0, 0.0, -0.0, 1e-300, 1e300, np.float64("inf")]),
    st.sampled_from(["", "60", "XNYS", "Mars/Base", "America/New_York", "UTC", "\ud800", "a\0b"]),
    st.sampled_from([b"60", [60], {"a": 1}, object(), ZoneInfo("Asia/Tokyo"), UTC, len, print]),
)
FIELDS = [
    "check_interval_seconds",
    "max_data_age_hours",
    "max_uptime_gap_minutes",
    "future_tolerance_seconds",
    "flush_interval_seconds",
    "repeat_interval_minutes",
    "flap_seconds",
    "min_rth_coverage_pct",
    "max_buffered_events",
    "calendar",
    "source",
    "naive_timezone",
    "alert_callback",
    "clock",
]


@FEW
@given(field=st.sampled_from(FIELDS), value=ANY_VALUE)
@example(field="naive_timezone", value="Mars/Base")
@example(field="check_interval_seconds", value=math.inf)
@example(field="max_data_age_hours", value=1e300)
@example(field="max_buffered_events", value=True)
@example(field="min_rth_coverage_pct", value=True)
@example(field="clock", value=lambda: 1 / 0)
@example(field="clock", value=lambda: math.nan)
def test_any_config_value_is_refused_at_construction_or_works(field, value, tmp_path_factory) -> None:
    path = tmp_path_factory.mktemp("config") / "h.db"
    clock = FakeClock(ny(2025, 12, 10, 11, 0))
    kwargs = {"store_path": str(path), "clock": clock, field: value}
    try:
        config = MonitorConfig(**kwargs)
        monitor = (
            timed(lambda: ProductionMonitor(config)) if field != "calendar" else ProductionMonitor(config)
        )
    except (TypeError, ValueError):
        assert not path.exists() or field in ("calendar",)
        return
    with monitor:
        refused = not calls_or_refuses(
            lambda: monitor.should_generate_signals(clock.now - timedelta(seconds=5))
        )
        refused |= not calls_or_refuses(monitor.record_activity)
        refused |= not calls_or_refuses(lambda: monitor.record_signal("S", clock.now))
        assert not refused or field == "clock"  # only a bad clock makes good calls raise
    if not refused:
        assert query(path, "SELECT count(*) FROM signals") == [(1,)]


# -- clocks ----------------------------------------------------------------------------------
class Boom(Exception):
    pass


CLOCK_STEPS = st.one_of(
    # the clock moves forward or back, up to a quarter
    st.tuples(st.just("move"), st.floats(min_value=-90 * 86400, max_value=90 * 86400)),
    # or returns something that is no time, or raises
    st.tuples(
        st.just("returns"),
        st.sampled_from(
            [math.nan, math.inf, -math.inf, "raise", "naive", "str", 0.0, -1.0, 1e20, 2**70, None]
        ),
    ),
)


def test_a_clock_that_goes_back_returns_nan_or_raises(make_monitor, store_path, capsys) -> None:
    base = ny(2025, 12, 10, 11, 0).timestamp()
    state = {"now": base, "next": base}

    def clock():
        value = state["next"]
        if value == "raise":
            raise Boom("the simulation's clock broke")
        if value == "naive":
            return datetime(2025, 12, 10, 11, 0)
        return value

    monitor = make_monitor(clock=clock)
    expected = {"gate": 0, "beats": 0, "signals": 0}
    days = {date(2025, 12, 10)}

    @PROFILE
    @given(steps=st.lists(CLOCK_STEPS, min_size=1, max_size=8))
    @example(steps=[("move", -86400.0), ("returns", math.nan), ("returns", "raise"), ("move", 3600.0)])
    def check(steps) -> None:
        state["now"] = state["next"] = base
        for kind, step in steps:
            if kind == "move":
                state["now"] += step
                state["next"] = state["now"]
            else:
                state["next"] = step
            data = state["now"] - 5
            if calls_or_refuses(lambda d=data: monitor.should_generate_signals(d)):
                expected["gate"] += 1
                expected["beats"] += 1
                days.add(datetime.fromtimestamp(state["now"], NY).date())
            if calls_or_refuses(monitor.record_activity):
                expected["beats"] += 1
            if calls_or_refuses(lambda d=data: monitor.record_signal("S", d)):
                expected["signals"] += 1
        state["next"] = state["now"]  # a good clock again: later events land
        timed(lambda: monitor.record_signal("S", state["now"] - 5))
        expected["signals"] += 1
        assert monitor.flush(5.0)

    check()
    monitor.close()
    assert query(store_path, "SELECT count(*) FROM signals") == [(expected["signals"],)]
    assert gate_total(store_path) == expected["gate"]
    assert query(store_path, "SELECT coalesce(sum(beats), 0) FROM spans") == [(expected["beats"],)]
    cal = get_calendar("XNYS")
    for day in sorted(days)[:3] + sorted(days)[-3:]:
        if cal.first_day <= day <= cal.last_day:
            renders(store_path, day, datetime(2027, 11, 1, tzinfo=UTC).timestamp())
    cli_renders(store_path, date(2025, 12, 10), capsys)
