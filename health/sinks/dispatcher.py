"""Deliver alerts without ever making the trading loop wait: a daemon thread, its own event
loop, and one bounded queue per sink.

Why this shape: ``alert_callback`` runs inside the user's loop, which must not block on a slow
or dead webhook, nor die of an exception from one (docs/CONTRACT.md §2). So :meth:`submit` only
appends to an in-memory deque under a lock and pokes the event loop; all network I/O happens
in the dispatcher's own thread. Each sink has its own queue and worker, so a hung Discord does
not delay the generic webhook. When a queue is full the *oldest* item is dropped (and counted):
during an outage the newest state of the world is what people need.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from health.sinks.delivery import DeliveryResult, RetryPolicy, Sink
from health.sinks.discord import DiscordSink
from health.sinks.http import HttpSink
from health.sinks.notification import Deliverable, as_deliverable, describe_item
from health.sinks.webhook import WebhookSink

log = logging.getLogger("health.sinks")

DISCORD_ENV = "DISCORD_WEBHOOK_URL"
WEBHOOK_ENV = "HEALTH_WEBHOOK_URL"
DEFAULT_QUEUE_SIZE = 1000

DeliveryCallback = Callable[[str, Deliverable, bool, int | None, str], None]


@dataclass(frozen=True)
class SinkStats:
    """Counters for diagnostics; ``description`` is redacted."""

    name: str
    description: str
    queued: int
    delivered: int
    failed: int
    dropped: int
    disabled: bool


class _Lane:
    """One sink, its queue and counters. Guarded by the dispatcher's lock."""

    def __init__(self, sink: Sink, maxlen: int) -> None:
        self.sink = sink
        self.queue: deque[Deliverable] = deque()
        self.maxlen = maxlen
        self.wake = asyncio.Event()
        self.in_flight = False
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.overflowing = False


def sinks_from_env(
    environ: Mapping[str, str] | None = None, *, policy: RetryPolicy | None = None
) -> list[HttpSink]:
    """The sinks configured by ``DISCORD_WEBHOOK_URL`` and ``HEALTH_WEBHOOK_URL``.

    A malformed URL is logged (redacted) and skipped rather than raised: a typo in an alerting
    variable must not stop the watchdog or the trading loop from starting.
    """
    env = os.environ if environ is None else environ
    sinks: list[HttpSink] = []
    for variable, cls in ((DISCORD_ENV, DiscordSink), (WEBHOOK_ENV, WebhookSink)):
        url = (env.get(variable) or "").strip()
        if not url:
            continue
        try:
            sinks.append(cls(url, policy=policy))
        except ValueError as exc:  # the message is already redacted by validate_url
            log.error("%s is not usable, %s sink not configured: %s", variable, cls.name, exc)
    return sinks


class SinkDispatcher:
    """Fan items out to sinks from a background thread. Thread-safe; never blocks the caller.

    ``on_delivery(sink_name, item, ok, status, detail)`` is called in the dispatcher's thread
    after each item is delivered or given up on (so the caller can record it in the store);
    keep it quick, and note that its exceptions are logged and ignored.
    """

    def __init__(
        self,
        sinks: Iterable[Sink],
        *,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        on_delivery: DeliveryCallback | None = None,
    ) -> None:
        if not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError("queue_size must be a positive int")
        self._lanes = tuple(_Lane(sink, queue_size) for sink in sinks)
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0  # queued + in flight, across lanes
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = asyncio.Event()
        if self._lanes:
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run, name="health-sink-dispatcher", daemon=True)
            self._thread.start()
            _LIVE.add(self)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        policy: RetryPolicy | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        on_delivery: DeliveryCallback | None = None,
    ) -> SinkDispatcher:
        """A dispatcher for the sinks in the environment (none configured: a silent no-op)."""
        return cls(
            sinks_from_env(environ, policy=policy),
            queue_size=queue_size,
            on_delivery=on_delivery,
        )

    # -- the caller's side ---------------------------------------------------------------------

    @property
    def sinks(self) -> tuple[Sink, ...]:
        return tuple(lane.sink for lane in self._lanes)

    @property
    def dropped(self) -> int:
        """Items dropped because a queue was full, over all sinks."""
        with self._lock:
            return sum(lane.dropped for lane in self._lanes)

    def submit(self, item: object) -> None:
        """Queue ``item`` (Notification, DailySummary or Alert) for every sink.

        O(1), never blocks, never raises: usable directly as ``alert_callback``.
        """
        try:
            deliverable = as_deliverable(item)
        except TypeError as exc:
            log.error("sink dispatcher: ignored %s", exc)
            return
        try:
            if self._closed or self._loop is None:
                log.debug("sink dispatcher closed or without sinks: %s not sent", describe_item(deliverable))
                return
            with self._lock:
                for lane in self._lanes:
                    if len(lane.queue) >= lane.maxlen:
                        lane.queue.popleft()
                        lane.dropped += 1
                        self._pending -= 1
                        if not lane.overflowing:
                            lane.overflowing = True
                            log.warning(
                                "%s: queue full (%d), dropping the oldest alerts",
                                lane.sink.describe(),
                                lane.maxlen,
                            )
                    lane.queue.append(deliverable)
                    self._pending += 1
            for lane in self._lanes:
                self._loop.call_soon_threadsafe(lane.wake.set)
        except RuntimeError:  # the loop closed under us (interpreter exit): nothing to do
            pass
        except Exception:
            log.exception("sink dispatcher: submit failed (ignored)")

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued item was delivered or given up on; False on timeout."""
        if self._thread is None:
            return True
        if threading.current_thread() is self._thread:  # from on_delivery: waiting would deadlock
            return self._pending == 0
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float = 5.0) -> bool:
        """Stop accepting items, deliver what is queued for up to ``timeout`` s, then stop.

        Returns whether everything queued was delivered or given up on in time.
        """
        if self._closed:
            return self._pending == 0
        self._closed = True
        _LIVE.discard(self)
        if self._thread is None or self._loop is None:
            return True
        deadline = time.monotonic() + max(0.0, timeout)
        drained = self.flush(timeout)
        with contextlib.suppress(RuntimeError):  # the loop already ended
            self._loop.call_soon_threadsafe(self._stop.set)
        if threading.current_thread() is not self._thread:
            self._thread.join(max(0.5, deadline - time.monotonic()))
        return drained

    def __enter__(self) -> SinkDispatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def stats(self) -> tuple[SinkStats, ...]:
        with self._lock:
            return tuple(
                SinkStats(
                    name=lane.sink.name,
                    description=lane.sink.describe(),
                    queued=len(lane.queue) + int(lane.in_flight),
                    delivered=lane.delivered,
                    failed=lane.failed,
                    dropped=lane.dropped,
                    disabled=lane.sink.disabled,
                )
                for lane in self._lanes
            )

    def describe(self) -> list[str]:
        """One redacted line per sink, for diagnostics."""
        return [lane.sink.describe() for lane in self._lanes]

    # -- the dispatcher's thread ---------------------------------------------------------------

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._main())
        except Exception:
            log.exception("sink dispatcher: event loop crashed; alerts will not be sent")
        finally:
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    async def _main(self) -> None:
        workers = [asyncio.create_task(self._worker(lane)) for lane in self._lanes]
        try:
            await self._stop.wait()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for lane in self._lanes:
                await lane.sink.aclose()
            with self._idle:
                for lane in self._lanes:  # abandoned on close: release anyone in flush()
                    self._pending -= len(lane.queue) + int(lane.in_flight)
                    lane.queue.clear()
                    lane.in_flight = False
                self._idle.notify_all()

    async def _worker(self, lane: _Lane) -> None:
        while True:
            with self._lock:
                item = lane.queue.popleft() if lane.queue else None
                lane.in_flight = item is not None
                if item is None:
                    lane.wake.clear()
                    if lane.overflowing:
                        lane.overflowing = False
                        log.info("%s: queue drained (%d dropped so far)", lane.sink.describe(), lane.dropped)
            if item is None:
                await lane.wake.wait()
                continue
            try:
                result = await lane.sink.deliver(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a sink bug must not kill the worker
                log.exception("%s: delivery crashed", lane.sink.describe())
                result = DeliveryResult(False, None, f"internal error: {type(exc).__name__}", 0)
            self._report(lane, item, result)
            with self._idle:
                lane.in_flight = False
                if result.ok:
                    lane.delivered += 1
                else:
                    lane.failed += 1
                self._pending -= 1
                self._idle.notify_all()

    def _report(self, lane: _Lane, item: Deliverable, result: DeliveryResult) -> None:
        if self._on_delivery is None:
            return
        try:
            self._on_delivery(lane.sink.name, item, result.ok, result.status, result.detail)
        except Exception:
            log.exception("sink dispatcher: on_delivery callback raised (ignored)")


_LIVE: weakref.WeakSet[SinkDispatcher] = weakref.WeakSet()


@atexit.register
def _close_at_exit() -> None:
    """At a normal interpreter exit, give queued alerts a short chance to leave (2 s in all):
    the alert about a loop that is stopping is exactly the one worth sending."""
    deadline = time.monotonic() + 2.0
    for dispatcher in list(_LIVE):
        dispatcher.close(max(0.1, deadline - time.monotonic()))


__all__ = [
    "DISCORD_ENV",
    "WEBHOOK_ENV",
    "DeliveryCallback",
    "SinkDispatcher",
    "SinkStats",
    "sinks_from_env",
]
