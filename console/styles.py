"""Status and severity marks shared by the text report and the console's widgets: one symbol
and one colour per status everywhere, so a glance means the same on every screen."""

from __future__ import annotations

from health.codes import CheckStatus, Severity, Status

STATUS_STYLE = {
    Status.HEALTHY: ("✔", "bold green"),
    Status.CLOSED: ("●", "bold blue"),
    Status.DEGRADED: ("▲", "bold yellow"),
    Status.UNHEALTHY: ("✖", "bold red"),
    Status.UNKNOWN: ("?", "bold magenta"),
}
SEVERITY_STYLE = {
    Severity.CRITICAL: ("✖", "bold red"),
    Severity.WARNING: ("▲", "bold yellow"),
    Severity.INFO: ("●", "blue"),
}
CHECK_STYLE = {
    CheckStatus.OK: ("✔", "green"),
    CheckStatus.WARN: ("▲", "yellow"),
    CheckStatus.FAIL: ("✖", "red"),
}
