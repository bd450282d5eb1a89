"""Machine diagnostics against real stores written by the real recorder, real
processes (alive, stopped, killed), real log files; the store is never changed by them and
webhook secrets never appear in any output."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import PYTHON, FakeClock, child_env, ny, wait_until

from health import MonitorConfig, ProductionMonitor
from health.calendar import get_calendar
from health.diagnostics import CHECK_NAMES, FAIL, OK, WARN, CheckResult, run_diagnostics, runner, store_file
from health.diagnostics import clock as clock_check
from health.diagnostics import logs as logs_check
from health.diagnostics import sinks as sinks_check
from health.diagnostics.context import Context
from health.process import is_watchdog
from store.schema import SCHEMA_VERSION

DISCORD_TOKEN = "Zq9xSECRETdiscordTOKEN_4f2a"
DISCORD_URL = f"https://discord.com/api/webhooks/112233445566/{DISCORD_TOKEN}"
GENERIC_TOKEN = "genericSECRETpath77"
GENERIC_KEY = "querySECRETkey99"
GENERIC_URL = f"https://hooks.example.com/services/{GENERIC_TOKEN}?key={GENERIC_KEY}"
SECRETS = (DISCORD_TOKEN, GENERIC_TOKEN, GENERIC_KEY)


def by_name(results: list[CheckResult]) -> dict[str, CheckResult]:
    return {r.name: r for r in results}


def timed(*args, **kwargs) -> tuple[dict[str, CheckResult], float]:
    kwargs.setdefault("environ", {})
    t0 = time.monotonic()
    results = run_diagnostics(*args, **kwargs)
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0, f"diagnostics took {elapsed:.1f} s"
    assert [r.name for r in results] == list(CHECK_NAMES)
    for r in results:
        assert r.status in (OK, WARN, FAIL)
        assert (r.fix is None) or r.status != OK or r.fix  # OK results need no fix
        assert all(isinstance(line, str) for line in r.lines)
        if r.status != OK:
            assert r.fix, f"{r.name} is {r.status} without a fix: {r.detail}"
    return by_name(results), elapsed


def fingerprint(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_size


@pytest.fixture
def recorded_store(store_path: Path, clock: FakeClock) -> Path:
    """A store written and closed by the real recorder on 2025-12-10 (a Wednesday)."""
    with ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock, source="alpha")) as m:
        for _ in range(5):
            m.record_activity()
            assert m.should_generate_signals(clock.epoch - 30)[0]
            m.record_signal("AAPL", clock.epoch - 30)
            clock.advance(60)
    return store_path


# -- process -------------------------------------------------------------------------------------

LOOP = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(filename=sys.argv[2], level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from health import MonitorConfig, ProductionMonitor
    monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="loop",
                                              check_interval_seconds=60))
    monitor.record_activity()
    log = logging.getLogger("loop")
    log.info("started")
    try:
        {}["close"] / 0
    except Exception:
        log.exception("signal generation failed")
    monitor.flush()
    print("ready", flush=True)
    sys.stdin.read()
    monitor.close()
    """
)


@pytest.fixture
def live_loop(tmp_path: Path, store_path: Path):
    script = tmp_path / "loop.py"
    script.write_text(LOOP)
    log_file = tmp_path / "loop.log"
    proc = subprocess.Popen(
        [PYTHON, str(script), str(store_path), str(log_file)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
        cwd=tmp_path,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        yield proc, script, log_file
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def test_live_process_ok_then_stopped_then_killed(live_loop, store_path: Path) -> None:
    proc, script, log_file = live_loop

    res, _ = timed(store_path)
    assert res["process"].status == OK, res["process"].detail
    assert f"pid {proc.pid}" in res["process"].detail
    assert "alive" in res["process"].detail and "CPU" in res["process"].detail

    # Its recorded log file is found without --logs, and its traceback is picked out.
    logs = res["logs"]
    assert logs.status == FAIL
    assert str(log_file) in logs.detail
    assert "Traceback (most recent call last):" in logs.lines
    assert any(line.startswith("KeyError") for line in logs.lines)
    assert any("signal generation failed" in line for line in logs.lines)
    assert not any("started" in line for line in logs.lines)  # INFO lines are not picked

    # Alive, but no heartbeat for far longer than 2 x check_interval during RTH: hung.
    cal = get_calendar("XNYS")
    later = time.time() + 400
    state = cal.state(later)
    in_rth = later if state.is_open else state.next.open_ts + 60
    res, _ = timed(store_path, now=in_rth)
    assert res["process"].status == FAIL
    assert "hung" in res["process"].detail and "py-spy dump" in res["process"].fix

    # SIGSTOP: alive but stopped.
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        assert wait_until(lambda: psutil.Process(proc.pid).status() == psutil.STATUS_STOPPED, timeout=5)
        res, _ = timed(store_path)
        assert res["process"].status == FAIL
        assert "stopped" in res["process"].detail
        assert f"kill -CONT {proc.pid}" in res["process"].fix
    finally:
        os.kill(proc.pid, signal.SIGCONT)

    # SIGKILL: dead without a clean stop.
    proc.kill()
    proc.wait(timeout=10)
    res, _ = timed(store_path)
    process = res["process"]
    assert process.status == FAIL
    assert "did not stop cleanly" in process.detail
    assert process.fix.startswith("restart:")
    assert f"cd {script.parent}" in process.fix and str(script) in process.fix


def test_clean_stop_is_ok_outside_rth_and_warn_inside(recorded_store: Path) -> None:
    # The run stopped cleanly at ~11:05 New York. Its pid is this test process (the pid-reuse
    # guard compares real start times), which still runs: worth a WARN, nothing is recorded.
    res, _ = timed(recorded_store, now=ny(2025, 12, 10, 18, 0).timestamp())
    assert res["process"].status == WARN, res["process"].detail
    assert "stopped cleanly" in res["process"].detail and "still runs" in res["process"].detail

    res, _ = timed(recorded_store, now=ny(2025, 12, 10, 11, 30).timestamp())
    assert res["process"].status == WARN
    assert "still runs" in res["process"].detail


CLEAN_DAY = textwrap.dedent(
    """
    import sys
    from datetime import datetime
    from zoneinfo import ZoneInfo
    from health import MonitorConfig, ProductionMonitor
    t = [datetime(2025, 12, 10, 10, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()]
    with ProductionMonitor(MonitorConfig(store_path=sys.argv[1], clock=lambda: t[0], source="alpha")) as m:
        for _ in range(5):
            m.record_activity()
            m.should_generate_signals(t[0] - 30)
            t[0] += 60
    """
)


def test_clean_stop_of_a_finished_process_is_ok_outside_rth(store_path: Path) -> None:
    """The loop's process closed its monitor and exited: nothing is wrong after the close."""
    subprocess.run([PYTHON, "-c", CLEAN_DAY, str(store_path)], check=True, env=child_env(), timeout=60)
    res, _ = timed(store_path, now=ny(2025, 12, 10, 18, 0).timestamp())
    assert res["process"].status == OK, res["process"].detail
    assert "stopped cleanly" in res["process"].detail
    assert "next open Thu 2025-12-11 09:30 EST" in res["process"].detail
    res, _ = timed(store_path, now=ny(2025, 12, 10, 11, 30).timestamp())
    assert res["process"].status == WARN  # stopped cleanly, but the market is open
    assert "restart the loop" in (res["process"].fix or "")  # started with -c: no command line to repeat


def test_other_host_cannot_be_checked(recorded_store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: "some-other-box")
    res, _ = timed(recorded_store, now=ny(2025, 12, 10, 11, 30).timestamp())
    assert res["process"].status == WARN
    assert "cannot check pid on other host" in res["process"].detail
    assert res["process"].fix.startswith("check it there: ssh ")


def test_source_filter(recorded_store: Path) -> None:
    res, _ = timed(recorded_store, source="nope")
    assert res["process"].status == WARN
    assert "no loop named 'nope'" in res["process"].detail and "alpha" in res["process"].detail


# -- logs ------------------------------------------------------------------------------------------

TRACEBACK_LOG = """\
2025-12-10 10:59:00 INFO loop tick
2025-12-10 10:59:30 WARNING loop slow feed
2025-12-10 11:00:00 ERROR loop feed returned nothing
2025-12-10 11:00:01 ERROR loop signal generation failed
Traceback (most recent call last):
  File "/srv/loop.py", line 10, in main
    generate()
  File "/srv/loop.py", line 20, in generate
    raise ValueError("no bars")
ValueError: no bars
2025-12-10 11:00:02 INFO loop tick
"""


def test_logs_from_globs(recorded_store: Path, tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    (logs / "sub").mkdir(parents=True)
    (logs / "sub" / "loop.log").write_text(TRACEBACK_LOG)
    (logs / "clean.log").write_text("2025-12-10 11:00:00 INFO all good\n")

    res, _ = timed(recorded_store, log_globs=[str(logs / "**" / "*.log")])
    r = res["logs"]
    assert r.status == FAIL
    assert "1 traceback(s)" in r.detail and "no errors" in r.detail
    assert r.lines[r.lines.index("Traceback (most recent call last):") + 5] == "ValueError: no bars"
    assert "2025-12-10 11:00:00 ERROR loop feed returned nothing" in r.lines
    assert not any("INFO" in line or "WARNING" in line for line in r.lines)
    assert "tail -n 200" in r.fix

    res, _ = timed(recorded_store, log_globs=[str(logs / "clean.log")])
    assert res["logs"].status == OK and res["logs"].lines == ()

    (logs / "errors.log").write_text("x ERROR one\ny CRITICAL two\n")
    res, _ = timed(recorded_store, log_globs=[str(logs / "errors.log")])
    assert res["logs"].status == WARN and len(res["logs"].lines) == 3  # header + 2


def test_no_log_file_known(recorded_store: Path, tmp_path: Path) -> None:
    res, _ = timed(recorded_store)
    assert res["logs"].status == WARN
    assert "--logs GLOB" in res["logs"].fix
    res, _ = timed(recorded_store, log_globs=[str(tmp_path / "nothing-*.log")])
    assert res["logs"].status == WARN and "matched no file" in res["logs"].detail


def test_logs_read_only_the_tail_and_cap_output(recorded_store: Path, tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    with big.open("w") as fh:
        fh.write("0 ERROR ancient error far from the end\n")
        fh.write("1 INFO filler line of some length to push the error out of the window\n" * 5000)
        for i in range(100):
            fh.write(f"{i} ERROR recent error {i}\n")
    (tmp_path / "other.log").write_text("".join(f"{i} CRITICAL other {i}\n" for i in range(50)))
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)  # opening it would block forever: it must be skipped, not read

    res, _ = timed(recorded_store, log_globs=[str(tmp_path / "*.log")])
    r = res["logs"]
    assert r.status == WARN
    assert "last 64 KiB" in r.detail and "not a regular file" in r.detail
    assert not any("ancient" in line for line in r.lines)
    assert "99 ERROR recent error 99" in r.lines
    assert len(r.lines) <= logs_check.LOG_MAX_LINES


def test_pick_log_lines_chained_and_long_tracebacks() -> None:
    frames = [f'  File "/x.py", line {i}, in f{i}\n    f{i + 1}()' for i in range(30)]
    text = "\n".join(
        [
            "Traceback (most recent call last):",
            '  File "/x.py", line 1, in <module>',
            "KeyError: 'a'",
            "",
            "During handling of the above exception, another exception occurred:",
            "",
            "Traceback (most recent call last):",
            *"\n".join(frames).splitlines(),
            "RuntimeError: deep",
            "next record INFO",
        ]
    )
    picked, errors, tracebacks = logs_check.pick_log_lines(text.splitlines())
    assert tracebacks == 2
    assert "KeyError: 'a'" in picked and "RuntimeError: deep" in picked
    assert "next record INFO" not in picked
    assert any("traceback lines not shown" in line for line in picked)
    assert len(picked) < 20
    assert "During handling of the above exception, another exception occurred:" in picked
    assert errors == 0  # the chaining line joins tracebacks, it is not an error line


# -- store -----------------------------------------------------------------------------------------


def test_store_unchanged_and_healthy(recorded_store: Path) -> None:
    before = fingerprint(recorded_store)
    res, _ = timed(recorded_store, log_globs=[str(recorded_store.parent / "*.log")])
    assert fingerprint(recorded_store) == before
    store = res["store"]
    assert store.status == OK, store.detail
    assert "quick_check ok" in store.detail
    assert f"schema v{SCHEMA_VERSION} (current)" in store.detail
    assert "loops: alpha" in store.detail
    assert res["disk"].status == OK and "free of" in res["disk"].detail


def test_store_with_live_writer_and_big_wal(
    store_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    with ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock)) as m:
        m.record_activity()
        m.flush()
        monkeypatch.setattr(store_file, "WAL_WARN_BYTES", 1)
        res, _ = timed(store_path, now=clock.epoch)
        assert res["store"].status == WARN
        assert "holding checkpoints back" in res["store"].detail
        assert res["store"].fix


def test_missing_store_is_fail_not_exception(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "health.db"
    res, _ = timed(missing, log_globs=[str(tmp_path / "*.log")])
    assert res["store"].status == FAIL
    assert "does not exist" in res["store"].detail
    assert res["process"].status == WARN and "skipped" in res["process"].detail
    assert "not compared" in res["clock"].detail
    assert res["session"].status in (OK, WARN)
    assert not missing.parent.exists()  # never created


def test_not_a_store(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    before = fingerprint(junk)
    res, _ = timed(junk)
    assert res["store"].status == FAIL and "not a database" in res["store"].detail
    assert fingerprint(junk) == before
    res, _ = timed(tmp_path)  # a directory
    assert res["store"].status == FAIL and "directory" in res["store"].detail


# -- disk ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("free", "status"), [(50 << 20, FAIL), (500 << 20, WARN), (5 << 30, OK)])
def test_disk_thresholds(
    recorded_store: Path, monkeypatch: pytest.MonkeyPatch, free: int, status: str
) -> None:
    real = shutil.disk_usage

    def fake(path):
        usage = real(path)
        return type(usage)(usage.total, usage.total - free, free)

    monkeypatch.setattr(shutil, "disk_usage", fake)
    res, _ = timed(recorded_store)
    assert res["disk"].status == status
    assert str(recorded_store.parent) in res["disk"].detail


# -- clock -----------------------------------------------------------------------------------------


def test_clock_future_data_is_fail(store_path: Path, clock: FakeClock) -> None:
    with ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock)) as m:
        m.record_activity()
        allowed, _ = m.should_generate_signals(clock.epoch + 3600)  # labelled an hour ahead
        assert not allowed
    res, _ = timed(store_path, now=clock.epoch + 1)
    clk = res["clock"]
    assert clk.status == FAIL
    assert "ahead of this clock" in clk.detail and "time zone" in clk.detail
    assert "naive_timezone" in clk.fix
    assert "NTP" in clk.detail


def test_clock_sane(recorded_store: Path, clock: FakeClock) -> None:
    res, _ = timed(recorded_store, now=clock.epoch + 10)
    assert res["clock"].status in (OK, WARN)  # WARN only if this machine says NTP is off
    assert "newest data timestamp" in res["clock"].detail
    synced, _ = clock_check.ntp_synchronized()
    if synced is None:
        assert "NTP state unknown" in res["clock"].detail


# -- session ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "code", "words"),
    [
        (
            ny(2025, 11, 27, 11, 0),
            "XNYS",
            ("no session (Thanksgiving)", "next open Fri 2025-11-28 09:30 EST", "early close 13:00 EST"),
        ),
        (ny(2025, 11, 28, 10, 0), "XNYS", ("close 13:00 EST (early close)", "market open now")),
        (ny(2025, 11, 29, 10, 0), "XNYS", ("no session (weekend)", "next open Mon 2025-12-01 09:30 EST")),
        (ny(2025, 12, 10, 8, 0), "XNYS", ("open 09:30 EST, close 16:00 EST", "opens in 1h 30m")),
        (ny(2025, 12, 9, 23, 30), "XHKG", ("break 12:00–13:00 HKT", "on its break now")),
    ],
)
def test_session(tmp_path: Path, now, code: str, words: tuple[str, ...]) -> None:
    res, _ = timed(tmp_path / "none.db", code, now=now.timestamp())
    session = res["session"]
    assert session.status == OK, session.detail
    for word in words:
        assert word in session.detail


def test_unknown_calendar(tmp_path: Path) -> None:
    res, _ = timed(tmp_path / "none.db", "NOPE")
    assert res["session"].status == FAIL and "unknown exchange calendar" in res["session"].detail


# -- alert sinks and secrets -----------------------------------------------------------------------


def test_secrets_never_in_output(recorded_store: Path, tmp_path: Path) -> None:
    log = tmp_path / "loop.log"
    log.write_text(
        f"2025-12-10 11:00:00 ERROR sink POST {DISCORD_URL} failed: 500\n"
        f"2025-12-10 11:00:01 ERROR webhook {GENERIC_URL} refused\n"
    )
    env = {"DISCORD_WEBHOOK_URL": DISCORD_URL, "HEALTH_WEBHOOK_URL": GENERIC_URL}
    res, _ = timed(recorded_store, log_globs=[str(log)], environ=env)
    sinks = res["alert sinks"]
    assert "https://discord.com/api/webhooks/112233445566/***" in sinks.detail
    assert "https://hooks.example.com/***" in sinks.detail
    assert len(res["logs"].lines) == 3
    for r in res.values():
        for text in (r.name, r.detail, r.fix or "", *r.lines):
            for secret in SECRETS:
                assert secret not in text, f"{secret} leaked in {r.name}: {text}"


def test_no_sinks_is_warn(recorded_store: Path) -> None:
    res, _ = timed(recorded_store, environ={"DISCORD_WEBHOOK_URL": "  "})
    sinks = res["alert sinks"]
    assert sinks.status == WARN
    assert "DISCORD_WEBHOOK_URL" in sinks.fix and "health-console --watch" in sinks.fix


def test_malformed_sink_is_warn_and_redacted() -> None:
    assert sinks_check._sink_problem("DISCORD_WEBHOOK_URL", "https://example.com/not/discord")
    assert sinks_check._sink_problem("HEALTH_WEBHOOK_URL", "ftp://example.com/x")
    assert sinks_check._sink_problem("HEALTH_WEBHOOK_URL", "http://example.com/x").startswith("plain http")
    assert sinks_check._sink_problem("DISCORD_WEBHOOK_URL", DISCORD_URL) is None
    assert is_watchdog(["/venv/bin/python", "/venv/bin/health-console", "--watch"])
    assert not is_watchdog(["/venv/bin/health-console", "--report"])


# -- bounded time, progress, cancel, robustness -------------------------------------------------


def test_progress_and_cancel(recorded_store: Path) -> None:
    seen: list[tuple[str, int, int]] = []
    results = run_diagnostics(recorded_store, environ={}, progress=lambda *a: seen.append(a))
    assert seen == [(name, i, len(CHECK_NAMES)) for i, name in enumerate(CHECK_NAMES)]
    assert len(results) == len(CHECK_NAMES)

    cancel = threading.Event()

    def stop_at_logs(name: str, i: int, n: int) -> None:
        if name == "logs":
            cancel.set()

    results = run_diagnostics(recorded_store, environ={}, progress=stop_at_logs, cancel=cancel)
    assert [r.name for r in results] == ["process"]

    cancel.set()
    assert run_diagnostics(recorded_store, environ={}, cancel=cancel) == []

    def bad_progress(*a):
        raise RuntimeError("ui went away")

    assert len(run_diagnostics(recorded_store, environ={}, progress=bad_progress)) == len(CHECK_NAMES)


def test_a_hung_check_times_out_and_a_crashing_one_is_contained(tmp_path: Path) -> None:
    ctx = Context(tmp_path / "x.db", "XNYS", None, (), time.time(), {}, 0.2)
    release = threading.Event()

    def hang(ctx, scope):
        release.wait(10)
        return CheckResult("hang", OK, "late", None)

    t0 = time.monotonic()
    result = runner._run_bounded("hang", hang, ctx, 0.2, None)
    assert time.monotonic() - t0 < 1.0
    release.set()
    assert result.status == WARN and result.detail == "timed out after 0.2 s"

    def crash(ctx, scope):
        raise ZeroDivisionError("oops")

    result = runner._run_bounded("crash", crash, ctx, 1.0, None)
    assert result.status == WARN and "ZeroDivisionError" in result.detail


def test_total_budget_is_kept(recorded_store: Path) -> None:
    results = run_diagnostics(recorded_store, environ={}, total_timeout=0.0)
    # A budget too small to run anything: every check says so instead of running.
    assert [r.status for r in results] == [WARN] * len(CHECK_NAMES)
    assert "time budget" in results[0].detail


def test_bad_arguments_never_raise(tmp_path: Path) -> None:
    results = run_diagnostics(tmp_path / "x.db", 12345, environ={}, log_globs=[None])  # type: ignore[list-item]
    assert results and all(isinstance(r, CheckResult) for r in results)


@pytest.mark.parametrize("same_store", [True, False])
def test_watchdog_for_this_store_is_found(recorded_store: Path, tmp_path: Path, same_store: bool) -> None:
    fake = tmp_path / "bin" / "health-console"  # a stand-in with the watchdog's command line
    fake.parent.mkdir()
    fake.write_text("import sys\nsys.stdin.read()\n")
    watched = recorded_store if same_store else tmp_path / "other.db"
    proc = subprocess.Popen(
        [PYTHON, str(fake), "--watch", "--store", str(watched)], stdin=subprocess.PIPE, cwd=tmp_path
    )
    try:
        assert wait_until(lambda: "--watch" in psutil.Process(proc.pid).cmdline(), timeout=5)
        res, _ = timed(recorded_store, environ={"DISCORD_WEBHOOK_URL": DISCORD_URL})
    finally:
        proc.kill()
        proc.wait(timeout=10)
    detail = res["alert sinks"].detail
    running = next((line for line in detail.splitlines() if line.startswith("watchdog running here")), "")
    if same_store:
        assert str(proc.pid) in running
    else:
        assert str(proc.pid) not in running
        if not running:
            assert res["alert sinks"].status == WARN and str(proc.pid) in detail


def test_a_desk_watchdog_is_found_for_each_of_its_stores(recorded_store: Path, tmp_path: Path) -> None:
    """``health-console --watch --store other.db --store this.db``: watching this store too."""
    from health.process import watchdog_pids

    fake = tmp_path / "bin" / "health-console"
    fake.parent.mkdir()
    fake.write_text("import sys\nsys.stdin.read()\n")
    argv = [PYTHON, str(fake), "--watch", "--store", "other.db", f"--store={recorded_store}"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, cwd=tmp_path)
    try:
        assert wait_until(lambda: "--watch" in psutil.Process(proc.pid).cmdline(), timeout=5)
        ours, _ = watchdog_pids(recorded_store)
        assert proc.pid in ours
        _, others = watchdog_pids(tmp_path / "third.db")
        assert proc.pid in others
    finally:
        proc.kill()
        proc.wait(timeout=10)
