"""Where the store lives, so the loop and the console find the same file with no setup."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

ENV_VAR = "HEALTH_STORE"


def file_identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(device, inode) of the file at ``path`` now, None if there is none: it changes when the
    file is deleted and created again or replaced (restored from a backup, moved over)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def default_store_path() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "production-health" / "health.db"


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """--store / MonitorConfig.store_path, then $HEALTH_STORE, then the XDG state dir."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return default_store_path()


# A store path that keeps nothing (MonitorConfig(store_path=":memory:")): the monitor gates and
# alerts as usual but records nothing anywhere (store/null_recorder.py).
MEMORY = ":memory:"
BACKTEST_DIR = "backtests"


def keeps_nothing(path: str | os.PathLike[str] | None) -> bool:
    return path is not None and os.fspath(path) == MEMORY


def backtest_store_path(name: str, beside: str | os.PathLike[str] | None = None) -> Path:
    """Where a backtest named ``name`` (its ``source``) is recorded when no store is given: a
    file of its own, ``backtests/NAME.db`` beside the production store (``beside``, else the one
    ``resolve_store_path`` finds), so that a backtest never mixes its simulated days into the
    loops' store, and ``--compare NAME`` finds it next to the store it is compared with."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip(".") or "backtest"
    return resolve_store_path(beside).parent / BACKTEST_DIR / f"{safe}.db"


def remove_store(path: Path) -> None:
    """Delete a store and the WAL files beside it (a backtest's file, replaced by its next run)."""
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{path}{suffix}")


def run_store_path(explicit: str | os.PathLike[str] | None, backtest: bool, name: str) -> Path:
    """The store a run records into. A backtest without one gets a file of its own, named for
    the run (``backtest_store_path``), which each new run of that name starts afresh: a rerun
    must not pile a second copy of the same simulated days onto the first."""
    if keeps_nothing(explicit):
        return Path(os.fspath(explicit))
    if backtest and explicit is None:
        path = backtest_store_path(name)
        remove_store(path)
        return path
    return resolve_store_path(explicit)
