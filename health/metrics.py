"""The watchdog's view of a store as Prometheus metrics: a custom collector over the newest
snapshot, so a scrape reads memory, never the store, and the exposition is prometheus_client's.

Every metric is labelled by ``store`` (and ``source`` for a loop's): one watchdog watches
several stores (``--store`` repeated) with the same names. Counters are the store's own cumulative
counts (store/counters.py): they go on across a day's end and a restart of the watchdog; a
replaced store file starts them again, which Prometheus reads as a counter reset.

The names (docs/prometheus/ holds the scrape config and the alerting rules that use them):

| metric | type | labels |
|---|---|---|
| production_health_last_activity_timestamp_seconds | gauge | store, source |
| production_health_last_signal_timestamp_seconds | gauge | store, source |
| production_health_data_age_seconds | gauge | store, source |
| production_health_rth_coverage_ratio | gauge | store, source |
| production_health_status | gauge | store, source |
| production_health_issues_firing | gauge | store, source, code |
| production_health_processes | gauge | store, source |
| production_health_expected_signals_per_hour | gauge | store, source |
| production_health_signals_total | counter | store, source |
| production_health_gate_decisions_total | counter | store, source, outcome, reason |
| production_health_restarts_total | counter | store, source, exit |
| production_health_market_open | gauge | store, calendar |
| production_health_time_to_next_open_seconds | gauge | store, calendar |
| production_health_time_to_next_close_seconds | gauge | store, calendar |
| production_health_build_info | info | version, python |
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry

from health.calendar import MarketCalendar, MarketState
from health.codes import ExitCode, IssueCode
from health.live import LiveSnapshot
from health.restarts import ExitKind, count_restarts
from store import counters
from store.reader import StoreReader

PREFIX = "production_health_"


@dataclass
class StoreCounts:
    """Cumulative counts of one store file, brought up to date by :meth:`update`."""

    signals: dict[str, int] = field(default_factory=dict)
    last_signal: dict[str, float] = field(default_factory=dict)
    gate: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (source, outcome, reason)
    restarts: dict[tuple[str, str], int] = field(default_factory=dict)  # (source, exit kind)
    _signal_id: int = 0

    def update(self, reader: StoreReader) -> None:
        rows, self._signal_id = counters.signals_after(reader, self._signal_id)
        for source, n, newest in rows:
            self.signals[source] = self.signals.get(source, 0) + n
            self.last_signal[source] = max(newest, self.last_signal.get(source, newest))
        self.gate = {
            (source, "allowed" if allowed else "blocked", code): n
            for source, allowed, code, n in counters.gate_totals(reader)
        }
        self.restarts = count_restarts(reader.runs(), counters.run_last_beats(reader))


@dataclass(frozen=True)
class StoreView:
    """What the watchdog knew of one store at its last look; ``snapshot`` is None when the
    store could not be read."""

    store: str
    calendar: MarketCalendar | None
    snapshot: LiveSnapshot | None
    counts: StoreCounts | None
    firing: frozenset[tuple[str, str]]  # (source, code) of the watchdog's alerts firing
    sources: tuple[str, ...]  # every loop seen in this store


def next_open_close(state: MarketState, now: float) -> tuple[float | None, float | None]:
    """When the market next opens and next closes (a break's start is a close, its end an
    open), from the calendar's phase at ``now``."""
    s = state.session
    if state.phase == "open" and s is not None:
        if s.break_start_ts is not None and now < s.break_start_ts:
            return s.break_end_ts, s.break_start_ts
        return (state.next.open_ts if state.next else None), s.close_ts
    if state.phase == "break" and s is not None:
        return s.break_end_ts, s.close_ts
    nxt = state.next
    if nxt is None:
        return None, None
    return nxt.open_ts, nxt.break_start_ts if nxt.break_start_ts is not None else nxt.close_ts


def source_status(snap: LiveSnapshot | None, source: str) -> int:
    """0-3, the monitoring-plugins codes of docs/CONTRACT.md §3, for one loop today."""
    if snap is None:
        return int(ExitCode.UNKNOWN)
    return int(snap.status_of(source).exit_code)


def live_processes(live, analysis, now: float) -> int:
    """How many processes beat for the loop at ``now``: those of its ongoing duplicates
    (health/analysis.py), else one if it is up."""
    runs = {
        run_id
        for d in (analysis.lifecycle.duplicates if analysis is not None else ())
        if d.ongoing
        for run_id, _, _ in (d.first, d.second)
    }
    return len(runs) or int(live.up_at(now))


class HealthCollector(Collector):
    """Builds the families at each scrape from ``views()`` and ``clock()``: ages and the
    market's countdowns are as of the scrape, the rest as of the watchdog's last look."""

    def __init__(self, views: Callable[[], Sequence[StoreView]], clock: Callable[[], float], version: str):
        self._views = views
        self._clock = clock
        self._version = version

    def describe(self) -> Iterable:
        return []  # built fresh at every scrape; nothing to check at registration

    def collect(self) -> Iterable:
        now = self._clock()
        loop_labels = ["store", "source"]
        cal_labels = ["store", "calendar"]
        f = {
            "activity": GaugeMetricFamily(
                PREFIX + "last_activity_timestamp_seconds",
                "Time of the loop's last heartbeat (a loop call), Unix seconds.",
                labels=loop_labels,
            ),
            "signal": GaugeMetricFamily(
                PREFIX + "last_signal_timestamp_seconds",
                "Time of the loop's newest recorded signal, Unix seconds.",
                labels=loop_labels,
            ),
            "age": GaugeMetricFamily(
                PREFIX + "data_age_seconds",
                "Age now of the newest data the loop's gate was shown.",
                labels=loop_labels,
            ),
            "coverage": GaugeMetricFamily(
                PREFIX + "rth_coverage_ratio",
                "Share of today's elapsed RTH during which the loop was up (0-1).",
                labels=loop_labels,
            ),
            "status": GaugeMetricFamily(
                PREFIX + "status",
                "Today's status of the loop: 0 healthy/closed, 1 degraded, 2 unhealthy, 3 unknown.",
                labels=loop_labels,
            ),
            "firing": GaugeMetricFamily(
                PREFIX + "issues_firing",
                "1 while the watchdog's alert for this issue code is firing.",
                labels=[*loop_labels, "code"],
            ),
            "processes": GaugeMetricFamily(
                PREFIX + "processes",
                "Processes beating for the loop now: 0 down, 1 up, 2 or more a duplicate (DUPLICATE_LOOP).",
                labels=loop_labels,
            ),
            "cadence": GaugeMetricFamily(
                PREFIX + "expected_signals_per_hour",
                "Fewest signals a session hour of the loop should hold (set, or learned from its sessions).",
                labels=loop_labels,
            ),
            "signals": CounterMetricFamily(
                PREFIX + "signals", "Signals the loop recorded.", labels=loop_labels
            ),
            "gate": CounterMetricFamily(
                PREFIX + "gate_decisions",
                "Decisions of should_generate_signals, by outcome and reason code.",
                labels=[*loop_labels, "outcome", "reason"],
            ),
            "restarts": CounterMetricFamily(
                PREFIX + "restarts",
                "Restarts of the loop, by how the previous run ended (clean, crash, watchdog).",
                labels=[*loop_labels, "exit"],
            ),
            "open": GaugeMetricFamily(
                PREFIX + "market_open", "1 while the exchange is in RTH (breaks excluded).", labels=cal_labels
            ),
            "to_open": GaugeMetricFamily(
                PREFIX + "time_to_next_open_seconds",
                "Seconds until the market next opens (a break's end included).",
                labels=cal_labels,
            ),
            "to_close": GaugeMetricFamily(
                PREFIX + "time_to_next_close_seconds",
                "Seconds until the market next closes (a break's start included).",
                labels=cal_labels,
            ),
        }
        for view in self._views():
            self._add_view(f, view, now)
        yield from f.values()
        info = InfoMetricFamily(PREFIX + "build", "The production-health version serving these metrics.")
        info.add_metric([], {"version": self._version, "python": platform.python_version()})
        yield info

    def _add_view(self, f: dict, view: StoreView, now: float) -> None:
        store = view.store
        snap = view.snapshot
        if view.calendar is not None:
            state = view.calendar.state(now)
            cal = [store, view.calendar.code]
            f["open"].add_metric(cal, 1.0 if state.is_open else 0.0)
            nxt_open, nxt_close = next_open_close(state, now)
            if nxt_open is not None:
                f["to_open"].add_metric(cal, max(0.0, nxt_open - now))
            if nxt_close is not None:
                f["to_close"].add_metric(cal, max(0.0, nxt_close - now))
        if snap is None and not view.sources:
            f["status"].add_metric([store, ""], float(ExitCode.UNKNOWN))  # the store cannot be read
        live = {s.source: s for s in snap.sources} if snap is not None else {}
        analyses = {x.source: x for x in snap.report.sources} if snap and snap.report else {}
        coverage = {name: x.uptime.rth_coverage_pct for name, x in analyses.items()}
        for source in view.sources:
            labels = [store, source]
            f["status"].add_metric(labels, float(source_status(snap, source)))
            for code in IssueCode:
                f["firing"].add_metric([*labels, code.value], 1.0 if (source, code) in view.firing else 0.0)
            s = live.get(source)
            if s is not None:
                if s.last_beat is not None:
                    f["activity"].add_metric(labels, s.last_beat)
                age = s.data_age_at(now)
                if age is not None:
                    f["age"].add_metric(labels, max(0.0, age))
                f["processes"].add_metric(labels, float(live_processes(s, analyses.get(source), snap.now)))
            x = analyses.get(source)
            if x is not None and x.cadence is not None and x.cadence.cadence is not None:
                f["cadence"].add_metric(labels, x.cadence.cadence.per_hour)
            if coverage.get(source) is not None:
                f["coverage"].add_metric(labels, coverage[source] / 100.0)
            counts = view.counts
            if counts is None:
                continue
            if source in counts.last_signal:
                f["signal"].add_metric(labels, counts.last_signal[source])
            f["signals"].add_metric(labels, float(counts.signals.get(source, 0)))
            for kind in ExitKind:
                f["restarts"].add_metric([*labels, kind.value], float(counts.restarts.get((source, kind), 0)))
        if view.counts is not None:
            for (source, outcome, reason), n in sorted(view.counts.gate.items()):
                f["gate"].add_metric([store, source, outcome, reason], float(n))


def registry_for(collector: HealthCollector) -> CollectorRegistry:
    """A registry with our collector only: the exposition holds exactly the metrics above."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry
