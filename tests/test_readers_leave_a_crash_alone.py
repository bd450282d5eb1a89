"""docs/CONTRACT.md §5: the console is read-only on the store — also after a crash. A loop that
dies hard leaves its last commits in a non-empty ``-wal`` beside the db. A connection that
could write and closes last would fold that WAL into the main file and delete the ``-wal`` and
``-shm``: the console would rewrite the store of a crashed loop. Every reader (the live
reader, the one-shot report, the console, the watchdog) opens it and closes it; the db and the
``-wal`` stay byte for byte what the loop left."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import PYTHON, child_env

from console.cli import check_main
from health.simulation import at
from health.watchdog import Watchdog
from store.reader import StoreReader

WED = date(2025, 12, 10)
DIED_AT = at(WED, 11, 0)

CRASHING_LOOP = """
import os, socket, sys
from health import MonitorConfig, ProductionMonitor

socket.gethostname = lambda: "trading-host"  # the loop's host: its pid cannot be checked from here

now = float(sys.argv[2])
mon = ProductionMonitor(MonitorConfig(store_path=sys.argv[1], clock=lambda: now, check_interval_seconds=60))
for i in range(50):
    mon.should_generate_signals(now - 30)
    mon.record_activity()
    mon.record_signal(f"SYM{i}", now - 30)
assert mon.flush(10.0)
os._exit(1)  # a crash: no close, no checkpoint, the WAL left as it is
"""


def _fingerprint(store: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (store, Path(f"{store}-wal"))}


@pytest.fixture
def crashed_store(tmp_path: Path) -> Path:
    store = tmp_path / "health.db"
    died = subprocess.run(
        [PYTHON, "-c", CRASHING_LOOP, str(store), repr(DIED_AT)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert died.returncode == 1, died.stderr
    assert Path(f"{store}-wal").stat().st_size > 0  # the loop's commits, not yet in the db
    assert Path(f"{store}-shm").exists()
    return store


def test_no_reader_folds_a_crashed_loops_wal_into_the_store(crashed_store: Path, monkeypatch, capsys) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    before = _fingerprint(crashed_store)

    with StoreReader(crashed_store) as live:  # the console's and the watchdog's reader
        assert live.sources() == ["default"]
        assert live.last_activity() == DIED_AT  # the commits in the WAL are read
    assert _fingerprint(crashed_store) == before

    with StoreReader(crashed_store, snapshot=True) as once:  # the report's reader
        assert once.last_activity() == DIED_AT
    assert _fingerprint(crashed_store) == before

    # The headless report, as cron runs it an hour later: the loop is judged, nothing written.
    with pytest.raises(SystemExit) as report:
        check_main(
            [
                "--store",
                str(crashed_store),
                "--date",
                "2025-12-10",
                "--json",
                "--now",
                "2025-12-10T12:00:00-05:00",
            ]
        )
    assert report.value.code == 2 and '"NO_ACTIVITY"' in capsys.readouterr().out  # silent an hour
    assert _fingerprint(crashed_store) == before

    # The watchdog, one whole evaluation and its shutdown, 30 s after the loop died: nothing
    # is silent yet and the loop's pid is on another host, so nothing fires and the watchdog has
    # no alert of its own to write (the one thing it writes, store/alert_log.py).
    said: list[str] = []
    dog = Watchdog(crashed_store, None, 60.0, clock=lambda: DIED_AT + 30, environ={}, say=said.append)
    dog.after_tick = dog.stop.set
    assert dog.run() == 0
    assert said[-1] == "watchdog stopped" and not any("FIRING" in s for s in said), said
    assert _fingerprint(crashed_store) == before
    assert {p.name for p in crashed_store.parent.iterdir()} == {"health.db", "health.db-wal", "health.db-shm"}


async def test_the_console_leaves_a_crashed_loops_wal_alone(crashed_store: Path) -> None:
    from console.app import HealthConsole

    before = _fingerprint(crashed_store)
    app = HealthConsole(crashed_store, clock=lambda: DIED_AT + 60, poll_interval=0.02, refresh_seconds=3600.0)
    async with app.run_test(size=(100, 32)) as pilot:
        for _ in range(250):
            if app.snapshot is not None:
                break
            await pilot.pause(0.02)
        assert app.snapshot is not None and [s.source for s in app.snapshot.sources] == ["default"]
        await pilot.press("q")
    assert _fingerprint(crashed_store) == before
    assert {p.name for p in crashed_store.parent.iterdir()} == {"health.db", "health.db-wal", "health.db-shm"}
