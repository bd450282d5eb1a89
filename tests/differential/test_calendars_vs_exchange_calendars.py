"""The gate and the report's session block against exchange_calendars, the reference none of
us wrote, on every calendar it ships.

For each calendar (``get_calendar_names(include_aliases=False)``):

- **Instants**: seeded uniform instants (fractional seconds) between 2019-01-01 and the
  calendar's last session (exchange_calendars builds calendars to about a year from today,
  so "2019-2027" ends there), plus every boundary of sampled sessions — open, close, break
  start and end, each exactly and ±0.5 s and ±1 s — where the samples always include early
  closes, late opens, the sessions beside holidays (a weekday of the trading week without a
  session) and the sessions on either side of a DST change.
- **The gate on fresh data** (``Gate.decide(t, t)`` and ``decide(t, t - 1)``) must allow
  exactly when ``is_open_on_minute(minute, ignore_breaks=False)`` is True, refuse with
  ``break`` exactly when ``is_break_minute(minute)`` is, and ``Gate.in_rth`` must agree.
  *Minute semantics*: exchange_calendars answers for minutes, labelled by their left edge;
  the open minute is a trading minute, the close minute is not. The gate answers for
  instants, ``open <= t < close`` (breaks likewise). An instant t is mapped to the minute
  ``floor(t / 60) * 60`` that contains it, which gives the same answer as long as every
  boundary lies on a whole minute — checked here too, for every session in the range.
  The instants are evaluated in random order, so the gate's per-session cache is reloaded
  backwards and forwards, not only as a loop's clock moves.
- **The report's session block** (``build_report(...).to_json()["session"]``) for sampled
  dates (sessions, early closes, holidays, weekends, DST days, days with a break):
  ``is_trading_day``, ``open``, ``close``, ``early_close``, ``break_start``, ``break_end``
  against ``is_session``, ``session_open``, ``session_close``, ``early_closes`` and
  ``session_break_start/end``.

Zero mismatches. The default run is bounded and seeded (about 20 s on the project's 2-core
machine once the calendars are built). On demand:

    HEALTH_DIFFERENTIAL=long python -m pytest tests/differential   # ~25x the instants, every
                                                                     # session's boundaries, 60
                                                                     # report dates a calendar
    HEALTH_DIFFERENTIAL_SEED=7 python -m pytest tests/differential  # another seed
"""

from __future__ import annotations

import math
import os
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd
import pytest

from health import MonitorConfig, ProductionMonitor
from health.calendar import MarketCalendar
from health.gate import BREAK, CLOSED, OK, Gate
from health.loader import build_report
from health.simulation import SimClock

LONG = os.environ.get("HEALTH_DIFFERENTIAL", "") == "long"
SEED = int(os.environ.get("HEALTH_DIFFERENTIAL_SEED", "20251211"))
RANDOM_INSTANTS = 100_000 if LONG else 4_000
SAMPLED_SESSIONS = None if LONG else 40  # None: every session in the range
SPECIAL_SESSIONS = None if LONG else 12  # of each kind: early close, late open, holiday, DST
REPORT_DATES = 60 if LONG else 5

START = pd.Timestamp("2019-01-01")
END = pd.Timestamp("2027-12-31")
DELTAS = (-1.0, -0.5, 0.0, 0.5, 1.0)
MAX_AGE = 3600.0
CODES = xcals.get_calendar_names(include_aliases=False)


@dataclass
class Mismatch:
    what: str
    at: str
    ours: object
    reference: object

    def __str__(self) -> str:
        return f"{self.what} at {self.at}: ours {self.ours!r}, exchange_calendars {self.reference!r}"


def _seconds(ts: pd.Timestamp) -> float:
    return ts.value / 1e9


def _sessions(ref) -> pd.DatetimeIndex:
    first = max(START, ref.first_session)
    last = min(END, ref.last_session)
    return ref.sessions_in_range(first, last)


def _special_sessions(ref, sessions: pd.DatetimeIndex, rng: random.Random) -> dict[str, list]:
    """Sessions the gate is likeliest to get wrong, by kind."""
    in_range = set(sessions)
    kinds: dict[str, list] = {
        "early close": [s for s in ref.early_closes if s in in_range],
        "late open": [s for s in ref.late_opens if s in in_range],
        "beside a holiday": [],
        "beside a DST change": [],
    }
    opens = ref.opens.loc[sessions]
    offsets = (opens.dt.tz_convert(ref.tz).dt.tz_localize(None) - opens.dt.tz_convert(None)).to_numpy()
    for i in (offsets[1:] != offsets[:-1]).nonzero()[0]:
        kinds["beside a DST change"] += [sessions[i], sessions[i + 1]]
    # Weekdays of the exchange's trading week without a session: holidays and closures.
    days = pd.date_range(sessions[0], sessions[-1])
    week = days[np.is_busday(days.to_numpy().astype("datetime64[D]"), weekmask=ref.weekmask)]
    for holiday in week.difference(sessions):
        i = sessions.searchsorted(holiday)
        kinds["beside a holiday"] += [sessions[i - 1], sessions[i]]
    limit = SPECIAL_SESSIONS
    return {k: (v if limit is None or len(v) <= limit else rng.sample(v, limit)) for k, v in kinds.items()}


def _boundaries(ref, session: pd.Timestamp) -> list[float]:
    edges = [ref.session_open(session), ref.session_close(session)]
    bs, be = ref.session_break_start(session), ref.session_break_end(session)
    if not pd.isna(bs):
        edges += [bs, be]
    return [_seconds(e) + d for e in edges for d in DELTAS]


def _instants(ref, rng: random.Random) -> tuple[list[float], list[Mismatch]]:
    sessions = _sessions(ref)
    lo = max(_seconds(START.tz_localize(UTC)), _seconds(ref.opens.iloc[0]))
    hi = _seconds(ref.session_close(sessions[-1]))
    instants = [rng.uniform(lo, hi) for _ in range(RANDOM_INSTANTS)]
    sampled = list(sessions) if SAMPLED_SESSIONS is None else rng.sample(list(sessions), SAMPLED_SESSIONS)
    for group in _special_sessions(ref, sessions, rng).values():
        sampled += group
    for session in sampled:
        instants += [t for t in _boundaries(ref, session) if lo <= t < hi]
    # Every boundary of every session in the range on a whole minute: what makes the instant ->
    # minute mapping exact.
    off_minute = []
    for column in (ref.opens, ref.closes, ref.break_starts, ref.break_ends):
        values = column.loc[sessions].dropna()
        nanos = values.dt.tz_convert(None).to_numpy().astype("int64")
        for session, edge in values[nanos % 60_000_000_000 != 0].items():
            off_minute.append(
                Mismatch("boundary not on a whole minute", str(session.date()), None, str(edge))
            )
    rng.shuffle(instants)
    return instants, off_minute


def _check_gate(code: str, rng: random.Random) -> tuple[list[Mismatch], int]:
    ref = xcals.get_calendar(code)
    cal = MarketCalendar(code)
    gate = Gate(cal, MAX_AGE)
    rth = Gate(cal, MAX_AGE)
    instants, mismatches = _instants(ref, rng)
    for t in instants:
        minute = pd.Timestamp(math.floor(t / 60) * 60, unit="s", tz=UTC)
        # _parse=False: the minute is already a UTC, minute-aligned Timestamp inside the
        # calendar's range; parsing would only check that, by building every minute of it.
        is_open = bool(ref.is_open_on_minute(minute, ignore_breaks=False, _parse=False))
        in_break = bool(ref.is_break_minute(minute, _parse=False))
        for data_age in (0.0, 1.0):
            d = gate.decide(t, t - data_age)
            expected_code = OK if is_open else (BREAK if in_break else CLOSED)
            if d.allowed is not is_open or d.code != expected_code:
                mismatches.append(
                    Mismatch(
                        f"gate, data {data_age:g} s old",
                        _iso(t, ref),
                        (d.allowed, d.code, d.reason),
                        (is_open, expected_code),
                    )
                )
        if rth.in_rth(t) is not is_open:
            mismatches.append(Mismatch("Gate.in_rth", _iso(t, ref), not is_open, is_open))
    return mismatches, len(instants)


def _iso(t: float, ref) -> str:
    return datetime.fromtimestamp(t, UTC).astimezone(ref.tz).isoformat()


# -- the report's session block ---------------------------------------------------------------
@pytest.fixture(scope="module")
def any_day_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store whose first record is in 2018: every date after it can be reported."""
    path = tmp_path_factory.mktemp("differential") / "health.db"
    clock = SimClock(datetime(2018, 12, 31, 12, tzinfo=UTC).timestamp())
    with ProductionMonitor(MonitorConfig(store_path=str(path), clock=clock)) as monitor:
        monitor.record_activity()
    return path


def _report_dates(ref, rng: random.Random) -> list[date]:
    sessions = _sessions(ref)
    special = _special_sessions(ref, sessions, rng)
    pool: list[pd.Timestamp] = []
    for group in special.values():
        pool += group[:1]
    if ref.sessions_has_break(sessions[0], sessions[-1]):
        pool.append(next(s for s in rng.sample(list(sessions), len(sessions)) if ref.session_has_break(s)))
    days = {p.date() for p in pool}
    # Holidays and weekends: the non-sessions themselves.
    off = list(pd.date_range(sessions[0], sessions[-1]).difference(sessions))
    if off:
        days.update(d.date() for d in rng.sample(off, min(2, len(off))))
    days.update(s.date() for s in rng.sample(list(sessions), max(1, REPORT_DATES - len(days))))
    return sorted(days)


def _check_session_blocks(code: str, store: Path, rng: random.Random) -> tuple[list[Mismatch], int]:
    ref = xcals.get_calendar(code)
    after = datetime(2028, 1, 2, tzinfo=UTC).timestamp()
    mismatches = []
    days = _report_dates(ref, rng)
    for day in days:
        block = build_report(store, day, code, now=after).to_json()["session"]
        stamp = pd.Timestamp(day)
        ours = {
            k: block[k]
            for k in ("is_trading_day", "open", "close", "early_close", "break_start", "break_end")
        }
        ours = {k: (datetime.fromisoformat(v) if isinstance(v, str) else v) for k, v in ours.items()}
        if ref.is_session(stamp):
            bs, be = ref.session_break_start(stamp), ref.session_break_end(stamp)
            expected = {
                "is_trading_day": True,
                "open": ref.session_open(stamp).to_pydatetime(),
                "close": ref.session_close(stamp).to_pydatetime(),
                "early_close": stamp in ref.early_closes,
                "break_start": None if pd.isna(bs) else bs.to_pydatetime(),
                "break_end": None if pd.isna(be) else be.to_pydatetime(),
            }
        else:
            expected = dict.fromkeys(ours, None)
            expected.update(is_trading_day=False, early_close=False)
        if ours != expected:
            mismatches.append(Mismatch("report session block", day.isoformat(), ours, expected))
    return mismatches, len(days)


@pytest.mark.parametrize("code", CODES)
def test_gate_and_session_block_agree_with_exchange_calendars(code: str, any_day_store: Path) -> None:
    rng = random.Random(f"{SEED}-{code}")
    mismatches, n_instants = _check_gate(code, rng)
    more, n_days = _check_session_blocks(code, any_day_store, rng)
    mismatches += more
    shown = "\n  ".join(str(m) for m in mismatches[:20])
    assert not mismatches, (
        f"{code}: {len(mismatches)} mismatches in {n_instants} instants x 2 data ages and {n_days} "
        f"report dates (seed {SEED}):\n  {shown}"
    )


def test_every_shipped_calendar_is_covered() -> None:
    assert len(CODES) >= 71
    assert len(set(CODES)) == len(CODES)
    # The window reaches 2019 on every calendar that existed then.
    late = [c for c in CODES if xcals.get_calendar(c).first_session > START + timedelta(days=7)]
    assert set(late) <= {"XSAU", "AIXK"}, late
