"""Alive but idle: the signal cadence a loop is expected to keep during RTH, and the session
hours that passed below it (issue ``NO_SIGNALS``, docs/CONTRACT.md §4).

A loop can beat every minute and trade nothing (a strategy stuck on a bad state, a symbol
list gone empty): heartbeats alone call it healthy. So each session is cut into **session
hours** — consecutive 60-minute stretches of RTH time from the open; a lunch break is skipped,
so an hour may straddle it, and the last one may be shorter — and each hour that has passed is
judged:

- it **qualifies** when the loop was up for at least ``MIN_UP_FRACTION`` of it and the gate
  refused no data in it (stale, previous session, future: ``STALE_DATA``/``TIMING_ANOMALY``
  explain those hours, and no signal is expected then); hours shorter than
  ``MIN_HOUR_SECONDS`` of RTH (a session's last half hour and less) are not judged;
- it is **below** when it qualifies and its RTH signals are fewer than the expected cadence,
  scaled to the hour's length.

The expected cadence is ``MonitorConfig(min_signals_per_hour=...)`` when the loop set it (0
turns the check off), else **learned** from the loop's own last ``LOOKBACK_SESSIONS``
sessions: the rate that 90% of their qualifying hours reached, halved and rounded down. It is
learned only from at least ``MIN_LEARN_HOURS`` qualifying hours; a loop whose quiet hours are
usual (the 10th percentile is below 2 an hour) is expected nothing.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from health import intervals as iv
from health.calendar import Session
from health.gate import FUTURE, PREVIOUS_SESSION, STALE
from store.records import GateRecord

HOUR = 3600.0
MIN_HOUR_SECONDS = 30 * 60  # a shorter last stretch of a session is not judged
MIN_UP_FRACTION = 0.9  # up this share of an hour, or the hour is a gap's, not idleness
LOOKBACK_SESSIONS = 10
MIN_LEARN_HOURS = 12  # about two full NYSE sessions
LEARN_PERCENTILE = 0.10
DATA_REFUSALS = frozenset({STALE, PREVIOUS_SESSION, FUTURE})


@dataclass(frozen=True)
class Cadence:
    """The fewest signals a session hour is expected to hold."""

    per_hour: float
    origin: str  # "config" (MonitorConfig.min_signals_per_hour) or "learned"
    sessions: int = 0  # learned from this many sessions ...
    hours: int = 0  # ... and this many qualifying hours of them

    def expected(self, rth_seconds: float) -> float:
        return self.per_hour * rth_seconds / HOUR

    def describe(self) -> str:
        if self.origin == "config":
            return f"{self.per_hour:g}/h (MonitorConfig.min_signals_per_hour)"
        if self.per_hour <= 0:
            return f"none expected: quiet hours are usual for this loop (learned from {self.hours} hours)"
        return f"{self.per_hour:g}/h (learned from {self.hours} hours of {self.sessions} sessions)"


@dataclass(frozen=True)
class SessionHour:
    start: float  # wall clock: the hour's first RTH instant
    end: float  # ... and its end (after the break, for an hour that straddles it)
    parts: tuple[tuple[float, float], ...]  # its RTH intervals
    rth_seconds: float  # the parts' total, kept: a period judges each hour twice (report, lookbacks)


@dataclass(frozen=True)
class HourJudgement:
    start: float
    end: float
    rth_seconds: float
    signals: int
    up_seconds: float
    refused: int  # gate decisions that refused the loop's data in this hour
    expected: float | None  # the cadence scaled to the hour; None when no cadence is known

    @property
    def qualifies(self) -> bool:
        return hour_qualifies(self.rth_seconds, self.up_seconds, self.refused)

    @property
    def rate(self) -> float:
        return hour_rate(self.signals, self.rth_seconds)

    @property
    def below(self) -> bool:
        return self.qualifies and self.expected is not None and self.signals < self.expected


@dataclass(frozen=True)
class CadenceFacts:
    """One loop's day, as the report shows it (``SourceAnalysis.cadence``)."""

    cadence: Cadence | None
    hours: tuple[HourJudgement, ...]  # the hours of the day's session that have passed

    @property
    def below(self) -> tuple[HourJudgement, ...]:
        return tuple(h for h in self.hours if h.below)

    @property
    def latest(self) -> HourJudgement | None:
        return self.hours[-1] if self.hours else None


@functools.lru_cache(maxsize=1024)
def session_hours(session: Session) -> tuple[SessionHour, ...]:
    """Consecutive hours of RTH time from the open (the break skipped); the last may be short.
    Kept per session: a period asks for each session's hours again for every day whose
    cadence it learns from it."""
    out: list[SessionHour] = []
    parts: list[tuple[float, float]] = []
    need = HOUR
    for start, end in session.rth_intervals():
        cursor = start
        while cursor < end:
            step = min(need, end - cursor)
            parts.append((cursor, cursor + step))
            cursor += step
            need -= step
            if need <= 0:
                out.append(SessionHour(parts[0][0], parts[-1][1], tuple(parts), iv.total(parts)))
                parts, need = [], HOUR
    if parts:
        out.append(SessionHour(parts[0][0], parts[-1][1], tuple(parts), iv.total(parts)))
    return tuple(out)


def hour_qualifies(rth_seconds: float, up_seconds: float, refused: int) -> bool:
    """Whether an hour is judged at all (module docstring): long enough, up enough, and no
    data refused in it."""
    return rth_seconds >= MIN_HOUR_SECONDS and up_seconds >= MIN_UP_FRACTION * rth_seconds and refused == 0


def hour_rate(signals: int, rth_seconds: float) -> float:
    """An hour's signals per hour of RTH."""
    return signals * HOUR / rth_seconds if rth_seconds else 0.0


def judge_hours(
    session: Session,
    until: float,
    signals: Iterable[tuple[float, int]],
    up: Sequence[tuple[float, float]],
    gate: Iterable[GateRecord],
    cadence: Cadence | None,
) -> tuple[HourJudgement, ...]:
    """Every session hour that ended by ``until``. ``signals`` are (time, count) pairs — one
    per signal, or per minute of a count — ``up`` is merged and sorted (when the loop was up)."""
    per_hour = cadence.per_hour if cadence is not None and cadence.per_hour > 0 else None
    return tuple(
        HourJudgement(
            h.start, h.end, rth, n, up_s, refused, None if per_hour is None else cadence.expected(rth)
        )
        for h, rth, n, up_s, refused in _hour_facts(session, until, signals, up, gate)
    )


def _hour_facts(
    session: Session,
    until: float,
    signals: Iterable[tuple[float, int]],
    up: Sequence[tuple[float, float]],
    gate: Iterable[GateRecord],
) -> list[tuple[SessionHour, float, int, float, int]]:
    """(hour, RTH seconds, signals, up seconds, refusals) of every session hour that ended by
    ``until``: what ``judge_hours`` says of each, and all ``session_rates`` reads (a period
    learns from every session of its lookbacks: no judgement objects for those)."""
    hours = [h for h in session_hours(session) if h.end <= until]
    if not hours:
        return []
    counts = _Counts(signals)
    refusals = [g for g in gate if not g.allowed and g.code in DATA_REFUSALS]
    up = list(up)
    up_starts = [s for s, _ in up]
    out = []
    for h in hours:
        parts = h.parts
        n = counts.between(*parts[0]) if len(parts) == 1 else sum(counts.between(s, e) for s, e in parts)
        rth = h.rth_seconds
        i = bisect.bisect_right(up_starts, h.start) - 1
        # One up interval holding the whole hour: its intersection is the hour's parts.
        whole = i >= 0 and up[i][1] >= h.end
        up_s = rth if whole else iv.total(iv.intersect(list(parts), up))
        refused = (
            sum(g.count for g in refusals if g.first_at < h.end and g.last_at >= h.start) if refusals else 0
        )
        out.append((h, rth, n, up_s, refused))
    return out


class _Counts:
    """(time, count) pairs, summed over [lo, hi) by bisection."""

    def __init__(self, pairs: Iterable[tuple[float, int]]) -> None:
        ordered = sorted(pairs)
        self.times = [t for t, _ in ordered]
        self.cum = [0, *itertools.accumulate(n for _, n in ordered)]

    def between(self, lo: float, hi: float) -> int:
        return self.cum[bisect.bisect_left(self.times, hi)] - self.cum[bisect.bisect_left(self.times, lo)]


def qualifying_rates(hours: Iterable[HourJudgement]) -> tuple[float, ...]:
    """What the learning reads of one past session (judged without a cadence): the rates of
    its qualifying hours. A period keeps them per session, for every lookback that holds it
    (health/period_cadence.py)."""
    return tuple(h.rate for h in hours if h.qualifies)


def session_rates(
    session: Session,
    until: float,
    signals: Iterable[tuple[float, int]],
    up: Sequence[tuple[float, float]],
    gate: Iterable[GateRecord],
) -> tuple[float, ...]:
    """One past session's ``qualifying_rates``, judged as ``judge_hours`` judges it."""
    return tuple(
        hour_rate(n, rth)
        for _, rth, n, up_s, refused in _hour_facts(session, until, signals, up, gate)
        if hour_qualifies(rth, up_s, refused)
    )


def learn(history: Sequence[tuple[HourJudgement, ...]]) -> Cadence | None:
    """The cadence learned from past sessions' hours (each judged without a cadence); None
    when they hold too few qualifying hours to say."""
    return learn_from_rates([qualifying_rates(hours) for hours in history])


def learn_from_rates(per_session: Sequence[Sequence[float]]) -> Cadence | None:
    """``learn``, from each past session's ``qualifying_rates``."""
    rates = sorted(itertools.chain.from_iterable(per_session))
    if len(rates) < MIN_LEARN_HOURS:
        return None
    sessions = sum(1 for session in per_session if session)
    p = rates[int(LEARN_PERCENTILE * len(rates))]
    return Cadence(float(math.floor(p / 2)), "learned", sessions, len(rates))
