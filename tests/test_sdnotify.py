"""sd_notify against a real AF_UNIX datagram socket, as systemd listens on one: READY=1 at set
up, WATCHDOG=1 only while the loop's own thread calls (rate-limited to half WATCHDOG_USEC),
none once that thread blocks though the process's other threads run on, STATUS= one line,
STOPPING=1 on close."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
import uuid

import pytest

from health.sdnotify import SdNotifier, SystemdEnv, socket_address

WATCHDOG_USEC = 200_000  # pings at most every 0.1 s


class NotifySocket:
    """What systemd's manager does: a bound datagram socket; each message time-stamped."""

    def __init__(self, address: str | bytes) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.05)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            self.messages.append((time.monotonic(), fields))

    def with_key(self, key: str) -> list[tuple[float, dict[str, str]]]:
        return [(t, m) for t, m in list(self.messages) if key in m]

    def wait_for(self, key: str, n: int = 1, timeout: float = 5.0) -> list[tuple[float, dict[str, str]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.with_key(key)) < n:
            time.sleep(0.005)
        return self.with_key(key)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = str(tmp_path / "notify.sock")
    server = NotifySocket(path)
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    yield server
    server.close()


def test_pings_while_the_loop_calls_and_stop_when_its_thread_blocks(notify_socket, make_monitor):
    mon = make_monitor(source="sd-loop", check_interval_seconds=0.05)
    ready = notify_socket.wait_for("READY")
    assert ready and "sd-loop" in ready[0][1]["STATUS"]

    calling = threading.Event()
    calling.set()
    blocked = threading.Event()
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            if not calling.is_set():
                blocked.set()
                calling.wait()  # the loop's thread hangs (a stuck socket read, a deadlock)
                continue
            mon.should_generate_signals(time.time() - 3)
            mon.record_activity()
            mon.record_signal("AAPL", time.time() - 3)
            time.sleep(0.005)

    busy_until = time.monotonic() + 10

    def busy() -> None:  # another thread of the process keeps running all along
        while time.monotonic() < busy_until and not stop.is_set():
            sum(range(1000))
            time.sleep(0.001)

    threads = [threading.Thread(target=loop, daemon=True), threading.Thread(target=busy, daemon=True)]
    for t in threads:
        t.start()
    try:
        pings = notify_socket.wait_for("WATCHDOG", n=8)
        assert len(pings) >= 8
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(pings)]
        # rate-limited to half of WATCHDOG_USEC (0.1 s), with a little slack for the receiver
        assert min(gaps) >= 0.1 - 0.02, gaps
        assert all(m["WATCHDOG"] == "1" for _, m in pings)
        status = pings[-1][1]["STATUS"]
        assert "last signal AAPL" in status and "data age" in status, status

        calling.clear()
        assert blocked.wait(2)
        hung_at = time.monotonic()
        time.sleep(0.6)  # six ping intervals with the loop's thread blocked
        late = [t for t, _ in notify_socket.with_key("WATCHDOG") if t > hung_at + 0.1 + 0.05]
        assert late == [], "a background thread kept pinging for a hung loop"

        calling.set()  # the loop resumes: so do the pings
        n = len(notify_socket.with_key("WATCHDOG"))
        assert len(notify_socket.wait_for("WATCHDOG", n=n + 2)) >= n + 2
    finally:
        stop.set()
        calling.set()
        for t in threads:
            t.join(5)
    mon.close()
    stopping = notify_socket.wait_for("STOPPING")
    assert stopping and stopping[0][1]["STOPPING"] == "1"


def test_the_run_records_what_systemd_said(notify_socket, make_monitor, store_path):
    from tests.conftest import query

    mon = make_monitor(source="sd-run")
    mon.record_activity()
    mon.flush()
    import json

    config = json.loads(query(store_path, "SELECT config FROM runs WHERE source='sd-run'")[0][0])
    assert config["systemd"]["watchdog_usec"] == WATCHDOG_USEC
    assert config["systemd"]["invocation_id"] == "0123456789abcdef0123456789abcdef"
    assert config["systemd"]["notify"] is True


def test_abstract_namespace_socket(monkeypatch, make_monitor):
    name = f"@production-health-test-{uuid.uuid4().hex}"
    server = NotifySocket(socket_address(name))
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", name)
        monkeypatch.delenv("WATCHDOG_USEC", raising=False)
        mon = make_monitor(source="abstract")
        assert notify_socket_ready(server)
        mon.record_activity()
        assert mon._beat == mon.recorder.beat  # no watchdog asked for: the hot path unchanged
        mon.close()
        assert server.wait_for("STOPPING")
        assert server.with_key("WATCHDOG") == []
    finally:
        server.close()


def notify_socket_ready(server: NotifySocket) -> bool:
    return bool(server.wait_for("READY"))


def test_without_notify_socket_the_loop_calls_are_untouched(monkeypatch, make_monitor):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    mon = make_monitor(source="plain")
    assert mon._sd is None
    assert mon._beat == mon.recorder.beat


def test_watchdog_pid_of_another_process_disables_pings():
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert SystemdEnv.read(env).watchdog_usec is None
    env["WATCHDOG_PID"] = str(os.getpid())
    assert SystemdEnv.read(env).watchdog_seconds == 30.0
    assert SystemdEnv.read({"WATCHDOG_USEC": "garbage"}).watchdog_usec is None
    assert SystemdEnv.read({}).record() == {}


def test_a_vanished_socket_never_raises(tmp_path, caplog):
    notifier = SdNotifier(str(tmp_path / "gone.sock"), 1_000_000)
    notifier.ready("x")
    notifier.ping("y")
    notifier.stopping()
    assert notifier.sent == 0
    assert sum("sd_notify" in r.message for r in caplog.records) == 1  # logged once
    notifier.close()
