"""The run: each check in its own daemon thread with a deadline, a budget for the whole run,
progress and cancel, and secrets redacted from every result."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from health.diagnostics import clock, disk, logs, process, session, sinks, store_file
from health.diagnostics.context import Context, Scope, Skip, quietly
from health.diagnostics.result import WARN, CheckResult
from health.sinks.dispatcher import DISCORD_ENV, WEBHOOK_ENV
from health.sinks.redact import redact_text
from store.paths import ENV_VAR as STORE_ENV_VAR
from store.paths import default_store_path

TOTAL_BUDGET_SECONDS = 4.5

# The checks, in the order they run and are shown.
CHECKS: tuple[tuple[str, Callable[[Context, Scope], CheckResult]], ...] = tuple(
    (m.NAME, m.check) for m in (process, logs, store_file, disk, clock, session, sinks)
)
CHECK_NAMES = tuple(name for name, _ in CHECKS)


def run_diagnostics(
    store_path: str | os.PathLike[str] | None,
    calendar_code: str = "XNYS",
    *,
    source: str | None = None,
    log_globs: Sequence[str] = (),
    now: float | None = None,
    clock: Callable[[], float] | None = None,
    environ: Mapping[str, str] | None = None,
    timeout_per_check: float = 2.0,
    progress: Callable[[str, int, int], None] | None = None,
    cancel: threading.Event | None = None,
    total_timeout: float = TOTAL_BUDGET_SECONDS,
) -> list[CheckResult]:
    """Run the checks in order (CHECK_NAMES) and return one result each.

    ``store_path`` None means the usual resolution ($HEALTH_STORE in ``environ``, then the
    XDG state directory). ``now`` replaces the system clock for every judgement about the
    store's data (file ages stay real); ``clock``, when given, is how that time moves on during
    the run (a simulated loop keeps writing while the checks run: each check reads the clock
    when it judges). ``environ`` defaults to ``os.environ``.
    ``progress(name, i, n)`` is called before each check, ``i`` being the number of checks
    done so far (0-based: show ``i + 1``/``n``); ``cancel`` set stops the run and returns the
    checks already done. Never raises.
    """
    env = os.environ if environ is None else environ
    secrets = [str(env.get(k) or "").strip() for k in (DISCORD_ENV, WEBHOOK_ENV)]
    secrets = [s for s in secrets if s]
    started = time.monotonic()
    deadline = started + max(0.0, float(total_timeout))
    results: list[CheckResult] = []
    try:
        if store_path is None:
            store_path = env.get(STORE_ENV_VAR) or default_store_path()
        path = Path(store_path).expanduser()
        timeout = max(0.05, float(timeout_per_check))
        ctx = Context(
            path,
            calendar_code,
            source,
            [log_globs] if isinstance(log_globs, str) else log_globs,
            time.time() if now is None else float(now),
            env,
            timeout,
            clock,
        )
        # Build the calendar in the background while the first checks run.
        threading.Thread(
            target=quietly, args=(ctx.calendar,), daemon=True, name="diagnostics-calendar"
        ).start()
        n = len(CHECKS)
        for i, (name, fn) in enumerate(CHECKS):
            if cancel is not None and cancel.is_set():
                break
            if progress is not None:
                quietly(progress, name, i, n)
                if cancel is not None and cancel.is_set():
                    break
            remaining = deadline - time.monotonic()
            if remaining < 0.05:
                results.append(
                    CheckResult(
                        name,
                        WARN,
                        f"skipped: the diagnostics' time budget ({total_timeout:g} s) was used up",
                        "run the diagnostics again; if checks keep timing out, the machine is overloaded",
                    )
                )
                continue
            result = _run_bounded(name, fn, ctx, min(timeout, remaining), cancel)
            if result is None:  # cancelled
                break
            results.append(result)
    except Exception as exc:  # the promise: no exception escapes
        results.append(
            CheckResult(
                "diagnostics",
                WARN,
                f"diagnostics failed: {type(exc).__name__}: {exc}",
                "this is a bug in production-health's diagnostics: please report it with this line",
            )
        )
    return [_redacted(r, secrets) for r in results]


def _run_bounded(
    name: str,
    fn: Callable[[Context, Scope], CheckResult],
    ctx: Context,
    timeout: float,
    cancel: threading.Event | None,
) -> CheckResult | None:
    scope = Scope()
    box: list[CheckResult | BaseException] = []

    def target() -> None:
        try:
            box.append(fn(ctx, scope))
        except Skip as exc:
            box.append(_skipped(name, str(exc)))
        except BaseException as exc:
            box.append(exc)
        finally:
            for reader in scope.readers:
                quietly(reader.close)

    worker = threading.Thread(target=target, daemon=True, name=f"diagnostics-{name}")
    worker.start()
    end = time.monotonic() + timeout
    while worker.is_alive():
        left = end - time.monotonic()
        if left <= 0:
            break
        worker.join(min(left, 0.05))
        if cancel is not None and cancel.is_set() and worker.is_alive():
            ctx.abandon(scope)
            return None
    if worker.is_alive() or not box:
        ctx.abandon(scope)
        return CheckResult(
            name,
            WARN,
            f"timed out after {timeout:.3g} s",
            "run the diagnostics again; a check that keeps timing out points at a hung disk, "
            "a locked store or an overloaded machine",
        )
    outcome = box[0]
    if isinstance(outcome, BaseException):
        return CheckResult(
            name,
            WARN,
            f"the check itself failed: {type(outcome).__name__}: {outcome}",
            "this is a bug in production-health's diagnostics: please report it with this line",
        )
    return outcome


def _skipped(name: str, why: str) -> CheckResult:
    return CheckResult(
        name,
        WARN,
        f"skipped: {why}",
        "see the store check: this check needs a readable health store",
    )


def _redacted(result: CheckResult, secrets: list[str]) -> CheckResult:
    def r(text: str) -> str:
        return redact_text(text, secrets)

    return replace(
        result,
        detail=r(result.detail),
        fix=None if result.fix is None else r(result.fix),
        lines=tuple(r(line) for line in result.lines),
    )
