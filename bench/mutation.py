"""Mutation testing on demand: plant single-line bugs in the modules that must not be wrong and
count how many the tests catch (TESTING.md). Not run in CI: it takes minutes per module.

    python bench/mutation.py                    # every module, the most important first
    python bench/mutation.py gate timestamps    # some of them
    python bench/mutation.py --list             # the modules and their tests

mutmut 3 has one configuration per tree, so one module is run at a time in its own copy of the
tree, ``mutants/<module>/``: the ``[tool.mutmut]`` of pyproject.toml with ``only_mutate`` set to
that module and the test selection set to its own test files (MODULES below). That keeps a run
to the few tests that can catch a bug there; mutmut then runs, for each mutant, only the tests
that called the mutated function. Each run is bounded (``--timeout``); a module cut short is
reported as such, never as a score.

The table of TESTING.md between its mutation markers is rewritten with the rows of the modules
run (the others' rows are kept); ``mutants/<module>/survivors.txt`` holds each survivor's diff,
to be killed by a test or explained as equivalent in TESTING.md.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tokenize
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTING_MD = REPO / "TESTING.md"
BEGIN, END = "<!-- mutation:begin (bench/mutation.py) -->", "<!-- mutation:end -->"
HEADER = (
    "| module | mutants | killed | survived | equivalent | unexplained | score | killed of all | run time "
    "| run at (UTC), load average |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)
# A row of TESTING.md's equivalent mutants: | file | function | `the mutated line` | why |
EQUIVALENT_ROW = re.compile(r"(?m)^\| (\S+\.py) \| (\S+) \| `(.+?)` \| .+\|$")
COPIED = ("health", "store", "console", "tests", "pyproject.toml")


# module -> (file, its own tests), in the order a run goes: the gate, the timestamps, the calendar
# and the rules first (a bug there is a wrong decision in the loop or a wrong status).
MODULES: dict[str, tuple[str, tuple[str, ...]]] = {
    "gate": (
        "health/gate.py",
        (
            "tests/test_gate.py",
            "tests/test_gate_abutting_sessions.py",
            "tests/test_gate_ok_reason.py",
            "tests/test_gate_reasons.py",
            "tests/test_boundaries.py",
        ),
    ),
    "timestamps": (
        "health/timestamps.py",
        ("tests/test_timestamps.py", "tests/test_timestamp_range.py", "tests/test_timestamp_edges.py"),
    ),
    "calendar": (
        "health/calendar.py",
        (
            "tests/test_calendar_edges.py",
            "tests/test_lunch_break_counts.py",
            "tests/test_gate_reasons.py",
            "tests/test_calendar_record.py",
            "tests/test_overnight_sessions.py",
            "tests/test_gate_abutting_sessions.py",
            "tests/test_gate.py::test_truth_table_through_gate",
            "tests/test_gate.py::test_gate_agrees_with_exchange_calendars_on_any_minute",
            "tests/test_calendar_pieces.py",
            "tests/test_signal_tally.py::test_stretch_agrees_with_is_open_and_the_previous_close",
        ),
    ),
    "sessions": (
        "health/sessions.py",
        (
            "tests/test_calendar_edges.py",
            "tests/test_lunch_break_counts.py",
            "tests/test_overnight_sessions.py",
            "tests/test_calendar_pieces.py",
            "tests/test_gate.py::test_gate_agrees_with_exchange_calendars_on_any_minute",
        ),
    ),
    "period_pieces": (
        "health/period_pieces.py",
        ("tests/test_period_pieces.py", "tests/test_period.py", "tests/test_period_cadence.py"),
    ),
    "signal_minutes": (
        "store/signal_minutes.py",
        ("tests/test_signal_minutes.py", "tests/test_import_sums.py", "tests/test_backfill.py"),
    ),
    "rules": (
        "health/rules.py",
        (
            "tests/test_rule_messages.py",
            "tests/test_boundaries.py",
            "tests/test_lunch_break_counts.py",
            "tests/test_analysis_scenarios.py",
            "tests/test_idle_and_duplicate.py",
        ),
    ),
    "analysis": (
        "health/analysis.py",
        (
            "tests/test_analysis_facts.py",
            "tests/test_boundaries.py",
            "tests/test_lunch_break_counts.py",
            "tests/test_rule_messages.py",
            "tests/test_analysis_scenarios.py",
            "tests/test_restarts.py",
            "tests/test_idle_and_duplicate.py",
            "tests/test_backtest_runs.py",
            "tests/test_signal_tally.py",
            "tests/test_period.py",
            "tests/test_range_rows.py",
            "tests/test_acks_store.py",
        ),
    ),
    "recorder": (
        "store/recorder.py",
        (
            "tests/test_recorder_aggregates.py",
            "tests/test_recorder_writer.py",
            "tests/test_recorder_poison.py",
            "tests/test_events.py",
            # Not the SIGKILL tests ("at most the last second") nor the four processes: timing
            # measured under mutmut's trampolines and a shared machine, not the mutants. Nor
            # the tests whose recorder runs only in a child process (a normal exit without
            # close): mutmut gives a mutant the tests that called its function in their own
            # process, so those never run against a mutant.
            *(
                f"tests/test_recorder.py::{name}"
                for name in (
                    "test_run_is_recorded_with_its_config_and_clean_stop",
                    "test_store_is_wal_and_created_with_parents",
                    "test_heartbeats_coalesce_into_spans",
                    "test_a_span_grows_in_place_while_the_loop_runs",
                    "test_signals_are_recorded_with_details",
                    "test_many_signals_all_land",
                    "test_close_writes_everything_without_flush",
                    "test_context_manager",
                    "test_context_manager_closes_on_exception",
                    "test_two_sources_share_one_store",
                    "test_monitor_created_before_fork_keeps_working_in_the_child",
                    "test_a_gate_call_is_a_heartbeat_too",
                )
            ),
            "tests/test_recorder_fresh_store.py::test_schema_and_run_exist_when_the_constructor_returns",
            "tests/test_recorder_fresh_store.py::test_a_store_locked_at_start_delays_the_constructor_at_most_a_second",
            "tests/test_calendar_record.py::test_the_writer_thread_records_it_once_and_skips_the_same_recording",
            "tests/test_calendar_record.py::test_the_recording_never_holds_back_the_loops_events",
        ),
    ),
    "reader": (
        "store/reader.py",
        (
            "tests/test_reader_windows.py",
            "tests/test_reader_store_health.py",
            "tests/test_readers_leave_a_crash_alone.py",
            "tests/test_acks_store.py",
            "tests/test_calendar_record.py",
            "tests/test_liveness.py",
            "tests/test_watchdog.py",
        ),
    ),
    # What the live console reads at each look (health/day_tail.py): a wrong tally or a row
    # read twice or never is a live view that disagrees with the report.
    "signal_tally": (
        "health/signal_tally.py",
        (
            "tests/test_signal_tally.py",
            "tests/test_day_tail.py::test_incremental_snapshot_equals_a_full_re_read",
        ),
    ),
    "increments": (
        "store/increments.py",
        (
            "tests/test_increments.py",
            *(
                f"tests/test_day_tail.py::{name}"
                for name in (
                    "test_incremental_snapshot_equals_a_full_re_read",
                    "test_a_busy_sequence_reads_only_what_is_new",
                    "test_a_loop_whose_clock_went_back_is_seen_by_the_gate_fingerprint",
                    "test_a_replaced_store_or_a_new_schema_is_read_from_scratch",
                    "test_rows_stamped_after_now_wait_for_their_time",
                    "test_a_read_that_fails_half_way_is_not_counted_twice",
                )
            ),
            "tests/test_liveness.py",
        ),
    ),
}


# [tool.mutmut] settings of one module's run only. A mutant that hangs is killed (a timeout)
# after (its tests' time + 1 s) x timeout_multiplier (15 by default); the recorder's tests take
# ~12 s, and the mutants that stop its writer or its flush hang: 5 x keeps each to about a minute
# and is still far above what a survivor's tests take on a loaded machine.
SETTINGS: dict[str, dict[str, float]] = {"recorder": {"timeout_multiplier": 5.0}}


@dataclass(frozen=True)
class Score:
    module: str
    file: str
    mutants: int
    killed: int  # caught by a failing test, a timeout or a crash
    survived: int  # survived, or no selected test calls the mutated function
    equivalent: int  # survivors TESTING.md explains as equivalent
    seconds: float
    complete: bool
    finished: str  # "2026-11-27 14:05", UTC
    load: float  # the load average when the run finished

    @property
    def score(self) -> float:
        """Killed, of the mutants that can be killed (the equivalent ones left out)."""
        real = self.mutants - self.equivalent
        return 100.0 * self.killed / real if real else 0.0

    def row(self) -> str:
        score = f"{self.score:.1f} %" if self.complete else f"incomplete ({self.score:.1f} % so far)"
        raw = 100.0 * self.killed / self.mutants if self.mutants else 0.0
        return (
            f"| {self.file} | {self.mutants} | {self.killed} | {self.survived} | {self.equivalent} | "
            f"{self.survived - self.equivalent} | {score} | {raw:.1f} % | {self.seconds / 60:.1f} min | "
            f"{self.finished}, {self.load:.1f} |"
        )


def say(*a: object) -> None:
    print(*a, file=sys.stderr, flush=True)


def toml_list(values: list[str]) -> str:
    return json.dumps(values)  # a JSON array of strings is a TOML array


def function_of(mutant: str, file: str) -> str:
    """ "health.gate.xǁGateǁ__init____mutmut_12" -> "Gate.__init__"; "health.gate.x_closed_reason__mutmut_3"
    -> "closed_reason"."""
    name = mutant.removeprefix(file.removesuffix(".py").replace("/", ".") + ".x")
    name = re.sub(r"__mutmut_\d+$", "", name)
    if name.startswith("ǁ"):
        return ".".join(name.split("ǁ")[1:3])
    return name.removeprefix("_")


def _without_comment(line: str) -> str:
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return line[: tok.start[1]].rstrip()
    except (tokenize.TokenError, SyntaxError):  # a line of a longer statement
        pass
    return line


def mutated_line(diff: str) -> str:
    """The mutant's new line(s), stripped, without a trailing comment."""
    lines = [line[1:].strip() for line in diff.splitlines() if line[:1] == "+" and line[:3] != "+++"]
    return " ⏎ ".join(_without_comment(line) for line in lines)


SQL = re.compile(r"\b(select|from|where|order by|pragma|insert|update|limit|coalesce|distinct)\b", re.I)


def sql_case_only(diff: str) -> bool:
    """A mutant that changes only the case of SQL text: SQLite reads keywords and names in any
    case (quoted values, compared as data, must be unchanged)."""
    minus = [line[1:] for line in diff.splitlines() if line[:1] == "-" and line[:3] != "---"]
    plus = [line[1:] for line in diff.splitlines() if line[:1] == "+" and line[:3] != "+++"]
    if len(minus) != 1 or len(plus) != 1 or minus == plus:
        return False
    old, new = minus[0], plus[0]
    return (
        old.lower() == new.lower()
        and re.findall(r"'[^']*'", old) == re.findall(r"'[^']*'", new)
        and bool(SQL.search(old))
    )


def equivalents() -> set[tuple[str, str, str]]:
    """(file, function, mutated line) of every mutant TESTING.md explains as equivalent."""
    text = TESTING_MD.read_text() if TESTING_MD.exists() else ""
    return {(m.group(1), m.group(2), m.group(3)) for m in EQUIVALENT_ROW.finditer(text)}


def module_pyproject(
    text: str, file: str, tests: tuple[str, ...], settings: dict[str, float] | None = None
) -> str:
    """pyproject.toml with ``[tool.mutmut]`` narrowed to one module and its tests (and that
    module's own ``settings``)."""

    def narrowed(m: re.Match) -> str:
        table = m.group(0)
        table = re.sub(r"(?ms)^only_mutate = \[.*?\]\n", f"only_mutate = {toml_list([file])}\n", table)
        table = re.sub(
            r"(?m)^pytest_add_cli_args_test_selection = .*\n",
            f"pytest_add_cli_args_test_selection = {toml_list(list(tests))}\n",
            table,
        )
        return table + "".join(f"{key} = {value!r}\n" for key, value in (settings or {}).items())

    out, n = re.subn(r"(?ms)^\[tool\.mutmut\]\n.*?(?=^\[)", narrowed, text)
    if n != 1:
        raise SystemExit("bench/mutation.py: pyproject.toml has no [tool.mutmut] table")
    return out


def prepare(name: str) -> Path:
    file, tests = MODULES[name]
    work = REPO / "mutants" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for item in COPIED:
        src = REPO / item
        if src.is_dir():
            shutil.copytree(src, work / item, ignore=ignore)
        else:
            shutil.copy2(src, work / item)
    text = module_pyproject((REPO / "pyproject.toml").read_text(), file, tests, SETTINGS.get(name))
    (work / "pyproject.toml").write_text(text)
    return work


def mutmut(work: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"},
    )


def run_module(name: str, jobs: int, timeout: float) -> Score:
    file, tests = MODULES[name]
    work = prepare(name)
    say(f"{name}: mutating {file} against {len(tests)} test files in {work.relative_to(REPO)}/")
    started = time.monotonic()
    complete = True
    with open(work / "run.log", "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs)],
            cwd=work,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers go with it on a timeout
            env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"},
        )
        try:
            if proc.wait(timeout=timeout) != 0:
                say(f"{name}: mutmut run failed (exit {proc.returncode}), see {work / 'run.log'}")
                complete = False
        except subprocess.TimeoutExpired:
            say(f"{name}: cut short after {timeout:.0f} s (--timeout)")
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            complete = False
    seconds = time.monotonic() - started
    run = {
        "seconds": seconds,
        "complete": complete,
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "load": os.getloadavg()[0],
    }
    (work / "run.json").write_text(json.dumps(run))
    return tally(name, run)


def tally(name: str, run: dict) -> Score:
    """The score of a module's last run (``mutants/<module>/``), its survivors checked against
    the equivalent mutants TESTING.md lists now."""
    file, _ = MODULES[name]
    work = REPO / "mutants" / name
    complete = run["complete"]
    mutmut(work, "export-cicd-stats")
    stats_file = work / "mutants" / "mutmut-cicd-stats.json"
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    survivors = [
        line.split(":")[0].strip()
        for line in mutmut(work, "results").stdout.splitlines()
        if line.strip().endswith((": survived", ": no tests"))
    ]
    known = equivalents()
    equivalent = 0
    with open(work / "survivors.txt", "w") as out:
        for mutant in survivors:
            diff = mutmut(work, "show", mutant).stdout
            key = (file, function_of(mutant, file), mutated_line(diff))
            explained = key in known or sql_case_only(diff)
            equivalent += explained
            verdict = "UNEXPLAINED"
            if explained:
                verdict = "equivalent (TESTING.md)" if key in known else "equivalent (SQL case only)"
            out.write(f"## {verdict}: | {key[0]} | {key[1]} | `{key[2]}` |\n{diff}\n")
    # A mutant whose tests crashed (a segfault: a thread left in SQLite at the interpreter's
    # exit) is caught as surely as one they failed on.
    killed = stats.get("killed", 0) + stats.get("timeout", 0) + stats.get("segfault", 0)
    survived = stats.get("survived", 0) + stats.get("no_tests", 0)
    complete = complete and killed + survived == stats.get("total", -1)
    return Score(
        module=name,
        file=file,
        mutants=killed + survived,
        killed=killed,
        survived=survived,
        equivalent=equivalent,
        seconds=run["seconds"],
        complete=complete,
        finished=run["finished"],
        load=run["load"],
    )


def write_table(scores: list[Score]) -> None:
    """Rewrite the table between the markers of TESTING.md: these rows new, the others kept."""
    text = TESTING_MD.read_text()
    if BEGIN not in text or END not in text:
        raise SystemExit(f"bench/mutation.py: {TESTING_MD.name} has no mutation markers")
    head, rest = text.split(BEGIN, 1)
    old, tail = rest.split(END, 1)
    rows = {m.group(1): m.group(0) for m in re.finditer(r"(?m)^\| (\S+\.py) \|.*\|$", old)}
    for s in scores:
        rows[s.file] = s.row()
    order = [file for file, _ in MODULES.values()]
    table = "\n".join(
        [
            "",
            f"mutmut 3.8.1 on {os.cpu_count()} cores. Each row is its module's own run: when it ended "
            "and the load average then are in its last column.",
            "",
            HEADER,
            *[rows[f] for f in order if f in rows],
            "",
        ]
    )
    TESTING_MD.write_text(head + BEGIN + table + END + tail)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("modules", nargs="*", metavar="MODULE", help=", ".join(MODULES))
    p.add_argument("--jobs", type=int, default=2, help="mutants tested at once (default 2)")
    p.add_argument("--timeout", type=float, default=900, help="seconds per module before it is cut short")
    p.add_argument("--list", action="store_true", help="list the modules and their tests")
    p.add_argument("--no-write", action="store_true", help="do not update TESTING.md")
    p.add_argument(
        "--recount",
        action="store_true",
        help="no new run: count the modules' last runs again against TESTING.md's equivalent mutants",
    )
    args = p.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        p.error(f"unknown module {', '.join(unknown)} (choose from {', '.join(MODULES)})")
    if args.list:
        for name, (file, tests) in MODULES.items():
            print(f"{name:11} {file:22} {' '.join(tests)}")
        return 0
    os.nice(10)  # a shared machine: the other work goes first
    scores = []
    for name in args.modules or list(MODULES):
        if args.recount:
            score = tally(name, json.loads((REPO / "mutants" / name / "run.json").read_text()))
        else:
            score = run_module(name, args.jobs, args.timeout)
        scores.append(score)
        say(score.row())
        if not args.no_write:
            write_table(scores)
    print(HEADER)
    for s in scores:
        print(s.row())
    return 0 if all(s.complete and s.score >= 90 for s in scores) else 1


if __name__ == "__main__":
    sys.exit(main())
