"""The watchdog's engine: a dead loop cannot report its own death, so this reads the store from
outside every check interval, runs the alert engine (health/alerts.py) and hands what it
decides to the sinks in the environment (DISCORD_WEBHOOK_URL, HEALTH_WEBHOOK_URL). Transitions
and deliveries are recorded in the store (store/alert_log.py). One line per transition goes to
``say`` (stderr by default, the journal under systemd).

It watches one store or several (``--store`` repeated: a desk's loops): each is a
:class:`~health.watched_store.WatchedStore` with its own reader, calendar, alert engine and alert
log, evaluated in turn; the sinks, the dead-man's switch and systemd's notify socket are shared.
With several stores every line and notification names the store.

``health-console --watch`` (console/watch.py) parses the arguments, installs the signal handlers
and calls :meth:`Watchdog.run`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime

from health.alert_engine import MARKET_CLOSED, Transition
from health.readiness import READY_MINUTES
from health.sdnotify import SdNotifier
from health.sinks import CatchUpDigest, Notification, ReadinessNotice, SinkDispatcher
from health.watched_store import RESTORE_SECONDS, WatchedStore
from store.paths import resolve_store_path

__all__ = ["RESTORE_SECONDS", "Watchdog"]

log = logging.getLogger("production_health")


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _first(name: str) -> property:
    """An attribute of the first store's :class:`WatchedStore` (readable and settable)."""
    return property(
        lambda self: getattr(self.watched[0], name),
        lambda self, value: setattr(self.watched[0], name, value),
        doc=f"The first store's ``{name}``.",
    )


class Watchdog:
    def __init__(
        self,
        store: str | os.PathLike[str] | Sequence[str | os.PathLike[str] | None] | None,
        calendar_code: str | None,
        interval: float | None,
        clock: Callable[[], float] = time.time,
        environ=None,
        say: Callable[[str], None] = _stderr_line,
        metrics: bool = False,
        deadman=None,
        ready_minutes: float | None = READY_MINUTES,
    ):
        """``store``: a path, or several (a desk); ``metrics``: keep each store's counts for
        the Prometheus view (health/metrics.py); ``deadman``: a health/deadman.py Deadman
        pinged after every evaluation; ``ready_minutes``: the readiness check this long before
        each session (None: never)."""
        paths = [store] if store is None or isinstance(store, str | os.PathLike) else list(store)
        self.say = say
        self.interval = interval
        self.clock = clock
        self.environ = environ
        self.stop = threading.Event()
        self.several = len(paths) > 1
        self.watched = [
            WatchedStore(
                resolve_store_path(p),
                calendar_code,
                clock,
                say,
                metrics,
                environ=environ,
                ready_minutes=ready_minutes,
                submit=lambda item, i=i: self._submit(self.watched[i], item, [None]),
                label=str(resolve_store_path(p)) if self.several else None,
            )
            for i, p in enumerate(paths)
        ]
        # the items in the sinks' queues: the store whose log records their deliveries, and ids
        self._alert_ids: dict[int, tuple[WatchedStore, list[int | None]]] = {}
        self.dispatcher = SinkDispatcher.from_env(environ, on_delivery=self._delivered)
        self.metrics = metrics
        self.deadman = deadman
        # Called after each evaluation (the metrics textfile); returns a line to say, or None.
        self.after_tick: Callable[[], str | None] | None = None

    # -- the first store's parts, as the single-store watchdog always offered them ------------
    store = _first("store")
    reader = _first("reader")
    engine = _first("engine")
    calendar = _first("calendar")
    alert_log = _first("alert_log")
    counts = _first("counts")
    view = _first("view")
    ready_minutes = _first("ready_minutes")

    @property
    def readiness_hooks(self) -> dict:
        """health/readiness.py's hooks (process, NTP, the sinks' probe), replaced in tests:
        the same for every store."""
        return self.watched[0].readiness_hooks

    @readiness_hooks.setter
    def readiness_hooks(self, hooks: dict) -> None:
        for w in self.watched:
            w.readiness_hooks = hooks

    def interval_now(self) -> float:
        if self.interval:
            return self.interval
        recorded = [i for i in (w.interval_now() for w in self.watched) if i is not None]
        return min(recorded) if recorded else 5.0

    # -- one evaluation of every store -------------------------------------------------------
    def tick(self) -> list[Transition]:
        """Evaluate each store in turn; one store's failure is reported and the others go on."""
        transitions: list[Transition] = []
        failures: list[BaseException] = []
        for watched in self.watched:
            try:
                found, now = watched.tick()
            except Exception as exc:  # a bug in one store's evaluation must not blind the others
                if not self.several:
                    raise
                log.exception("watchdog: evaluation of %s failed", watched.store)
                failures.append(exc)
                continue
            self._hand_out(watched, found, now)
            transitions.extend(found)
        if failures:
            raise failures[0]
        return transitions

    def _hand_out(self, watched: WatchedStore, transitions: list[Transition], now: float) -> None:
        """Every transition is recorded (in its store) and said; the paged ones go to the
        sinks — those caught up at the open (held while the market was closed) together, as
        one digest per store. With several stores, lines and pages name the store."""
        digest: list[tuple[Notification, int | None, float]] = []
        store = str(watched.store) if self.several else None
        for t in transitions:
            a = t.alert
            note = ""
            if t.muted is not None:
                note = f" [not paged: {t.muted}]"
            elif t.caught_up:
                note = f" [caught up: held since {datetime.fromtimestamp(t.held_since, a.at.tzinfo):%a %H:%M %Z}]"
            where = f"{a.source} @ {store}" if store else a.source
            self.say(
                f"{a.at.isoformat(timespec='seconds')} {t.kind.upper()} {a.code} ({where}){note}: {a.message}"
            )
            detail = None
            if t.muted is not None:
                detail = json.dumps({"muted": t.muted})
            elif t.caught_up:
                detail = json.dumps({"held_since": t.held_since, "held_why": t.held_why})
            alert_id = watched.alert_log.record_alert(
                a.source, a.code, a.severity, a.message, now, a.resolved, detail
            )
            if not t.paged:
                continue
            item = Notification(a, t.first_step, store=store)
            if t.caught_up and t.held_why == MARKET_CLOSED:
                digest.append((item, alert_id, t.held_since))
                continue
            self._submit(watched, item, [alert_id])
        if digest:
            tz = digest[0][0].alert.at.tzinfo
            item = CatchUpDigest(
                at=datetime.fromtimestamp(now, tz),
                alerts=tuple(n for n, _, _ in digest),
                since=datetime.fromtimestamp(min(h for _, _, h in digest), tz),
            )
            self._submit(watched, item, [i for _, i, _ in digest])

    def _submit(self, watched: WatchedStore, item, alert_ids: list[int | None]) -> None:
        self._alert_ids[id(item)] = (watched, alert_ids)
        self.dispatcher.submit(item)

    def views(self) -> list:
        """What the collector shows: every store's last evaluation (labelled by ``store``)."""
        return [w.view for w in self.watched if w.view is not None]

    def status_line(self) -> str:
        parts = []
        for w in self.watched:
            if w.unreadable:
                parts.append(f"cannot read {w.store}: {w.unreadable}")
            else:
                parts.append(f"watching {w.store}; firing: {', '.join(w.firing()) or 'nothing'}")
        return " | ".join(parts)

    def _delivered(self, sink: str, item, ok: bool, status, detail: str) -> None:
        kind = {CatchUpDigest: "digest", ReadinessNotice: "readiness"}.get(type(item), "alert")
        watched, alert_ids = self._alert_ids.pop(id(item), (self.watched[0], [None]))
        for alert_id in alert_ids or [None]:
            watched.alert_log.record_delivery(alert_id, sink, time.time(), ok, status, detail, kind)
        if not ok:
            self.say(f"delivery to {sink} failed: {detail}")

    def run(self) -> int:
        sinks = (
            ", ".join(s.describe() for s in self.dispatcher.sinks)
            or "none (set DISCORD_WEBHOOK_URL or HEALTH_WEBHOOK_URL)"
        )
        stores = ", ".join(str(w.store) for w in self.watched)
        self.say(f"watching {stores}; sinks: {sinks}")
        if self.deadman is not None:
            self.say(f"pinging {self.deadman.describe()} after every evaluation")
            self.deadman.start()
        sd = SdNotifier.from_env()  # under a Type=notify unit: ready, pings, status
        if sd is not None:
            sd.ready(f"watching {stores}")
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
            wait = self.interval_now() - (time.monotonic() - started)
            if sd is not None and sd.watchdog:
                wait = min(wait, sd.interval)  # evaluate (and ping) within systemd's limit
            self.stop.wait(max(0.05, wait))
        if sd is not None:
            sd.stopping("watchdog stopping")
            sd.close()
        self.dispatcher.close(timeout=10)
        if self.deadman is not None:
            self.deadman.close()
        for w in self.watched:
            w.close()
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
        for w in self.watched:
            if w.unreadable:
                return f"the watchdog cannot read the store {w.store}: {w.unreadable}"
        return None
