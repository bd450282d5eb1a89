"""What a check answers: a status, the facts, the fix, and picked-out lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from health.codes import CheckStatus

OK, WARN, FAIL = CheckStatus.OK, CheckStatus.WARN, CheckStatus.FAIL

# One (status, detail line, fix or None) per item a check looked at.
Part = tuple[CheckStatus, str, str | None]


@dataclass(frozen=True)
class CheckResult:
    name: str  # one of runner.CHECK_NAMES
    status: CheckStatus
    detail: str  # one or a few lines of facts
    fix: str | None  # what to do when not OK
    lines: tuple[str, ...] = ()  # e.g. picked-out log lines (errors, tracebacks)

    @property
    def ok(self) -> bool:
        return self.status == OK


def worst_status(results: Sequence[CheckResult]) -> CheckStatus:
    """FAIL if any check failed, else WARN if any warned, else OK (OK for no results)."""
    return CheckStatus.worst(r.status for r in results)


def combine(name: str, parts: list[Part], lines: Sequence[str] = ()) -> CheckResult:
    """(status, detail line, fix or None) per item -> one result, the worst status wins."""
    status = CheckStatus.worst(s for s, _, _ in parts)
    detail = "\n".join(d for _, d, _ in parts)
    fixes = list(dict.fromkeys(f for _, _, f in parts if f))
    return CheckResult(name, status, detail, "\n".join(fixes) if fixes else None, tuple(lines))


def fmt_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
