"""A trading loop for the fault-injection and soak runs (tests/faultkit/loop.py starts it): the
contract's snippet in a process of its own, on an injected clock, keeping its own log of
every signal it recorded — the ground truth the store is counted against.

    python tests/faultkit/loop_child.py STORE LOG [--rate 5000] [--busy] [--clock-start ISO] [--speed 1] ...

Each iteration: ``should_generate_signals(data)``, ``record_activity()``,
``record_signal(f"S{i}", data)`` (whatever the gate said: the count is of signals), each call
timed. Beside them, in the same iteration, a baseline: a spin as long as the three calls
usually take, touching no monitor. Over a run the two are exposed alike to what the machine
does to a thread (preemption on shared cores, the GIL handed to the recorder's writer), so
the baseline's worst is the floor the monitor's worst is read against. Each call's own time
leaves out what the machine's load did to it (see :class:`Worst`).

The log (appended with ``os.write``: what was written survives a SIGKILL) holds lines:

- ``c SIM0 T SPEED``: the injected clock read SIM0 at real time T and runs at SPEED;
- ``ready PID T`` once the monitor is built and ``gc.freeze()`` done;
- ``I T`` for signal number I, recorded when the call had returned at real time T, written in
  blocks at least every 20 ms (a SIGKILL loses at most the last block from the log, never an
  older line: those are the lines a test counts);
- ``w ALL OWN OVER OVER_OWN CALLS`` and the same five for the baseline, with each block: the
  worst wall time of a call so far, the worst own time, how many calls took over 2 ms wall
  and own, how many calls;
- ``slow CALL I NS OWN CPU QUEUED OTHERS T`` each call over 1 ms: which, in iteration I, its
  wall time, own time, CPU time, run-queue time and the monitor's threads' run-queue time
  (see :class:`Worst`), when;
- ``a CODE RESOLVED T AT`` for each alert delivered to alert_callback (its own thread) at
  real time T; AT is the alert's own time (the injected clock's);
- ``gc GEN NS CPU_NS THREAD T`` each garbage collection over 0.5 ms;
- ``x TEXT`` if a call raised (then the loop stops: the contract says it never does);
- ``done JSON`` after a clean stop (SIGTERM): the totals and close()'s duration.

SIGUSR1 steps the injected clock by ``--step`` seconds (default one hour back), at once.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import signal
import sys
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

FLUSH_EVERY = 0.02  # seconds between log blocks
SLOW_NS = 1_000_000  # calls slower than this are logged one by one
OVER_NS = 2_000_000  # the target for the worst call
CALLS = ("gate", "beat", "signal")


class Worst:
    """The slowest call, by wall time and by own time. Own time is what the monitor costs the
    loop on a machine of its own: the call's CPU time, plus the time it was blocked (waiting
    for the GIL) while the thread holding the GIL was running. Left out: the time the loop's
    thread waited on a run queue, and the time it was blocked while one of the monitor's
    threads — the GIL holder — waited on a run queue: a shared, loaded machine (2 cores, other
    processes) did that to the thread, not the monitor. From the kernel's schedstat."""

    def __init__(self) -> None:
        self.all = self.own = 0
        self.over = self.over_own = 0
        self.calls = 0

    def add(self, what: str, wall: int, queued: int, others_queued: int, cpu: int) -> str:
        """One call: ``wall`` ns; meanwhile ``queued`` ns on the run queue, the monitor's
        threads ``others_queued`` ns, ``cpu`` ns on a CPU (each measured a little wider than
        the call). A log line if slow."""
        self.calls += 1
        blocked = max(0, wall - queued - cpu)
        own = max(0, wall - queued - min(blocked, others_queued))
        if wall > self.all:
            self.all = wall
        if own > self.own:
            self.own = own
        if wall > OVER_NS:
            self.over += 1
            self.over_own += own > OVER_NS
        if wall <= SLOW_NS:
            return ""
        return f"slow {what} {wall} {own} {cpu} {queued} {others_queued} {time.time()!r}\n"

    def line(self) -> str:
        return f"{self.all} {self.own} {self.over} {self.over_own} {self.calls}"


class GcWatch:
    """Logs every garbage collection over 0.5 ms: which generation, how long (wall, and the
    thread's CPU time: the rest is the OS's), in which thread (a collection runs in whichever
    thread allocates when the threshold is crossed, and holds the GIL all along)."""

    def __init__(self, out) -> None:
        self.out = out
        self.started = self.cpu = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started, self.cpu = time.perf_counter_ns(), time.thread_time_ns()
            return
        took = time.perf_counter_ns() - self.started
        if took > 500_000:
            cpu = time.thread_time_ns() - self.cpu
            thread = threading.current_thread().name
            self.out(f"gc {info['generation']} {took} {cpu} {thread} {time.time()!r}\n")


class RunQueue:
    """Time spent waiting on a run queue, in ns, by this thread and by the process's other
    threads named when it was made (the kernel's /proc/.../schedstat: on-CPU ns, run-queue
    ns, time slices), one pread each."""

    def __init__(self, others: list[int]) -> None:
        self.me = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        self.others = [os.open(f"/proc/self/task/{tid}/schedstat", os.O_RDONLY) for tid in others]

    def __call__(self) -> tuple[int, int]:
        mine = int(os.pread(self.me, 96, 0).split()[1])
        return mine, sum(int(os.pread(fd, 96, 0).split()[1]) for fd in self.others)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("store")
    p.add_argument("log")
    p.add_argument("--source", default="faults")
    p.add_argument("--first", type=int, default=0, help="signals are numbered from this + 1")
    p.add_argument("--rate", type=float, default=5000.0, help="iterations (signals) per real second")
    p.add_argument("--busy", action="store_true", help="pace by spinning in Python (holds the GIL)")
    p.add_argument("--clock-start", help="ISO instant the injected clock starts at (default: now)")
    p.add_argument("--speed", type=float, default=1.0, help="simulated seconds per real second")
    p.add_argument("--step", type=float, default=-3600.0, help="SIGUSR1 moves the clock by this")
    p.add_argument("--naive", action="store_true", help="data stamped as naive wall-clock datetimes")
    p.add_argument("--naive-tz", help="MonitorConfig.naive_timezone (default: the calendar's)")
    p.add_argument("--data-age", type=float, default=30.0, help="seconds the data lags the clock")
    p.add_argument("--flip", type=float, help="every this many simulated seconds, 2 h old data or fresh")
    p.add_argument("--calendar", default="XNYS")
    p.add_argument("--check-interval", type=float, default=60.0)
    p.add_argument("--max-buffered", type=int, default=100_000)
    p.add_argument("--webhook", help="alerts also go to this URL through SinkDispatcher.submit")
    args = p.parse_args(argv)

    log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def out(text: str) -> None:
        os.write(log_fd, text.encode())

    from health import MonitorConfig, ProductionMonitor
    from health.calendar import get_calendar

    dispatcher = None
    if args.webhook:
        from health.sinks import RetryPolicy, SinkDispatcher, WebhookSink

        # Short retries, so that an hour of outage is many give-ups, not one long wait.
        policy = RetryPolicy(max_attempts=3, max_total_seconds=1.0, backoff_initial=0.05, request_timeout=0.5)
        dispatcher = SinkDispatcher([WebhookSink(args.webhook, policy=policy)])

    def on_alert(alert) -> None:
        out(f"a {alert.code} {int(alert.resolved)} {time.time()!r} {alert.at.timestamp()!r}\n")
        if dispatcher is not None:
            dispatcher.submit(alert)

    tz = ZoneInfo(args.naive_tz or get_calendar(args.calendar).tz_name)
    sim0 = datetime.fromisoformat(args.clock_start).timestamp() if args.clock_start else time.time()
    mono0 = time.monotonic()
    out(f"c {sim0!r} {time.time()!r} {args.speed!r}\n")
    speed = args.speed
    offset = [0.0]

    def clock() -> float:
        return sim0 + (time.monotonic() - mono0) * speed + offset[0]

    def step_clock(signum, frame) -> None:
        offset[0] += args.step

    stop = [False]

    def request_stop(signum, frame) -> None:
        stop[0] = True

    signal.signal(signal.SIGUSR1, step_clock)
    signal.signal(signal.SIGTERM, request_stop)

    monitor = ProductionMonitor(
        MonitorConfig(
            store_path=args.store,
            source=args.source,
            calendar=args.calendar,
            clock=clock,
            check_interval_seconds=args.check_interval,
            max_buffered_events=args.max_buffered,
            alert_callback=on_alert,
            naive_timezone=args.naive_tz,
        )
    )
    gate, beat, record = monitor.should_generate_signals, monitor.record_activity, monitor.record_signal
    gc.collect()
    gc.freeze()
    gc.callbacks.append(GcWatch(out))
    out(f"ready {os.getpid()} {time.time()!r}\n")

    perf = time.perf_counter_ns
    cpu = time.thread_time_ns
    queued = RunQueue([t.native_id for t in threading.enumerate() if t is not threading.main_thread()])
    worst, base = Worst(), Worst()
    typical = 3000  # ns: a running mean of the three calls' wall time, the baseline's length
    lines: list[str] = []
    next_flush = time.monotonic() + FLUSH_EVERY
    period = 1.0 / args.rate
    slot = time.perf_counter()
    i = args.first
    try:
        while not stop[0]:
            slot += period
            if args.busy:
                while time.perf_counter() < slot:
                    pass
            else:
                pause = slot - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                elif pause < -1.0:
                    slot = time.perf_counter()  # fell far behind (a stopped process): no burst
            now = clock()
            age = args.data_age
            if args.flip and int((now - sim0) // args.flip) % 2:
                age = 7200.0
            data = (
                datetime.fromtimestamp(now - age, tz).replace(tzinfo=None, fold=0)
                if args.naive
                else now - age
            )
            i += 1
            symbol = f"S{i}"
            (q0, o0), c0 = queued(), cpu()
            t0 = perf()
            gate(data)
            t1 = perf()
            (q1, o1), c1 = queued(), cpu()
            t2 = perf()
            beat()
            t3 = perf()
            (q2, o2), c2 = queued(), cpu()
            t4 = perf()
            record(symbol, data)
            t5 = perf()
            (q3, o3), c3 = queued(), cpu()
            # The baseline: a spin as long as the three calls usually take, no monitor.
            t6 = perf()
            while perf() - t6 < typical:
                pass
            t7 = perf()
            (q4, o4), c4 = queued(), cpu()
            lines.append(f"{i} {time.time()!r}\n")
            lines.append(worst.add(f"gate {i}", t1 - t0, q1 - q0, o1 - o0, c1 - c0))
            lines.append(worst.add(f"beat {i}", t3 - t2, q2 - q1, o2 - o1, c2 - c1))
            lines.append(worst.add(f"signal {i}", t5 - t4, q3 - q2, o3 - o2, c3 - c2))
            lines.append(base.add(f"baseline {i}", t7 - t6, q4 - q3, o4 - o3, c4 - c3))
            total = (t1 - t0) + (t3 - t2) + (t5 - t4)
            if total < 100_000:
                typical += (total - typical) >> 6
            if time.monotonic() >= next_flush:
                lines.append(f"w {worst.line()} {base.line()}\n")
                out("".join(lines))
                lines.clear()
                next_flush = time.monotonic() + FLUSH_EVERY
    except Exception as exc:  # the contract says this never happens: say so and stop
        out("".join(lines) + f"x {type(exc).__name__}: {str(exc)[:300]!r}\n")
        return 1
    out("".join(lines) + f"w {worst.line()} {base.line()}\n")
    started = time.monotonic()
    monitor.close()
    closed = time.monotonic() - started
    sink = None
    if dispatcher is not None:
        dispatcher.close(timeout=5)
        stats = dispatcher.stats()[0]
        sink = {k: getattr(stats, k) for k in ("delivered", "failed", "dropped", "queued")}
    summary = {
        "sink": sink,
        "signals": i,
        "calls": worst.calls,
        "worst_ns": worst.all,
        "baseline_worst_ns": base.all,
        "close_s": closed,
        "written": monitor.recorder.written_events,
        "dropped": monitor.recorder.dropped_events,
    }
    out(f"done {json.dumps(summary)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
