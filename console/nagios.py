"""One monitoring-plugins status line with perfdata, for Nagios/Icinga/Zabbix checks: for every
outcome, UNKNOWN included (docs/CONTRACT.md §3)."""

from __future__ import annotations

from console.sanitize import clean
from health.codes import Status
from health.report import HealthReport


def nagios_unknown(reason: str) -> str:
    """The line when no report could be made. One line, and no "|": the plugin's perfdata
    separator must not appear in the text a path or a message may carry."""
    text = clean(reason, one_line=True).replace("|", "/")
    return f"PRODUCTION HEALTH {Status.UNKNOWN} - {text}"


def nagios_line(report: HealthReport) -> str:
    t = report.totals
    worst = t.worst
    codes = ", ".join(dict.fromkeys(i.code for i in report.issues)) or (
        "market closed" if report.status == Status.CLOSED else "all checks passed"
    )
    perf = []
    min_cov = worst.thresholds.min_rth_coverage_pct if worst else 95.0
    if t.rth_coverage_pct is not None:
        perf.append(f"'rth_coverage'={round(t.rth_coverage_pct, 1)}%;{min_cov:g}:;0:;0;100")
    perf.append(f"'uptime'={round(t.uptime_pct, 1)}%;;;0;100")
    perf.append(f"'signals'={t.signals};;;0")
    perf.append(f"'signals_rth'={t.signals_rth};;;0")
    perf.append(f"'signals_after_hours'={t.signals_after_hours};0;;0")
    perf.append(f"'signals_stale'={t.signals_stale};;0;0")
    perf.append(f"'blocked'={t.blocked};;;0")
    if t.max_data_age is not None and worst is not None:
        perf.append(f"'data_age_max'={t.max_data_age:.0f}s;;{worst.thresholds.max_data_age_seconds:.0f};0")
    perf.append(f"'gaps'={len(t.gaps)};0;;0")
    return f"PRODUCTION HEALTH {report.status} - {report.day.isoformat()} {report.calendar}: {codes} | {' '.join(perf)}"
