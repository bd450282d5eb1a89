"""The monitor's alert delivery: one thread that calls ``alert_callback``, so that a slow or
failing callback never holds up the trading loop (docs/CONTRACT.md §2).

The thread is started with the monitor and ended by ``close()``, never from a loop call:
``Thread.start()`` waits until the new thread runs, and a busy loop holds the GIL — the first
alert of a run took 2.6-4.3 ms that way (RELIABILITY.md).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from health.alerts import Alert

log = logging.getLogger("production_health")


class AlertDelivery:
    """Alerts in order, through one daemon thread; nothing at all without a callback."""

    def __init__(self, callback: Callable[[Alert], object] | None, name: str) -> None:
        self._callback = callback
        self._queue: queue.Queue[Alert | None] = queue.Queue()  # task_done(): delivered
        self._thread: threading.Thread | None = None
        if callback is not None:
            self._thread = threading.Thread(target=self._run, args=(self._queue,), name=name, daemon=True)
            self._thread.start()

    def submit(self, alert: Alert) -> None:
        if self._thread is not None:
            self._queue.put(alert)

    def drain(self, timeout: float) -> None:
        """Wait (bounded) until every queued alert went through the callback, the one being
        delivered included."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)

    def stop(self) -> None:
        """After the alerts queued so far (a callback still stuck after close()'s wait keeps
        its daemon thread until it returns; nothing waits for it)."""
        if self._thread is not None:
            self._queue.put(None)

    def _run(self, alerts: queue.Queue[Alert | None]) -> None:
        while True:
            alert = alerts.get()
            try:
                if alert is None:  # stop(): every alert before it was delivered
                    return
                self._deliver(alert)
            finally:
                alerts.task_done()

    def _deliver(self, alert: Alert) -> None:
        try:
            self._callback(alert)
        except BaseException:  # SystemExit too: it would end the one delivery thread
            log.exception("health monitor: alert_callback raised for %s", alert.code)
