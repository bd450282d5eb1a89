"""A local stand-in for Discord's execute-webhook endpoint, plus a generic JSON receiver.

It runs a real ``aiohttp.web`` server on 127.0.0.1 (random port) in its own thread with its
own event loop, so sync tests (the dispatcher) and async tests (the sinks) can both talk to it
without sharing a loop. It behaves as Discord documents ``POST /webhooks/{id}/{token}``:

- 204 No Content, or 200 with the created message JSON when ``?wait=true``;
- 400 "Invalid Form Body" (code 50035) when any documented limit is exceeded, checked here on
  the server side: content 2000, 10 embeds, title 256, description 4096, 25 fields, field name
  256 / value 1024 (both non-empty), footer 2048, author 256, 6000 across all embeds;
- 401 "Invalid Webhook Token" (50027) for a wrong token, 404 "Unknown Webhook" (10015) for a
  deleted webhook;
- a per-webhook rate-limit bucket answering ``X-RateLimit-*`` headers and a 429 with
  ``{"message": "You are being rate limited.", "retry_after": s, "global": false}`` when
  exceeded;
- scripted answers (429, 5xx, 403, ...) for the next requests, and a "hang" switch.

Every request is recorded with its arrival time (``time.monotonic()``, the clock the sinks
use) so tests can measure the real gaps between attempts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

WEBHOOK_ID = "112233445566778899"
TOKEN = "Zq9-s3cretT0ken_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123"
GENERIC_TOKEN = "g3neric-Hook-Secret-0123456789abcdef"

CONTENT_MAX = 2000
EMBEDS_MAX = 10
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_NAME_MAX = 256
TOTAL_MAX = 6000
USERNAME_MAX = 80

_USER_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_snowflakes = itertools.count(1300000000000000000)


def discord_limit_errors(payload: Any) -> list[str]:
    """Every way ``payload`` breaks Discord's documented execute-webhook limits."""
    if not isinstance(payload, dict):
        return ["body is not a JSON object"]
    errors: list[str] = []
    content = payload.get("content")
    if content is not None and (not isinstance(content, str) or len(content) > CONTENT_MAX):
        errors.append(f"content: must be 2000 or fewer in length ({len(str(content))})")
    username = payload.get("username")
    if username is not None:
        lowered = str(username).lower()
        if not 1 <= len(str(username)) <= USERNAME_MAX or "discord" in lowered or ("clyde" in lowered):
            errors.append("username: invalid")
    embeds = payload.get("embeds") or []
    if not isinstance(embeds, list):
        return [*errors, "embeds: not a list"]
    if len(embeds) > EMBEDS_MAX:
        errors.append(f"embeds: must be 10 or fewer in length ({len(embeds)})")
    if not content and not embeds:
        errors.append("Cannot send an empty message")
    total = 0

    def check(where: str, value: Any, limit: int, *, required: bool = False) -> None:
        nonlocal total
        if value is None:
            if required:
                errors.append(f"{where}: required")
            return
        if not isinstance(value, str):
            errors.append(f"{where}: not a string")
            return
        total += len(value)
        if len(value) > limit or (required and not value):
            errors.append(f"{where}: must be between 1 and {limit} in length ({len(value)})")

    for i, embed in enumerate(embeds):
        if not isinstance(embed, dict):
            errors.append(f"embeds.{i}: not an object")
            continue
        check(f"embeds.{i}.title", embed.get("title"), TITLE_MAX)
        check(f"embeds.{i}.description", embed.get("description"), DESCRIPTION_MAX)
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_MAX:
            errors.append(f"embeds.{i}.fields: must be 25 or fewer in length ({len(fields)})")
        for j, fld in enumerate(fields):
            check(f"embeds.{i}.fields.{j}.name", fld.get("name"), FIELD_NAME_MAX, required=True)
            check(f"embeds.{i}.fields.{j}.value", fld.get("value"), FIELD_VALUE_MAX, required=True)
        if "footer" in embed:
            check(f"embeds.{i}.footer.text", (embed["footer"] or {}).get("text"), FOOTER_MAX, required=True)
        if "author" in embed:
            check(
                f"embeds.{i}.author.name", (embed["author"] or {}).get("name"), AUTHOR_NAME_MAX, required=True
            )
        colour = embed.get("color")
        if colour is not None and not (isinstance(colour, int) and 0 <= colour <= 0xFFFFFF):
            errors.append(f"embeds.{i}.color: invalid")
        if "timestamp" in embed:
            try:
                datetime.fromisoformat(embed["timestamp"])
            except (TypeError, ValueError):
                errors.append(f"embeds.{i}.timestamp: invalid ISO8601")
    if total > TOTAL_MAX:
        errors.append(f"embeds: total size must be 6000 or fewer ({total})")
    return errors


def _mentions(payload: dict[str, Any]) -> tuple[list[str], list[str], bool]:
    """Who the message would ping: Discord parses mentions in ``content`` only, filtered by
    ``allowed_mentions`` (absent = parse everything)."""
    content = payload.get("content") or ""
    allowed = payload.get("allowed_mentions")
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse", []))
    users = _USER_MENTION.findall(content) if "users" in parse else []
    roles = _ROLE_MENTION.findall(content) if "roles" in parse else []
    if allowed:
        users += [u for u in allowed.get("users", []) if f"<@{u}>" in content]
        roles += [r for r in allowed.get("roles", []) if f"<@&{r}>" in content]
    everyone = "everyone" in parse and ("@everyone" in content or "@here" in content)
    return users, roles, everyone


@dataclass
class Received:
    """One request as the server saw it."""

    path: str
    webhook_id: str | None
    token: str | None
    query: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival
    status: int | None = None  # what was answered (None while hanging)
    answer: Any = None


@dataclass
class Scripted:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


class FakeDiscord:
    """See the module docstring. Use as a context manager; all methods are thread-safe."""

    def __init__(self, *, bucket_limit: int = 5, bucket_window: float = 2.0) -> None:
        self.bucket_limit = bucket_limit
        self.bucket_window = bucket_window
        self._lock = threading.Lock()
        self._requests: list[Received] = []
        self._probes: list[Received] = []  # GETs: they post nothing, so they are kept apart
        self._script: list[Scripted] = []
        self._deleted: set[str] = set()
        self._buckets: dict[str, tuple[float, int]] = {}  # id -> (reset_at, used)
        self._released = threading.Event()
        self._released.set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> FakeDiscord:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_site())
            ready.set()
            self._loop.run_forever()
            assert self._runner is not None
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="fake-discord", daemon=True)
        self._thread.start()
        if not ready.wait(5):
            raise RuntimeError("fake Discord server did not start")

    def stop(self) -> None:
        self.release()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_post("/api/webhooks/{webhook_id}/{token}", self._discord)
        app.router.add_post("/api/v10/webhooks/{webhook_id}/{token}", self._discord)
        app.router.add_post("/hooks/{token}", self._generic)
        # "Get Webhook with Token": what a readiness probe asks (it posts nothing)
        app.router.add_get("/api/webhooks/{webhook_id}/{token}", self._discord_get)
        # No access log: it would print the request path, i.e. the token, and the tests
        # assert that no log line anywhere carries it.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    # -- addresses -----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def webhook_url(self, webhook_id: str = WEBHOOK_ID, token: str = TOKEN) -> str:
        return f"{self.base_url}/api/webhooks/{webhook_id}/{token}"

    def generic_url(self, token: str = GENERIC_TOKEN) -> str:
        return f"{self.base_url}/hooks/{token}"

    # -- scripting -----------------------------------------------------------------------------

    def script(self, *answers: Scripted) -> None:
        """Answer the next requests with these, in order, before normal behaviour."""
        with self._lock:
            self._script.extend(answers)

    def rate_limit_next(
        self, retry_after: float = 0.2, *, in_body: bool = True, header: str | None = None
    ) -> None:
        """The next request gets a 429, with ``retry_after`` in the body and/or headers."""
        headers = {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Scope": "user",
        }
        if header is not None:
            headers["Retry-After"] = header
        body = (
            {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
            if in_body
            else None
        )
        self.script(Scripted(429, body, headers))

    def delete_webhook(self, webhook_id: str = WEBHOOK_ID) -> None:
        with self._lock:
            self._deleted.add(webhook_id)

    def hang(self) -> None:
        """Requests arrive (and are recorded) but get no answer until :meth:`release`."""
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    # -- observations --------------------------------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        with self._lock:
            return list(self._requests)

    @property
    def probes(self) -> list[Received]:
        with self._lock:
            return list(self._probes)

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.requests) >= count:
                break
            time.sleep(0.005)
        return self.requests

    # -- handlers ------------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> Received:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        received = Received(
            path=request.path,
            webhook_id=request.match_info.get("webhook_id"),
            token=request.match_info.get("token"),
            query=dict(request.query),
            body=body,
            at=time.monotonic(),
        )
        with self._lock:
            self._requests.append(received)
        while not self._released.is_set():
            await asyncio.sleep(0.01)
        return received

    def _next_scripted(self) -> Scripted | None:
        with self._lock:
            return self._script.pop(0) if self._script else None

    @staticmethod
    def _answer(
        received: Received, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> web.Response:
        received.status, received.answer = status, body
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    def _bucket(self, webhook_id: str) -> tuple[bool, dict[str, str], float]:
        now = time.monotonic()
        with self._lock:
            reset_at, used = self._buckets.get(webhook_id, (0.0, 0))
            if now >= reset_at:
                reset_at, used = now + self.bucket_window, 0
            allowed = used < self.bucket_limit
            if allowed:
                used += 1
            self._buckets[webhook_id] = (reset_at, used)
        # Rounded *up* to the millisecond, as a client that waits exactly this long must
        # find the bucket reset.
        reset_after = math.ceil(max(0.0, reset_at - now) * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(self.bucket_limit),
            "X-RateLimit-Remaining": str(self.bucket_limit - used),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{webhook_id}",
        }
        return allowed, headers, reset_after

    async def _discord(self, request: web.Request) -> web.Response:
        received = await self._record(request)
        scripted = self._next_scripted()
        if scripted is not None:
            return self._answer(received, scripted.status, scripted.body, scripted.headers)
        webhook_id = received.webhook_id or ""
        with self._lock:
            deleted = webhook_id in self._deleted
        if deleted:
            return self._answer(received, 404, {"message": "Unknown Webhook", "code": 10015})
        if received.token != TOKEN:
            return self._answer(received, 401, {"message": "Invalid Webhook Token", "code": 50027})
        allowed, headers, reset_after = self._bucket(webhook_id)
        if not allowed:
            headers["Retry-After"] = str(max(1, round(reset_after)))
            headers["X-RateLimit-Scope"] = "user"
            body = {"message": "You are being rate limited.", "retry_after": reset_after, "global": False}
            return self._answer(received, 429, body, headers)
        if received.body is None:
            return self._answer(
                received, 400, {"message": "The request body contains invalid JSON.", "code": 50109}, headers
            )
        errors = discord_limit_errors(received.body)
        if errors:
            body = {"message": "Invalid Form Body", "code": 50035, "errors": errors}
            return self._answer(received, 400, body, headers)
        if received.query.get("wait", "").lower() != "true":
            return self._answer(received, 204, None, headers)
        users, roles, everyone = _mentions(received.body)
        message = {
            "id": str(next(_snowflakes)),
            "type": 0,
            "channel_id": "998877665544332211",
            "webhook_id": webhook_id,
            "author": {
                "id": webhook_id,
                "username": received.body.get("username", "Hook"),
                "bot": True,
                "discriminator": "0000",
                "avatar": None,
            },
            "content": received.body.get("content", ""),
            "embeds": [{"type": "rich", **e} for e in received.body.get("embeds", [])],
            "mentions": [{"id": u} for u in users],
            "mention_roles": roles,
            "mention_everyone": everyone,
            "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None,
            "tts": False,
            "pinned": False,
            "flags": 0,
            "attachments": [],
            "components": [],
        }
        return self._answer(received, 200, message, headers)

    async def _discord_get(self, request: web.Request) -> web.Response:
        received = Received(
            path=request.path,
            webhook_id=request.match_info.get("webhook_id"),
            token=request.match_info.get("token"),
            query=dict(request.query),
            body=None,
            at=time.monotonic(),
        )
        with self._lock:
            self._probes.append(received)
            deleted = received.webhook_id in self._deleted
        if deleted:
            return self._answer(received, 404, {"message": "Unknown Webhook", "code": 10015})
        if received.token != TOKEN:
            return self._answer(received, 401, {"message": "Invalid Webhook Token", "code": 50027})
        webhook = {
            "type": 1,
            "id": received.webhook_id,
            "name": "Production Health",
            "channel_id": "998877665544332211",
            "guild_id": "445566778899001122",
            "application_id": None,
            "token": received.token,
        }
        return self._answer(received, 200, webhook)

    async def _generic(self, request: web.Request) -> web.Response:
        received = await self._record(request)
        scripted = self._next_scripted()
        if scripted is not None:
            return self._answer(received, scripted.status, scripted.body, scripted.headers)
        if received.token != GENERIC_TOKEN:
            return self._answer(received, 403, {"error": "forbidden"})
        if not isinstance(received.body, dict):
            return self._answer(received, 400, {"error": "expected a JSON object"})
        return self._answer(received, 200, {"received": True})


def closed_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
