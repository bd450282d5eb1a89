"""The stable vocabulary of docs/CONTRACT.md §3-§4, defined once: issue codes and their
severities, the overall statuses, the diagnostics' check statuses, and the exit codes.

``StrEnum`` members are ``str`` instances equal to their value, so JSON, SQLite, f-strings
and comparisons with the plain strings users script against all see the same text.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum, StrEnum


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    WARNING = "WARNING"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """Most urgent first: the order issues are listed in."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


class IssueCode(StrEnum):
    ZERO_RTH_COVERAGE = "ZERO_RTH_COVERAGE"
    NO_ACTIVITY = "NO_ACTIVITY"
    STALE_DATA = "STALE_DATA"
    UPTIME_GAP = "UPTIME_GAP"
    LOW_RTH_COVERAGE = "LOW_RTH_COVERAGE"
    AFTER_HOURS_SIGNALS = "AFTER_HOURS_SIGNALS"
    TIMING_ANOMALY = "TIMING_ANOMALY"
    UNCLEAN_EXIT = "UNCLEAN_EXIT"
    STORE_ERROR = "STORE_ERROR"
    NO_SIGNALS = "NO_SIGNALS"  # up, the gate allowing, yet a session hour below its cadence
    DUPLICATE_LOOP = "DUPLICATE_LOOP"  # two live processes beat for one loop (source)

    @property
    def severity(self) -> Severity:
        return _ISSUE_SEVERITY[self]


_ISSUE_SEVERITY = {
    IssueCode.ZERO_RTH_COVERAGE: Severity.CRITICAL,
    IssueCode.NO_ACTIVITY: Severity.CRITICAL,
    IssueCode.STALE_DATA: Severity.CRITICAL,
    IssueCode.UPTIME_GAP: Severity.WARNING,
    IssueCode.LOW_RTH_COVERAGE: Severity.WARNING,
    IssueCode.AFTER_HOURS_SIGNALS: Severity.WARNING,
    IssueCode.TIMING_ANOMALY: Severity.WARNING,
    IssueCode.UNCLEAN_EXIT: Severity.WARNING,
    IssueCode.STORE_ERROR: Severity.CRITICAL,
    IssueCode.NO_SIGNALS: Severity.WARNING,
    # Two processes trading one strategy place every order twice: as urgent as a dead loop.
    IssueCode.DUPLICATE_LOOP: Severity.CRITICAL,
}


class Status(StrEnum):
    """The overall status of a report (docs/CONTRACT.md §3)."""

    HEALTHY = "HEALTHY"
    CLOSED = "CLOSED"  # not a trading day, nothing wrong
    DEGRADED = "DEGRADED"  # a WARNING issue, no CRITICAL
    UNHEALTHY = "UNHEALTHY"  # a CRITICAL issue
    UNKNOWN = "UNKNOWN"  # no report could be made

    @property
    def exit_code(self) -> ExitCode:
        return ExitCode.for_status(self)

    @classmethod
    def worst(cls, statuses: Iterable[Status | str]) -> Status | None:
        """The one to look at first among several loops' (a desk's header): UNHEALTHY, then a
        loop or store that cannot say (UNKNOWN), DEGRADED, HEALTHY, CLOSED; None for none."""
        return max((cls(s) for s in statuses), key=lambda s: _STATUS_RANK[s], default=None)


_STATUS_RANK = {
    Status.CLOSED: 0,
    Status.HEALTHY: 1,
    Status.DEGRADED: 2,
    Status.UNKNOWN: 3,
    Status.UNHEALTHY: 4,
}


class Readiness(StrEnum):
    """The outcome of the readiness check before a session (health/readiness.py)."""

    READY = "READY"
    NOT_READY = "NOT_READY"


class CheckStatus(StrEnum):
    """The outcome of one diagnostics check."""

    OK = "OK"
    WARN = "WARN"
    FAIL = "FAIL"

    @property
    def rank(self) -> int:
        """Worse is higher: the worst of several checks is the one with the highest rank."""
        return _CHECK_RANK[self]

    @classmethod
    def worst(cls, statuses: Iterable[CheckStatus | str]) -> CheckStatus:
        """FAIL if any failed, else WARN if any warned, else OK (OK for none)."""
        return max((cls(s) for s in statuses), key=lambda s: s.rank, default=cls.OK)


_CHECK_RANK = {CheckStatus.OK: 0, CheckStatus.WARN: 1, CheckStatus.FAIL: 2}


class ExitCode(IntEnum):
    """The monitoring-plugins convention, so cron, Nagios/Icinga and systemd can act."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @classmethod
    def for_status(cls, status: Status | str) -> ExitCode:
        return _STATUS_EXIT[Status(status)]

    @classmethod
    def for_check(cls, status: CheckStatus | str) -> ExitCode:
        return cls(CheckStatus(status).rank)


_STATUS_EXIT = {
    Status.HEALTHY: ExitCode.OK,
    Status.CLOSED: ExitCode.OK,
    Status.DEGRADED: ExitCode.WARNING,
    Status.UNHEALTHY: ExitCode.CRITICAL,
    Status.UNKNOWN: ExitCode.UNKNOWN,
}
