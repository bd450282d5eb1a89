"""``/metrics`` over HTTP with aiohttp (already a dependency, for the sinks), on a thread and an
event loop of its own, so a slow scraper never delays the watchdog's evaluations. Binds
127.0.0.1 unless told otherwise: the metrics name hosts, pids and stores. The body is
prometheus_client's exposition of the registry (health/metrics.py), never hand-written; the
node_exporter textfile is prometheus_client's atomic ``write_to_textfile``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path

from aiohttp import web
from prometheus_client import write_to_textfile
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import CollectorRegistry

log = logging.getLogger("production_health")

DEFAULT_HOST = "127.0.0.1"


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self.registry = registry
        self.host = host
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    async def _metrics(self, request: web.Request) -> web.Response:
        # The format the scraper asks for (OpenMetrics for Prometheus, text otherwise), as
        # prometheus_client negotiates it for its own servers.
        encode, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encode(self.registry), headers={"Content-Type": content_type})

    async def _index(self, request: web.Request) -> web.Response:
        return web.Response(text="production-health watchdog: metrics at /metrics\n")

    def start(self) -> int:
        """Bind and serve; returns the port (an ephemeral one for port 0). OSError (the port
        is taken, the address is not this host's) is the caller's to report."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/", self._index)
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        try:
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
            loop.run_until_complete(site.start())
        except BaseException:
            loop.run_until_complete(runner.cleanup())
            loop.close()
            raise
        self.port = runner.addresses[0][1]
        self._loop, self._runner = loop, runner
        self._thread = threading.Thread(target=loop.run_forever, name="health-metrics", daemon=True)
        self._thread.start()
        return self.port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/metrics"

    def stop(self) -> None:
        loop, runner, thread = self._loop, self._runner, self._thread
        if loop is None or runner is None or thread is None:
            return
        self._loop = self._runner = self._thread = None
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        try:
            loop.run_until_complete(runner.cleanup())
        finally:
            loop.close()


class TextfileWriter:
    """node_exporter's textfile collector format, replaced atomically after each evaluation
    (prometheus_client writes a temporary file beside it and renames it). A failure is said
    once, never raised: the watchdog's paging matters more than its metrics."""

    def __init__(self, registry: CollectorRegistry, path: str | Path) -> None:
        self.registry = registry
        self.path = str(path)
        self.failing: str | None = None

    def write(self) -> str | None:
        """None when written; else the reason, the first time it fails (for the log)."""
        try:
            write_to_textfile(self.path, self.registry)
        except OSError as exc:
            reason = f"cannot write the metrics textfile {self.path}: {exc}"
            first = self.failing is None
            self.failing = reason
            return reason if first else None
        self.failing = None
        return None
