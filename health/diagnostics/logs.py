"""2. The loop's log files: their tails read (never more), errors and whole tracebacks picked out."""

from __future__ import annotations

import glob
import itertools
import os
import re
import shlex
import stat
import time
from collections.abc import Sequence
from dataclasses import dataclass

from health.diagnostics.context import Context, Scope, Skip
from health.diagnostics.result import FAIL, OK, WARN, CheckResult, Part, combine, fmt_bytes
from health.durations import fmt_duration

NAME = "logs"
LOG_TAIL_BYTES = 64 * 1024
LOG_MAX_FILES = 20  # the most recently written are read
LOG_MAX_GLOB_MATCHES = 2000
LOG_PICKED_PER_FILE = 20
LOG_MAX_LINES = 40
LOG_LINE_MAX_CHARS = 400

_TRACEBACK = "Traceback (most recent call last):"
_CHAINED_RE = re.compile(
    r"^(During handling of the above exception|The above exception was the direct cause)"
)
_ERROR_RE = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|Exception|Traceback")


@dataclass
class LogScan:
    """What one log file's tail says."""

    path: str
    size: int
    mtime: float
    truncated: bool
    errors: int
    tracebacks: int
    picked: list[str]


def read_tail(path: str | os.PathLike[str], max_bytes: int = LOG_TAIL_BYTES) -> tuple[list[str], bool]:
    """The last ``max_bytes`` of a file as lines (a cut first line dropped), and whether it
    was cut. Only this much is ever read, whatever the file's size."""
    with open(path, "rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        start = max(0, size - max_bytes)
        fh.seek(start)
        data = fh.read(max_bytes)
    text = data.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if start > 0 and lines:
        lines = lines[1:]  # the first line is a fragment
    return lines, start > 0


def _clip(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= LOG_LINE_MAX_CHARS else line[: LOG_LINE_MAX_CHARS - 1] + "…"


def pick_log_lines(lines: Sequence[str]) -> tuple[list[str], int, int]:
    """(picked lines, error lines, tracebacks): lines with ERROR/CRITICAL/Exception/Traceback
    and whole traceback blocks, from "Traceback (most recent call last):" through the
    exception line (long blocks keep their header and their last frames)."""
    picked: list[str] = []
    errors = tracebacks = 0
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        if _TRACEBACK in line:
            tracebacks += 1
            block = [line]
            i += 1
            if line.rstrip().endswith(_TRACEBACK):
                header_indented = line[:1] in (" ", "\t")
                while i < n:
                    nxt = lines[i]
                    if not nxt.strip():
                        break
                    if nxt[:1] in (" ", "\t"):
                        block.append(nxt)
                        i += 1
                        continue
                    if not header_indented:
                        block.append(nxt)  # the exception line ends the block
                        i += 1
                    break
            if len(block) > 12:
                block = [block[0], f"  … ({len(block) - 10} traceback lines not shown)", *block[-9:]]
            picked.extend(_clip(b) for b in block)
            continue
        if _CHAINED_RE.match(line):
            picked.append(_clip(line))  # joins two tracebacks; not an error of its own
        elif _ERROR_RE.search(line):
            errors += 1
            picked.append(_clip(line))
        i += 1
    return picked, errors, tracebacks


def scan_log(path: str) -> LogScan:
    st = os.stat(path)
    lines, truncated = read_tail(path)
    picked, errors, tracebacks = pick_log_lines(lines)
    if len(picked) > LOG_PICKED_PER_FILE:
        picked = [
            f"… ({len(picked) - LOG_PICKED_PER_FILE + 1} earlier lines not shown)",
            *picked[-(LOG_PICKED_PER_FILE - 1) :],
        ]
    return LogScan(
        str(path),
        st.st_size,
        st.st_mtime,
        truncated,
        errors,
        tracebacks,
        picked,
    )


def _log_candidates(ctx: Context, scope: Scope) -> tuple[list[tuple[str, str]], list[Part]]:
    """[(path, where it came from)] and notes [(status, line, fix)]."""
    files: dict[str, str] = {}
    notes: list[Part] = []
    try:
        reader = ctx.open_reader(scope)
        for run in ctx.latest_runs(reader):
            recorded = run.config.get("log_files") or []
            if not isinstance(recorded, list):
                continue
            if run.host and run.host != ctx.hostname and recorded:
                notes.append(
                    (
                        WARN,
                        f"{run.source}: its log files are on {run.host}, not readable here",
                        f"run diagnose-production on {run.host}, or read them there: ssh {shlex.quote(run.host)} tail -n 200 "
                        + " ".join(shlex.quote(str(f)) for f in recorded[:3]),
                    )
                )
                continue
            for f in recorded:
                files.setdefault(str(f), f"recorded by loop {run.source!r}")
    except Skip as exc:
        notes.append(
            (
                WARN,
                f"the loop's own log files are unknown: {exc}",
                "see the store check; pass --logs GLOB meanwhile",
            )
        )
    for pattern in ctx.log_globs:
        found = glob.iglob(os.path.expanduser(str(pattern)), recursive=True)
        matches = sorted(itertools.islice(found, LOG_MAX_GLOB_MATCHES))
        if not matches:
            notes.append(
                (
                    WARN,
                    f"--logs {pattern!r} matched no file",
                    "check the --logs pattern (quote it so the shell does not expand it)",
                )
            )
        for m in matches:
            files.setdefault(m, f"--logs {pattern}")
    return list(files.items()), notes


def _pick_output(scans: list[LogScan]) -> list[str]:
    """Each file's picked lines under a header, newest file first, LOG_MAX_LINES in all: a
    file that does not fit whole shows its last lines."""
    lines: list[str] = []
    with_lines = [s for s in scans if s.picked]
    for k, s in enumerate(with_lines):
        more = len(with_lines) - k - 1
        room = LOG_MAX_LINES - len(lines) - (1 if more else 0)  # keep a line to say "more"
        if room < 3:
            lines.append(f"… picked lines of {more + 1} more file(s) not shown (limit {LOG_MAX_LINES} lines)")
            break
        lines.append(f"==> {s.path} <==")
        picked = s.picked
        if len(picked) > room - 1:
            cut = len(picked) - (room - 2)
            picked = [f"… ({cut} earlier picked lines not shown)", *picked[cut:]]
        lines.extend(picked)
    return lines


def check(ctx: Context, scope: Scope) -> CheckResult:
    candidates, parts = _log_candidates(ctx, scope)
    if not candidates:
        parts.append(
            (
                WARN,
                "no log file known: the loop recorded none and no --logs was given",
                "pass --logs GLOB (e.g. --logs '~/trading/logs/*.log'); or have the loop log to a file "
                "(logging.basicConfig(filename=...)) before it creates the monitor, so the file is recorded",
            )
        )
        return combine("logs", parts)
    unreadable_fix = (
        "check the file's path and permissions; if it was rotated or moved, pass --logs GLOB "
        "matching where the loop writes now"
    )
    regular: list[tuple[float, str, str]] = []
    for path, origin in candidates:
        try:
            st = os.stat(path)
        except OSError as exc:
            parts.append((WARN, f"{path} ({origin}): cannot read: {exc.strerror or exc}", unreadable_fix))
            continue
        if stat.S_ISCHR(st.st_mode):
            continue  # /dev/null, a terminal: nothing to read
        if not stat.S_ISREG(st.st_mode):
            parts.append((OK, f"{path} ({origin}): not a regular file, skipped", None))
            continue
        regular.append((st.st_mtime, path, origin))
    regular.sort(reverse=True)  # the most recently written first
    if len(regular) > LOG_MAX_FILES:
        parts.append(
            (
                OK,
                f"{len(regular) - LOG_MAX_FILES} older log files not read (the newest {LOG_MAX_FILES} were)",
                None,
            )
        )
    scans: list[LogScan] = []
    for _, path, _origin in regular[:LOG_MAX_FILES]:
        try:
            scans.append(scan_log(path))
        except OSError as exc:
            parts.append((WARN, f"{path}: cannot read: {exc.strerror or exc}", unreadable_fix))
    for s in scans:
        part = "last 64 KiB" if s.truncated else "whole file"
        age = fmt_duration(time.time() - s.mtime)
        facts = f"{s.path}: {fmt_bytes(s.size)}, written {age} ago; {part}: "
        if s.tracebacks:
            facts += f"{s.tracebacks} traceback(s), {s.errors} error line(s)"
            parts.append(
                (
                    FAIL,
                    facts,
                    f"read the traceback and what led to it: tail -n 200 {shlex.quote(s.path)}; fix the cause, then restart the loop",
                )
            )
        elif s.errors:
            facts += f"{s.errors} error line(s)"
            parts.append(
                (
                    WARN,
                    facts,
                    f"read the errors in context: grep -nE 'ERROR|CRITICAL|Exception' {shlex.quote(s.path)} | tail -n 20",
                )
            )
        else:
            parts.append((OK, facts + "no errors", None))
    lines = _pick_output(scans)
    if not scans:
        parts.append((WARN, "no readable log file", "pass --logs GLOB pointing at the loop's log files"))
    return combine("logs", parts, lines)
