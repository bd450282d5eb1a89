"""A command on a pseudo-terminal, as a person runs the console over SSH (bench/console.py)."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import signal
import struct
import termios
import threading
import time

SIZE = (120, 40)  # columns, rows


class PtyProc:
    """A command on a pseudo-terminal that is its controlling terminal; its output is read
    (and counted) by a thread, as a terminal emulator would."""

    def __init__(self, argv: list[str], env: dict[str, str], size: tuple[int, int] = SIZE) -> None:
        cols, rows = size
        pid, fd = pty.fork()
        if pid == 0:  # the child: set the window size, then become the command
            try:
                import fcntl

                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.bytes = 0
        self.head = b""
        self.recording = False
        self.chunks: list[tuple[float, bytes]] = []  # while recording: (monotonic, output)
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([self.fd], [], [], 0.5)
                if not ready:
                    continue
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.bytes += len(chunk)
                if len(self.head) < 400_000:
                    self.head += chunk
                if self.recording:
                    self.chunks.append((time.monotonic(), chunk))

    def seen(self, needle: bytes) -> bool:
        with self._lock:
            return needle in self.head

    def stop(self) -> int | None:
        """SIGTERM (the app exits cleanly on it), SIGKILL after 10 s. The exit status."""
        status = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, st = os.waitpid(self.pid, os.WNOHANG)
            if done:
                status = os.waitstatus_to_exitcode(st)
                break
            time.sleep(0.05)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        self._thread.join(2)
        return status
