"""A webhook receiver that goes down and comes back: a real aiohttp server on 127.0.0.1 in a
thread of its own. Down is down for real: the listening socket is closed (connections are
refused), and it listens again on the same port when it recovers."""

from __future__ import annotations

import asyncio
import threading
import time

from aiohttp import web


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []  # (real time of arrival, JSON body)
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._thread = threading.Thread(target=self._loop.run_forever, name="webhook-receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def _call(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.received.append((time.time(), body))
        return web.json_response({"received": True})

    async def _listen(self) -> None:
        """A fresh runner each time: its cleanup on the way down closes the kept-alive
        connections too, so that a client's pooled connection is refused like a new one."""
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def up(self) -> None:
        self._call(self._listen())

    def down(self) -> None:
        self._call(self._close())

    def bodies(self, before: float = float("inf")) -> list[dict]:
        """What arrived, in order (before real time ``before``)."""
        with self._lock:
            return [body for at, body in self.received if at < before]

    def __enter__(self) -> Receiver:
        self._thread.start()
        self.up()
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()
