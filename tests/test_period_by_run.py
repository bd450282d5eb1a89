"""A period asks each run's facts once (health/period.py ``_by_run``), and each run gets its own."""

from __future__ import annotations

from health.period import _by_run
from health.process import restart_command
from store.records import RunRecord


def _run(run_id: str, script: str) -> RunRecord:
    return RunRecord(run_id, "alpha", 4242, "host", (script, "--live"), None, {"cwd": "/srv"}, 0.0)


def test_each_run_is_asked_once_and_answered_as_itself() -> None:
    asked: list[str] = []

    def command(run: RunRecord) -> str | None:
        asked.append(run.run_id)
        return restart_command(run)

    memo = _by_run(command)
    a, b = _run("a", "loop_a.py"), _run("b", "loop_b.py")
    got = [memo(r) for r in (a, b, a, b, a)]
    assert got == [restart_command(r) for r in (a, b, a, b, a)]
    assert got[0] != got[1]
    assert asked == ["a", "b"]
