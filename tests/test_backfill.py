"""Backfill: `health-console --import FILE --source NAME` reads a loop's past signals and
heartbeats from CSV or JSON Lines, so that dates before the recorder was installed report like
any other. The month's sessions come from exchange_calendars itself (the reference); the
awkward day is the day after Thanksgiving and its 13:00 close. Real SQLite files throughout."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import exchange_calendars as xcals
import pytest
from conftest import count, query
from hypothesis import example, given, settings
from hypothesis import strategies as st

from console.cli import _console, _run
from health.backfill import timestamp_reader
from health.loader import build_report
from health.timestamps import to_epoch

NY = ZoneInfo("America/New_York")
NOW = datetime(2025, 12, 15, 12, 0, tzinfo=NY).timestamp()  # the month is past


def hc(*args: str) -> int:
    return _run("health-console", _console, [*args, "--now", datetime.fromtimestamp(NOW, NY).isoformat()])


def month_of_signals(path: Path) -> dict:
    """November 2025 as a loop's CSV log: a signal every minute of every XNYS session (naive
    New York times, the data 30 s old), but for an hour down on the 12th, and one signal after
    the 13:00 close of the 28th. Returns what each day should report."""
    cal = xcals.get_calendar("XNYS")
    expect = {}
    with path.open("w") as f:
        f.write("timestamp,symbol,data_timestamp\n")
        for session in cal.sessions_in_range("2025-11-01", "2025-11-30"):
            t = cal.session_open(session).to_pydatetime()
            close = cal.session_close(session).to_pydatetime()
            n = 0
            while t < close:
                local = t.astimezone(NY).replace(tzinfo=None)
                if not (session.day == 12 and 11 <= local.hour < 12):
                    f.write(
                        f"{local:%Y-%m-%d %H:%M:%S},SPY,{local - timedelta(seconds=30):%Y-%m-%d %H:%M:%S}\n"
                    )
                    n += 1
                t += timedelta(minutes=1)
            expect[session.date()] = (close.astimezone(NY).strftime("%H:%M"), n)
        f.write("2025-11-28 13:30:00,SPY,2025-11-28 13:29:30\n")  # after the early close
    return expect


def report(store: Path, day: str):
    return build_report(store, datetime.fromisoformat(day).date(), "XNYS", now=NOW).to_json()


def test_a_month_of_signals_reports_correctly_and_reimporting_adds_nothing(tmp_path, capsys):
    log, store = tmp_path / "signals.csv", tmp_path / "health.db"
    expect = month_of_signals(log)
    assert len(expect) == 19  # November 2025: 20 weekdays but Thanksgiving

    assert hc("--import", str(log), "--source", "algo", "--store", str(store)) == 0
    out = capsys.readouterr().out
    total = sum(n for _close, n in expect.values()) + 1
    assert total == 19 * 390 - 3 * 60 - 60 + 1  # the early close, the hour down, the late one
    assert f"{total:,} added" in out and "(a new store)" in out

    friday = report(store, "2025-11-28")
    assert friday["session"]["close"] == "2025-11-28T13:00:00-05:00" and friday["session"]["early_close"]
    assert friday["signals"]["rth"] == expect[datetime(2025, 11, 28).date()][1] == 210
    assert friday["signals"]["after_hours"] == 1
    assert friday["uptime"]["rth_coverage_pct"] == 100.0
    assert "AFTER_HOURS_SIGNALS" in {i["code"] for i in friday["issues"]}

    thanksgiving = report(store, "2025-11-27")
    assert thanksgiving["status"] == "CLOSED" and thanksgiving["session"]["holiday"] == "Thanksgiving"

    wednesday = report(store, "2025-11-26")
    assert wednesday["status"] == "HEALTHY" and wednesday["signals"]["rth"] == 390
    assert wednesday["uptime"]["rth_coverage_pct"] == 100.0 and wednesday["issues"] == []

    down = report(store, "2025-11-12")  # an hour without a sign of life
    assert down["signals"]["rth"] == 330
    assert down["uptime"]["rth_coverage_pct"] == pytest.approx(
        100 * (390 - 59) / 390, abs=0.05
    )  # up until 11:01
    assert [(g["start"][11:16], g["end"][11:16]) for g in down["uptime"]["gaps"]] == [("10:59", "12:00")]

    rows = {t: count(store, t) for t in ("runs", "spans", "signals")}
    assert rows == {"runs": 1, "spans": 19 + 1 + 1, "signals": total}  # a span a session, +gap, +13:30
    assert hc("--import", str(log), "--source", "algo", "--store", str(store)) == 0
    out = capsys.readouterr().out
    assert "nothing new" in out and f"0 added, {total:,} already there" in out
    assert {t: count(store, t) for t in rows} == rows
    assert report(store, "2025-11-28") == friday


def test_bad_lines_are_reported_by_number_and_nothing_is_imported(tmp_path, capsys):
    log, store = tmp_path / "bad.csv", tmp_path / "health.db"
    log.write_text(
        "timestamp,symbol,data_timestamp\n"
        "2025-11-28 10:00:00,SPY,2025-11-28 09:59:30\n"
        "2025-11-28 10:01:00,SPY,yesterday\n"  # 3
        "2025-11-28 10:02:00,SPY\n"  # 4
        '2025-11-28 10:03:00,SPY,"2025-11-28\n\n10:02:30"\n'  # 5-7, a quoted field across lines
        "2025-11-28 10:04:00,SPY,2025-11-28 10:03:30\n"
        "1969-12-31 12:00:00,,\n"  # 9, a heartbeat before 1970 (New York time)
    )
    assert hc("--import", str(log), "--source", "algo", "--store", str(store)) == 3
    err = capsys.readouterr().err.splitlines()
    assert [line.split(": ", 1)[0] for line in err[:-1]] == [f"{log}:{n}" for n in (3, 4, 5, 9)]
    assert "data_timestamp 'yesterday' is not ISO 8601" in err[0]
    assert "2 fields where the header has 3" in err[1]
    assert "before 1970" in err[3]
    assert "4 bad line(s)" in err[-1] and "nothing imported" in err[-1]
    assert not store.exists()  # not even created

    assert hc("--import", str(log), "--source", "algo", "--store", str(store), "--skip-bad-lines") == 1
    assert count(store, "signals") == 2


def test_columns_are_mapped_by_flags_and_every_timestamp_form_is_read(tmp_path):
    """JSON Lines with the log's own names: epoch milliseconds, epoch seconds as text, an ISO
    time with an offset, and heartbeats by a kind column."""
    log, store = tmp_path / "loop.jsonl", tmp_path / "health.db"
    at = datetime(2025, 11, 28, 10, 0, tzinfo=NY)
    lines = [
        {"ts": int(at.timestamp() * 1000), "what": "signal", "ticker": "ES", "bar": "2025-11-28T15:00:00Z"},
        {"ts": str(at.timestamp() + 60), "what": "heartbeat"},
        {"ts": "2025-11-28T10:02:00-05:00", "what": "SIGNAL", "ticker": "NQ", "bar": at.timestamp()},
    ]
    log.write_text("".join(json.dumps(x) + "\n" for x in lines) + "\n")
    flags = ["--timestamp-column", "ts", "--symbol-column", "ticker", "--data-timestamp-column", "bar"]
    assert (
        hc("--import", str(log), "--source", "es", "--store", str(store), *flags, "--kind-column", "what")
        == 0
    )
    signals = query(store, "SELECT at, symbol, data_ts, run_id FROM signals ORDER BY at")
    bar = datetime(2025, 11, 28, 15, tzinfo=UTC).timestamp()
    assert signals == [
        (at.timestamp(), "ES", bar, "import:es:60s"),
        (at.timestamp() + 120, "NQ", at.timestamp(), "import:es:60s"),
    ]
    assert query(store, "SELECT start, end, beats FROM spans") == [(at.timestamp(), at.timestamp() + 120, 3)]
    (config,) = query(store, "SELECT config FROM runs")[0]
    assert json.loads(config)["calendar"] == "XNYS" and json.loads(config)["imported_from"] == str(log)


def test_a_missing_column_is_one_line_before_anything_is_read(tmp_path, capsys):
    log = tmp_path / "loop.csv"
    log.write_text("time,sym,bar\n2025-11-28 10:00:00,SPY,2025-11-28 09:59:30\n")
    assert hc("--import", str(log), "--source", "a", "--store", str(tmp_path / "h.db")) == 3
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no column 'timestamp'" in err and "--timestamp-column" in err
    assert hc("--import", str(log), "--store", str(tmp_path / "h.db")) == 3  # no --source
    assert "--import needs --source" in capsys.readouterr().err
    assert hc("--timestamp-column", "time", "--store", str(tmp_path / "h.db")) == 3
    assert "--timestamp-column needs --import" in capsys.readouterr().err  # never ignored in silence
    log.write_text("timestamp,symbol,data_timestamp\n2025-11-28 10:00:00,SPY,2025-11-28 09:59:30\n")
    assert (
        hc("--import", str(log), "--source", "a", "--store", str(tmp_path / "h.db"), "--date", "2025-11-28")
        == 3
    )
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not one --date" in err, err
    assert not (tmp_path / "h.db").exists()  # nothing imported


def test_one_transaction_a_failure_half_way_leaves_the_store_as_it_was(tmp_path, capsys):
    """SQLite itself refuses the 3rd signal (a trigger planted in the store): the spans and the
    run written before it in the same transaction are gone too."""
    log, store = tmp_path / "loop.csv", tmp_path / "health.db"
    log.write_text(
        "timestamp,symbol,data_timestamp\n"
        + "".join(f"2025-11-28 10:0{i}:00,S{i},2025-11-28 10:0{i}:00\n" for i in range(5))
    )
    assert hc("--import", str(log), "--source", "a", "--store", str(store)) == 0
    before = {t: count(store, t) for t in ("runs", "spans", "signals")}
    conn = sqlite3.connect(store)
    conn.execute(
        "CREATE TRIGGER planted BEFORE INSERT ON signals WHEN NEW.symbol = 'B3' "
        "BEGIN SELECT RAISE(ABORT, 'planted fault'); END"
    )
    conn.commit()
    conn.close()
    log2 = tmp_path / "more.csv"
    log2.write_text(
        "timestamp,symbol,data_timestamp\n"
        + "".join(f"2025-11-28 11:0{i}:00,B{i},2025-11-28 11:0{i}:00\n" for i in range(5))
    )
    capsys.readouterr()
    assert hc("--import", str(log2), "--source", "a", "--store", str(store)) == 3
    err = capsys.readouterr().err
    assert "planted fault" in err and "nothing imported" in err and err.count("\n") == 1
    assert {t: count(store, t) for t in before} == before
    assert (
        query(store, "SELECT max(end) FROM spans")[0][0] < datetime(2025, 11, 28, 11, tzinfo=NY).timestamp()
    )


def test_a_locked_store_is_a_one_line_error_not_a_wait(tmp_path, capsys):
    log, store = tmp_path / "loop.csv", tmp_path / "health.db"
    log.write_text("timestamp,symbol,data_timestamp\n2025-11-28 10:00:00,SPY,2025-11-28 09:59:30\n")
    assert hc("--import", str(log), "--source", "a", "--store", str(store)) == 0
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        log.write_text("timestamp,symbol,data_timestamp\n2025-11-28 10:05:00,SPY,2025-11-28 10:04:30\n")
        assert hc("--import", str(log), "--source", "a", "--store", str(store)) == 3
        assert "locked" in capsys.readouterr().err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count(store, "signals") == 1


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path, capsys, monkeypatch):
    import console.backfill

    monkeypatch.setattr(console.backfill, "PROGRESS_FROM_BYTES", 0)
    log = tmp_path / "loop.csv"
    log.write_text("timestamp\n" + "".join(f"{1764342000 + i}\n" for i in range(40_000)))
    assert hc("--import", str(log), "--source", "a", "--store", str(tmp_path / "h.db")) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "40,000 lines" in captured.out


_ZONES = ["America/New_York", "Asia/Hong_Kong", "Europe/London", "America/Sao_Paulo", "Australia/Sydney"]


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(_ZONES),
    when=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)),
    sep=st.sampled_from(["T", " "]),
)
@example(zone="America/New_York", when=datetime(2025, 3, 9), sep=" ")  # 02:00-03:00 skipped
@example(zone="America/New_York", when=datetime(2025, 11, 2), sep=" ")  # 01:00-02:00 twice
@example(zone="Europe/London", when=datetime(2025, 3, 30), sep="T")
@example(zone="Australia/Sydney", when=datetime(2025, 4, 6), sep="T")
@example(zone="America/Sao_Paulo", when=datetime(2018, 11, 4), sep="T")  # midnight skipped
def test_a_naive_text_reads_as_the_recorder_reads_the_same_datetime(zone, when, sep):
    """The reader's cache of zone offsets per hour against the recorder's own conversion,
    DST changes (and the hours they skip or repeat) included."""
    tz = ZoneInfo(zone)
    read = timestamp_reader(tz)
    when = when.replace(fold=0)  # text has no fold: the recorder reads the datetime it names
    for dt in (when, when.replace(hour=1, minute=30), when.replace(hour=2, minute=30)):
        text = dt.isoformat(sep=sep)
        assert read(text) == to_epoch(dt, tz), text
        assert read(text) == to_epoch(dt, tz)  # and again, from its memo


def test_a_large_file_shows_a_progress_bar_on_a_terminal(tmp_path):
    """The real command with its stderr on a pseudo-terminal, as over SSH: a Rich bar while it
    reads, gone when it is done; the summary on stdout (a pipe here) as ever."""
    import os
    import pty
    import subprocess

    from conftest import PYTHON, child_env

    from console.backfill import PROGRESS_FROM_BYTES

    log = tmp_path / "loop.csv"
    pad = "x" * 200
    lines = PROGRESS_FROM_BYTES // 200 + 1000
    log.write_text("timestamp,note\n" + "".join(f"{1764342000 + i},{pad}\n" for i in range(lines)))
    args = ["--import", str(log), "--source", "a", "--store", str(tmp_path / "h.db"), "--calendar", "XNYS"]
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [PYTHON, "-c", "from console.cli import health_console_main; health_console_main()", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**child_env(), "COLUMNS": "100", "TERM": "xterm-256color"},
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        seen += chunk
    out, _ = proc.communicate(timeout=120)
    os.close(master)
    assert proc.returncode == 0, seen
    assert b"reading" in seen and "━".encode() in seen  # the bar, drawn
    assert f"{lines:,} lines".encode() in out and b"reading" not in out
