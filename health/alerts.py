"""Alerts: one record per transition of a condition (firing, resolved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from health.codes import IssueCode, Severity


@dataclass(frozen=True)
class Alert:
    severity: Severity
    code: IssueCode
    message: str
    at: datetime
    source: str = "default"
    resolved: bool = False
    details: dict = field(default_factory=dict, compare=False)

    def __str__(self) -> str:
        state = "RESOLVED" if self.resolved else self.severity
        when = self.at.strftime("%Y-%m-%d %H:%M:%S %Z")
        message = " ".join(self.message.split())  # one line, whatever the message held
        return f"[{state}] {self.code} ({self.source}) {when}: {message}"
