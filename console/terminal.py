"""The console never outlives its terminal and always obeys SIGTERM (README, "The console").

One :class:`TerminalGuard` per console process, installed before any start-up work:

- SIGHUP and SIGTERM get a Python-level handler that does nothing but write one byte to a
  pipe. asyncio's ``loop.add_signal_handler`` would run the request only when the event loop
  runs again — a main thread blocked in Textual never gets there, and SIGTERM is then ignored.
- A daemon thread (``console-guard``) reads that pipe and polls the terminal for a hang-up
  (POLLHUP/POLLERR on stdin: an ssh link dropped, a tmux pane killed — with or without a
  SIGHUP). On the first exit request of any kind (those, an EIO from the driver, ``q``) it
  asks the app to exit, then gives it :data:`GRACE_SECONDS`. Past that bound it restores the
  terminal — only if there still is one — and ends the process with ``os._exit``: whatever
  Textual, a worker or an interpreter shutdown is stuck on, nothing outlives the bound.

The handler takes no lock and starts no thread (a signal can arrive while the main thread
holds any lock, even one of :mod:`threading`'s own); the guard thread does the rest.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import termios
import threading
import time
from collections.abc import Callable

#: From the first exit request to ``os._exit``: a clean shutdown takes well under a second;
#: the bound keeps the whole path (hang-up noticed, grace, terminal restored) under 5 s.
GRACE_SECONDS = 3.5
#: How long the last restore of a terminal that has stopped reading may block.
RESTORE_SECONDS = 0.5

#: What Textual's LinuxDriver.stop_application_mode writes, for a process that never got there:
#: bracketed paste off, line wrap on, mouse reporting off, Kitty keyboard protocol popped,
#: alternate screen left, cursor shown, focus reporting off.
RESET = (
    b"\x1b[?2004l\x1b[?7h\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l\x1b[<u\x1b[?1049l\x1b[?25h\x1b[?1004l"
)

_SIGNALS = (signal.SIGHUP, signal.SIGTERM)
_QUIT, _GONE = 0xFE, 0xFF  # pipe codes besides signal numbers
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


def _fileno(stream) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, ValueError, OSError):
        return None


def terminal_alive(fd: int | None) -> bool:
    """A terminal is still there: its settings can be read (a hung-up tty answers EIO)."""
    if fd is None:
        return False
    try:
        termios.tcgetattr(fd)
    except (termios.error, OSError):
        return False
    return True


class TerminalGuard:
    """Signals, hang-up watch and the bound on shutdown, for one console process."""

    def __init__(self, *, grace: float = GRACE_SECONDS, exit_code: int = 0) -> None:
        self.grace = grace
        self.exit_code = exit_code
        self.fd_in = _fileno(sys.__stdin__)
        self.fd_out = _fileno(sys.__stderr__)  # Textual draws on stderr
        self._attrs: list | None = None
        self._leaving = False
        self._restored = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._loop = None
        self._exit_app: Callable[[], object] | None = None
        self._hooks: list[Callable[[], object]] = []

    # -- set-up (main thread, before any start-up work) ---------------------------------------
    @classmethod
    def install(cls, **kwargs) -> TerminalGuard:
        guard = cls(**kwargs)
        if guard.fd_in is not None:
            with contextlib.suppress(termios.error, OSError):
                guard._attrs = termios.tcgetattr(guard.fd_in)  # the user's settings, pre-Textual
        for sig in _SIGNALS:
            signal.signal(sig, guard._on_signal)
        threading.Thread(target=guard._run, name="console-guard", daemon=True).start()
        return guard

    def attach(self, exit_app: Callable[[], object]) -> None:
        """Called on the app's event loop once it can exit safely: how to ask it to. An exit
        requested earlier (a hang-up while starting) is passed on at once."""
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._exit_app = exit_app
        if self._leaving:
            exit_app()

    def on_hard_exit(self, hook: Callable[[], object]) -> None:
        """Run (best effort, each at most once) if the bound is reached: cleanup that the
        normal path would have done, such as a temporary store."""
        self._hooks.append(hook)

    # -- requests (any thread, signal handlers included) -----------------------------------------
    @property
    def leaving(self) -> bool:
        return self._leaving

    def request_exit(self, code: int = _QUIT) -> None:
        """Leave: no lock, no allocation worth the name — safe in a signal handler."""
        self._leaving = True
        with contextlib.suppress(OSError):  # BlockingIOError: a request is already pending
            os.write(self._wake_w, bytes((code,)))

    def terminal_gone(self) -> None:
        """The driver read or wrote EIO: the terminal is gone, leave now."""
        self.request_exit(_GONE)

    def terminal_restored(self, restored: bool = True) -> None:
        """Textual put the terminal back itself (or took it again, after a Ctrl+Z): the hard
        exit restores it only if Textual has not."""
        self._restored = restored

    def _on_signal(self, signum: int, frame) -> None:
        self.request_exit(signum)

    # -- the guard thread ----------------------------------------------------------------------
    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if self.fd_in is not None:  # a tty (or one already hung up: isatty says no then)
            poller.register(self.fd_in, 0)  # no events asked: poll reports only HUP, ERR, NVAL
        code = None  # what ended it: a signal number, _QUIT, _GONE; SIGHUP for a hang-up
        while code is None:
            for fd, mask in poller.poll():
                if fd == self._wake_r:
                    code = os.read(self._wake_r, 1)[0]
                elif mask & _HANGUP:
                    code = signal.SIGHUP
        self._leaving = True
        deadline = time.monotonic() + self.grace
        if self._exit_app is not None and code != _QUIT:  # "quit": the app asked itself
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._exit_app)
        time.sleep(max(0.0, deadline - time.monotonic()))
        self._hard_exit()

    def _hard_exit(self) -> None:
        for hook in self._hooks:
            with contextlib.suppress(Exception):
                hook()
        if not self._restored and self._attrs is not None and terminal_alive(self.fd_in):
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(self.fd_in, termios.TCSANOW, self._attrs)
            # A terminal that has stopped reading would block this write for good: bounded.
            writer = threading.Thread(target=self._write_reset, daemon=True)
            writer.start()
            writer.join(RESTORE_SECONDS)
        os._exit(self.exit_code)

    def _write_reset(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd_out, RESET)


def need_terminal(error: type[Exception]) -> None:
    """Without a terminal Textual would spin on a dead stdin: say so and stop instead."""
    if not (sys.stdin.isatty() and sys.__stderr__.isatty()):  # Textual draws on stderr
        raise error("the console needs a terminal; for scripts and cron use --report (or --watch)")
