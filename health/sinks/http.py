"""The delivery machinery shared by every HTTP sink: one POST, retried the way webhook APIs ask.

Policy (Discord's documented behaviour, which also suits any sane webhook receiver):

- 2xx delivered. ``X-RateLimit-Remaining: 0`` with ``X-RateLimit-Reset-After`` makes the
  *next* send wait, so we never provoke a 429 we were told about.
- 429 waits ``retry_after`` (JSON body, seconds) or ``Retry-After`` and retries.
- 5xx, timeouts and connection errors retry with exponential backoff (jittered).
- Everything else (400, 401, 403, 404, 3xx, ...) is final: retrying a rejected payload or a
  bad token changes nothing and only adds load. Codes in ``disable_on`` (404 for Discord: the
  webhook was deleted) switch the sink off, logged once.
- Every delivery is bounded in attempts *and* in total time, so a dead endpoint costs a known
  amount and the queue behind it keeps moving.

``deliver`` never raises (except cancellation): it returns a :class:`DeliveryResult` whose
text is redacted, because results end up in logs, the store and the console.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

from yarl import URL

if TYPE_CHECKING:  # aiohttp is imported by the first delivery: a process that sends nothing
    # (--notify on a quiet day, diagnose-production's sinks check) never pays ~0.1 s for it
    import aiohttp
    from multidict import CIMultiDictProxy

from health.sinks.delivery import DeliveryResult, RetryPolicy
from health.sinks.notification import Deliverable, as_deliverable, describe_item
from health.sinks.redact import redact_text, redact_url

log = logging.getLogger("health.sinks")

USER_AGENT = "production-health (https://pypi.org/project/production-health, 0.1)"
_MAX_RESPONSE_BYTES = 64 * 1024  # we only need a status and a small JSON; never buffer more


@dataclass(frozen=True)
class _Outcome:
    """One HTTP attempt, classified."""

    kind: str  # "ok", "retry", "rate_limited", "final"
    status: int | None
    detail: str
    wait: float | None = None  # server-requested wait before the retry


def _float_header(headers: CIMultiDictProxy[str], name: str) -> float | None:
    try:
        value = float(headers[name])
    except (KeyError, ValueError):
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _retry_after_header(headers: CIMultiDictProxy[str]) -> float | None:
    """``Retry-After`` is seconds (Discord) or an HTTP date (RFC 9110); accept both."""
    seconds = _float_header(headers, "Retry-After")
    if seconds is not None or "Retry-After" not in headers:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(headers["Retry-After"])
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def validate_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ValueError — whose text is redacted."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("webhook URL is empty")
    url = url.strip()
    try:
        parsed = URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.host) and parsed.port is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise ValueError(f"not an http(s) webhook URL: {redact_url(url)}")
    return url


class HttpSink(ABC):
    """A sink that POSTs one JSON document per item; subclasses only build the document."""

    name: ClassVar[str] = "http"
    disable_on: ClassVar[frozenset[int]] = frozenset()
    disable_hint: ClassVar[str] = ""

    def __init__(
        self,
        url: str,
        *,
        policy: RetryPolicy | None = None,
        trust_env: bool = False,
    ) -> None:
        self._url = validate_url(url)
        self._policy = policy or RetryPolicy()
        self._trust_env = trust_env  # honour HTTP(S)_PROXY; off by default, explicit is safer
        self._session: aiohttp.ClientSession | None = None
        self._session_loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._not_before = 0.0  # monotonic time before which the endpoint asked us not to send
        self._disabled_reason: str | None = None

    # -- what subclasses provide -------------------------------------------------------------

    @abstractmethod
    def build_payload(self, item: Deliverable) -> dict[str, Any]:
        """The JSON document for one item, already within the receiver's limits."""

    def target_url(self) -> str:
        """Where to POST; Discord adds ``?wait=true``."""
        return self._url

    # -- diagnostics ---------------------------------------------------------------------------

    @property
    def policy(self) -> RetryPolicy:
        return self._policy

    @property
    def disabled(self) -> bool:
        return self._disabled_reason is not None

    @property
    def disabled_reason(self) -> str | None:
        return self._disabled_reason

    def describe(self) -> str:
        """``discord https://discord.com/api/webhooks/123/***`` — safe for any output."""
        text = f"{self.name} {redact_url(self._url)}"
        if self._disabled_reason:
            text += f" (disabled: {self._disabled_reason})"
        return text

    def __repr__(self) -> str:  # repr() ends up in tracebacks and debuggers
        return f"<{type(self).__name__} {self.describe()}>"

    def redact(self, text: str) -> str:
        return redact_text(text, (self._url, self.target_url()))

    # -- delivery ------------------------------------------------------------------------------

    async def deliver(self, item: Deliverable) -> DeliveryResult:
        """POST ``item``, retrying per the policy. Never raises except on cancellation."""
        if self._disabled_reason:
            return DeliveryResult(False, None, f"sink disabled: {self._disabled_reason}", 0)
        try:
            item = as_deliverable(item)
            body = json.dumps(
                self.build_payload(item), ensure_ascii=False, default=str, allow_nan=False
            ).encode("utf-8")
        except Exception as exc:
            detail = self.redact(f"could not build the payload: {type(exc).__name__}: {exc}")
            log.error("%s: %s", self.describe(), detail)
            return DeliveryResult(False, None, detail, 0)
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:  # one at a time per sink: rate limits are per webhook
            await self._respect_rate_limit()
            return await self._send(item, body)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP session; the sink can still be used afterwards (a new one opens)."""
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                await session.close()
            except Exception:  # closing must never be the thing that fails
                log.debug("%s: error closing the HTTP session", self.describe(), exc_info=True)

    async def _respect_rate_limit(self) -> None:
        wait = self._not_before - time.monotonic()
        if wait > 0:
            wait = min(wait, self._policy.max_rate_limit_wait)
            log.debug("%s: rate limit bucket empty, waiting %.2fs", self.describe(), wait)
            await asyncio.sleep(wait)

    async def _send(self, item: Deliverable, body: bytes) -> DeliveryResult:
        policy = self._policy
        deadline = time.monotonic() + policy.max_total_seconds
        attempts = failures = 0
        outcome = _Outcome("retry", None, "retry budget exhausted before the first attempt")
        while attempts < policy.max_attempts:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            attempts += 1
            outcome = await self._attempt(body, min(policy.request_timeout, remaining))
            if outcome.kind == "ok":
                if attempts > 1:
                    log.info(
                        "%s: %s delivered after %d attempts", self.describe(), describe_item(item), attempts
                    )
                return DeliveryResult(True, outcome.status, outcome.detail, attempts)
            if outcome.kind == "final":
                return self._final(item, outcome, attempts)
            if outcome.kind == "rate_limited":
                wait = outcome.wait if outcome.wait is not None else policy.backoff(failures + 1)
                self._not_before = max(self._not_before, time.monotonic() + wait)
            else:
                failures += 1
                wait = max(policy.backoff(failures), outcome.wait or 0.0)
            if attempts >= policy.max_attempts:
                break
            if time.monotonic() + wait > deadline:
                outcome = _Outcome(
                    outcome.kind,
                    outcome.status,
                    f"{outcome.detail}; next retry in {wait:.2f}s would pass the "
                    f"{policy.max_total_seconds:g}s budget",
                )
                break
            log.debug(
                "%s: %s: %s, retrying in %.2fs", self.describe(), describe_item(item), outcome.detail, wait
            )
            await asyncio.sleep(wait)
        log.warning(
            "%s: gave up on %s after %d attempt(s): %s",
            self.describe(),
            describe_item(item),
            attempts,
            outcome.detail,
        )
        return DeliveryResult(False, outcome.status, outcome.detail, attempts)

    def _final(self, item: Deliverable, outcome: _Outcome, attempts: int) -> DeliveryResult:
        if outcome.status in self.disable_on:
            hint = f" ({self.disable_hint})" if self.disable_hint else ""
            self._disabled_reason = f"HTTP {outcome.status}{hint}"
            # describe() now carries the reason; logged once because a disabled sink never
            # sends (nor logs) again.
            log.error(
                "%s: %s; sink disabled, no further deliveries until restart", self.describe(), outcome.detail
            )
        else:
            log.warning(
                "%s: %s rejected, not retried: %s", self.describe(), describe_item(item), outcome.detail
            )
        return DeliveryResult(False, outcome.status, outcome.detail, attempts)

    def _get_session(self) -> aiohttp.ClientSession:
        import aiohttp

        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT},
                trust_env=self._trust_env,
                connector=aiohttp.TCPConnector(limit=4),
            )
            self._session_loop = loop
        return self._session

    async def _attempt(self, body: bytes, timeout: float) -> _Outcome:
        import aiohttp

        try:
            session = self._get_session()
            async with session.post(
                self.target_url(),
                data=body,
                headers={"Content-Type": "application/json"},
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,  # a redirect would carry the payload somewhere unvetted
            ) as response:
                raw = await response.content.read(_MAX_RESPONSE_BYTES)
                return self._classify(response.status, response.headers, raw)
        except TimeoutError:
            return _Outcome("retry", None, f"no response within {timeout:.2f}s")
        except (aiohttp.ClientError, OSError) as exc:
            reason = self.redact(f"{type(exc).__name__}: {exc}")
            return _Outcome("retry", None, f"connection error: {reason}")

    def _classify(self, status: int, headers: CIMultiDictProxy[str], raw: bytes) -> _Outcome:
        payload = _json_or_none(raw)
        if 200 <= status < 300:
            if headers.get("X-RateLimit-Remaining") == "0":
                reset_after = _float_header(headers, "X-RateLimit-Reset-After")
                if reset_after:
                    self._not_before = max(self._not_before, time.monotonic() + reset_after)
            return _Outcome("ok", status, self.describe_success(status, payload))
        detail = f"HTTP {status}{self._error_text(payload, raw)}"
        if status == 429:
            wait = None
            if isinstance(payload, dict):
                try:
                    wait = float(payload.get("retry_after"))
                except (TypeError, ValueError):
                    wait = None
                if wait is not None and not (math.isfinite(wait) and wait >= 0):
                    wait = None
            if wait is None:
                wait = _retry_after_header(headers)
            if wait is None:
                wait = _float_header(headers, "X-RateLimit-Reset-After")
            return _Outcome("rate_limited", status, detail, wait)
        if 500 <= status < 600:
            return _Outcome("retry", status, detail, _retry_after_header(headers))
        return _Outcome("final", status, detail)

    # -- readiness (health/readiness.py) ---------------------------------------------------

    probe_method: ClassVar[str] = "HEAD"

    def probe_ok(self, status: int) -> bool:
        """Does this answer to the probe mean the receiver is there? Any but a server error."""
        return status < 500

    async def probe(self, timeout: float = 5.0) -> tuple[bool, str]:
        """Is the receiver reachable? One request that posts nothing (``probe_method``), no
        retries; (reachable, a redacted line). Never raises except on cancellation."""
        import aiohttp  # as _attempt does: importing this module does not import it

        try:
            session = self._get_session()
            async with session.request(
                self.probe_method,
                self._url,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                raw = await response.content.read(_MAX_RESPONSE_BYTES)
                status = response.status
        except TimeoutError:
            return False, f"no answer within {timeout:g}s"
        except (aiohttp.ClientError, OSError) as exc:
            return False, self.redact(f"unreachable: {type(exc).__name__}: {exc}")
        if self.probe_ok(status):
            return True, f"reachable (HTTP {status})"
        return False, f"HTTP {status}{self._error_text(_json_or_none(raw), raw)}"

    def describe_success(self, status: int, payload: Any) -> str:
        return f"HTTP {status}"

    def _error_text(self, payload: Any, raw: bytes) -> str:
        """The receiver's own explanation, short and redacted (it may echo the URL)."""
        if isinstance(payload, dict) and payload.get("message"):
            text = str(payload["message"])
            if payload.get("code") is not None:
                text += f" (code {payload['code']})"
        else:
            text = raw[:200].decode("utf-8", "replace").strip()
        text = " ".join(self.redact(text).split())[:200]
        return f": {text}" if text else ""
