"""``check-production-health --from D --to D [--source A] --compare NAME``: the drift between two
runs (health/compare.py), as text or ``--json``. Exit 0 when every signal of each run has its
match in the other, 1 when they drifted, 3 as for every report (docs/CONTRACT.md §3)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime

from rich.console import Group
from rich.rule import Rule
from rich.text import Text

from console.args import UsageError
from console.range_args import read_range
from console.sanitize import clean
from health.codes import ExitCode

SHOWN_PER_DAY = 20


def compare_main(args, now: float, emit: Callable) -> ExitCode:
    from health.calendar import CalendarError
    from health.calendar_record import calendar_for
    from health.compare import Run, compare_runs
    from health.loader import ReportUnavailable, open_store
    from health.period import MAX_DAYS
    from store.paths import backtest_store_path, resolve_store_path
    from store.reader import StoreUnavailable

    store = resolve_store_path(args.store)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(contextlib.closing(open_store(store)))
        try:
            sources = reader.sources()
            if args.source:
                if args.source not in sources:
                    raise ReportUnavailable(f"no loop named {args.source!r} in {store}")
                mine = args.source
            elif len(sources) == 1:
                mine = sources[0]
            else:
                raise UsageError(
                    f"--compare needs --source: {store} holds several loops ({', '.join(sources)})"
                )
            if args.compare in sources and args.compare != mine:
                other = Run(reader, args.compare, args.compare)
            else:
                path = backtest_store_path(args.compare, beside=store)
                if not path.exists():
                    raise ReportUnavailable(
                        f"no loop named {args.compare!r} in {store}, and no backtest store {path}"
                    )
                theirs = stack.enter_context(contextlib.closing(open_store(path)))
                names = theirs.sources()
                name = args.compare if args.compare in names else (names[0] if len(names) == 1 else None)
                if name is None:
                    raise ReportUnavailable(
                        f"{path} holds several loops ({', '.join(names)}), none named {args.compare!r}"
                    )
                other = Run(theirs, name, args.compare)
            code, start, end = read_range(args, reader, now)
            if (end - start).days + 1 > MAX_DAYS:
                raise UsageError(f"a range of at most {MAX_DAYS} days")
            cal = calendar_for(reader, code, start, now)
            result = compare_runs(Run(reader, mine, mine), other, cal, start, end, now)
        except CalendarError as exc:
            raise UsageError(str(exc)) from None
        except StoreUnavailable as exc:
            raise ReportUnavailable(str(exc)) from None
    if args.json:
        from console.sanitize import json_text

        print(json_text(_json(result), indent=2))
    else:
        emit(_text(result))
    return ExitCode.WARNING if result.drifted_days else ExitCode.OK


def _iso(c, ts: float) -> str:
    return datetime.fromtimestamp(ts, c.tz).isoformat()


def _json(c) -> dict:
    return {
        "a": c.a,
        "b": c.b,
        "from": c.start.isoformat(),
        "to": c.end.isoformat(),
        "calendar": c.calendar,
        "drifted_days": len(c.drifted_days),
        "drifts_by_kind": c.by_code(),
        "days": [
            {
                "date": d.day.isoformat(),
                "signals": {c.a: d.signals_a, c.b: d.signals_b},
                "drifts": [
                    {
                        "only_in": x.run,
                        "at": _iso(c, x.at),
                        "symbol": x.symbol,
                        "data_ts": _iso(c, x.data_ts),
                        "other_gate": x.other_code,
                        "other_reason": x.other_reason,
                    }
                    for x in d.drifts
                ],
            }
            for d in c.days
        ],
    }


def _text(c) -> Group:
    title = Text(
        f"DRIFT: {clean(c.a)} vs {clean(c.b)}, {c.start.isoformat()} → {c.end.isoformat()}", style="bold"
    )
    title.append(f"   {c.calendar}", style="dim")
    parts = [Rule(title, style="bold", characters="═")]
    total_a = sum(d.signals_a for d in c.days)
    total_b = sum(d.signals_b for d in c.days)
    parts.append(Text(f"Signals: {clean(c.a)} {total_a}, {clean(c.b)} {total_b}"))
    if not c.drifted_days:
        parts.append(
            Text("✔ no drift: every signal of each run has its match in the other", style="bold green")
        )
    else:
        kinds = ", ".join(f"{k}: {n}" for k, n in c.by_code().items())
        n = len(c.drifted_days)
        parts.append(Text(f"▲ {n} day{'s' if n > 1 else ''} drifted ({kinds})", style="bold yellow"))
    for d in c.drifted_days:
        parts.append(
            Text(
                f"{d.day:%Y-%m-%d %a}  {clean(c.a)} {d.signals_a} signals, {clean(c.b)} {d.signals_b}: "
                f"{len(d.drifts)} without a match",
                style="bold",
            )
        )
        for x in d.drifts[:SHOWN_PER_DAY]:
            other = c.b if x.run == c.a else c.a
            when = datetime.fromtimestamp(x.at, c.tz).strftime("%H:%M:%S %Z")
            line = Text(f"  {when}  {clean(x.symbol)}  only {clean(x.run)}; {clean(other)}'s gate: ")
            line.append(f"{x.other_code}", style="yellow")
            line.append(f" ({clean(x.other_reason)})", style="dim")
            parts.append(line)
        if len(d.drifts) > SHOWN_PER_DAY:
            parts.append(
                Text(f"  … {len(d.drifts) - SHOWN_PER_DAY} more (--json lists them all)", style="dim")
            )
    parts.append(Rule(style="bold", characters="═"))
    return Group(*parts)
