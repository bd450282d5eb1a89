"""``check-production-health --compare``: the drift between production and a backtest of the
same days, from two real stores the real monitor wrote on injected clocks."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from test_cli import assert_unknown, run

from health import MonitorConfig, ProductionMonitor
from health.codes import ExitCode
from health.simulation import SimClock, at

DAYS = [date(2025, 6, 10), date(2025, 6, 11), date(2025, 6, 12)]
NOW_FLAG = "--now=2025-06-13T12:00:00-04:00"


def _bars(mon: ProductionMonitor, clock: SimClock, day: date, lag=lambda t: 5.0) -> None:
    """A bar a minute, 09:00-17:30: the gate asked on each, a signal on every 5th it allows."""
    clock.now = at(day, 9, 0)
    i = 0
    while clock.now < at(day, 17, 30):
        data_ts = clock.now - lag(clock.now)
        if mon.should_generate_signals(data_ts)[0] and i % 5 == 0:
            mon.record_signal("AAPL", data_ts)
        i += 1
        clock.advance(60)


@pytest.fixture(scope="module")
def prod_and_backtest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same bars through production ("prod") and a backtest ("bt-2025", in its own store
    beside production's). Planted: on the 11th production made one signal at 17:05, after the
    close (and one at 09:30:20, a minute the backtest's gate allowed); on the 12th production's feed lagged two hours from 11:00 to 11:20, so its gate
    refused what the backtest, on clean data, signalled."""
    root = tmp_path_factory.mktemp("compare")
    store = root / "health.db"
    lagged = (at(DAYS[2], 11, 0), at(DAYS[2], 11, 20))
    clock = SimClock(at(DAYS[0], 9, 0))
    with ProductionMonitor(MonitorConfig(store_path=str(store), clock=clock, source="prod")) as mon:
        _bars(mon, clock, DAYS[0])
        _bars(mon, clock, DAYS[1])
        clock.now = at(DAYS[1], 9, 30, 20)  # planted at the open: the backtest's gate allowed then
        mon.record_signal("IBM", clock.now - 5)
        clock.now = at(DAYS[1], 17, 5, 30)
        mon.record_signal("MSFT", clock.now - 5)
        _bars(mon, clock, DAYS[2], lag=lambda t: 7200.0 if lagged[0] <= t < lagged[1] else 5.0)
    clock = SimClock(at(DAYS[0], 9, 0))
    bt = root / "backtests" / "bt-2025.db"
    config = MonitorConfig(backtest=True, clock=clock, source="bt-2025", store_path=str(bt))
    with ProductionMonitor(config) as mon:
        for day in DAYS:
            _bars(mon, clock, day)
    return store


def test_the_drift_lists_the_planted_days_and_why(prod_and_backtest: Path) -> None:
    args = ("--store", str(prod_and_backtest), "--from", "2025-06-10", "--to", "2025-06-12", NOW_FLAG)
    r = run(*args, "--source", "prod", "--compare", "bt-2025", "--json")
    assert r.code == ExitCode.WARNING, r.stderr
    data = json.loads(r.stdout)
    assert (data["a"], data["b"], data["drifted_days"]) == ("prod", "bt-2025", 2)
    days = {d["date"]: d for d in data["days"]}
    assert days["2025-06-10"]["drifts"] == [] and days["2025-06-10"]["signals"] == {"prod": 78, "bt-2025": 78}
    opening, late = days["2025-06-11"]["drifts"]
    assert (opening["symbol"], opening["other_gate"]) == ("IBM", "allowed")  # not the closed minute before
    assert (
        late["only_in"] == "prod" and late["symbol"] == "MSFT" and late["at"] == "2025-06-11T17:05:30-04:00"
    )
    assert late["other_gate"] == "closed" and "market closed" in late["other_reason"]
    lagged = days["2025-06-12"]["drifts"]
    assert {d["only_in"] for d in lagged} == {"bt-2025"} and {d["other_gate"] for d in lagged} == {"stale"}
    assert [d["at"][11:16] for d in lagged] == ["11:00", "11:05", "11:10", "11:15"]
    text = run(*args, "--source", "prod", "--compare", "bt-2025")
    assert text.code == ExitCode.WARNING
    assert "2 days drifted" in text.stdout and "only prod; bt-2025's gate: closed" in text.stdout


def test_no_drift_is_exit_0(prod_and_backtest: Path) -> None:
    r = run(
        "--store",
        str(prod_and_backtest),
        "--from",
        "2025-06-10",
        "--to",
        "2025-06-10",
        NOW_FLAG,
        "--compare",
        "bt-2025",
    )
    assert r.code == ExitCode.OK, r.stderr  # the store's only loop is --source's default
    assert "no drift" in r.stdout


def test_an_unknown_run_is_exit_3(prod_and_backtest: Path) -> None:
    r = run("--store", str(prod_and_backtest), "--from", "2025-06-10", NOW_FLAG, "--compare", "nope")
    assert_unknown(r)
    assert "no backtest store" in r.stderr
