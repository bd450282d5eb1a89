"""Textual's Linux driver, made safe for a terminal that goes away (README, "The console").

Three faults of Textual's own ``LinuxDriver`` (8.x), each of which alone can leave a console
process behind its terminal for good; :func:`guarded_driver` works around them, and
:class:`console.terminal.TerminalGuard` bounds whatever is left.

1. *SIGCONT restarts application mode.* When a terminal hangs up, the kernel sends the
   session leader (a tmux pane's command, ``setsid``, an ssh session's leader) SIGHUP **and
   SIGCONT**. The driver takes every SIGCONT for the end of a Ctrl+Z suspension and calls
   ``start_application_mode`` again, suspended or not: a second output thread replaces the
   first, which is left waiting in ``Queue.get`` forever. Here a SIGCONT resumes only what a
   SIGTSTP suspended, and never once the console is leaving.
2. *The output thread dies on the first write error.* On a hung-up terminal its first write
   raises EIO and the thread ends; its queue (30 writes) is never drained again, and the next
   write — at the latest ``WriterThread.stop``'s ``put(None)`` in ``App._shutdown`` →
   ``LinuxDriver.close`` — blocks the main thread for good. Here the thread writes to
   :class:`_TerminalOutput`, which never raises: an EIO tells the guard the terminal is gone
   and the thread drains the queue from then on.
3. *Unbounded writes and close.* A terminal that has stopped reading (a frozen ssh link) blocks
   the output thread in ``write``, then every ``put``. While the console runs that is the right
   back-pressure; once it is leaving, writes wait at most :data:`LEAVING_WRITE_BUDGET` in all
   and ``close`` at most :data:`CLOSE_SECONDS`, then the output is dropped.

Reads: an EIO from the input thread (a pty whose other side closed) asks for an exit instead
of Textual's panic. A hung-up tty that reads as end-of-file makes Textual's input thread spin
until the app exits (upstream: https://github.com/Textualize/textual/pull/6690, open); the
guard's hang-up watch ends that within a moment.

Upstream, as of Textual 8.2.8: no report was found of faults 1 and 2 (a SIGCONT with no
suspension; an output thread that dies and leaves a full queue). Related: driver work done
inside a signal handler deadlocks on SIGTSTP (Textualize/textual#6298, PR #6333), and a
killed app leaves the terminal unusable (Textualize/textual#4070). Every override here names
a private member of ``LinuxDriver``/``WriterThread`` (``_sigcont_application``,
``_must_signal_resume``, ``_file``, ``_writer_thread``, ``_queue``); a test in
tests/test_console_hangup.py fails if an upgrade renames one.
"""

from __future__ import annotations

import os
import time
from queue import Full

from textual.drivers.linux_driver import LinuxDriver

from console.terminal import TerminalGuard

#: Once leaving: how long, in all, writes may wait on a terminal that does not read.
LEAVING_WRITE_BUDGET = 1.0
#: Once leaving: how long closing the output thread may take.
CLOSE_SECONDS = 1.0
_PUT_POLL = 0.1


class _TerminalOutput:
    """The file Textual's output thread writes to: the terminal's descriptor, written with
    ``os.write`` (no buffered-file lock held while blocked, no exception out of it)."""

    def __init__(self, stream, guard: TerminalGuard) -> None:
        self._fd = stream.fileno()
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        self._guard = guard
        self._pending: list[str] = []
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            self._pending.append(text)
        return len(text)

    def flush(self) -> None:
        if not self._pending:
            return
        data = memoryview("".join(self._pending).encode(self._encoding, "replace"))
        self._pending.clear()
        try:
            while data:
                data = data[os.write(self._fd, data) :]
        except OSError:  # EIO: hung up; EBADF: closed under us
            self.broken = True
            self._guard.terminal_gone()

    def fileno(self) -> int:
        return self._fd


class GuardedLinuxDriver(LinuxDriver):
    """``LinuxDriver`` with the three fixes above; :func:`guarded_driver` binds a guard."""

    guard: TerminalGuard

    def __init__(self, app, **kwargs) -> None:
        super().__init__(app, **kwargs)
        self._file = _TerminalOutput(self._file, self.guard)
        self._leaving_budget = LEAVING_WRITE_BUDGET
        self._dropping = False

    # 1. SIGCONT -------------------------------------------------------------------------------
    def _sigcont_application(self, *args) -> None:
        if self._must_signal_resume and not self.guard.leaving:
            super()._sigcont_application(*args)

    # 2./3. output -----------------------------------------------------------------------------
    def write(self, data: str) -> None:
        writer = self._writer_thread
        if writer is None or self._dropping:
            return
        queue = writer._queue
        while True:
            started = time.monotonic()
            try:
                queue.put(data, timeout=_PUT_POLL)
                return
            except Full:
                if not writer.is_alive():
                    self._dropping = True
                    return
                if self.guard.leaving:
                    self._leaving_budget -= time.monotonic() - started
                    if self._leaving_budget <= 0:
                        self._dropping = True
                        return

    def start_application_mode(self) -> None:
        self.guard.terminal_restored(False)
        super().start_application_mode()

    def stop_application_mode(self) -> None:
        super().stop_application_mode()
        if not (self._dropping or self._file.broken):
            self.guard.terminal_restored()

    def close(self) -> None:
        writer = self._writer_thread
        if writer is None or not writer.is_alive() or self._dropping:
            return  # a thread stuck writing to a terminal that does not read stays there
        try:
            writer._queue.put(None, timeout=CLOSE_SECONDS)
        except Full:
            return
        writer.join(CLOSE_SECONDS)

    # reads ------------------------------------------------------------------------------------
    def run_input_thread(self) -> None:
        try:
            super().run_input_thread()
        except OSError:  # EIO: the pty's other side is gone
            self.guard.terminal_gone()


def guarded_driver(guard: TerminalGuard) -> type[GuardedLinuxDriver]:
    """The driver class for ``App(driver_class=...)``, bound to this process's guard."""
    return type("GuardedLinuxDriver", (GuardedLinuxDriver,), {"guard": guard})
