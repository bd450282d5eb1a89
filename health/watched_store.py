"""One store as the watchdog sees it: its reader (reopened when the file is replaced), the
calendar its loops recorded, its alert engine and alert log, and what its last evaluation saw
for the metrics. The watchdog (health/watchdog.py) holds one per ``--store`` and runs them in
turn, so a store that cannot be read is that store's STORE_ERROR, never another's silence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from health.alert_engine import AlertEngine, Transition
from health.alerts import Condition, evaluate_conditions
from health.calendar_record import calendar_for
from health.codes import IssueCode
from health.live import take_snapshot
from health.readiness import READY_MINUTES, ReadinessResult, check_readiness, due_session
from health.readiness import lines as readiness_lines
from health.sinks import ReadinessNotice
from store.alert_log import AlertLog
from store.paths import file_identity
from store.reader import StoreReader, StoreUnavailable

RESTORE_SECONDS = 7 * 86400


class WatchedStore:
    def __init__(
        self,
        store: Path,
        calendar_code: str | None,
        clock: Callable[[], float] = time.time,
        say: Callable[[str], None] = print,
        metrics: bool = False,
        *,
        environ=None,
        ready_minutes: float | None = READY_MINUTES,
        submit: Callable[[object], None] = lambda item: None,
        label: str | None = None,
    ) -> None:
        """``ready_minutes``: the readiness check this long before each session (None: never);
        ``submit`` hands its readiness notice to the sinks; ``label`` names the store in its
        readiness lines when the watchdog watches several."""
        self.store = store
        self.environ = environ
        self.ready_minutes = ready_minutes
        self._ready_done: set[str] = set()  # sessions (YYYY-MM-DD) whose readiness was sent
        # health/readiness.py's hooks, replaced in tests: process, NTP, the sinks' probe
        self.readiness_hooks: dict = {}
        self.submit = submit
        self.label = label
        self.calendar_code = calendar_code
        self.clock = clock
        self.say = say
        self.metrics = metrics
        self.alert_log = AlertLog(self.store)
        self.engine: AlertEngine | None = None
        self.reader: StoreReader | None = None
        self._identity = None
        self.read_error: str | None = None  # "missing", or why the store cannot be read
        self.calendar = None
        self.counts = None  # health.metrics.StoreCounts of the open store file
        self.view = None  # health.metrics.StoreView: what the last evaluation saw

    # -- store ---------------------------------------------------------------------------
    def _open(self) -> StoreReader | None:
        ident = file_identity(self.store)
        if self.reader is not None and ident == self._identity and ident is not None:
            return self.reader
        self.close_reader()
        if ident is None:
            return None
        self.reader = StoreReader(self.store)
        self._identity = ident
        self.counts = None  # another file: its counts start afresh (a counter reset)
        return self.reader

    def close_reader(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None

    def _setup(self, reader: StoreReader) -> None:
        runs = reader.latest_runs()
        code = self.calendar_code or next(
            (r.config.get("calendar") for r in runs if r.config.get("calendar")), "XNYS"
        )
        self.calendar = calendar_for(reader, code, now=self.clock())  # as the loop recorded it
        repeat = min((float(r.config.get("repeat_interval_minutes", 60)) for r in runs), default=60.0) * 60
        flap = min((float(r.config.get("flap_seconds", 120)) for r in runs), default=120.0)
        self.engine = AlertEngine(repeat_interval=repeat, flap_seconds=flap, tz=self.calendar.tz)
        self._restore(reader)

    def _restore(self, reader: StoreReader) -> None:
        """Carry the state over a restart of the watchdog, so nothing is sent twice: what
        fires, what is held (recorded while muted, not paged yet), and when each condition last
        resolved (which ends the acks made before it)."""
        now = self.clock()
        latest = {}
        for a in reader.alerts(now - RESTORE_SECONDS, now + 1):
            if a.origin == "watchdog":
                latest[(a.source, a.code)] = a
                if a.resolved:
                    self.engine.restore((a.source, a.code), a.at, a.message, resolved_at=a.at)
        for key, a in latest.items():
            if not a.resolved:
                self.engine.restore(key, a.at, a.message, muted=a.muted)

    def interval_now(self) -> float | None:
        """The shortest heartbeat interval its loops recorded; None before it can be read."""
        if self.reader is None:
            return None
        runs = self.reader.latest_runs()
        return max(1.0, min((r.heartbeat_interval for r in runs), default=60.0))

    # -- one evaluation -------------------------------------------------------------------
    def tick(self) -> tuple[list[Transition], float]:
        """Evaluate the store; the transitions its engine decided and the instant of the look.
        The alert log records each transition; the caller hands them to the sinks."""
        try:
            reader = self._open()
            if reader is None:
                if self.read_error != "missing":
                    self.say(f"waiting for the health store {self.store} (a loop creates it)")
                    self.read_error = "missing"
                return [], self.clock()
            if self.engine is None:
                self._setup(reader)
            now = self.clock()
            snap = take_snapshot(reader, self.calendar, now)
            # A backtest in the store pages nobody (README, "Backtests"): its loop has no process.
            simulated = {x.source for x in snap.report.sources if x.backtest} if snap.report else set()
            conditions = [c for c in evaluate_conditions(snap) if c.source not in simulated]
            acks = reader.acks(now, now + 1)
            if self.metrics:
                self._count(reader)
            if self.read_error not in (None, "missing"):
                self.say(f"health store {self.store} readable again")
            self.read_error = None
            conditions.append(
                Condition("watchdog", IssueCode.STORE_ERROR, False, "the watchdog reads the store")
            )
            self._readiness(reader, now)
        except StoreUnavailable as exc:
            if self.read_error != str(exc):
                self.say(f"cannot read the health store: {exc}")
            self.read_error = str(exc)
            self.close_reader()
            if self.engine is None:
                return [], self.clock()
            now = self.clock()
            conditions = [
                Condition(
                    "watchdog", IssueCode.STORE_ERROR, True, f"the watchdog cannot read the store: {exc}"
                )
            ]
            snap = None
            acks = ()  # unreadable: the engine keeps the acks' effect on what already fires
        transitions = self.engine.step(conditions, now, bool(snap and snap.market.is_open), acks)
        if self.metrics:
            self._set_view(snap)
        return transitions, now

    # -- readiness before the open (health/readiness.py) ----------------------------------
    def _readiness(self, reader: StoreReader, now: float) -> ReadinessResult | None:
        """Once per session, within ``ready_minutes`` of its open: check, record, send."""
        if not self.ready_minutes:
            return None
        session = due_session(self.calendar, now, self.ready_minutes)
        if session is None:
            return None
        day = session.day.isoformat()
        if day in self._ready_done:
            return None
        self._ready_done.add(day)
        if any(status for _, status in reader.notices("readiness", day)):
            return None  # sent by this watchdog before a restart
        result = check_readiness(
            reader, self.calendar, now, session, environ=self.environ, **self.readiness_hooks
        )
        where = f" ({self.label})" if self.label else ""
        self.say(
            f"{datetime.fromtimestamp(now, self.calendar.tz).isoformat(timespec='seconds')} "
            f"{result.headline()}{where}"
        )
        for line in readiness_lines(result):
            self.say(f"  {line}")
        self.alert_log.record_notice(
            "readiness", self.calendar.code, day, now, result.status, json.dumps(result.to_json()["checks"])
        )
        tz = self.calendar.tz
        self.submit(
            ReadinessNotice(
                status=result.status,
                headline=result.headline() + where,
                calendar=self.calendar.code,
                session_open=datetime.fromtimestamp(session.open_ts, tz),
                at=datetime.fromtimestamp(now, tz),
                lines=tuple(readiness_lines(result)),
                checks=len(result.checks),
                warnings=bool(result.not_passed),
            )
        )
        return result

    @property
    def unreadable(self) -> str | None:
        """Why the store cannot be read now (a missing store is waited for, not an error)."""
        return None if self.read_error in (None, "missing") else self.read_error

    def firing(self) -> list[str]:
        return sorted(f"{code} ({source})" for source, code in (self.engine.firing() if self.engine else ()))

    # -- the Prometheus view (health/metrics.py) ------------------------------------------
    def _count(self, reader: StoreReader) -> None:
        from health.metrics import StoreCounts

        if self.counts is None:
            self.counts = StoreCounts()
        self.counts.update(reader)

    def _set_view(self, snap) -> None:
        from health.metrics import StoreView

        sources = set(self.view.sources if self.view is not None else ())
        if snap is not None:
            sources.update(s.source for s in snap.sources)
        if self.counts is not None:
            sources.update(self.counts.signals)
        firing = frozenset(self.engine.firing()) if self.engine is not None else frozenset()
        self.view = StoreView(
            store=str(self.store),
            calendar=self.calendar,
            snapshot=snap,
            counts=self.counts if snap is not None else None,
            firing=firing,
            sources=tuple(sorted(sources)),
        )

    def close(self) -> None:
        self.alert_log.close()
        self.close_reader()
