"""4. Free space and inodes where the store lives."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from health.diagnostics.context import Context, Scope
from health.diagnostics.result import FAIL, OK, WARN, CheckResult, Part, combine, fmt_bytes

NAME = "disk"
DISK_FAIL_BYTES = 100 * 1024 * 1024
DISK_WARN_BYTES = 1024 * 1024 * 1024
INODES_WARN = 1000


def _existing_dir(path: Path) -> Path:
    p = path.parent
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def check(ctx: Context, scope: Scope) -> CheckResult:
    where = _existing_dir(ctx.store_path)
    usage = shutil.disk_usage(where)
    pct = 100.0 * usage.free / usage.total if usage.total else 0.0
    detail = (
        f"{fmt_bytes(usage.free)} free of {fmt_bytes(usage.total)} ({pct:.0f}%) on the filesystem of {where}"
    )
    parts: list[Part] = []
    free_fix = (
        f"free space on the filesystem holding {where} (du -xh {shlex.quote(str(where))} | sort -h | tail); "
        "when the disk is full the recorder keeps events in memory (bounded) and drops the oldest"
    )
    if usage.free < DISK_FAIL_BYTES:
        parts.append((FAIL, detail + f": below {fmt_bytes(DISK_FAIL_BYTES)}", free_fix))
    elif usage.free < DISK_WARN_BYTES:
        parts.append((WARN, detail + f": below {fmt_bytes(DISK_WARN_BYTES)}", free_fix))
    else:
        parts.append((OK, detail, None))
    try:
        vfs = os.statvfs(where)
        if vfs.f_files and vfs.f_favail < INODES_WARN:
            parts.append(
                (
                    WARN,
                    f"only {vfs.f_favail} free inodes: new files (the WAL) cannot be created",
                    f"delete small files on the filesystem of {where}",
                )
            )
    except (AttributeError, OSError):
        pass
    return combine("disk", parts)
