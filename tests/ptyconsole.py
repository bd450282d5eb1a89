"""The real ``health-console`` on a real pseudo-terminal, as tmux or sshd runs it, for the
hang-up and SIGTERM tests.

- ``controlling=True``: the console is a session leader whose controlling terminal is the pty
  (a tmux pane's command, an ssh session): closing the master is a kernel hang-up — SIGHUP
  *and* SIGCONT to the session leader, then EIO on every read and write.
- ``controlling=False``: the pty is only its stdin/stdout/stderr: closing the master gives EIO
  and POLLHUP but no signal at all.

Every process the console starts (the demo's simulated loop and its restarts, multiprocessing
helpers) inherits a unique environment tag, so "nothing outlives the console" is checked on
every process of the machine, not on a list of children taken at one moment.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import subprocess
import termios
import threading
import time
import uuid
from pathlib import Path

import psutil
from conftest import PYTHON, child_env

TAG = "HEALTH_PTY_TEST_TAG"
_script = Path(PYTHON).with_name("health-console")
#: The installed entry point when there is one (pip install -e), else the same function.
HEALTH_CONSOLE = (
    [str(_script)]
    if _script.exists()
    else [PYTHON, "-c", "import sys; from console.cli import health_console_main; health_console_main()"]
)
# Take the pty as controlling terminal, then become health-console (same pid, session leader).
_CTTY = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execv(sys.argv[1], sys.argv[1:])"


class PtyConsole:
    """One console on its own pty; ``read=False`` is a terminal that has stopped reading."""

    def __init__(
        self,
        args: list[str],
        *,
        controlling: bool = True,
        read: bool = True,
        size: tuple[int, int] = (120, 40),
        command: list[str] | None = None,
    ) -> None:
        self.tag = uuid.uuid4().hex
        env = child_env()
        env["TERM"] = "xterm-256color"
        env[TAG] = self.tag
        env.pop("TEXTUAL", None)
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        argv = [*(command or HEALTH_CONSOLE), *args]
        if controlling:
            argv = [PYTHON, "-c", _CTTY, *argv]
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True, close_fds=True
        )
        os.close(slave)
        self.started = time.monotonic()
        self.master: int | None = master
        self.output = bytearray()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        if read:
            self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
            self._reader.start()

    # -- the terminal side ------------------------------------------------------------------
    def _read(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # EIO: no process has the pty open any more
                    return
                if not chunk:
                    return
                self.output += chunk

    def wait_for(self, needle: bytes, timeout: float = 20.0) -> bool:
        deadline = time.monotonic() + timeout
        while needle not in self.output and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.02)
        return needle in self.output

    def write(self, data: bytes) -> None:
        """Keys typed on the terminal."""
        os.write(self.master, data)

    def drained(self, timeout: float = 2.0) -> bytes:
        """Everything the console wrote, once it has gone (the pty reads EIO then)."""
        if self._reader is not None:
            self._reader.join(timeout)
        return bytes(self.output)

    def pending(self) -> int:
        """Bytes the console wrote that the terminal has not read."""
        return struct.unpack("i", fcntl.ioctl(self.master, termios.FIONREAD, b"\0\0\0\0"))[0]

    def termios_lflag(self) -> int:
        """The pty's local modes as the console left them (the master reads the slave's)."""
        return termios.tcgetattr(self.master)[3]

    def hang_up(self) -> float:
        """The terminal goes away (ssh dropped, tmux pane killed): the master closes."""
        self._stop.set()
        if self._reader is not None:
            self._reader.join()
        os.close(self.master)
        self.master = None
        return time.monotonic()

    def send(self, sig: int) -> float:
        self.proc.send_signal(sig)
        return time.monotonic()

    # -- what is left ---------------------------------------------------------------------------
    def survivors(self) -> list[psutil.Process]:
        """Every live process of the machine carrying this console's tag (zombies are dead)."""
        found = []
        for proc in psutil.process_iter(["status"]):
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            with contextlib.suppress(psutil.Error, OSError):
                if proc.environ().get(TAG) == self.tag:
                    found.append(proc)
        return found

    def wait_gone(self, since: float, within: float = 5.0) -> float | None:
        """Seconds from ``since`` until the console and everything it started are gone; None
        if something is still there ``within`` seconds after ``since``."""
        deadline = since + within
        while time.monotonic() < deadline:
            if self.proc.poll() is not None and not self.survivors():
                return time.monotonic() - since
            time.sleep(0.02)
        if self.proc.poll() is not None and not self.survivors():
            return time.monotonic() - since
        return None

    def describe(self) -> str:
        lines = []
        for proc in self.survivors():
            with contextlib.suppress(psutil.Error):
                lines.append(f"pid {proc.pid} {proc.status()} {' '.join(proc.cmdline())[:120]}")
        return "; ".join(lines) or f"console exit {self.proc.returncode}"

    def close(self) -> None:
        """Leave nothing behind whatever the test found."""
        for proc in self.survivors():
            with contextlib.suppress(psutil.Error):
                proc.kill()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._stop.set()
        if self._reader is not None:
            self._reader.join()
        if self.master is not None:
            with contextlib.suppress(OSError):
                os.close(self.master)
            self.master = None

    def __enter__(self) -> PtyConsole:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def ended_as_asked(returncode: int | None, sig: int) -> bool:
    """Exit 0 (the console handled it), or killed by the signal itself before it could (the
    interpreter was still starting, before the console's handlers were installed)."""
    return returncode == 0 or returncode == -sig
