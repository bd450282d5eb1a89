"""Watch the watchdog: a dead-man's switch elsewhere (healthchecks.io, or anything that speaks
its URLs) expects a ping every check interval and pages when the pings stop, so that a dead
watchdog, or its dead host, is noticed by someone.

healthchecks.io's protocol: ``GET <url>/start`` when the watchdog starts, ``GET <url>`` after
each evaluation, ``POST <url>/fail`` (the reason in the body) when the watchdog cannot do its
job (it cannot read the store, an evaluation failed). The URL is a secret like a webhook's
(anyone holding it can ping): it is redacted everywhere (health/sinks/redact.py).

Requests leave from a thread and an event loop of their own, bounded in time; a ping still in
flight when the next is due is skipped, never queued: the next one says the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future

import aiohttp
from yarl import URL

from health.sinks.http import USER_AGENT, validate_url
from health.sinks.redact import redact_text, redact_url

log = logging.getLogger("production_health")

DEADMAN_ENV = "HEALTH_DEADMAN_URL"
REQUEST_TIMEOUT = 10.0
MAX_FAIL_BODY = 1000


class Deadman:
    def __init__(
        self, url: str, *, say: Callable[[str], None] | None = None, timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self._url = URL(validate_url(url))  # ValueError, redacted, for a malformed URL
        self._raw = url.strip()
        self._say = say or (lambda text: log.warning("%s", text))
        self._timeout = timeout
        self._loop = asyncio.new_event_loop()
        self._session: aiohttp.ClientSession | None = None
        self._in_flight: Future | None = None
        self._failing = False
        self.sent = 0
        self.failed = 0
        self._thread = threading.Thread(target=self._loop.run_forever, name="health-deadman", daemon=True)
        self._thread.start()

    def describe(self) -> str:
        return f"deadman {redact_url(self._raw)}"

    def __repr__(self) -> str:
        return f"<Deadman {self.describe()}>"

    def _target(self, suffix: str) -> URL:
        if not suffix:
            return self._url
        return self._url.with_path(self._url.path.rstrip("/") + "/" + suffix, keep_query=True)

    # -- the watchdog's side: never blocks, never raises --------------------------------------
    def start(self) -> Future:
        return self._submit("start", None, force=True)

    def ping(self) -> Future | None:
        return self._submit("", None, force=False)

    def fail(self, reason: str) -> Future:
        return self._submit("fail", self.redact(reason)[:MAX_FAIL_BODY], force=True)

    def _submit(self, suffix: str, body: str | None, force: bool) -> Future | None:
        busy = self._in_flight is not None and not self._in_flight.done()
        if busy and not force:
            return None  # the previous ping is still on its way: the next one says the same
        future = asyncio.run_coroutine_threadsafe(self._send(suffix, body), self._loop)
        self._in_flight = future
        return future

    def close(self, timeout: float = 5.0) -> None:
        """Let the last request finish (bounded), then stop the thread."""
        if self._in_flight is not None:
            with contextlib.suppress(Exception):
                self._in_flight.result(timeout)
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self._loop.close()

    def redact(self, text: str) -> str:
        return redact_text(
            text, (self._raw, str(self._url), *(str(self._target(s)) for s in ("start", "fail")))
        )

    # -- the deadman's thread ---------------------------------------------------------------
    async def _send(self, suffix: str, body: str | None) -> bool:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": USER_AGENT})
        what = suffix or "ping"
        try:
            async with self._session.request(
                "POST" if body is not None else "GET",
                self._target(suffix),
                data=None if body is None else body.encode("utf-8", "replace"),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                allow_redirects=False,
            ) as response:
                await response.content.read(4096)
                ok = 200 <= response.status < 300
                detail = f"HTTP {response.status}"
        except TimeoutError:
            ok, detail = False, f"no response within {self._timeout:g}s"
        except (aiohttp.ClientError, OSError) as exc:
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.sent += 1
            if self._failing:
                self._say(f"{self.describe()}: {what} delivered again")
            self._failing = False
            return True
        self.failed += 1
        if not self._failing:
            self._say(self.redact(f"{self.describe()}: {what} failed: {detail}"))
        self._failing = True
        return False
