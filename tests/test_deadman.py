"""Watch the watchdog (health/deadman.py): against a healthchecks.io-style aiohttp server on
127.0.0.1, the watchdog sends /start, a ping per evaluation, /fail on its own errors; its URL
(a secret) never shows in what it says."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import date

import pytest
from aiohttp import web

from health.deadman import Deadman
from health.simulation import SimClock, at, monitor, run_loop
from health.watchdog import Watchdog

SECRET = "5f1c8a7e-0b6d-4c1e-9a55-secret0uuid1234"


class PingServer:
    """healthchecks.io's ping endpoints: /<uuid>, /<uuid>/start, /<uuid>/fail."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, str]] = []  # (method, path, body)
        self._loop = asyncio.new_event_loop()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests.append((request.method, request.path, await request.text()))
        return web.Response(text="OK")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{SECRET}"

    def wait_for(self, n: int, timeout: float = 10.0) -> list[tuple[str, str, str]]:
        deadline = time.monotonic() + timeout
        while len(self.requests) < n and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.requests)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()


@pytest.fixture
def server():
    s = PingServer()
    yield s
    s.close()


def _store(tmp_path):
    store = tmp_path / "h.db"
    clock = SimClock(at(date(2025, 12, 10), 10, 0))
    mon = monitor(store, clock, check_interval_seconds=60, source="loop")
    run_loop(mon, clock, at(date(2025, 12, 10), 10, 5), step=60)
    mon.close()
    return store, clock


def _run_until(dog: Watchdog, server: PingServer, n: int) -> list[str]:
    thread = threading.Thread(target=dog.run, daemon=True)
    thread.start()
    server.wait_for(n)
    dog.stop.set()
    thread.join(15)
    assert not thread.is_alive()
    return [f"{m} {p.removeprefix('/' + SECRET) or '/'}" for m, p, _ in server.requests]


def test_start_then_a_ping_per_evaluation(tmp_path, server):
    store, clock = _store(tmp_path)
    said: list[str] = []
    dog = Watchdog(str(store), "XNYS", interval=0.05, clock=clock, environ={}, say=said.append)
    dog.deadman = Deadman(server.url, say=said.append)
    calls = _run_until(dog, server, 5)
    assert calls[0] == "GET /start"
    assert len(calls) >= 5 and set(calls[1:]) == {"GET /"}
    assert not any(SECRET in line for line in said)
    assert any("deadman http://127.0.0.1" in line and "/***" in line for line in said)


def test_fail_when_the_watchdog_cannot_read_the_store(tmp_path, server):
    store, clock = _store(tmp_path)
    dog = Watchdog(str(store), "XNYS", interval=0.05, clock=clock, environ={}, say=lambda _: None)
    dog.tick()  # set up on the good store; then it is replaced by garbage
    store.write_bytes(b"\x00garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"h.db{suffix}").unlink(missing_ok=True)
    dog.deadman = Deadman(server.url, say=lambda _: None)
    calls = _run_until(dog, server, 3)
    assert calls[0] == "GET /start"
    assert "POST /fail" in calls
    body = next(b for m, p, b in server.requests if p.endswith("/fail"))
    assert "cannot read the store" in body and SECRET not in body


def test_a_dead_switch_is_said_once_and_redacted(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    said: list[str] = []
    deadman = Deadman(f"http://127.0.0.1:{port}/{SECRET}", say=said.append, timeout=2)
    for _ in range(3):
        deadman.start().result(10)
    deadman.close()
    assert len(said) == 1 and "start failed" in said[0]
    assert SECRET not in said[0] and "/***" in said[0]
    assert deadman.failed == 3 and deadman.sent == 0


def test_bad_deadman_url_is_a_usage_error(capsys):
    from console.cli import health_console_main

    with pytest.raises(SystemExit) as exit_:
        health_console_main(["--watch", "--deadman-url", f"ftp://hc-ping.example/{SECRET}"])
    err = capsys.readouterr().err
    assert exit_.value.code == 3 and "--deadman-url" in err and SECRET not in err
