"""In-process hang detection: the monitor's own background thread notices a loop thread that has
stopped calling, without systemd (docs/CONTRACT.md §4, NO_ACTIVITY).

A hung loop cannot report itself, but its process can: this thread wakes every few seconds,
and when the loop has made no call for longer than ``max_uptime_gap_minutes`` *of RTH* it
raises ``NO_ACTIVITY`` through the monitor's alert path (``alert_callback`` and the store),
once, and resolves it when a call arrives again. The silence is measured in RTH time, the
way the report measures a gap (health/analysis.py): a loop that pauses for the night, a
holiday or a lunch break (the gate refuses then) is not hung, and nothing fires outside RTH.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from health.calendar import MarketCalendar
from health.durations import fmt_duration, fmt_limit

log = logging.getLogger("production_health")

MAX_PERIOD_SECONDS = 30.0  # the longest a hang goes unnoticed past its limit
MAX_LOOKBACK_SECONDS = 31 * 86400  # a silence longer than this is long enough to say so


def rth_seconds_between(calendar: MarketCalendar, start: float, end: float) -> float:
    """Seconds of RTH (breaks cut out) in [start, end), on whatever sessions lie between."""
    if end <= start:
        return 0.0
    start = max(start, end - MAX_LOOKBACK_SECONDS)
    return sum((hi - lo for lo, hi, _ in calendar.rth_parts(start, end)), 0.0)


def check_period(check_interval_seconds: float, max_gap_seconds: float) -> float:
    """How often the thread looks: a fraction of the limit, never more than 30 s."""
    return max(0.01, min(MAX_PERIOD_SECONDS, check_interval_seconds, max_gap_seconds / 4))


class HangWatch:
    """The state machine and its thread. ``check()`` is one look, with the monitor's clock
    (tests call it directly with an injected clock); the thread calls it every ``period``."""

    def __init__(
        self,
        calendar: MarketCalendar,
        max_gap_seconds: float,
        period: float,
        now: Callable[[], float],
        last_call: Callable[[], float],
        fire: Callable[[str, float], None],
        resolve: Callable[[str, float], None],
        status: Callable[[str], None] | None = None,
        name: str = "health-hang",
        started: float | None = None,
    ) -> None:
        self.calendar = calendar
        self.max_gap = max_gap_seconds
        self.period = period
        self._now = now
        self._last_call = last_call
        self._fire = fire
        self._resolve = resolve
        self._status = status
        self._name = name
        self.started = started
        self.firing_since: float | None = None  # the last call before the hang, while firing
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(self.period):
            try:
                self.check()
            except Exception:  # a clock that raises, a calendar out of range: look again later
                log.debug("health hang check failed", exc_info=True)

    def check(self) -> str | None:
        """One look: "firing", "resolved" or None (nothing changed)."""
        now = self._now()
        if self.started is None:
            self.started = now
        last = max(self._last_call(), self.started)
        if self.firing_since is not None:
            if last > self.firing_since:
                self.firing_since = None
                self._resolve(
                    f"the loop calls again (last call {self.calendar.fmt(last, '%H:%M:%S %Z')})", now
                )
                if self._status:
                    self._status("calls resumed")
                return "resolved"
            return None
        if not self.calendar.is_open(now):
            return None  # closed, a holiday, a break: never hung then
        silent = rth_seconds_between(self.calendar, last, now)
        if silent <= self.max_gap:
            return None
        self.firing_since = last
        message = (
            f"no call from the loop for {fmt_duration(silent)} of RTH (limit {fmt_limit(self.max_gap)}); "
            f"last call {self.calendar.fmt(last, '%a %H:%M:%S %Z')}; its process is alive: "
            "the loop's thread is hung or stuck"
        )
        self._fire(message, now)
        if self._status:
            self._status(f"HUNG: {message}")
        return "firing"
