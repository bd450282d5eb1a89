"""The drift between two runs over a period (``check-production-health --compare NAME``):
per day, the signals one run generated that the other did not, and what the other's gate said
at that moment — what was tested and what ran, side by side.

Signals match on their symbol and minute (a backtest stamps a bar's close, production the
moment it acted: the same bar falls in the same minute). An unmatched signal is explained by the
other run's recorded gate decisions around it (its buckets: docs/ARCHITECTURE.md): refused, and
why; allowed, so the strategies differed; or no gate call at all, the other run not running.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from health.analysis import window
from health.calendar import MarketCalendar
from store.reader import StoreReader
from store.records import GateRecord, SignalRecord

NOT_RUNNING = "not_running"  # the other run made no gate call then
ALLOWED = "allowed"  # the other run's gate allowed it: its strategy made no such signal


@dataclass(frozen=True)
class Drift:
    """A signal of one run (``run``) without its match in the other, and the other's gate then."""

    run: str
    at: float
    symbol: str
    data_ts: float
    other_code: str  # a gate reason code, ALLOWED or NOT_RUNNING
    other_reason: str


@dataclass(frozen=True)
class DayDrift:
    day: date
    signals_a: int
    signals_b: int
    drifts: tuple[Drift, ...]


@dataclass(frozen=True)
class Run:
    """One side of the comparison: a loop of a store."""

    reader: StoreReader
    source: str
    name: str  # as the user named it


@dataclass(frozen=True)
class Comparison:
    a: str
    b: str
    start: date
    end: date
    calendar: str
    tz: object
    days: tuple[DayDrift, ...]

    @property
    def drifted_days(self) -> tuple[DayDrift, ...]:
        return tuple(d for d in self.days if d.drifts)

    def by_code(self) -> dict[str, int]:
        return dict(
            sorted(Counter(f"{x.run} only, {x.other_code}" for d in self.days for x in d.drifts).items())
        )


def compare_runs(a: Run, b: Run, calendar: MarketCalendar, start: date, end: date, now: float) -> Comparison:
    days = []
    day = start
    while day <= end:
        lo, hi, _ = window(day, calendar, now)
        sa = a.reader.signals(lo, hi, a.source)
        sb = b.reader.signals(lo, hi, b.source)
        drifts = _unmatched(a.name, sa, sb, b, lo, hi) + _unmatched(b.name, sb, sa, a, lo, hi)
        days.append(DayDrift(day, len(sa), len(sb), tuple(sorted(drifts, key=lambda x: x.at))))
        day += timedelta(days=1)
    return Comparison(a.name, b.name, start, end, calendar.code, calendar.tz, tuple(days))


def _key(s: SignalRecord) -> tuple[str, int]:
    return s.symbol, int(s.at // 60)


def _unmatched(
    name: str, mine: list[SignalRecord], theirs: list[SignalRecord], other: Run, lo: float, hi: float
) -> list[Drift]:
    left = Counter(_key(s) for s in theirs)
    out: list[Drift] = []
    gate: list[GateRecord] | None = None
    for s in mine:
        k = _key(s)
        if left[k] > 0:
            left[k] -= 1
            continue
        if gate is None:  # read only on a day that drifted
            gate = other.reader.gate(lo, hi, other.source)
        code, reason = _gate_then(gate, s.at)
        out.append(Drift(name, s.at, s.symbol, s.data_ts, code, reason))
    return out


def _gate_then(gate: list[GateRecord], t: float) -> tuple[str, str]:
    """What the other run's gate said at ``t``: its decisions spanning ``t`` (a refusal when
    only refusals span it; when both did, the narrower record's), else the nearest within the
    minute either side (a bar's close against the moment production acted), else none."""
    spanning = [g for g in gate if g.first_at <= t <= g.last_at]
    if spanning:
        refused = [g for g in spanning if not g.allowed]
        g = min(refused, key=lambda g: g.last_at - g.first_at) if refused else None
        allowed = [a for a in spanning if a.allowed]
        if allowed and (g is None or min(a.last_at - a.first_at for a in allowed) < g.last_at - g.first_at):
            g = None
        if g is not None:
            return g.code, g.last_reason
        return ALLOWED, "its gate allowed signals then: its strategy made none"
    near = [g for g in gate if g.first_at - 60 < t < g.last_at + 60]
    if near:
        g = min(near, key=lambda g: g.first_at - t if t < g.first_at else t - g.last_at)
        if g.allowed:
            return ALLOWED, "its gate allowed signals then: its strategy made none"
        return g.code, g.last_reason
    return NOT_RUNNING, "no gate call recorded then: the run was not running"
