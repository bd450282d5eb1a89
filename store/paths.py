"""Where the store lives, so the loop and the console find the same file with no setup."""

from __future__ import annotations

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
