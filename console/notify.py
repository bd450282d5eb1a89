"""`check-production-health --notify`: the day's summary to the alert sinks, after the close.

Quiet on non-trading days with nothing wrong (a holiday with after-hours signals still
reports). Deliveries are recorded in the store when it can be written.
"""

from __future__ import annotations

import sys
import time

from health.durations import fmt_duration
from health.report import HealthReport
from health.sinks import DailySummary, SinkDispatcher
from store.alert_log import AlertLog

NOTIFY_TIMEOUT = 45.0  # longer than a sink's retry budget (30 s)


def summary_of(report: HealthReport) -> DailySummary:
    t = report.totals
    lines = []
    cov = None if t.rth_coverage_pct is None else round(t.rth_coverage_pct, 1)
    if report.session.is_trading_day:
        lines.append(
            f"RTH coverage {cov if cov is not None else 'n/a'}%, uptime {round(t.uptime_pct, 1)}%, "
            f"{len(t.gaps)} gap(s)"
        )
    else:
        lines.append(f"not a trading day ({report.session.holiday or 'weekend'})")
    lines.append(
        f"signals: {t.signals} ({t.signals_rth} in RTH, {t.signals_after_hours} after hours, "
        f"{t.signals_stale} stale); gate blocked {t.blocked}"
    )
    for x in report.sources:
        if x.signals.max_data_age is not None:
            lines.append(f"{x.source}: data age max {fmt_duration(x.signals.max_data_age)}")
    for issue in report.issues[:5]:
        lines.append(f"{issue.severity} {issue.code}: {issue.message}")
    if len(report.issues) > 5:
        lines.append(f"… and {len(report.issues) - 5} more issues")
    first = (
        report.recommendations[0].steps[0]
        if report.recommendations and report.recommendations[0].steps
        else None
    )
    return DailySummary(
        date=report.day.isoformat(),
        calendar=report.calendar,
        status=report.status,
        source=report.sources[0].source if len(report.sources) == 1 else None,
        lines=tuple(lines),
        first_step=first,
    )


def notify_summary(report: HealthReport, store, environ=None) -> bool:
    """Send the summary; True if every configured sink took it."""
    if not report.session.is_trading_day and not report.issues:
        print("notify: not a trading day and nothing wrong: nothing sent", file=sys.stderr)
        return True
    sending = recorded_sending(store, environ, "summary")
    if sending is None:
        return False
    dispatcher, log, results = sending
    dispatcher.submit(summary_of(report))
    dispatcher.close(timeout=NOTIFY_TIMEOUT)
    log.close()
    return bool(results) and all(results)


def recorded_sending(store, environ, kind: str) -> tuple[SinkDispatcher, AlertLog, list[bool]] | None:
    """The configured sinks, each delivery recorded in the store's alert log as ``kind`` and a
    failed one said on stderr; with the log and the list of each delivery's outcome. None,
    said on stderr, when no sink is configured. The caller closes both."""
    log = AlertLog(store)
    results: list[bool] = []

    def delivered(sink: str, item, ok: bool, status, detail: str) -> None:
        results.append(ok)
        log.record_delivery(None, sink, time.time(), ok, status, detail, kind)
        if not ok:
            print(f"notify: delivery to {sink} failed: {detail}", file=sys.stderr)

    dispatcher = SinkDispatcher.from_env(environ, on_delivery=delivered)
    if not dispatcher.sinks:
        print(
            "notify: no sink configured (DISCORD_WEBHOOK_URL, HEALTH_WEBHOOK_URL): nothing sent",
            file=sys.stderr,
        )
        log.close()
        return None
    return dispatcher, log, results
