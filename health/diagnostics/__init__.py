"""Machine diagnostics: the checks a person would otherwise run by hand when the loop misbehaves.

``run_diagnostics(store_path)`` answers, in a few seconds and without ever writing to the store:
is the loop's process alive (or alive but hung), what do its logs say, is the store healthy, is
there disk space, is the clock sane, what is today's session, and will anyone be alerted.

One module per check (``NAME`` and ``check(ctx, scope)``), in the order they run: process, logs,
store_file, disk, clock, session, sinks. runner.py runs each in its own daemon thread with a
deadline; a check that does not answer in time becomes a WARN ("timed out after 2 s") and its
SQLite queries are interrupted. The whole run has a budget too (4.5 s by default), so a sick
machine cannot make the diagnostics hang. Nothing escapes as an exception: a check that crashes
becomes a WARN naming the error.

Output is plain text in :class:`CheckResult` records (the renderer sanitises control characters);
webhook secrets are redacted from every field, log lines included (docs/CONTRACT.md §5).
"""

from health.diagnostics.result import FAIL, OK, WARN, CheckResult, worst_status
from health.diagnostics.runner import CHECK_NAMES, TOTAL_BUDGET_SECONDS, run_diagnostics

__all__ = [
    "CHECK_NAMES",
    "FAIL",
    "OK",
    "TOTAL_BUDGET_SECONDS",
    "WARN",
    "CheckResult",
    "run_diagnostics",
    "worst_status",
]
