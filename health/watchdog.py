"""The watchdog's engine: a dead loop cannot report its own death, so this reads the store from
outside every check interval, runs the alert engine (health/alerts.py) and hands what it
decides to the sinks in the environment (DISCORD_WEBHOOK_URL, HEALTH_WEBHOOK_URL). Transitions
and deliveries are recorded in the store (store/alert_log.py). One line per transition goes to
``say`` (stderr by default, the journal under systemd).

``health-console --watch`` (console/watch.py) parses the arguments, installs the signal handlers
and calls :meth:`Watchdog.run`.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime

from health.alert_engine import MARKET_CLOSED, AlertEngine, Transition
from health.alerts import Condition, evaluate_conditions
from health.calendar_record import calendar_for
from health.codes import IssueCode
from health.live import take_snapshot
from health.readiness import READY_MINUTES, ReadinessResult, check_readiness, due_session
from health.readiness import lines as readiness_lines
from health.sdnotify import SdNotifier
from health.sinks import CatchUpDigest, Notification, ReadinessNotice, SinkDispatcher
from store.alert_log import AlertLog
from store.paths import file_identity, resolve_store_path
from store.reader import StoreReader, StoreUnavailable

RESTORE_SECONDS = 7 * 86400

log = logging.getLogger("production_health")


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Watchdog:
    def __init__(
        self,
        store,
        calendar_code: str | None,
        interval: float | None,
        clock: Callable[[], float] = time.time,
        environ=None,
        say: Callable[[str], None] = _stderr_line,
        metrics: bool = False,
        deadman=None,
        ready_minutes: float | None = READY_MINUTES,
    ):
        """``metrics``: keep the store's counts for the Prometheus view (health/metrics.py);
        ``deadman``: a health/deadman.py Deadman pinged after every evaluation;
        ``ready_minutes``: the readiness check this long before each session (None: never)."""
        self.store = resolve_store_path(store)
        self.environ = environ
        self.ready_minutes = ready_minutes
        self._ready_done: set[str] = set()  # sessions (YYYY-MM-DD) whose readiness was sent
        # health/readiness.py's hooks, replaced in tests: process, NTP, the sinks' probe
        self.readiness_hooks: dict = {}
        self.say = say
        self.calendar_code = calendar_code
        self.interval = interval
        self.clock = clock
        self.stop = threading.Event()
        self.alert_log = AlertLog(self.store)
        self._alert_ids: dict[int, list[int | None]] = {}  # the items in the sinks' queues
        self.dispatcher = SinkDispatcher.from_env(environ, on_delivery=self._delivered)
        self.engine: AlertEngine | None = None
        self.reader: StoreReader | None = None
        self._identity = None
        self._read_error: str | None = None
        self.calendar = None
        self.metrics = metrics
        self.counts = None  # health.metrics.StoreCounts of the open store file
        self.view = None  # health.metrics.StoreView: what the last evaluation saw
        self.deadman = deadman
        # Called after each evaluation (the metrics textfile); returns a line to say, or None.
        self.after_tick: Callable[[], str | None] | None = None

    # -- store ---------------------------------------------------------------------------
    def _open(self) -> StoreReader | None:
        ident = file_identity(self.store)
        if self.reader is not None and ident == self._identity and ident is not None:
            return self.reader
        if self.reader is not None:
            self.reader.close()
            self.reader = None
        if ident is None:
            return None
        self.reader = StoreReader(self.store)
        self._identity = ident
        self.counts = None  # another file: its counts start afresh (a counter reset)
        return self.reader

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

    def interval_now(self, reader: StoreReader | None) -> float:
        if self.interval:
            return self.interval
        if reader is None:
            return 5.0
        runs = reader.latest_runs()
        return max(1.0, min((r.heartbeat_interval for r in runs), default=60.0))

    # -- one evaluation -------------------------------------------------------------------
    def tick(self) -> list:
        try:
            reader = self._open()
            if reader is None:
                if self._read_error != "missing":
                    self.say(f"waiting for the health store {self.store} (a loop creates it)")
                    self._read_error = "missing"
                return []
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
            if self._read_error not in (None, "missing"):
                self.say(f"health store {self.store} readable again")
            self._read_error = None
            conditions.append(
                Condition("watchdog", IssueCode.STORE_ERROR, False, "the watchdog reads the store")
            )
            self._readiness(reader, now)
        except StoreUnavailable as exc:
            if self._read_error != str(exc):
                self.say(f"cannot read the health store: {exc}")
            self._read_error = str(exc)
            if self.reader is not None:
                self.reader.close()
                self.reader = None
            if self.engine is None:
                return []
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
        self._hand_out(transitions, now)
        return transitions

    def _hand_out(self, transitions: list[Transition], now: float) -> None:
        """Every transition is recorded and said; the paged ones go to the sinks — those
        caught up at the open (held while the market was closed) together, as one digest."""
        digest: list[tuple[Notification, int | None, float]] = []
        for t in transitions:
            a = t.alert
            note = ""
            if t.muted is not None:
                note = f" [not paged: {t.muted}]"
            elif t.caught_up:
                note = f" [caught up: held since {datetime.fromtimestamp(t.held_since, a.at.tzinfo):%a %H:%M %Z}]"
            self.say(
                f"{a.at.isoformat(timespec='seconds')} {t.kind.upper()} {a.code} ({a.source}){note}: {a.message}"
            )
            detail = None
            if t.muted is not None:
                detail = json.dumps({"muted": t.muted})
            elif t.caught_up:
                detail = json.dumps({"held_since": t.held_since, "held_why": t.held_why})
            alert_id = self.alert_log.record_alert(
                a.source, a.code, a.severity, a.message, now, a.resolved, detail
            )
            if not t.paged:
                continue
            item = Notification(a, t.first_step)
            if t.caught_up and t.held_why == MARKET_CLOSED:
                digest.append((item, alert_id, t.held_since))
                continue
            self._alert_ids[id(item)] = [alert_id]
            self.dispatcher.submit(item)
        if digest:
            tz = digest[0][0].alert.at.tzinfo
            item = CatchUpDigest(
                at=datetime.fromtimestamp(now, tz),
                alerts=tuple(n for n, _, _ in digest),
                since=datetime.fromtimestamp(min(h for _, _, h in digest), tz),
            )
            self._alert_ids[id(item)] = [i for _, i, _ in digest]
            self.dispatcher.submit(item)

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
        self.say(
            f"{datetime.fromtimestamp(now, self.calendar.tz).isoformat(timespec='seconds')} {result.headline()}"
        )
        for line in readiness_lines(result):
            self.say(f"  {line}")
        self.alert_log.record_notice(
            "readiness", self.calendar.code, day, now, result.status, json.dumps(result.to_json()["checks"])
        )
        tz = self.calendar.tz
        self.dispatcher.submit(
            ReadinessNotice(
                status=result.status,
                headline=result.headline(),
                calendar=self.calendar.code,
                session_open=datetime.fromtimestamp(session.open_ts, tz),
                at=datetime.fromtimestamp(now, tz),
                lines=tuple(readiness_lines(result)),
                checks=len(result.checks),
                warnings=bool(result.not_passed),
            )
        )
        return result

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

    def views(self) -> list:
        """What the collector shows: one store now; a list so that several can come."""
        return [] if self.view is None else [self.view]

    def status_line(self) -> str:
        firing = sorted(
            f"{code} ({source})" for source, code in (self.engine.firing() if self.engine else ())
        )
        if self._read_error not in (None, "missing"):
            return f"cannot read {self.store}: {self._read_error}"
        return f"watching {self.store}; firing: {', '.join(firing) or 'nothing'}"

    def _delivered(self, sink: str, item, ok: bool, status, detail: str) -> None:
        kind = {CatchUpDigest: "digest", ReadinessNotice: "readiness"}.get(type(item), "alert")
        for alert_id in self._alert_ids.pop(id(item), None) or [None]:
            self.alert_log.record_delivery(alert_id, sink, time.time(), ok, status, detail, kind)
        if not ok:
            self.say(f"delivery to {sink} failed: {detail}")

    def run(self) -> int:
        sinks = (
            ", ".join(s.describe() for s in self.dispatcher.sinks)
            or "none (set DISCORD_WEBHOOK_URL or HEALTH_WEBHOOK_URL)"
        )
        self.say(f"watching {self.store}; sinks: {sinks}")
        if self.deadman is not None:
            self.say(f"pinging {self.deadman.describe()} after every evaluation")
            self.deadman.start()
        sd = SdNotifier.from_env()  # under a Type=notify unit: ready, pings, status
        if sd is not None:
            sd.ready(f"watching {self.store}")
        while not self.stop.is_set():
            started = time.monotonic()
            error = self._tick_guarded()
            if self.after_tick is not None:
                problem = self.after_tick()
                if problem:
                    self.say(problem)
            if self.deadman is not None:
                if error:
                    self.deadman.fail(error)
                else:
                    self.deadman.ping()
            if sd is not None:
                if sd.watchdog:
                    sd.ping(self.status_line())
                else:
                    sd.status(self.status_line())
            wait = self.interval_now(self.reader) - (time.monotonic() - started)
            if sd is not None and sd.watchdog:
                wait = min(wait, sd.interval)  # evaluate (and ping) within systemd's limit
            self.stop.wait(max(0.05, wait))
        if sd is not None:
            sd.stopping("watchdog stopping")
            sd.close()
        self.dispatcher.close(timeout=10)
        if self.deadman is not None:
            self.deadman.close()
        self.alert_log.close()
        if self.reader is not None:
            self.reader.close()
        self.say("watchdog stopped")
        return 0

    def _tick_guarded(self) -> str | None:
        """One evaluation; the reason when the watchdog could not do its job (the deadman's
        /fail): the store unreadable, or an evaluation that failed. It never stops the loop."""
        try:
            self.tick()
        except Exception as exc:
            log.exception("watchdog: evaluation failed")
            reason = f"the watchdog's evaluation failed: {type(exc).__name__}: {exc}"
            self.say(reason)
            return reason
        if self._read_error not in (None, "missing"):
            return f"the watchdog cannot read the store {self.store}: {self._read_error}"
        return None
