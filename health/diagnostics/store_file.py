"""3. The store file: integrity (quick_check), schema, journal mode, WAL size, last write."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from health.diagnostics.context import Context, Scope, Skip
from health.diagnostics.result import FAIL, OK, WARN, CheckResult, Part, combine, fmt_bytes
from health.durations import fmt_duration
from store.paths import ENV_VAR as STORE_ENV_VAR
from store.paths import default_store_path
from store.schema import SCHEMA_VERSION

NAME = "store"
WAL_WARN_BYTES = 64 * 1024 * 1024


def check(ctx: Context, scope: Scope) -> CheckResult:
    path = ctx.store_path
    where = f"--store PATH or {STORE_ENV_VAR}=PATH; default {default_store_path()}"
    try:
        exists = path.exists()
    except OSError:
        exists = False
    if not exists:
        return CheckResult(
            "store",
            FAIL,
            f"health store {path} does not exist",
            f"point at the loop's store ({where}); a loop running ProductionMonitor creates it there",
        )
    try:
        reader = ctx.open_reader(scope)
    except Skip as exc:
        fix = (
            "upgrade production-health here to the loop's version"
            if "newer" in str(exc)
            else (
                f"check the path and the file's permissions (ls -l {shlex.quote(str(path))}); if it is "
                "damaged, stop the loop, move the file aside and let the loop create a new one"
            )
        )
        return CheckResult("store", FAIL, str(exc), fix)
    parts: list[Part] = []
    qc = reader.quick_check()
    if qc.lower() == "ok":
        qc_part = (OK, "quick_check ok", None)
    else:
        qc_part = (
            FAIL,
            f"quick_check: {qc}",
            f"the store is damaged: stop the loop, copy {path} aside, then "
            f"sqlite3 {shlex.quote(str(path))} .recover | sqlite3 recovered.db and use recovered.db",
        )
    version = reader.schema_version
    if version == SCHEMA_VERSION:
        schema = f"schema v{version} (current)"
    else:
        schema = f"schema v{version}, older than this program's v{SCHEMA_VERSION}"
    try:
        journal = reader.journal_mode()
    except Exception:
        journal = "unknown"
    wal = reader.wal_bytes()
    try:
        size = os.path.getsize(path)
        mtimes = [os.path.getmtime(p) for p in (path, Path(f"{path}-wal")) if p.exists()]
    except OSError:
        size, mtimes = 0, []
    runs = reader.latest_runs()
    first = reader.first_record_at()
    written = f"last write {fmt_duration(time.time() - max(mtimes))} ago" if mtimes else "last write unknown"
    loops = ", ".join(r.source for r in runs) or "none"
    detail_status = qc_part[0]
    parts.append(
        (
            detail_status,
            f"{path}: {fmt_bytes(size)}, {schema}, journal {journal}, {qc_part[1]}",
            qc_part[2],
        )
    )
    parts.append(
        (OK, f"WAL {fmt_bytes(wal)}; {written}; loops: {loops}; first record {ctx.fmt(first)}", None)
    )
    if version < SCHEMA_VERSION:
        parts.append(
            (
                WARN,
                f"the store was written by an older production-health (schema v{version})",
                "upgrade production-health in the trading loop's environment; it migrates the store on start",
            )
        )
    if journal.lower() != "wal":
        parts.append(
            (
                WARN,
                f"journal mode is {journal}, not wal: readers can make the loop wait",
                "restart the loop: its monitor switches the store to WAL when it opens it",
            )
        )
    if wal > WAL_WARN_BYTES:
        parts.append(
            (
                WARN,
                f"the WAL is {fmt_bytes(wal)} (> {fmt_bytes(WAL_WARN_BYTES)}): a reader is holding checkpoints back",
                "close long-lived readers of the store (forgotten consoles, sqlite3 shells, backup tools "
                f"holding a transaction: lsof {shlex.quote(str(path))}); the loop checkpoints once they let go",
            )
        )
    return combine("store", parts)
