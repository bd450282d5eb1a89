"""Status and severity marks shared by the text report and the console's widgets: one symbol
and one colour per status everywhere, so a glance means the same on every screen."""

from __future__ import annotations

STATUS_STYLE = {
    "HEALTHY": ("✔", "bold green"),
    "CLOSED": ("●", "bold blue"),
    "DEGRADED": ("▲", "bold yellow"),
    "UNHEALTHY": ("✖", "bold red"),
    "UNKNOWN": ("?", "bold magenta"),
}
SEVERITY_STYLE = {"CRITICAL": ("✖", "bold red"), "WARNING": ("▲", "bold yellow"), "INFO": ("●", "blue")}
