"""Alerts: what a condition of a loop is, and every condition read from the store.

- ``Alert`` is one transition, as the loop's ``alert_callback`` and the sinks receive it
  (docs/CONTRACT.md §2).
- ``evaluate_conditions`` reads every condition of every loop from a live snapshot of the store,
  so it works when the loop is dead; health/alert_engine.py keeps their state and decides which
  transitions reach people.
- ``RTH_ONLY`` conditions are muted outside the session, by the exchange calendar itself:
  holidays, early closes and lunch breaks included (health/alert_engine.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from health.codes import IssueCode, Severity
from health.durations import fmt_duration, fmt_limit
from health.gate import PREVIOUS_SESSION, STALE
from health.liveness import is_silent

if TYPE_CHECKING:  # the recorder hook imports Alert: it must not pay for the live view
    from health.live import LiveSnapshot

RTH_ONLY = frozenset(
    {IssueCode.NO_ACTIVITY, IssueCode.STALE_DATA, IssueCode.ZERO_RTH_COVERAGE, IssueCode.NO_SIGNALS}
)
# Conditions already debounced by their own threshold: sent as soon as they hold (a session
# hour for NO_SIGNALS, two check intervals of overlap for DUPLICATE_LOOP).
IMMEDIATE = frozenset(
    {
        IssueCode.NO_ACTIVITY,
        IssueCode.ZERO_RTH_COVERAGE,
        IssueCode.UNCLEAN_EXIT,
        IssueCode.STORE_ERROR,
        IssueCode.NO_SIGNALS,
        IssueCode.DUPLICATE_LOOP,
    }
)
ZERO_COVERAGE_AFTER = 15 * 60  # seconds after the open before 0% coverage pages
# Conditions that must hold on this many consecutive evaluations before they page: a process
# found gone is looked at again, fresh, before anyone is told it died.
CONFIRM = {IssueCode.UNCLEAN_EXIT: 2}
# A restart after a crash or a watchdog kill pages (UNCLEAN_EXIT) for this long after it.
RECENT_RESTART_SECONDS = 15 * 60


@dataclass(frozen=True)
class Alert:
    severity: Severity
    code: IssueCode
    message: str
    at: datetime
    source: str = "default"
    resolved: bool = False
    details: dict = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        state = "RESOLVED" if self.resolved else self.severity
        when = self.at.strftime("%Y-%m-%d %H:%M:%S %Z")
        message = " ".join(self.message.split())  # one line, whatever the message held
        return f"[{state}] {self.code} ({self.source}) {when}: {message}"


@dataclass(frozen=True)
class Condition:
    source: str
    code: IssueCode
    active: bool | None  # None: cannot be judged now (state is kept as it is)
    message: str
    first_step: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.code)


def evaluate_conditions(snap: LiveSnapshot) -> list[Condition]:
    """Every condition of every source, active or not, from one snapshot."""
    out: list[Condition] = []
    report = snap.report
    steps = {}
    by_source = {}
    if report is not None:
        for rec in report.recommendations:
            for issue in report.issues:
                if issue.code == rec.code and rec.steps:
                    steps.setdefault((issue.source, rec.code), rec.steps[0])
        by_source = {x.source: x for x in report.sources}
    tz = snap.tz

    def clock(ts: float | None) -> str:
        if ts is None:
            return "never"
        return datetime.fromtimestamp(ts, tz).strftime("%a %H:%M:%S %Z")

    session = snap.market.session
    for s in snap.sources:
        th = s.thresholds
        step = lambda code, _s=s: steps.get((_s.source, code))  # noqa: E731
        silent = is_silent(s.last_beat, snap.now, th.max_gap_seconds)
        where = f"pid {s.pid} on {s.host}" if s.pid else "the loop"
        proc = {True: "its process is alive (hung?)", False: "its process is gone", None: ""}[s.process_alive]
        out.append(
            Condition(
                s.source,
                IssueCode.NO_ACTIVITY,
                silent,
                f"no heartbeat for {fmt_duration(s.beat_age or 0)} (limit {fmt_limit(th.max_gap_seconds)}); "
                f"{where} last seen {clock(s.last_beat)}{'; ' + proc if proc else ''}",
                step(IssueCode.NO_ACTIVITY) or step(IssueCode.ZERO_RTH_COVERAGE),
            )
        )
        d = s.last_decision
        stale = bool(
            d is not None
            and d.code in (STALE, PREVIOUS_SESSION)
            and snap.now - d.last_at <= max(2 * th.check_interval_seconds, 120)
        )
        out.append(
            Condition(
                s.source,
                IssueCode.STALE_DATA,
                stale,
                f"the gate refuses stale data: {d.last_reason}" if d is not None else "stale data",
                step(IssueCode.STALE_DATA)
                or "Check the data feed: the newest data is older than the limit; the loop is not trading",
            )
        )
        out.append(
            Condition(
                s.source,
                IssueCode.AFTER_HOURS_SIGNALS,
                s.recent_after_hours > 0,
                f"{s.recent_after_hours} signals generated outside RTH in the last 15 minutes",
                step(IssueCode.AFTER_HOURS_SIGNALS)
                or "Generate signals only when should_generate_signals() returns True",
            )
        )
        dead = not s.clean_stop and (s.process_alive is False or (s.process_alive is None and silent))
        # On this host but not readable now (overload, permissions): not judged, never "gone".
        unclean = None if s.process_unseen and not s.clean_stop else bool(dead and s.pid is not None)
        message = f"{where} ended without a clean shutdown; last heartbeat {clock(s.last_beat)}"
        # A loop restarted by systemd is never found dead: its crash (or the watchdog's kill)
        # pages as a restart instead, for RECENT_RESTART_SECONDS (health/restarts.py).
        x = by_source.get(s.source)
        restarts = [
            r
            for r in (x.lifecycle.restarts if x is not None else ())
            if r.exit != "clean" and snap.now - r.at <= RECENT_RESTART_SECONDS
        ]
        if restarts and not unclean:
            unclean = True
            message = restarts[-1].describe(clock)
            if len(restarts) > 1:
                message = (
                    f"{len(restarts)} restarts in {fmt_duration(RECENT_RESTART_SECONDS)}; last {message}"
                )
        out.append(
            Condition(
                s.source,
                IssueCode.UNCLEAN_EXIT,
                unclean,
                message,
                step(IssueCode.UNCLEAN_EXIT),
            )
        )
        out.append(
            Condition(
                s.source,
                IssueCode.STORE_ERROR,
                s.store_error is not None,
                s.store_error or "the recorder writes the store again",
                "Check free disk and permissions where the store lives: diagnose-production",
            )
        )
        # Judged from 15 minutes into today's session until the next one; not on other days.
        zero = None
        if session is not None and x is not None and snap.now - session.open_ts >= ZERO_COVERAGE_AFTER:
            zero = x.uptime.rth_up_seconds <= 0
        out.append(
            Condition(
                s.source,
                IssueCode.ZERO_RTH_COVERAGE,
                zero,
                f"0% RTH coverage {fmt_duration(snap.now - session.open_ts) if session else ''} after the open",
                step(IssueCode.ZERO_RTH_COVERAGE),
            )
        )
        out.append(_no_signals(s.source, x, snap, clock, step(IssueCode.NO_SIGNALS)))
        duplicates = [d for d in x.lifecycle.duplicates if d.ongoing] if x is not None else []
        out.append(
            Condition(
                s.source,
                IssueCode.DUPLICATE_LOOP,
                None if x is None else bool(duplicates),
                f"two processes beat for this loop since {clock(duplicates[-1].start)}: {duplicates[-1].who()}"
                if duplicates
                else "one process beats for this loop",
                step(IssueCode.DUPLICATE_LOOP),
            )
        )
    return out


def _no_signals(source: str, x, snap: LiveSnapshot, clock, first_step: str | None) -> Condition:
    """The session hour that passed last, judged against the loop's cadence (health/cadence.py):
    judged only in RTH, and only an hour the loop was up for with the gate allowing — a dead
    loop or a stale feed is another condition's, and keeps this one as it stands."""
    latest = x.cadence.latest if x is not None and x.cadence is not None else None
    active = None
    message = "no session hour judged yet"
    if latest is not None and snap.market.is_open and latest.qualifies and latest.expected is not None:
        active = latest.below
        message = (
            f"idle: {latest.signals} signal(s) in the session hour {clock(latest.start)}–{clock(latest.end)} "
            f"while up and the gate allowing (expected {x.cadence.cadence.describe()})"
        )
    return Condition(source, IssueCode.NO_SIGNALS, active, message, first_step)
