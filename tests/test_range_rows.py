"""A period's days loaded from rows read once (store/range_rows.py) must be exactly the days the
one-day loader reads query by query: the same runs, spans, gate buckets, alerts, events and
acks, on the days where a window's edge cuts through something.

The store is written by the real monitor on an injected clock: a loop across midnight and
across the DST change, a restart and an unclean exit, Thanksgiving and its early close, alerts
and lifecycle events a second either side of midnight, an ack across midnight, and — on XBOM,
whose midnight is 18:30 UTC — hourly gate buckets that straddle the day boundary
(store/schema.py MAX_GATE_BUCKET_SECONDS).
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from health.analysis import window
from health.calendar import get_calendar
from health.gate_stats import gate_stats
from health.loader import MAX_INTERVAL_SLACK, ReportUnavailable, load_day, open_store
from health.period import period_report
from health.period_gate import ONE_BY_ONE
from health.simulation import SimClock, at, monitor, run_loop
from store.acks import write_ack
from store.alert_log import AlertLog
from store.events import ALERT, EVENT
from store.range_rows import RangeRows

FIRST, LAST = date(2025, 10, 30), date(2025, 11, 29)


def _write_store(store: Path, code: str) -> None:
    clock = SimClock(at(date(2025, 10, 31), 9, 0, calendar=code))

    def loop(mon, until: tuple[date, int, int], **kw) -> None:
        day, hh, mm = until
        run_loop(mon, clock, at(day, hh, mm, calendar=code), signal_every=7, **kw)

    def near_midnight(mon, day: date) -> None:
        midnight = at(day, 0, 0, calendar=code)
        for t, kind in ((midnight - 1, "before"), (midnight, "at"), (midnight + 0.5, "after")):
            mon.recorder.put((EVENT, t, "note", f'{{"when": "{kind}"}}'))
            mon.recorder.put((ALERT, t, "NO_ACTIVITY", "warning", f"midnight {kind}", 0, None))

    oct31, nov1, nov3 = date(2025, 10, 31), date(2025, 11, 1), date(2025, 11, 3)
    mon = monitor(store, clock, calendar=code, source="alpha")
    loop(mon, (oct31, 10, 0), data_lag=-5 * 3600.0)  # data stamped 5 h ahead: refused as future
    loop(mon, (oct31, 12, 0))
    mon.close()  # a clean stop and, below, a restart the same day
    clock.now += 300
    mon = monitor(store, clock, calendar=code, source="alpha")
    loop(mon, (nov1, 2, 0), step=120)  # across midnight
    near_midnight(mon, nov1)
    clock.now = at(nov1, 22, 0, calendar=code)
    loop(mon, (nov3, 10, 0), step=600)  # across the DST change (XNYS: Sunday 2 November)
    near_midnight(mon, date(2025, 11, 2))
    mon.abandon()  # no clean stop: an unclean exit
    beta = monitor(store, clock, calendar=code, source="beta")
    clock.now = at(date(2025, 11, 26), 9, 0, calendar=code)
    loop(beta, (date(2025, 11, 26), 10, 30), data_lag=7200.0)  # stale data, refused
    loop(beta, (date(2025, 11, 26), 17, 0))
    clock.now = at(date(2025, 11, 27), 10, 0, calendar=code)  # Thanksgiving
    loop(beta, (date(2025, 11, 28), 1, 0), step=300)
    near_midnight(beta, date(2025, 11, 28))
    clock.now = at(date(2025, 11, 28), 9, 0, calendar=code)
    loop(beta, (date(2025, 11, 28), 13, 30))  # XNYS closes early at 13:00
    beta.close()
    clock.now = at(date(2025, 11, 28), 20, 0, calendar=code)
    mon = monitor(store, clock, calendar=code, source="alpha")
    loop(mon, (LAST, 0, 0))
    mon.close()  # stopped at midnight to the second: the next day's window starts there
    log = AlertLog(store)
    midnight = at(date(2025, 11, 27), 0, 0, calendar=code)
    for t in (midnight - 1, midnight):
        log.record_alert("beta", "NO_ACTIVITY", "warning", "down", t, resolved=False)
    log.record_alert("beta", "NO_ACTIVITY", "warning", "back", midnight + 3600, resolved=True)
    write_ack(store, "NO_ACTIVITY", "beta", "ops", "overnight maintenance", midnight - 600, midnight + 7200)
    write_ack(store, "STALE_DATA", None, "ops", "made at midnight", midnight + 86400, midnight + 90000)


@pytest.fixture(scope="module", params=["XNYS", "XBOM"])
def awkward(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp(f"range-{request.param}") / "health.db"
    _write_store(store, request.param)
    return store, request.param


def test_the_store_holds_the_awkward_rows(awkward) -> None:
    """The edges the comparison below must cross are really in the store."""
    store, code = awkward
    cal = get_calendar(code)
    with open_store(store) as reader:
        gate = reader.gate(*window(FIRST, cal, 0)[:1], window(LAST, cal, 0)[1])
        midnights = {window(FIRST + timedelta(days=i), cal, 0)[0] for i in range(31)}
        straddling = [g for g in gate if any(g.first_at < m <= g.last_at for m in midnights)]
        assert (len(straddling) > 0) == (code == "XBOM")
        assert len(reader.runs(None, None, "alpha")) == 3 and reader.acks(0, 2e9)
        assert len(reader.alerts(0, 2e9)) >= 9 and len(reader.events(0, 2e9)) >= 6


@pytest.mark.parametrize(
    ("first", "last"), [(FIRST, LAST), (date(2025, 11, 1), date(2025, 11, 26)), (date(2025, 11, 27), LAST)]
)
def test_each_day_loaded_from_the_range_rows_is_the_day_read_query_by_query(
    awkward, first: date, last: date
) -> None:
    """From before the store's first record, from inside a run to before the next, and from
    the holiday on."""
    store, code = awkward
    cal = get_calendar(code)
    now = at(LAST + timedelta(days=3), 12, 0, calendar=code)

    def alive(run):
        return False

    with open_store(store) as reader:
        rows = RangeRows(
            reader, window(first, cal, now)[0], window(last, cal, now)[1], slack=MAX_INTERVAL_SLACK
        )
        compared = 0
        for i in range((last - first).days + 1):
            day = first + timedelta(days=i)
            for source in (None, "alpha", "beta"):
                try:
                    expected = load_day(reader, cal, day, now, source, alive=alive, with_signals=False)
                except ReportUnavailable as exc:
                    with pytest.raises(ReportUnavailable, match=re.escape(str(exc))):
                        load_day(rows, cal, day, now, source, alive=alive, with_signals=False)
                    continue
                got = load_day(rows, cal, day, now, source, alive=alive, with_signals=False)
                assert got == expected, (day, source)
                compared += 1
        assert compared > (last - first).days


def test_the_range_rows_answer_without_the_store(awkward) -> None:
    """Read once: after its construction every day of the range is answered from its rows (the
    store's connection closed under it would fail any query)."""
    store, code = awkward
    cal = get_calendar(code)
    now = at(LAST + timedelta(days=3), 12, 0, calendar=code)
    reader = open_store(store)
    rows = RangeRows(reader, window(FIRST, cal, now)[0], window(LAST, cal, now)[1], slack=MAX_INTERVAL_SLACK)
    reader.conn.close()
    days = [load_day(rows, cal, FIRST + timedelta(days=i), now, with_signals=False) for i in range(1, 31)]
    assert sum(len(s.gate) for d in days for s in d.sources) > 100


def test_a_window_outside_the_range_is_asked_of_the_store(awkward) -> None:
    store, code = awkward
    cal = get_calendar(code)
    with open_store(store) as reader:
        lo, hi = window(date(2025, 11, 26), cal, 0)[0], window(LAST, cal, 0)[1]
        rows = RangeRows(reader, lo, hi, slack=MAX_INTERVAL_SLACK)
        early = window(date(2025, 11, 1), cal, 0)
        assert rows.gate(*early[:2], "alpha") == reader.gate(*early[:2], "alpha") != []
        assert rows.runs(*early[:2], "alpha") == reader.runs(*early[:2], "alpha") != []
        assert rows.last_run_before("alpha", early[1]) == reader.last_run_before("alpha", early[1])


def test_the_period_report_over_the_awkward_month(awkward) -> None:
    """The whole period path on it, each day as its own report says (tests/test_period.py)."""
    from test_period import _assert_each_day_as_its_report

    store, code = awkward
    now = at(LAST + timedelta(days=3), 12, 0, calendar=code)
    with open_store(store) as reader:
        p = period_report(reader, get_calendar(code), FIRST, LAST, now)
    _assert_each_day_as_its_report(store, p, code)


def test_the_gate_summed_up_by_sqlite_counts_as_every_bucket_read(awkward) -> None:
    """The period reads the buckets of the codes the rules read one by one and has SQLite sum up
    the rest (health/period_gate.py): allowed, blocked and the refusals by reason — in the order
    a pass over every bucket meets them — are the day's own; on XBOM, buckets straddle midnight."""
    store, code = awkward
    cal = get_calendar(code)
    checked = 0
    with open_store(store) as reader:
        for i in range((LAST - FIRST).days + 1):
            lo, hi, _ = window(FIRST + timedelta(days=i), cal, 0)
            for source in ("alpha", "beta"):
                every = gate_stats(reader.gate(lo, hi, source), cal, lo)
                few = gate_stats(
                    reader.gate(lo, hi, source, codes=ONE_BY_ONE),
                    cal,
                    lo,
                    reader.gate_totals(lo, hi, source, ONE_BY_ONE),
                )
                assert (few.allowed, few.blocked, few.future, few.stale_rth) == (
                    every.allowed,
                    every.blocked,
                    every.future,
                    every.stale_rth,
                )
                assert list(few.by_code.items()) == list(every.by_code.items())
                checked += len(every.by_code) > 1
    assert checked >= 2  # days with more than one reason to order
