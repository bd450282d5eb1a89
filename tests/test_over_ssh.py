"""The console over SSH, for real (tests/faultkit/ssh.py): an sshd of the test's own on
127.0.0.1, an ssh client in a tmux pane running health-console; the ssh client is killed (the
link drops). The console and everything it started are gone within 5 s, spending no more than
a second of CPU on the way out, and the store's main file keeps its bytes and mtime.

Skips, saying why, where openssh-server is not installed (``apt-get install openssh-server``:
.ci/run installs it when it runs as root with apt) or sshd cannot run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from faultkit.ssh import Unavailable, over_ssh

from health.simulation import seed_dec11_story


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store" / "health.db"
    path.parent.mkdir()
    seed_dec11_story(path, own_process=False)
    return path


def _over_ssh(tmp_path: Path, store: Path, *args: str):
    try:
        return over_ssh(tmp_path / "ssh", store, args)
    except Unavailable as exc:
        pytest.skip(f"no ssh here: {exc}")


@pytest.mark.slow
def test_dropping_the_ssh_link_ends_the_console_and_leaves_the_store_alone(
    tmp_path: Path, store: Path
) -> None:
    result = _over_ssh(tmp_path, store)
    assert result.passed, result.describe()


@pytest.mark.faults
def test_dropping_the_ssh_link_ends_the_demo_and_its_loop(tmp_path: Path, store: Path) -> None:
    result = _over_ssh(tmp_path, store, "--demo")
    assert result.passed, result.describe()
