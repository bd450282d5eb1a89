"""systemd's notify protocol, spoken directly: one AF_UNIX datagram per message, no library.

Why by hand: the protocol is a single ``sendto`` of ``KEY=VALUE`` lines to the socket named by
``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace), and the recorder hook may
add no dependency to the trading loop. What this gives a loop run by a unit with
``Type=notify`` and ``WatchdogSec=`` (``health-console --systemd``):

- ``READY=1`` once the monitor is set up;
- ``WATCHDOG=1`` from the loop's own calls only, at most every half ``$WATCHDOG_USEC``: a loop
  thread that hangs stops the pings, so systemd kills it (SIGABRT) and restarts it, although
  the process and its other threads are alive;
- ``STATUS=`` one line for ``systemctl status`` (last signal, data age);
- ``STOPPING=1`` on close.

Sending never blocks and never raises into the caller: the socket is non-blocking, and a full
or vanished socket costs one lost datagram (logged once).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

log = logging.getLogger("production_health")

STATUS_MAX = 200  # one line in `systemctl status`


@dataclass(frozen=True)
class SystemdEnv:
    """What systemd told this process about itself: recorded with each run so that the
    analysis can say how a run ended (health/restarts.py)."""

    notify_socket: str | None
    watchdog_usec: int | None  # None: no watchdog for this process
    invocation_id: str | None
    unit: str | None  # not from systemd's environment: derived from the cgroup, if readable

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None, pid: int | None = None) -> SystemdEnv:
        env = os.environ if environ is None else environ
        pid = os.getpid() if pid is None else pid
        return cls(
            notify_socket=env.get("NOTIFY_SOCKET") or None,
            watchdog_usec=_watchdog_usec(env, pid),
            invocation_id=env.get("INVOCATION_ID") or None,
            unit=_unit_of(pid),
        )

    @property
    def watchdog_seconds(self) -> float | None:
        return None if self.watchdog_usec is None else self.watchdog_usec / 1e6

    def record(self) -> dict[str, object]:
        """The run's config entry (empty when not run by systemd: nothing to say)."""
        if not (self.notify_socket or self.invocation_id):
            return {}
        return {
            "invocation_id": self.invocation_id,
            "unit": self.unit,
            "notify": self.notify_socket is not None,
            "watchdog_usec": self.watchdog_usec,
        }


def _watchdog_usec(env: Mapping[str, str], pid: int) -> int | None:
    """sd_watchdog_enabled(3): $WATCHDOG_USEC, for this process only if $WATCHDOG_PID says so."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner:
        try:
            if int(owner) != pid:
                return None
        except ValueError:
            return None
    return usec


def _unit_of(pid: int) -> str | None:
    """The systemd unit the process runs in, from its cgroup path (…/name.service)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            path = f.read().strip().rsplit(":", 1)[-1]
    except OSError:
        return None
    for part in reversed(path.split("/")):
        if part.endswith((".service", ".scope")):
            return part
    return None


def socket_address(value: str) -> str | bytes:
    """``@name`` is Linux's abstract namespace: the name with a leading NUL byte."""
    if value.startswith("@"):
        return b"\0" + value[1:].encode()
    return value


class SdNotifier:
    """The sender. ``due`` is the monotonic time of the next watchdog ping: the loop's calls
    compare it with ``time.monotonic()`` and call :meth:`ping` when it has passed."""

    def __init__(
        self,
        address: str,
        watchdog_usec: int | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.address = address
        self.interval = None if watchdog_usec is None else watchdog_usec / 2e6
        self._monotonic = monotonic
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self._sock.setblocking(False)
        self._target = socket_address(address)
        self._failing = False
        self.sent = 0
        self.due = float("inf") if self.interval is None else 0.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, pid: int | None = None) -> SdNotifier | None:
        """None unless ``$NOTIFY_SOCKET`` names a socket."""
        env = SystemdEnv.read(environ, pid)
        if not env.notify_socket:
            return None
        try:
            return cls(env.notify_socket, env.watchdog_usec)
        except OSError as exc:
            log.warning("sd_notify: cannot open a socket for %s: %s", env.notify_socket, exc)
            return None

    @property
    def watchdog(self) -> bool:
        return self.interval is not None

    def send(self, *lines: str) -> bool:
        """One datagram of ``KEY=VALUE`` lines; False when it could not be sent."""
        data = "\n".join(lines).encode("utf-8", "replace")
        try:
            self._sock.sendto(data, self._target)
        except OSError as exc:  # EAGAIN (full), ENOENT/ECONNREFUSED (systemd gone): never raise
            if not self._failing:
                log.warning("sd_notify to %s failed: %s (further failures not logged)", self.address, exc)
            self._failing = True
            return False
        self._failing = False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> None:
        self.send("READY=1", *self._status(status))
        if self.watchdog:
            self.due = 0.0  # the first call of the loop pings at once

    def ping(self, status: str = "") -> None:
        """WATCHDOG=1 (with the status line), from the loop's thread only."""
        self.due = self._monotonic() + self.interval
        self.send("WATCHDOG=1", *self._status(status))

    def status(self, status: str) -> None:
        self.send(*self._status(status))

    def stopping(self, status: str = "") -> None:
        self.due = float("inf")
        self.send("STOPPING=1", *self._status(status))

    def close(self) -> None:
        self.due = float("inf")
        self._sock.close()

    @staticmethod
    def _status(text: str) -> tuple[str, ...]:
        if not text:
            return ()
        line = " ".join(text.split())
        return (f"STATUS={line[:STATUS_MAX]}",)
