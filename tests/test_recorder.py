"""The recorder hook writes what the loop does into the store: runs, uptime spans coalesced
from heartbeats, signals; a clean stop; everything there after close(), after a normal exit,
after SIGKILL (all but the last second), across os.fork(), and from several processes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import PYTHON, FakeClock, child_env, count, ny, query, wait_until

from health import MonitorConfig, ProductionMonitor
from health.codes import IssueCode


# -- in process -------------------------------------------------------------------------------
def test_run_is_recorded_with_its_config_and_clean_stop(make_monitor, clock, store_path):
    monitor = make_monitor(clock=clock, source="loop-a", check_interval_seconds=30)
    monitor.record_activity()
    assert monitor.flush(5.0)
    (row,) = query(store_path, "SELECT * FROM runs")
    run_id, source, pid, host, argv, version, config, started, stopped, last_seen = row
    assert source == "loop-a" and pid == os.getpid() and host == socket.gethostname()
    assert json.loads(argv) == sys.argv
    assert version
    assert started == clock.epoch and stopped is None and last_seen == clock.epoch
    config = json.loads(config)
    assert config["check_interval_seconds"] == 30 and config["source"] == "loop-a"
    assert config["store_path"] == str(store_path)

    clock.advance(45)
    monitor.close()
    assert query(store_path, "SELECT run_id, stopped_at FROM runs") == [(run_id, clock.epoch)]


def test_store_is_wal_and_created_with_parents(make_monitor, clock, tmp_path):
    path = tmp_path / "a" / "b" / "c" / "health.db"
    monitor = make_monitor(clock=clock, store_path=str(path))
    monitor.record_activity()
    assert monitor.flush(5.0)
    assert path.is_file()
    assert query(path, "PRAGMA journal_mode") == [("wal",)]
    assert query(path, "PRAGMA user_version")[0][0] >= 1


def test_heartbeats_coalesce_into_spans(make_monitor, clock, store_path):
    """1000 beats at a 1 s cadence are one span; a silence longer than 2 x the interval
    starts a new one; a silence of exactly 2 x the interval does not."""
    monitor = make_monitor(clock=clock, check_interval_seconds=1)
    start = clock.epoch
    for _ in range(1000):
        monitor.record_activity()
        clock.advance(1)
    # last beat at start + 999; next at +2 s exactly (still up), then a 2.5 s silence.
    clock.set(ny(2025, 12, 10, 11, 0) + timedelta(seconds=1001))
    monitor.record_activity()
    clock.advance(2.5)
    second = clock.epoch
    for _ in range(10):
        monitor.record_activity()
        clock.advance(1)
    clock.advance(60)
    third = clock.epoch
    monitor.record_activity()
    assert monitor.flush(5.0)
    spans = query(store_path, "SELECT seq, start, end, beats FROM spans ORDER BY seq")
    assert [(s, e, b) for _, s, e, b in spans] == [
        (start, start + 1001, 1001),
        (second, second + 9, 10),
        (third, third, 1),
    ]
    assert len({seq for seq, *_ in spans}) == 3


def test_a_span_grows_in_place_while_the_loop_runs(make_monitor, clock, store_path):
    """The open span is written as it grows (readers see uptime now), without new rows."""
    monitor = make_monitor(clock=clock, check_interval_seconds=60)
    start = clock.epoch
    for minute in range(5):
        monitor.record_activity()
        assert monitor.flush(5.0)
        assert query(store_path, "SELECT start, end, beats FROM spans") == [
            (start, start + 60 * minute, minute + 1)
        ]
        clock.advance(60)


def test_signals_are_recorded_with_details(make_monitor, clock, store_path):
    monitor = make_monitor(clock=clock)
    data = clock.now - timedelta(seconds=42)
    monitor.record_signal("AAPL", data, side="buy", qty=100, price=195.5)
    monitor.record_signal("MSFT", data.timestamp() * 1000)  # epoch milliseconds
    monitor.record_signal("ODD", data, when=clock.now)  # not JSON: kept as text
    assert monitor.flush(5.0)
    rows = query(store_path, "SELECT symbol, at, data_ts, details, run_id FROM signals ORDER BY id")
    assert [r[0] for r in rows] == ["AAPL", "MSFT", "ODD"]
    for _, at, data_ts, _, _ in rows:
        assert at == clock.epoch and data_ts == pytest.approx(data.timestamp())
    assert json.loads(rows[0][3]) == {"side": "buy", "qty": 100, "price": 195.5}
    assert rows[1][3] is None
    assert "2025-12-10" in json.loads(rows[2][3])["when"]
    ((run_id,),) = query(store_path, "SELECT run_id FROM runs")
    assert {r[4] for r in rows} == {run_id}


def test_many_signals_all_land(make_monitor, clock, store_path):
    monitor = make_monitor(clock=clock)
    for i in range(20_000):
        monitor.record_signal(f"S{i}", clock.now, i=i)
    assert monitor.flush(10.0)
    assert count(store_path, "signals") == 20_000
    assert query(store_path, "SELECT count(DISTINCT symbol) FROM signals") == [(20_000,)]


def test_close_writes_everything_without_flush(clock, store_path):
    monitor = ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock))
    for i in range(500):
        monitor.record_signal(f"S{i}", clock.now)
        monitor.record_activity()
        clock.advance(1)
    monitor.close()
    assert count(store_path, "signals") == 500
    assert query(store_path, "SELECT sum(beats) FROM spans") == [(500,)]
    assert query(store_path, "SELECT stopped_at IS NOT NULL FROM runs") == [(1,)]
    monitor.close()  # idempotent
    assert monitor.flush(1.0)


def test_context_manager(clock, store_path):
    with ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock)) as monitor:
        assert isinstance(monitor, ProductionMonitor)
        monitor.record_activity()
        monitor.record_signal("AAPL", clock.now)
        clock.advance(10)
    assert count(store_path, "signals") == 1
    assert query(store_path, "SELECT stopped_at FROM runs") == [(clock.epoch,)]


def test_context_manager_closes_on_exception(clock, store_path):
    with (
        pytest.raises(RuntimeError),
        ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=clock)) as monitor,
    ):
        monitor.record_signal("AAPL", clock.now)
        raise RuntimeError("the loop crashed")
    assert count(store_path, "signals") == 1
    assert query(store_path, "SELECT stopped_at IS NOT NULL FROM runs") == [(1,)]


def test_two_sources_share_one_store(make_monitor, store_path):
    a = make_monitor(clock=FakeClock(ny(2025, 12, 10, 11)), source="alpha")
    b = make_monitor(clock=FakeClock(ny(2025, 12, 10, 11)), source="beta")
    for i in range(100):
        a.record_signal(f"A{i}", ny(2025, 12, 10, 11))
        b.record_signal(f"B{i}", ny(2025, 12, 10, 11))
        a.record_activity()
        b.record_activity()
        a.should_generate_signals(ny(2025, 12, 10, 10, 59))
        b.should_generate_signals(ny(2025, 12, 10, 10, 59))
    assert a.flush(5.0) and b.flush(5.0)
    assert query(store_path, "SELECT source, count(*) FROM signals GROUP BY source") == [
        ("alpha", 100),
        ("beta", 100),
    ]
    assert query(store_path, "SELECT source, sum(count) FROM gate GROUP BY source") == [
        ("alpha", 100),
        ("beta", 100),
    ]
    assert query(store_path, "SELECT count(DISTINCT run_id) FROM runs") == [(2,)]


def test_after_hours_signal_raises_one_alert_and_it_is_stored(make_monitor, store_path, alerts):
    clock = FakeClock(ny(2025, 12, 10, 18, 0))
    monitor = make_monitor(clock=clock, alert_callback=alerts)
    for _ in range(3):
        monitor.record_signal("AAPL", clock.now)
    clock.set(ny(2025, 12, 11, 10, 0))
    monitor.record_signal("AAPL", clock.now)
    assert monitor.flush(5.0)
    assert [a.resolved for a in alerts.of(IssueCode.AFTER_HOURS_SIGNALS)] == [False, True]
    assert query(store_path, "SELECT code, severity, resolved FROM alerts ORDER BY id") == [
        (IssueCode.AFTER_HOURS_SIGNALS, "WARNING", 0),
        (IssueCode.AFTER_HOURS_SIGNALS, "WARNING", 1),
    ]


def test_a_failing_alert_callback_never_reaches_the_loop(make_monitor, store_path):
    calls = []

    def broken(alert):
        calls.append(alert)
        raise ConnectionError("discord is down")

    clock = FakeClock(ny(2025, 12, 10, 18, 0))
    monitor = make_monitor(clock=clock, alert_callback=broken)
    monitor.record_signal("AAPL", clock.now)  # after hours: fires an alert
    monitor.should_generate_signals(clock.now - timedelta(hours=3))
    assert monitor.flush(5.0)
    assert wait_until(lambda: len(calls) >= 1, timeout=5)
    assert count(store_path, "signals") == 1


def test_store_location_follows_health_store_then_xdg(clock, tmp_path, monkeypatch):
    """docs/CONTRACT.md §1: MonitorConfig(store_path) > $HEALTH_STORE > $XDG_STATE_HOME default."""
    env_store = tmp_path / "from-env" / "h.db"
    monkeypatch.setenv("HEALTH_STORE", str(env_store))
    with ProductionMonitor(MonitorConfig(clock=clock)) as monitor:
        monitor.record_signal("ENV", clock.now)
    assert query(env_store, "SELECT symbol FROM signals") == [("ENV",)]
    monkeypatch.delenv("HEALTH_STORE")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    with ProductionMonitor(MonitorConfig(clock=clock)) as monitor:
        monitor.record_signal("XDG", clock.now)
    xdg_store = tmp_path / "xdg" / "production-health" / "health.db"
    assert query(xdg_store, "SELECT symbol FROM signals") == [("XDG",)]


def test_clock_may_return_epoch_seconds(make_monitor, store_path):
    now = ny(2025, 12, 10, 11, 0).timestamp()
    monitor = make_monitor(clock=lambda: now)
    assert monitor.should_generate_signals(now - 60)[0]
    monitor.record_signal("AAPL", now - 60)
    assert monitor.flush(5.0)
    assert query(store_path, "SELECT at FROM signals") == [(now,)]


def test_a_naive_clock_is_refused_at_construction(store_path):
    with pytest.raises(ValueError, match="naive"):
        ProductionMonitor(MonitorConfig(store_path=str(store_path), clock=lambda: datetime(2025, 12, 10)))


# -- other processes ----------------------------------------------------------------------------
def _run_child(code: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code), *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ending", "exit_code"),
    [("pass", 0), ("sys.exit(3)", 3), ("raise RuntimeError('loop crashed')", 1)],
    ids=["falls-off-the-end", "sys.exit", "uncaught-exception"],
)
def test_normal_interpreter_exit_without_close_writes_everything(store_path, ending, exit_code):
    code = f"""
        import sys, time
        from health import ProductionMonitor, MonitorConfig
        monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="exiter",
                                                  check_interval_seconds=1))
        for i in range(3000):
            monitor.record_signal(f"S{{i}}", time.time(), i=i)
            monitor.record_activity()
        print("recorded", flush=True)
        {ending}
    """
    result = _run_child(code, str(store_path))
    assert result.returncode == exit_code, result.stderr
    assert "recorded" in result.stdout
    assert count(store_path, "signals") == 3000
    assert query(store_path, "SELECT sum(beats) FROM spans") == [(3000,)]
    assert query(store_path, "SELECT count(*), count(stopped_at) FROM runs") == [(1, 1)]


_KILLED_CHILD = """
    import sys, time
    from health import ProductionMonitor, MonitorConfig
    monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source="victim",
                                              check_interval_seconds=1))
    i = 0
    while True:
        i += 1
        monitor.record_signal(f"S{i}", time.time(), i=i)
        monitor.record_activity()
        # reported only after the call returned: "i time"
        sys.stdout.write(f"{i} {time.time()!r}\\n")
        sys.stdout.flush()
        time.sleep(0.001)
"""


@pytest.mark.slow
def test_sigkill_loses_at_most_the_last_second(store_path):
    proc = subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(_KILLED_CHILD), str(store_path)],
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    reported: list[tuple[int, float]] = []

    def read() -> None:
        for line in proc.stdout:
            i, t = line.split()
            reported.append((int(i), float(t)))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert wait_until(lambda: store_path.exists() and count(store_path, "signals") > 0, 30), (
            "the child never wrote: " + (proc.stderr.read() if proc.poll() is not None else "")
        )
        first_row = time.time()
        # let it run long enough for plenty of signals to be older than one second
        wait_until(lambda: time.time() - first_row > 1.6, timeout=5, interval=0.05)
        killed_at = time.time()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    old = [i for i, t in reported if t < killed_at - 1.0]
    assert len(old) > 200, f"the child reported only {len(old)} signals older than 1 s"
    stored = {int(s[1:]) for (s,) in query(store_path, "SELECT symbol FROM signals")}
    missing = [i for i in old if i not in stored]
    assert not missing, f"{len(missing)} signals older than 1 s lost, e.g. {missing[:5]}"
    assert query(store_path, "PRAGMA integrity_check") == [("ok",)]
    # No clean stop was recorded: a later report can flag the unclean exit.
    assert query(store_path, "SELECT source, stopped_at FROM runs") == [("victim", None)]
    ((last_span_end,),) = query(store_path, "SELECT max(end) FROM spans")
    assert last_span_end > killed_at - 1.0


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_monitor_created_before_fork_keeps_working_in_the_child(store_path):
    monitor = ProductionMonitor(
        MonitorConfig(store_path=str(store_path), source="forker", check_interval_seconds=1)
    )
    try:
        monitor.record_signal("PARENT-0", time.time())
        monitor.record_activity()
        assert monitor.flush(5.0)
        pid = os.fork()
        if pid == 0:  # the child: never return into pytest
            status = 1
            try:
                for i in range(200):
                    monitor.record_signal(f"CHILD-{i}", time.time())
                    monitor.record_activity()
                status = 0 if monitor.flush(10.0) else 2
                monitor.close()
            finally:
                os._exit(status)
        for i in range(1, 200):
            monitor.record_signal(f"PARENT-{i}", time.time())
            monitor.record_activity()
        deadline = time.monotonic() + 30
        while True:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                pytest.fail("the forked child hung")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(wait_status) == 0
        assert monitor.flush(5.0)
    finally:
        monitor.close()

    runs = {r[0]: r[1:] for r in query(store_path, "SELECT run_id, pid, stopped_at FROM runs")}
    assert len(runs) == 2
    assert sorted(p for p, _ in runs.values()) == sorted([os.getpid(), pid])
    assert all(stopped is not None for _, stopped in runs.values())
    by_run = query(store_path, "SELECT run_id, symbol FROM signals")
    parent_run = next(r for r, (p, _) in runs.items() if p == os.getpid())
    child_run = next(r for r, (p, _) in runs.items() if p == pid)
    parent = sorted(s for r, s in by_run if r == parent_run)
    child = sorted(s for r, s in by_run if r == child_run)
    assert parent == sorted(f"PARENT-{i}" for i in range(200))
    assert child == sorted(f"CHILD-{i}" for i in range(200))
    assert query(store_path, "SELECT run_id, sum(beats) FROM spans GROUP BY run_id ORDER BY 1") == sorted(
        [(parent_run, 200), (child_run, 200)]
    )


_WRITER = """
    import os, sys, time
    from pathlib import Path
    from health import ProductionMonitor, MonitorConfig
    alerts = []
    monitor = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], source=sys.argv[2],
                                              alert_callback=alerts.append))
    go = Path(sys.argv[3])
    Path(sys.argv[3] + "." + sys.argv[2]).touch()  # ready
    while not go.exists():
        time.sleep(0.005)
    now = time.time()
    for i in range(10_000):
        monitor.record_signal(f"{sys.argv[2]}-{i}", now, i=i)
        if i % 100 == 0:
            monitor.record_activity()
    ok = monitor.flush(30)
    monitor.close()
    print("flushed" if ok else "NOT FLUSHED")
    print(f"store_errors={sum(a.code == 'STORE_ERROR' for a in alerts)}")
"""


@pytest.mark.slow
def test_four_processes_ten_thousand_signals_each(store_path, tmp_path):
    go = tmp_path / "go"
    names = [f"proc{k}" for k in range(4)]
    procs = [
        subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(_WRITER), str(store_path), name, str(go)],
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    try:
        ready = wait_until(
            lambda: (
                all(Path(f"{go}.{n}").exists() for n in names) or any(p.poll() is not None for p in procs)
            ),
            timeout=60,
        )
        assert ready
        go.touch()  # all four start writing into the (not yet existing) store at once
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (out, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "flushed" in out and "NOT FLUSHED" not in out, out + err
        assert "store_errors=0" in out, out + err  # a shared store is no failure
    assert count(store_path, "signals") == 40_000
    assert query(
        store_path,
        "SELECT source, count(*), count(DISTINCT symbol) FROM signals GROUP BY source ORDER BY source",
    ) == [(n, 10_000, 10_000) for n in names]
    assert query(store_path, "SELECT count(*), count(stopped_at) FROM runs") == [(4, 4)]


def test_a_gate_call_is_a_heartbeat_too(tmp_path):
    """With the contract's snippet a refused decision skips record_activity(); the loop is
    still alive and must not read as down while its feed is stale."""
    from datetime import date

    from health.simulation import SimClock, at, monitor
    from store.reader import StoreReader

    day = date(2025, 12, 10)
    clock = SimClock(at(day, 10, 0))
    mon = monitor(tmp_path / "h.db", clock, check_interval_seconds=60)
    for _ in range(30):  # stale data: every decision refused, no record_activity() at all
        allowed, _ = mon.should_generate_signals(clock.now - 7200)
        assert not allowed
        clock.advance(60)
    mon.close()
    with StoreReader(tmp_path / "h.db") as reader:
        spans = reader.spans(at(day, 0), at(day, 23, 59))
    assert [(s.start, s.end, s.beats) for s in spans] == [(at(day, 10, 0), at(day, 10, 29), 30)]
