"""What the benchmark scripts (bench/recorder.py, bench/report.py, bench/console.py,
bench/startup.py) share:
the machine the run was on, the load average, the formatting of their sections, and the
read-modify-write of their own section of BENCHMARKS.md.

The scripts are run as ``python bench/X.py``; each puts the checkout first on ``sys.path``
and imports this module as ``bench._common``.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
BENCH_MD = REPO / "BENCHMARKS.md"
MD_HEADER = (
    "# Benchmarks\n\n"
    "Figures measured on the project's reference machine. Each section below is written by the\n"
    "script named in its heading, between its own markers; rerun the script to refresh it.\n"
)
BUSY_WARNING = (
    "**The machine was busy with other work during this run: figures are noisy; rerun on "
    "an idle machine before trusting a near-miss.**"
)


def compile_package() -> None:
    """The package's modules compiled to bytecode before any process is timed, as an installed
    package has them (pip writes them for a wheel; an editable install on its first run).
    A shell with PYTHONDONTWRITEBYTECODE=1 (this machine's sessions have it) never writes
    them: every process would compile each module edited since the last write, and the
    figures would measure the compiler (a year's range compiled ten modules, one day's two)."""
    import compileall

    for pkg in ("console", "health", "store"):
        compileall.compile_dir(REPO / pkg, quiet=2, force=False)


def say(*a: object) -> None:
    """Progress, on stderr (stdout carries the section)."""
    print(*a, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------
# the machine
# ------------------------------------------------------------------------------------------
def load_average() -> float:
    """The 1-minute load average."""
    return os.getloadavg()[0]


def machine_info() -> dict:
    import exchange_calendars as xcals

    cpu = ""
    with contextlib.suppress(OSError):
        m = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = m.group(1).strip() if m else ""
    try:
        rev = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
    except OSError:
        rev = ""
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "exchange_calendars": xcals.__version__,
        "git": rev,
        "load": load_average(),  # when this was called: the start of the run
    }


def run_line(info: dict, script: str, quick: bool, libs: Iterable[tuple[str, str]] | None = None) -> str:
    """The opening of a section: ``Run: DATE; N CPUs (CPU); Python V; SQLite V; LIB V; git REV;
    `python bench/SCRIPT [--quick]``` (the script goes on with what the run took). ``libs``:
    (name, version) pairs, exchange_calendars by default."""
    if libs is None:
        libs = [("exchange_calendars", info["exchange_calendars"])]
    parts = [
        f"Run: {info['date']}",
        f"{info['nproc']} CPUs ({info['cpu']})",
        f"Python {info['python']}",
        f"SQLite {info['sqlite']}",
        *(f"{name} {version}" for name, version in libs),
        f"git {info['git']}",
        f"`python bench/{script}{' --quick' if quick else ''}`",
    ]
    return "; ".join(parts)


def load_before_after(before: float, after: float) -> str:
    return f"1-min load average {before:.2f} before, {after:.2f} after."


def console_script(name: str) -> str:
    """The installed console script ``name``: beside this interpreter, else on PATH."""
    cand = Path(sys.executable).parent / name
    if cand.exists():
        return str(cand)
    found = shutil.which(name)
    if not found:
        raise SystemExit(f"{name} not found next to {sys.executable} nor on PATH: pip install -e .")
    return found


# ------------------------------------------------------------------------------------------
# stores
# ------------------------------------------------------------------------------------------
def ro_uri(path: Path | str) -> str:
    """A read-only SQLite URI for ``path`` (``sqlite3.connect(..., uri=True)``)."""
    return f"file:{quote(str(Path(path).resolve()))}?mode=ro"


def table_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table of the store, in the order the tables were created."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY rowid"
        )
    ]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def store_bytes(path: Path | str) -> int:
    """The store's size on disk: the database file and its -wal file."""
    return sum(os.path.getsize(f) for f in (str(path), f"{path}-wal") if os.path.exists(f))


# ------------------------------------------------------------------------------------------
# the section
# ------------------------------------------------------------------------------------------
def verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def md_row(cells: Iterable[str]) -> str:
    """One row of a Markdown table."""
    return "| " + " | ".join(cells) + " |"


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(name: str, heading: str, body: str, path: Path = BENCH_MD) -> None:
    """Read-modify-write only the section ``name`` of BENCHMARKS.md, between its markers
    (other scripts own the other sections), appended when it is not there yet; the file is
    replaced atomically."""
    start, end = markers(name)
    section = f"{start}\n## {heading}\n\n{body}{end}\n"
    text = path.read_text(encoding="utf-8") if path.exists() else MD_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end) + r"\n?", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
