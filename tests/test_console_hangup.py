"""The console never outlives its terminal and always obeys SIGTERM (README, "The console").

The real ``health-console`` on a real pty (tests/ptyconsole.py), on a real store and with
``--demo``: the terminal hangs up (with SIGHUP, as tmux and sshd do it, and without), SIGTERM
arrives, the terminal stops reading first — at any moment from start-up to the running
dashboard. Each time the console and every process it started are gone within 5 s.

The default suite runs a few representative moments (the issue's own race: a hang-up just as
the first screen appears). The stress — 20 moments from 0.1 s to 5 s for each way of ending —
runs on demand: ``python -m pytest -m stress``.

Waiting for a moment after start is a sleep, and that is the experiment: the moment is the
variable. Everything else waits for a condition with a deadline.
"""

from __future__ import annotations

import re
import shutil
import signal
import termios
import time
from pathlib import Path

import pytest
from conftest import PYTHON
from ptyconsole import PtyConsole, ended_as_asked

from console.terminal import RESET
from health.simulation import seed_dec11_story

WITHIN = 5.0  # seconds from the event to nothing left
MOMENTS = [round(0.1 + i * (5.0 - 0.1) / 19, 2) for i in range(20)]  # 0.1 s … 5.0 s after start
ALT_SCREEN_ON, ALT_SCREEN_OFF = b"\x1b[?1049h", b"\x1b[?1049l"
FIRST_SCREEN = b"Production Health"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("hangup") / "health.db"
    seed_dec11_story(path, own_process=False)
    return str(path)


def _at(console: PtyConsole, moment: float) -> None:
    time.sleep(max(0.0, console.started + moment - time.monotonic()))


def _until(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def _assert_gone(console: PtyConsole, since: float, what: str) -> float:
    took = console.wait_gone(since, WITHIN)
    assert took is not None, f"still there {WITHIN} s after {what}: {console.describe()}"
    print(f"gone {took:.2f} s after {what}")  # the stress's timings, with -s
    return took


def _last_words(console: PtyConsole) -> str:
    """The exit status and the end of what the console wrote, escape sequences removed."""
    text = re.sub(rb"\x1b\[[0-9;?<>=$]*[a-zA-Z~]", b" ", console.drained()).decode(errors="replace")
    return f"exit {console.proc.returncode}: …{' '.join(text.split())[-1500:]}"


def _assert_terminal_restored(console: PtyConsole) -> None:
    """The terminal is usable again: line editing and echo back, the alternate screen left."""
    lflag = console.termios_lflag()
    assert lflag & termios.ECHO and lflag & termios.ICANON
    output = console.drained()
    if ALT_SCREEN_ON in output:
        assert ALT_SCREEN_OFF in output[output.rindex(ALT_SCREEN_ON) :]


# -- the ways a terminal goes away, each at one moment ----------------------------------------------
def hang_up_at(moment: float, args: list[str], *, controlling: bool = True) -> float:
    with PtyConsole(args, controlling=controlling) as console:
        _at(console, moment)
        since = console.hang_up()
        return _assert_gone(console, since, f"a hang-up {moment} s after start")


def sigterm_at(moment: float, args: list[str]) -> float:
    with PtyConsole(args) as console:
        _at(console, moment)
        since = console.send(signal.SIGTERM)
        took = _assert_gone(console, since, f"SIGTERM {moment} s after start")
        assert ended_as_asked(console.proc.returncode, signal.SIGTERM), _last_words(console)
        _assert_terminal_restored(console)
        return took


def stop_reading_then(moment: float, args: list[str], end: str) -> float:
    """The terminal stops reading from the start (a frozen ssh link): the console fills the
    pty and blocks writing; then, at ``moment``, a hang-up or SIGTERM."""
    with PtyConsole(args, read=False) as console:
        assert _until(lambda: console.pending() >= 4000), "the console never filled the terminal"
        _at(console, moment)
        since = console.hang_up() if end == "hangup" else console.send(signal.SIGTERM)
        took = _assert_gone(console, since, f"{end} {moment} s after start, terminal not reading")
        if end == "sigterm":
            assert console.proc.returncode == 0
            lflag = console.termios_lflag()  # the escape sequences cannot get through; the modes do
            assert lflag & termios.ECHO and lflag & termios.ICANON
        return took


# -- the default suite: representative moments --------------------------------------------------------
def test_a_hang_up_as_the_first_screen_appears(store: str) -> None:
    """The reported race: a tmux pane killed as soon as the dashboard shows."""
    with PtyConsole(["--store", store]) as console:
        assert console.wait_for(FIRST_SCREEN)
        since = console.hang_up()
        _assert_gone(console, since, "a hang-up at the first screen")
        assert console.proc.returncode == 0


def test_sigterm_while_starting(store: str) -> None:
    sigterm_at(0.4, ["--store", store])


def test_sigterm_on_the_running_dashboard_restores_the_terminal(store: str) -> None:
    with PtyConsole(["--store", store]) as console:
        assert console.wait_for(FIRST_SCREEN)
        since = console.send(signal.SIGTERM)
        _assert_gone(console, since, "SIGTERM on the dashboard")
        assert console.proc.returncode == 0
        _assert_terminal_restored(console)


def test_a_sigcont_that_ends_no_suspension_leaves_the_screen_alone(store: str) -> None:
    """A hang-up sends the session leader SIGCONT with SIGHUP. Textual's driver would start
    application mode again on it (a second alternate screen, a second output thread: the
    orphan's cause); a SIGCONT that ends no Ctrl+Z suspension changes nothing."""
    with PtyConsole(["--store", store]) as console:
        assert console.wait_for(FIRST_SCREEN)
        console.send(signal.SIGCONT)
        console.output.clear()
        # a key after the signal: once its screen is drawn, the signal has been handled
        console.write(b"?")
        assert console.wait_for(b"Everywhere")
        assert ALT_SCREEN_ON not in console.output
        since = console.send(signal.SIGTERM)
        _assert_gone(console, since, "SIGTERM")
        assert console.proc.returncode == 0


def test_a_terminal_that_stopped_reading_then_hangs_up(store: str) -> None:
    stop_reading_then(1.5, ["--store", store], "hangup")


def test_a_terminal_that_stopped_reading_then_sigterm(store: str) -> None:
    stop_reading_then(1.5, ["--store", store], "sigterm")


def test_the_demo_and_its_loop_go_with_the_terminal() -> None:
    with PtyConsole(["--demo"]) as console:
        assert console.wait_for(FIRST_SCREEN)
        assert _until(lambda: _demo_loops(console))
        since = console.hang_up()
        _assert_gone(console, since, "a hang-up of the demo")


def test_the_demo_loop_dies_with_a_sigkilled_console() -> None:
    """No cleanup runs in a SIGKILLed console: the loop notices on its own (its lifeline).
    (Its temporary store stays behind; the test removes it.)"""
    with PtyConsole(["--demo"]) as console:
        assert console.wait_for(FIRST_SCREEN)
        loops: list = []
        assert _until(lambda: loops.extend(_demo_loops(console)) or loops)
        store = Path(loops[0].cmdline()[loops[0].cmdline().index("--store") + 1])
        try:
            since = console.send(signal.SIGKILL)
            _assert_gone(console, since, "SIGKILL of the demo console")
        finally:
            shutil.rmtree(store.parent, ignore_errors=True)


def _demo_loops(console: PtyConsole) -> list:
    return [p for p in console.survivors() if "console.demo" in p.cmdline()]


# -- the bound itself: a main thread stuck for good --------------------------------------------------
STUCK = """
import os, sys, threading, time, tty
from console.terminal import TerminalGuard
if sys.argv[2] == "gone-before":    # the terminal goes between start-up and the guard
    os.write(2, b"stuck")
    while os.isatty(0):
        time.sleep(0.01)
guard = TerminalGuard.install(grace=float(sys.argv[1]))
if os.isatty(0):
    tty.setraw(0)                   # what Textual does to the terminal
    os.write(2, b"\\x1b[?1049hstuck")  # and the alternate screen
guard.request_exit() if sys.argv[2] == "quit" else None
threading.Event().wait()        # then never comes back (as in Textual's WriterThread.stop)
"""


@pytest.mark.parametrize("end", ["sigterm", "hangup", "quit", "gone-before"])
def test_past_the_bound_the_process_ends_anyway(end: str) -> None:
    """``gone-before``: a pty that closed before the guard was installed (no SIGHUP: not the
    controlling terminal) is a hang-up all the same."""
    grace = 0.5
    with PtyConsole(
        [str(grace), end], command=[PYTHON, "-c", STUCK], controlling=end != "gone-before"
    ) as console:
        assert console.wait_for(b"stuck")
        if end in ("hangup", "gone-before"):
            since = console.hang_up()
        elif end == "sigterm":
            since = console.send(signal.SIGTERM)
        else:
            since = time.monotonic()  # it asked just before "stuck"
        took = _assert_gone(console, since, end)
        assert console.proc.returncode == 0
        if end in ("sigterm", "quit"):  # a terminal still there is put back as it was
            assert took >= grace - 0.1  # not before the bound: the app had its chance
            lflag = console.termios_lflag()
            assert lflag & termios.ECHO and lflag & termios.ICANON
            assert _until(lambda: RESET in console.output, 2.0)


# -- the stress, on demand ------------------------------------------------------------------------


@pytest.mark.parametrize("moment", MOMENTS)
@pytest.mark.parametrize("target", ["store", "demo"])
@pytest.mark.parametrize("end", ["hangup", "sigterm", "eio"])
@pytest.mark.slow
@pytest.mark.stress
def test_stress_every_moment(store: str, target: str, end: str, moment: float) -> None:
    """``eio``: the pty closes but is not the controlling terminal — no SIGHUP, only EIO."""
    args = ["--store", store] if target == "store" else ["--demo"]
    if end == "sigterm":
        sigterm_at(moment, args)
    else:
        hang_up_at(moment, args, controlling=end == "hangup")


@pytest.mark.parametrize("moment", [m for m in MOMENTS if m >= 1.5])
@pytest.mark.parametrize("end", ["hangup", "sigterm"])
@pytest.mark.slow
@pytest.mark.stress
def test_stress_a_terminal_that_stopped_reading(store: str, end: str, moment: float) -> None:
    stop_reading_then(moment, ["--store", store], end)


def test_the_textual_internals_the_driver_relies_on_are_still_there() -> None:
    """console/driver.py overrides and reads private members of Textual's driver: an upgrade
    that renames one must fail here, not silently bring the orphans back."""
    import inspect

    from textual.drivers import _writer_thread, linux_driver

    driver_source = inspect.getsource(linux_driver.LinuxDriver)
    for name in ("_sigcont_application", "_must_signal_resume", "self._file", "_writer_thread"):
        assert name in driver_source, name
    assert "WriterThread(self._file)" in driver_source
    assert "self._queue" in inspect.getsource(_writer_thread.WriterThread)
