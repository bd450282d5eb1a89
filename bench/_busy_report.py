"""The console on a busy day, judged and written: the ``console-busy`` section of BENCHMARKS.md
(bench/_busy.py measures; targets in docs/ARCHITECTURE.md, "Speed")."""

from __future__ import annotations

import statistics

from bench._busy import DATA_AGE, LATE_SECONDS, SIZE, Run

TARGET_CPU_20 = 5.0  # % of one core, writer at 20 events/s
TARGET_RATIO_BIG = 1.5  # the 1M-signal store vs the empty one, at 20 events/s
TARGET_CPU_1000 = 15.0  # % of one core, writer at 1,000 events/s
TARGET_P95_1000 = 1.0  # s, write -> screen at 1,000 events/s
TARGET_RSS_HOUR = 10.0  # MB an hour at 20 events/s


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def _group(runs: list[Run], variant: str, n: int, rate: float) -> list[Run]:
    return [r for r in runs if r.for_cpu and r.variant == variant and r.signals == n and r.rate == rate]


def _lat(runs: list[Run]) -> list[float]:
    return [x for r in runs for x in r.latency]


def _ms(x: float | None) -> str:
    return "-" if x is None else f"{x * 1e3:,.0f} ms"


def _cpu(runs: list[Run]) -> float | None:
    return statistics.median(r.cpu for r in runs) if runs else None


def _load(runs: list[Run]) -> str:
    loads = [x for r in runs for x in r.load]
    return f"{min(loads):.2f}-{max(loads):.2f}" if loads else "-"


def _growth(r: Run) -> str:
    _, late, projected = r.growth()
    return (
        f"{projected:+.1f} MB projected ({r.rss_pre:.1f} -> {r.rss1:.1f} MB in {r.seconds / 60:.1f} min; "
        f"last {LATE_SECONDS / 60:.0f} min {late:+.1f} MB/h)"
    )


def _stores(runs: list[Run]) -> list[int]:
    return sorted({r.signals for r in runs})


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "**FAIL**"


def verdicts(res: dict) -> tuple[list[list[str]], bool]:
    """The targets table rows and whether every target passed."""
    runs = res["runs"]
    rows, ok_all = [], True
    for rate, target in ((20, TARGET_CPU_20), (1000, TARGET_CPU_1000)):
        stores = [n for n in _stores(runs) if _group(runs, "ours", n, rate)]
        if not stores:
            continue
        ours = {n: _cpu(_group(runs, "ours", n, rate)) for n in stores}
        naive = {n: _cpu(_group(runs, "naive", n, rate)) for n in stores}
        judged = [r for n in stores for r in _group(runs, "ours", n, rate) + _group(runs, "naive", n, rate)]
        worst = max(stores, key=lambda n: ours[n])
        ok = ours[worst] <= target
        ok_all &= ok
        rows.append(
            [
                f"console CPU, writer at {rate:,} events/s (worst store)",
                f"<= {target:g}% of one core",
                ", ".join(f"{ours[n]:.1f}% ({n:,})" for n in stores),
                ", ".join("-" if naive[n] is None else f"{naive[n]:.0f}% ({n:,})" for n in stores),
                "" if naive[worst] is None else f"{naive[worst] / max(ours[worst], 1e-3):.0f}x ({worst:,})",
                _load(judged),
                _verdict(ok),
            ]
        )
        big = max(stores)
        if rate == 20 and 0 in stores and big > 0:
            ratio = ours[big] / max(ours[0], 1e-3)
            ok = ratio <= TARGET_RATIO_BIG
            ok_all &= ok
            naive_ratio = (
                "-" if None in (naive[0], naive[big]) else f"{naive[big] / max(naive[0], 1e-3):.1f}x"
            )
            rows.append(
                [
                    f"{big:,}-signal store vs the empty one, writer at 20 events/s",
                    f"<= {TARGET_RATIO_BIG:g}x",
                    f"{ratio:.2f}x ({ours[big]:.1f}% / {ours[0]:.1f}%)",
                    naive_ratio,
                    "",
                    _load(_group(runs, "ours", 0, rate) + _group(runs, "ours", big, rate)),
                    _verdict(ok),
                ]
            )
        if rate == 1000:
            p95 = {n: pct(_lat(_group(runs, "ours", n, rate)), 95) for n in stores}
            naive_lat = {n: _lat(_group(runs, "naive", n, rate)) for n in stores}
            p95n = {n: pct(xs, 95) if xs else None for n, xs in naive_lat.items()}
            missed = sum(r.missed for n in stores for r in _group(runs, "ours", n, rate))
            worst = max(stores, key=lambda n: p95[n])
            ok = p95[worst] <= TARGET_P95_1000 and missed == 0
            ok_all &= ok
            rows.append(
                [
                    "write -> screen p95, writer at 1,000 events/s (worst store)",
                    f"<= {TARGET_P95_1000:g} s",
                    ", ".join(f"{_ms(p95[n])} ({n:,})" for n in stores) + f"; {missed} never shown",
                    ", ".join(f"{_ms(p95n[n])} ({n:,})" for n in stores),
                    "" if p95n[worst] is None else f"{p95n[worst] / max(p95[worst], 1e-3):.1f}x ({worst:,})",
                    _load(judged),
                    _verdict(ok),
                ]
            )
    mem = [r for r in runs if r.for_memory and r.rate == 20 and r.signals == 0]
    ours = next((r for r in mem if r.variant == "ours" and r.growth() is not None), None)
    if ours is not None:
        naive = next((r for r in mem if r.variant == "naive" and r.growth() is not None), None)
        projected = ours.growth()[2]
        ok = projected <= TARGET_RSS_HOUR
        ok_all &= ok
        rows.append(
            [
                "RSS growth over an hour, writer at 20 events/s, empty store at the start: the growth "
                f"measured over {ours.seconds / 60:.1f} minutes plus the slope of its last "
                f"{LATE_SECONDS / 60:.0f} minutes for the rest of the hour (an extrapolation)",
                f"<= {TARGET_RSS_HOUR:g} MB",
                _growth(ours),
                "-" if naive is None else _growth(naive),
                "",
                _load([ours]),
                _verdict(ok),
            ]
        )
    return rows, ok_all


def _how(res: dict) -> str:
    common = (
        f"A loop in its own process (`ProductionMonitor`, public API) writes N iterations a second "
        f"(a gate decision, a heartbeat and a signal each; data {DATA_AGE:g} s old) into a store that "
        f"holds S signals on {res['day']} (written the same way from 09:30 to 13:59); "
        f"`health-console --store S --clock-start {res['day']}T14:00` runs on a pseudo-terminal at "
        f"{SIZE[0]}x{SIZE[1]}. Each console starts and shows the day, then its loop starts; after a "
        "warm-up the console's CPU (user+sys) and RSS are measured. *Write -> screen*: from the "
        "loop's call until the terminal received the frame whose data-age panel counts that signal "
        "(`signals N:` in the console's output). The naive baseline is the same app with a store "
        "watch that re-opens the store and takes a full snapshot every second (nothing kept between "
        "them). Load: the 1-min load average at the start and the end of each measurement (2 cores, "
        "shared with other work).\n"
    )
    if res["mode"] == "targets":
        big = f"{res['big']:,}-signal"
        return common + (
            f"\n`--targets` (about ten minutes; the console processes are not niced): (1) at 20 events/s, "
            f"side by side over the same {res['memory_seconds'] / 60:.1f} minutes, each with its own loop "
            f"and store: ours on the empty store, ours on the {big} one (so the ratio compares the same "
            "moments) and the naive app on the empty store, RSS sampled every 5 s; the growth over an "
            "hour is projected from these minutes (*Memory over time*), not an hour measured. (2) the "
            f"naive app on the {big} store at "
            f"20 events/s, alone, {res['seconds']:g} s. (3) at 1,000 events/s on the {big} store, ours "
            f"then the naive app, alone, {res['seconds']:g} s each (the empty store at 1,000/s is in the "
            "full run). One run per condition: CPU is that run's, latencies pooled over its writes.\n"
        )
    return common + (
        f"\nFull run: every store at every rate, {res['rounds']} rounds of {res['seconds']:g} s, ours "
        "and naive one at a time, alternating which goes first; CPU is the median (min-max), "
        "latencies pooled over the rounds. Then ours and the naive app side by side on the empty "
        "store at 20 events/s for the memory run (RSS every 10 s; see *Memory over time*).\n"
    )


def render(res: dict, head: str, md_row) -> tuple[str, bool]:
    out: list[str] = []
    w = out.append
    rows, ok = verdicts(res)
    w(head)
    w("### Targets\n")
    w("| target | goal | measured (ours) | naive 1 s poller | naive / ours | 1-min load average | |")
    w("|---|---|---|---|---:|---|---|")
    for row in rows:
        w(md_row(row))
    w("")
    w("### Per condition\n")
    w(_how(res))
    w(
        "| signals today | loop | console CPU, ours | naive | RSS ours (start -> end) | naive "
        "| write -> screen p50 / p95, ours | naive | writes measured (never shown), ours "
        "| the loop's CPU | measured over, ours / naive | load, ours / naive |"
    )
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
    runs = res["runs"]
    for n in _stores(runs):
        for rate in sorted({r.rate for r in runs}):
            o, v = _group(runs, "ours", n, rate), _group(runs, "naive", n, rate)
            if not o and not v:
                continue

            def cpu(g):
                cs = [r.cpu for r in g]
                if not cs:
                    return "-"
                spread = f" ({min(cs):.1f}-{max(cs):.1f})" if len(cs) > 1 else ""
                return f"{statistics.median(cs):.1f}%{spread}"

            def mem(g):
                if not g:
                    return "-"
                return f"{statistics.median(r.rss0 for r in g):.0f} -> {statistics.median(r.rss1 for r in g):.0f} MB"

            def lat(g):
                xs = _lat(g)
                return f"{_ms(statistics.median(xs))} / {_ms(pct(xs, 95))}" if xs else "-"

            def over(g):
                if not g:
                    return "-"
                beside = g[0].beside
                return f"{len(g)} x {g[0].seconds:.0f} s" + (
                    " beside " + "; ".join(beside) if beside else ", alone"
                )

            w(
                md_row(
                    [
                        f"{n:,}",
                        f"{rate:,g}/s",
                        cpu(o),
                        cpu(v),
                        mem(o),
                        mem(v),
                        lat(o),
                        lat(v),
                        f"{sum(r.writes for r in o):,} ({sum(r.missed for r in o)})" if o else "-",
                        f"{statistics.median(r.writer_cpu for r in o or v):.1f}%",
                        f"{over(o)} / {over(v)}",
                        f"{_load(o)} / {_load(v)}",
                    ]
                )
            )
    w("")
    mem_runs = [r for r in runs if r.for_memory]
    if mem_runs:
        w("### Memory over time\n")
        w(
            "RSS when the console's loop started, after the warm-up, at the end and at most; the "
            f"slope of the last {LATE_SECONDS / 60:.0f} minutes (least squares over the samples, times "
            "3600); an hour projected = the growth measured plus that slope (if positive) for the rest "
            "of the hour. RSS grows for the first minutes (caches filling) and then stays: the slope "
            "of the last minutes is the steady rate, the growth so far counts the warm-up once.\n"
        )
        w(
            "| console | RSS at the loop's start | after warm-up | at the end | max | last minutes' slope | an hour, projected |"
        )
        w("|---|---:|---:|---:|---:|---:|---:|")
        for r in mem_runs:
            g = r.growth()
            w(
                md_row(
                    [
                        f"{r.variant}, {r.signals:,} signals at the start, loop at {r.rate:g}/s, {r.seconds / 60:.1f} min",
                        f"{r.rss_pre:.1f} MB",
                        f"{r.rss0:.1f} MB",
                        f"{r.rss1:.1f} MB",
                        f"{r.rss_max:.1f} MB",
                        "-" if g is None else f"{g[1]:+.1f} MB/h",
                        "-" if g is None else f"{g[2]:+.1f} MB",
                    ]
                )
            )
        w("")
    not_started = [r for r in runs if not r.started]
    if not_started:
        w(f"- {len(not_started)} run(s) never showed the day before the loop started.")
    return "\n".join(out) + "\n", ok
