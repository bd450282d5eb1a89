"""The console over SSH, for real: an sshd of our own on 127.0.0.1 (a free port, a throwaway
host key and an authorized key in a temporary directory; the system's sshd and its config are
never touched), an ``ssh -tt`` client in a tmux pane — the operator's terminal — running
``health-console`` on the far side. Then the link drops: the ssh client is killed, as when a
laptop lid closes or a VPN goes. sshd hangs up the session's terminal; the console and every
process it started must be gone within 5 s, burning no CPU meanwhile, and the store must be
exactly as it was (its bytes and its mtime).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psutil

SSHD = "/usr/sbin/sshd"
WITHIN = 5.0  # seconds from the drop to nothing left
CPU_BUDGET = 1.0  # CPU seconds the console's processes may spend leaving (measured: ~0.15)
DEMO_CPU_BUDGET = 2.0  # with --demo: a dashboard redrawing at 60x and a loop process (~0.8-1.0)
TAG = "HEALTH_SSH_TEST_TAG"


class Unavailable(Exception):
    """sshd, ssh, ssh-keygen or tmux is missing, or sshd cannot run here: the reason."""


@dataclass(frozen=True)
class SshResult:
    fault: str
    what: str
    gone_after: float | None  # seconds from the drop until nothing of the console was left
    cpu_seconds: float  # CPU the console's processes spent from the drop until they were gone
    store_untouched: bool
    rendered: bool  # the console had drawn its dashboard in the tmux pane before the drop
    cpu_budget: float
    left: str  # what was still running, if anything
    created: tuple[str, ...] = ()  # files that appeared beside the store

    @property
    def passed(self) -> bool:
        return not self.failures()

    def failures(self) -> list[str]:
        out = []
        if not self.rendered:
            out.append("the console never showed its dashboard over ssh")
        if self.gone_after is None:
            out.append(f"still running {WITHIN:g} s after the drop: {self.left}")
        if self.cpu_seconds > self.cpu_budget:
            out.append(f"{self.cpu_seconds:.2f} CPU seconds spent leaving")
        if not self.store_untouched:
            out.append("the store changed")
        return out

    def describe(self) -> str:
        return f"{self.fault}: " + ("; ".join(self.failures()) or "at every target")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fingerprint(store: Path) -> tuple[str, int] | None:
    """What 'untouched' means: the main file's bytes and mtime. (A WAL-mode reader may leave
    SQLite's -shm and an empty -wal beside it: they hold no data; the result names them.)"""
    if not store.exists():
        return None
    return hashlib.sha256(store.read_bytes()).hexdigest(), store.stat().st_mtime_ns


class Sshd:
    """sshd -D on 127.0.0.1, configured from a temporary directory only."""

    def __init__(self, where: Path) -> None:
        for tool in (SSHD, "ssh", "ssh-keygen", "tmux"):
            if shutil.which(tool) is None:
                raise Unavailable(
                    f"{tool} is not installed (apt-get install openssh-server openssh-client tmux)"
                )
        if os.geteuid() != 0:
            raise Unavailable("sshd needs root to start sessions (the test runs as another user)")
        self.where = where
        where.mkdir(parents=True, exist_ok=True)
        self.port = _free_port()
        self.client_key = where / "client_key"
        for key in (where / "host_key", self.client_key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        (where / "authorized_keys").write_text(Path(f"{self.client_key}.pub").read_text())
        config = where / "sshd_config"
        config.write_text(
            "\n".join(
                [
                    f"Port {self.port}",
                    "ListenAddress 127.0.0.1",
                    f"HostKey {where / 'host_key'}",
                    f"PidFile {where / 'sshd.pid'}",
                    f"AuthorizedKeysFile {where / 'authorized_keys'}",
                    "PermitRootLogin prohibit-password",
                    "PubkeyAuthentication yes",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "UsePAM no",
                    "StrictModes no",
                    "PrintMotd no",
                    "PrintLastLog no",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        # sshd's privilege-separation directory; the package's init script would create it.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.log = open(where / "sshd.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.close()
        raise Unavailable(f"sshd did not start: {(where / 'sshd.log').read_text()[-500:]}")

    def ssh_command(self, remote: str) -> list[str]:
        return [
            "ssh", "-tt", "-F", "/dev/null", "-i", str(self.client_key), "-p", str(self.port),
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "LogLevel=ERROR", "root@127.0.0.1", remote,
        ]  # fmt: skip

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["status"]):
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if proc.environ().get(TAG) == tag:
                found.append(proc)
    return found


def _cpu(procs: list[psutil.Process], seen: dict[int, float]) -> None:
    """Remember each process's CPU seconds so far (the last reading before it is gone)."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            seen[proc.pid] = t.user + t.system + t.children_user + t.children_system


def over_ssh(workdir: Path, store: Path, args: tuple[str, ...] = ()) -> SshResult:
    """The console on ``store`` (plus ``args``, ``--demo`` for one with a loop of its own)
    over ssh in a tmux pane; the ssh client killed once the dashboard shows."""
    before = _fingerprint(store)
    beside = {p.name for p in store.parent.iterdir()}
    tag = uuid.uuid4().hex
    console = Path(sys.executable).with_name("health-console")
    remote = f"env {TAG}={tag} TERM=xterm-256color {console} --store {store} {' '.join(args)}"
    session = f"i8b-ssh-{tag[:8]}"
    socket_name = f"i8b-{tag[:12]}"
    tmux = ["tmux", "-L", socket_name, "-f", "/dev/null"]
    sshd = Sshd(workdir / "sshd")
    try:
        subprocess.run(
            [*tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "40", *sshd.ssh_command(remote)],
            check=True,
        )
        rendered = False
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not rendered:
            pane = subprocess.run(
                [*tmux, "capture-pane", "-p", "-t", session], capture_output=True, text=True
            )
            rendered = "Production Health" in pane.stdout
            time.sleep(0.2)
        clients = [p for p in psutil.process_iter(["name", "cmdline"]) if _is_our_ssh(p, sshd.port)]
        procs = _tagged(tag)
        cpu_before: dict[int, float] = {}
        _cpu(procs, cpu_before)
        for client in clients:
            client.send_signal(signal.SIGKILL)  # the link drops: nothing is said to the far side
        dropped = time.monotonic()
        cpu_after = dict(cpu_before)
        gone_after = None
        while time.monotonic() - dropped < WITHIN:
            left = _tagged(tag)
            _cpu(left, cpu_after)
            if not left:
                gone_after = time.monotonic() - dropped
                break
            time.sleep(0.05)
        left_text = "; ".join(f"pid {p.pid} {' '.join(p.cmdline())[:100]}" for p in _tagged(tag))
        cpu = sum(cpu_after.values()) - sum(cpu_before.values())
    finally:
        for proc in _tagged(tag):
            with contextlib.suppress(psutil.Error):
                proc.kill()
        subprocess.run([*tmux, "kill-server"], capture_output=True)
        sshd.close()
    after = _fingerprint(store)
    created = sorted(p.name for p in store.parent.iterdir() if p.name not in beside)
    return SshResult(
        fault="over SSH, link dropped" + (" (demo)" if "--demo" in args else ""),
        what=(
            "health-console over a real sshd on 127.0.0.1, in a tmux pane; the ssh client killed "
            "once the dashboard shows"
            + (" (--demo: a console with a loop process of its own)" if "--demo" in args else "")
        ),
        gone_after=gone_after,
        cpu_seconds=cpu,
        store_untouched=before == after,
        rendered=rendered,
        cpu_budget=DEMO_CPU_BUDGET if "--demo" in args else CPU_BUDGET,
        left=left_text,
        created=tuple(created),
    )


def _is_our_ssh(proc: psutil.Process, port: int) -> bool:
    cmd = proc.info.get("cmdline") or []
    return bool(cmd) and Path(cmd[0]).name == "ssh" and str(port) in cmd
