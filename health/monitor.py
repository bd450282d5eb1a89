"""ProductionMonitor: the recorder hook that lives inside the trading loop.

Costs the loop next to nothing and never breaks it: the gate is float comparisons against the
cached session, recording is a deque append, the disk and the alert sinks are served by
background threads, and nothing the store or a sink does can raise into the caller.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import time
import weakref
from datetime import datetime
from time import monotonic as _monotonic

from health.alert_delivery import AlertDelivery
from health.alerts import Alert
from health.calendar import MarketCalendar, get_calendar
from health.calendar_record import record_calendar
from health.codes import IssueCode
from health.config import MonitorConfig
from health.durations import fmt_duration, fmt_limit
from health.gate import CLOSED, FUTURE, OK, PREVIOUS_SESSION, STALE, Gate
from health.hang import HangWatch, check_period
from health.run_identity import run_info
from health.sdnotify import SdNotifier, SystemdEnv
from health.timestamps import clock_epoch, resolve_tz, to_epoch
from store.events import ALERT, GATE, SIGNAL
from store.null_recorder import NullRecorder
from store.paths import keeps_nothing, run_store_path
from store.recorder import Recorder, RunInfo

log = logging.getLogger("production_health")

_LIVE: weakref.WeakSet[ProductionMonitor] = weakref.WeakSet()
# Checked on every record_signal: an Enum class attribute costs ~50 ns on Python 3.11, a module
# global a few (bench/recorder.py, sustained throughput).
_AFTER_HOURS = IssueCode.AFTER_HOURS_SIGNALS

# How the store aggregates the gate's decisions: one row per reason code and 5 minutes, per
# hour for "market closed" (the bulk, outside RTH). The recorder applies the rule.
GATE_BUCKET_SECONDS = 300
CLOSED_BUCKET_SECONDS = 3600


def gate_bucket_seconds(code: str) -> int:
    return CLOSED_BUCKET_SECONDS if code == CLOSED else GATE_BUCKET_SECONDS


class ProductionMonitor:
    """See docs/CONTRACT.md §2. Thread-safe for a single loop thread plus the background threads."""

    def __init__(self, config: MonitorConfig | None = None) -> None:
        self.config = config = config or MonitorConfig()
        self.calendar: MarketCalendar = get_calendar(config.calendar)
        # Named before the loop needs them: the first refusal on a holiday is a dict look-up.
        self.calendar.load_holiday_names()
        self.naive_tz = resolve_tz(config.naive_timezone or self.calendar.tz)
        self.gate = Gate(self.calendar, config.max_data_age_seconds, config.future_tolerance_seconds)
        self._tolerance = float(config.future_tolerance_seconds)
        self.source = config.source
        self.backtest = config.backtest
        self.store_path = run_store_path(config.store_path, config.backtest, config.source)
        self._clock = config.clock
        self._now = time.time if config.clock is None else self._injected_now
        self._last_now: float | None = None
        self._firing: dict[IssueCode, Alert] = {}
        self._closed = False
        # A backtest is no process to supervise: no systemd, no hang watch, and no alerts
        # unless the caller asks for them (README, "Backtests").
        self._systemd = SystemdEnv(None, None, None, None) if self.backtest else SystemdEnv.read()
        self._quiet = self.backtest and config.alert_callback is None
        if keeps_nothing(config.store_path):
            self.recorder = NullRecorder(self._run_info())
        else:
            self.recorder = Recorder(
                self.store_path,
                self._run_info(),
                flush_interval=config.flush_interval_seconds,
                max_pending=config.max_buffered_events,
                gate_bucket=gate_bucket_seconds,
                on_failure=self._store_failed,
                on_recover=self._store_recovered,
                start=False,  # its callbacks need the alert delivery and queue wired below
            )
        # The readers answer from the sessions the gate uses, recorded in the store by the
        # writer thread after the loop's first events (docs/ARCHITECTURE.md).
        record_calendar(self.recorder, self.calendar)
        self._put = self.recorder.put
        self._beat = self.recorder.beat
        self._evaluate = self.gate.evaluate
        self._delivery = AlertDelivery(config.alert_callback, f"health-alerts-{self.source}")
        self.recorder.start()  # wired: a store failing from now on is an alert (_store_failed)
        self._sd: SdNotifier | None = None
        self.hang = self._hang_watch()
        if not self.backtest:
            self._start_notify()
            self.hang.start()
        _LIVE.add(self)

    def _injected_now(self) -> float:
        """The injected clock's time. A clock that raises or returns no valid time is the
        caller's bug, like a bad timestamp: ValueError/TypeError, nothing recorded for the
        call (README, "Inside your trading loop")."""
        try:
            value = self._clock()
        except Exception as exc:
            raise ValueError(f"MonitorConfig.clock() raised {type(exc).__name__}: {exc}") from exc
        self._last_now = now = clock_epoch(value)
        return now

    def _run_info(self) -> RunInfo:
        return run_info(
            self.config,
            store_path=self.store_path,
            tz_name=self.calendar.tz_name,
            systemd=self._systemd.record(),
            started_at=self._now(),
        )

    def __repr__(self) -> str:
        return f"ProductionMonitor(source={self.source!r}, calendar={self.calendar.code!r}, store={str(self.store_path)!r})"

    # -- the loop's API ---------------------------------------------------------------------
    def should_generate_signals(self, data_timestamp: object) -> tuple[bool, str]:
        now = self._now()
        # Bad input is the caller's bug: raise. A naive time a DST change makes ambiguous is
        # read by this clock (health/timestamps.py).
        data_ts = to_epoch(data_timestamp, self.naive_tz, now + self._tolerance)
        try:
            allowed, code, reason, age = self._evaluate(now, data_ts)
        except Exception as exc:  # fail closed, never crash the loop
            log.exception("health gate failed")
            return False, f"health gate error: {exc}"
        self._put((GATE, now, allowed, code, reason, age, data_ts))
        # A loop that asks the gate is alive, whatever the answer: in the contract's snippet
        # a refusal skips record_activity(), and a stale feed must not read as a dead loop.
        self._beat(now)
        if code != OK:
            if code in (STALE, PREVIOUS_SESSION):
                self._fire(IssueCode.STALE_DATA, reason, now)
            elif code == FUTURE:
                self._fire(IssueCode.TIMING_ANOMALY, reason, now)
        elif self._firing:
            self._resolve_data_alerts(now)
        return allowed, reason

    def record_activity(self) -> None:
        self._beat(self._now())

    def record_signal(self, symbol: object, data_timestamp: object, **details: object) -> None:
        now = self._now()
        data_ts = to_epoch(data_timestamp, self.naive_tz, now + self._tolerance)
        text = symbol if type(symbol) is str else _symbol_text(symbol)
        try:
            payload = json.dumps(details, default=str) if details else None
        except Exception as exc:  # a default=str that raises, a cycle, deep nesting
            payload = json.dumps({"unserialisable_details": f"{type(exc).__name__}: {exc}"})
        self._put((SIGNAL, now, text, data_ts, payload))
        if not self.gate.in_rth(now):
            if _AFTER_HOURS in self._firing:
                return  # already firing: no message to format on every after-hours signal
            self._fire(
                _AFTER_HOURS,
                f"signal for {text:.40} generated outside RTH at {self.calendar.fmt(now)}",
                now,
            )
        elif _AFTER_HOURS in self._firing:
            self._resolve(_AFTER_HOURS, "signals generated during RTH again", now)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything recorded so far is in the store and alerts are delivered."""
        ok = self.recorder.flush(timeout)
        self._delivery.drain(timeout)
        return ok

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.hang.stop()
        try:
            try:
                stopped = self._now()
            except (TypeError, ValueError):  # a failing injected clock: its last good time
                stopped = self._last_now if self._last_now is not None else time.time()
            self.recorder.mark_stopped(stopped)
            if self._sd is not None:
                self._sd.stopping("stopping: close() called")
                self._sd.close()
            # A store already failing gets one short last try: exit must not hang on it.
            self.recorder.close(timeout=1.0 if self.recorder.failed else 5.0)
        except Exception:
            log.exception("health monitor: error while closing")
        self._delivery.drain(2.0)
        self._delivery.stop()
        _LIVE.discard(self)

    def abandon(self) -> None:
        """For simulations and tests: write what was recorded, then stop as if the process
        had died — no clean stop is recorded, so the analysis sees an unclean exit."""
        if self._closed:
            return
        self._closed = True
        self.hang.stop()
        self.recorder.close()
        self._delivery.stop()
        _LIVE.discard(self)

    def __enter__(self) -> ProductionMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- in-process alerts ------------------------------------------------------------------
    def _fire(self, code: IssueCode, message: str, now: float) -> None:
        if code in self._firing or self._quiet:
            return
        alert = self._alert(code, message, now, resolved=False)
        self._firing[code] = alert
        self._emit(alert)

    def _resolve(self, code: IssueCode, message: str, now: float) -> None:
        if self._firing.pop(code, None) is None:
            return
        self._emit(self._alert(code, message, now, resolved=True))

    def _resolve_data_alerts(self, now: float) -> None:
        for code in (IssueCode.STALE_DATA, IssueCode.TIMING_ANOMALY):
            if code in self._firing:
                self._resolve(code, "the gate accepts the data again: fresh and in time", now)

    def _alert(self, code: IssueCode, message: str, now: float, resolved: bool) -> Alert:
        return Alert(
            severity=code.severity,
            code=code,
            message=message,
            at=datetime.fromtimestamp(now, self.calendar.tz),
            source=self.source,
            resolved=resolved,
        )

    def _emit(self, alert: Alert) -> None:
        self._put(
            (
                ALERT,
                alert.at.timestamp(),
                alert.code,
                alert.severity,
                alert.message,
                int(alert.resolved),
                None,
            )
        )
        self._delivery.submit(alert)

    def _store_failed(self, message: str) -> None:
        now = time.time()
        self._fire(IssueCode.STORE_ERROR, message, now)

    def _store_recovered(self, message: str) -> None:
        self._resolve(IssueCode.STORE_ERROR, message, time.time())

    def _after_fork_in_child(self) -> None:
        self._firing = {}
        # The child is not the process systemd supervises (NotifyAccess=main): it never notifies.
        self._sd = None
        self._systemd = SystemdEnv(None, None, None, None)
        self.recorder.reset_after_fork(self._run_info())
        self._put = self.recorder.put
        self._beat = self.recorder.beat
        # The parent's thread did not come through the fork: the child delivers its own.
        self._delivery = AlertDelivery(self.config.alert_callback, f"health-alerts-{self.source}")
        self.hang = self._hang_watch()  # the parent's thread did not survive the fork
        if not self.backtest:
            self.hang.start()

    # -- in-process hang detection (health/hang.py) ------------------------------------------
    def _hang_watch(self) -> HangWatch:
        config = self.config
        return HangWatch(
            self.calendar,
            config.max_gap_seconds,
            check_period(float(config.check_interval_seconds), config.max_gap_seconds),
            now=self._now,
            last_call=lambda: self.recorder.last_beat,
            fire=lambda message, now: self._fire(IssueCode.NO_ACTIVITY, message, now),
            resolve=lambda message, now: self._resolve(IssueCode.NO_ACTIVITY, message, now),
            status=self._sd_status,
            name=f"health-hang-{self.source}",
            started=self.recorder.run.started_at,
        )

    def _sd_status(self, text: str) -> None:
        """STATUS= only: a background thread never sends WATCHDOG=1 (health/sdnotify.py)."""
        sd = self._sd
        if sd is not None:
            sd.status(f"{self.source}: {text}")

    # -- systemd (health/sdnotify.py) --------------------------------------------------------
    def _start_notify(self) -> None:
        """READY=1 under a Type=notify unit; with WatchdogSec=, the loop's heartbeats ping.

        Only then is ``_beat`` replaced: the pinging heartbeat adds one monotonic-time
        comparison to the loop's calls; without systemd's watchdog they are unchanged."""
        self._sd = SdNotifier.from_env()
        if self._sd is None:
            return
        self._sd.ready(f"ready: {self.source} on {self.calendar.code}, recording to {self.store_path}")
        if self._sd.watchdog:
            self._beat = self._beat_and_ping

    def _beat_and_ping(self, t: float) -> None:
        self.recorder.beat(t)
        if _monotonic() >= self._sd.due:
            self._sd.ping(self.status_line())

    def status_line(self) -> str:
        """One line for `systemctl status`: the last signal and the age of the data the gate
        saw last, from what the recorder's writer has seen (it lags by at most a flush)."""
        latest = self.recorder.latest
        parts = []
        sig = latest.get(SIGNAL)
        if sig is not None:
            parts.append(f"last signal {sig[2]:.20} at {self.calendar.fmt(sig[1], '%H:%M:%S %Z')}")
        else:
            parts.append("no signal yet")
        gate = latest.get(GATE)
        if gate is not None:
            age = max(0.0, gate[1] - gate[6])
            parts.append(
                f"data age {fmt_duration(age)} (limit {fmt_limit(self.config.max_data_age_seconds)})"
            )
        return f"{self.source}: " + "; ".join(parts)


def _symbol_text(symbol: object) -> str:
    try:
        return str(symbol)
    except Exception as exc:
        raise TypeError(f"symbol {type(symbol).__name__} cannot be converted to text: {exc}") from exc


def _close_all() -> None:
    for monitor in list(_LIVE):
        monitor.close()


def _after_fork() -> None:
    for monitor in list(_LIVE):
        try:
            monitor._after_fork_in_child()
        except Exception:
            log.exception("health monitor: could not restart after fork")


atexit.register(_close_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)
