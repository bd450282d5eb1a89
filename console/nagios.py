"""One monitoring-plugins status line with perfdata, for Nagios/Icinga/Zabbix checks."""

from __future__ import annotations

from health.codes import Status
from health.report import HealthReport


def nagios_line(report: HealthReport) -> str:
    worst = report.worst
    codes = ", ".join(dict.fromkeys(i.code for i in report.issues)) or (
        "market closed" if report.status == Status.CLOSED else "all checks passed"
    )
    j = report.to_json()
    perf = []
    cov = j["uptime"]["rth_coverage_pct"]
    min_cov = worst.thresholds.min_rth_coverage_pct if worst else 95.0
    if cov is not None:
        perf.append(f"'rth_coverage'={cov}%;{min_cov:g}:;0:;0;100")
    perf.append(f"'uptime'={j['uptime']['uptime_pct']}%;;;0;100")
    sig = j["signals"]
    perf.append(f"'signals'={sig['total']};;;0")
    perf.append(f"'signals_rth'={sig['rth']};;;0")
    perf.append(f"'signals_after_hours'={sig['after_hours']};0;;0")
    perf.append(f"'signals_stale'={sig['stale']};;0;0")
    perf.append(f"'blocked'={sig['blocked']};;;0")
    age = j["freshness"]["max_data_age_seconds"]
    if age is not None and worst is not None:
        perf.append(f"'data_age_max'={age:.0f}s;;{worst.thresholds.max_data_age_seconds:.0f};0")
    perf.append(f"'gaps'={len(j['uptime']['gaps'])};0;;0")
    return f"PRODUCTION HEALTH {report.status} - {report.day.isoformat()} {report.calendar}: {codes} | {' '.join(perf)}"
