"""Restarts, from the lifecycle records: which run of a loop followed which, how the earlier one
ended, and the downtime the restart cost. One definition for the report (text and JSON), the
console, the watchdog's alerts and the Prometheus counter.

- A run ended **clean** when it recorded its stop (``close()`` or a normal exit).
- It was **killed by the watchdog** when systemd supervised it with ``WatchdogSec=`` (the
  monitor records ``$WATCHDOG_USEC``, health/sdnotify.py) and it stopped beating for at least
  that long before the next run started: the pings stop with the beats, and systemd then kills
  it with SIGABRT and restarts it; a crash is followed by the restart at once.
- Any other end without a clean stop is a **crash** (an exception, a signal, the OOM killer).

A start counts as a restart when the run before it crashed or was killed, however long ago
(the downtime says how long), or when it stopped cleanly at most
``RESTART_AFTER_CLEAN_SECONDS`` before (``systemctl restart``, a deploy); a loop stopped
after the close and started before the next open is not restarted, it is started.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from health.calendar import MarketCalendar
from health.durations import fmt_duration
from health.hang import rth_seconds_between
from health.liveness import up_window
from store.records import RunRecord, SpanRecord

RESTART_AFTER_CLEAN_SECONDS = 15 * 60


class ExitKind(StrEnum):
    CLEAN = "clean"
    CRASH = "crash"
    WATCHDOG = "watchdog"

    @property
    def words(self) -> str:
        return _WORDS[self]


_WORDS = {
    ExitKind.CLEAN: "a clean stop",
    ExitKind.CRASH: "a crash",
    ExitKind.WATCHDOG: "a kill by systemd's watchdog (hung)",
}


@dataclass(frozen=True)
class Restart:
    source: str
    at: float  # the new run's start
    run_id: str  # the new run
    previous_run_id: str
    previous_pid: int | None
    previous_host: str | None
    exit: ExitKind  # how the previous run ended
    ended: float  # its stop (clean), else its last heartbeat: when it was last known up
    downtime_seconds: float  # from ``ended`` to ``at``
    rth_downtime_seconds: float  # the RTH part of it (breaks, nights and holidays cut out)
    watchdog_seconds: float | None = None  # the previous run's WatchdogSec, if it had one

    def describe(self, fmt) -> str:
        """One line, times through ``fmt`` (epoch → text in the exchange's zone)."""
        wd = (
            f" after {fmt_duration(self.downtime_seconds)} without a heartbeat"
            if self.exit == "watchdog"
            else ""
        )
        return (
            f"restarted {fmt(self.at)} after {self.exit.words}{wd}: pid {self.previous_pid} last up "
            f"{fmt(self.ended)}, down {fmt_duration(self.downtime_seconds)} "
            f"({fmt_duration(self.rth_downtime_seconds)} of RTH)"
        )


def last_beats(spans: Iterable[SpanRecord]) -> dict[str, float]:
    """The last heartbeat of each run, from its spans."""
    out: dict[str, float] = {}
    for s in spans:
        if s.end > out.get(s.run_id, float("-inf")):
            out[s.run_id] = s.end
    return out


def watchdog_seconds(run: RunRecord) -> float | None:
    systemd = run.config.get("systemd")
    if not isinstance(systemd, dict):
        return None
    try:
        usec = float(systemd.get("watchdog_usec") or 0)
    except (TypeError, ValueError):
        return None
    return usec / 1e6 if usec > 0 else None


def exit_kind(run: RunRecord, next_start: float, last_beat: float | None) -> tuple[ExitKind, float]:
    """How ``run`` ended, given that the next run of its loop started at ``next_start``, and
    when it was last known up."""
    if run.stopped_at is not None:
        return ExitKind.CLEAN, run.stopped_at
    ended = last_beat if last_beat is not None else (run.last_seen or run.started_at)
    wd = watchdog_seconds(run)
    if wd is not None and next_start - ended >= wd:
        return ExitKind.WATCHDOG, ended
    return ExitKind.CRASH, ended


def _restart_pairs(runs: Iterable[RunRecord], beats: Mapping[str, float]):
    """(previous run, run, exit kind, previous run's end) for every restart among ``runs``."""
    by_source: dict[str, list[RunRecord]] = {}
    for r in runs:
        by_source.setdefault(r.source, []).append(r)
    for group in by_source.values():
        group.sort(key=lambda r: r.started_at)
        for prev, run in itertools.pairwise(group):
            last = beats.get(prev.run_id)
            if last is not None and last > run.started_at + up_window(prev.heartbeat_interval):
                continue  # it beat on after the next run started: two processes, not a restart
            kind, ended = exit_kind(prev, run.started_at, last)
            ended = min(ended, run.started_at)
            if kind == ExitKind.CLEAN and run.started_at - ended > RESTART_AFTER_CLEAN_SECONDS:
                continue
            yield prev, run, kind, ended


def count_restarts(runs: Iterable[RunRecord], beats: Mapping[str, float]) -> dict[tuple[str, str], int]:
    """Restarts per (loop, exit kind), ever: the Prometheus counter (health/metrics.py)."""
    out: dict[tuple[str, str], int] = {}
    for _, run, kind, _ in _restart_pairs(runs, beats):
        out[(run.source, kind)] = out.get((run.source, kind), 0) + 1
    return out


def find_restarts(
    runs: Iterable[RunRecord], beats: Mapping[str, float], calendar: MarketCalendar
) -> list[Restart]:
    """Every restart among ``runs`` (any loops, any order), oldest first."""
    out = [
        Restart(
            source=run.source,
            at=run.started_at,
            run_id=run.run_id,
            previous_run_id=prev.run_id,
            previous_pid=prev.pid,
            previous_host=prev.host,
            exit=kind,
            ended=ended,
            downtime_seconds=run.started_at - ended,
            rth_downtime_seconds=rth_seconds_between(calendar, ended, run.started_at),
            watchdog_seconds=watchdog_seconds(prev),
        )
        for prev, run, kind, ended in _restart_pairs(runs, beats)
    ]
    return sorted(out, key=lambda r: r.at)
