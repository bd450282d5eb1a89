"""The first hour of a new user, tried as one would: each stumble found that way, now held.

Real processes and real stores, as in tests/test_cli.py, whose helpers run the scripts.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from test_cli import assert_unknown, run_many

from health.simulation import SimClock, at, monitor, run_loop

pytestmark = pytest.mark.slow

WED = date(2025, 12, 10)
AFTER = "2025-12-20T12:00:00-05:00"


@pytest.fixture(scope="module")
def healthy(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("first-hour") / "health.db"
    clock = SimClock(at(WED, 9, 25))
    mon = monitor(store, clock)
    run_loop(mon, clock, at(WED, 16, 5), step=300)
    mon.close()
    return store


# -- 1. --nagios prints exactly one plugin line, UNKNOWN included ------------------------------------
def test_nagios_prints_one_plugin_line_for_every_unknown(healthy: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    missing = tmp_path / "nowhere" / "health.db"
    pipe_in_path = tmp_path / "a|b" / "health.db"
    cases = {
        "no-store": (("--store", str(missing), "--nagios"), {}),
        "bad-date": (("--store", str(healthy), "--date", "2025-13-45", "--nagios"), {}),
        "corrupt-store": (("--store", str(corrupt), "--date", "2025-12-10", "--nagios"), {}),
        "unknown-flag": (("--nagios", "--frobnicate"), {}),
        "before-first-record": (
            ("--store", str(healthy), "--date", "2025-12-01", "--now", AFTER, "--nagios"),
            {},
        ),
        "pipe-in-reason": (("--store", str(pipe_in_path), "--nagios"), {}),
        "console-report": (("--report", "--store", str(missing), "--nagios"), {"prog": "health-console"}),
        "console-no-report": (("--nagios", "--store", str(healthy)), {"prog": "health-console"}),
        "diagnose": (("--store", str(missing), "--nagios"), {"prog": "diagnose-production"}),
    }
    results = run_many(cases)
    for name, r in results.items():
        assert_unknown(r)
        lines = r.stdout.splitlines()
        assert len(lines) == 1 and r.stdout.endswith("\n"), (name, r.stdout)
        line = lines[0]
        assert line.startswith("PRODUCTION HEALTH UNKNOWN - "), (name, line)
        assert "|" not in line, (name, line)  # no perfdata without data, and none smuggled in
        assert len(line) > len("PRODUCTION HEALTH UNKNOWN - ") + 5
    assert "does not exist" in results["no-store"].stdout
    assert "2025-13-45" in results["bad-date"].stdout
    assert "before the store's first record" in results["before-first-record"].stdout
    assert "a/b" in results["pipe-in-reason"].stdout
    # the same reason as the one stderr line
    r = results["no-store"]
    assert r.stdout.split(" - ", 1)[1].strip() in r.stderr
