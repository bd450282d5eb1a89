"""Backfill: read a loop's own past logs (CSV or JSON Lines) into signals and beats, so that
dates before the recorder was installed can be checked like any other (README, "Backfill").

Each line is a signal (a symbol and the time of the data it used) or a heartbeat (the loop was
alive then). A signal is also activity: a loop that produced one was running. Timestamps take
every form the recorder accepts (docs/CONTRACT.md §2), as text: ISO 8601 with or without an
offset (naive ones read in the calendar's zone, or ``--timezone``), epoch seconds,
milliseconds, microseconds or nanoseconds. Nothing is written here: the store's
``write_backfill`` takes the whole file at once, in one transaction, or nothing of it.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from health.config import MonitorConfig
from health.liveness import up_window
from health.timestamps import MAX_EPOCH, to_epoch
from store.backfill import import_run_id
from store.records import RunInfo

MAX_BAD_LINES = 1000  # past this many the file is not what the flags say: stop reading
PROGRESS_EVERY = 1 << 12  # lines between progress callbacks
SIGNAL_KINDS = frozenset({"signal"})
BEAT_KINDS = frozenset({"heartbeat", "beat", "activity"})
_EPOCH = datetime(1970, 1, 1)


class BackfillError(ValueError):
    """The file cannot be imported at all (unreadable, no such column): one line."""


@dataclass(frozen=True)
class Columns:
    """Which field holds what (``--timestamp-column`` and the others)."""

    timestamp: str = "timestamp"
    symbol: str = "symbol"
    data_timestamp: str = "data_timestamp"
    kind: str = "kind"


@dataclass(frozen=True)
class BadLine:
    number: int  # 1-based, as an editor shows it; where the row starts (a quoted field may span lines)
    reason: str


@dataclass
class Parsed:
    """What a file holds: signals (at, symbol, data_ts), beats (at), and its bad lines."""

    signals: list[tuple[float, str, float]] = field(default_factory=list)
    beats: list[float] = field(default_factory=list)
    bad: list[BadLine] = field(default_factory=list)
    lines: int = 0  # data lines read (blank lines not counted)
    stopped_early: bool = False  # MAX_BAD_LINES reached

    @property
    def activity(self) -> list[float]:
        """Every instant the loop was seen alive: its heartbeats and its signals."""
        return [*self.beats, *(s[0] for s in self.signals)]


def import_run(config: MonitorConfig, tz_name: str, file: Path, version: str) -> RunInfo:
    """The run the imported lines are recorded under: one per loop and check interval, with
    no process (its pid and host unknown: never reported alive nor gone, health/process.py)
    and the loop's thresholds as a recorder would write them. Its clean stop is where its last
    activity stops keeping it up (health/liveness.py), so the last day reads as the others."""
    thresholds = config.thresholds()
    thresholds["imported_from"] = str(file)
    thresholds["timezone"] = tz_name  # the calendar's, as a recorder records it
    return RunInfo(
        run_id=import_run_id(config.source, float(config.check_interval_seconds)),
        source=config.source,
        pid=None,  # type: ignore[arg-type]
        host=None,  # type: ignore[arg-type]
        argv=[],
        version=version,
        config=thresholds,
        started_at=0.0,
        heartbeat_gap=up_window(float(config.check_interval_seconds)),
    )


def timestamp_reader(naive_tz: tzinfo) -> Callable[[object], float]:
    """Text (or a JSON number) to UTC epoch seconds, as ``health.timestamps.to_epoch`` reads
    the same value handed to the recorder; ValueError/TypeError for anything else.

    Fast, because a log has a great many of them: a text seen lately is not parsed again (a
    log repeats its bar times, and its line times across the symbols of one pass); a naive
    ISO time's zone offset is looked up once per hour of the day (exact: it is checked
    constant over that hour) and the conversion stays in integer microseconds."""
    memo: dict[str, float] = {}
    bases: dict[str, datetime | None] = {}
    fromiso = datetime.fromisoformat

    def base_of(dt: datetime, key: str) -> datetime | None:
        """The naive instant whose distance to a naive time of this hour is its epoch
        seconds; None when the offset changes within the hour (a DST change inside it)."""
        if len(bases) > 100_000:
            bases.clear()
        hour = dt.replace(minute=0, second=0, microsecond=0)
        try:
            first = hour.replace(tzinfo=naive_tz).utcoffset()
            last = (hour + timedelta(minutes=59, seconds=59)).replace(tzinfo=naive_tz).utcoffset()
        except (OverflowError, ValueError):
            first = last = None
        base = bases[key] = _EPOCH + first if first is not None and first == last else None
        return base

    def parse(text: str) -> float:
        text = text.strip()
        if not text:
            raise ValueError("is empty")
        if "-" in text[1:] or ":" in text or "T" in text:
            try:
                dt = fromiso(text)
            except ValueError:
                raise ValueError(f"{text[:40]!r} is not ISO 8601 nor epoch seconds") from None
            if dt.tzinfo is not None:
                return to_epoch(dt, naive_tz)
            key = text[:13]
            base = bases.get(key, _MISSING)
            if base is _MISSING:
                base = base_of(dt, key)
            if base is not None:
                ts = (dt - base).total_seconds()
                if 0 < ts <= MAX_EPOCH:
                    return ts
            return to_epoch(dt, naive_tz)  # the long way, or its own message
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"{text[:40]!r} is not ISO 8601 nor epoch seconds") from None
        return to_epoch(number, naive_tz)

    def read(value: object) -> float:
        if type(value) is str:
            ts = memo.get(value)
            if ts is None:
                ts = parse(value)
                if len(memo) > 50_000:
                    memo.clear()
                memo[value] = ts
            return ts
        if value is None:
            raise ValueError("is missing")
        return to_epoch(value, naive_tz)  # a JSON number

    return read


_MISSING = datetime.min  # a sentinel no cached base can be


def detect_format(path: Path, given: str | None) -> str:
    """``csv`` or ``jsonl``: as given, else by the file's extension, else by its first line."""
    if given:
        return given
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        return "csv"
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    try:
        with path.open("rb") as f:
            head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    except OSError as exc:
        raise BackfillError(f"cannot read {path}: {exc.strerror or exc}") from None
    return "jsonl" if head.startswith(b"{") else "csv"


def read_file(
    path: Path,
    fmt: str,
    columns: Columns,
    naive_tz: tzinfo,
    progress: Callable[[int], None] | None = None,
) -> Parsed:
    """Every line of ``path``; bad lines are collected with their numbers, never raised.
    ``progress(bytes_read)`` is called every ``PROGRESS_EVERY`` lines."""
    parse = timestamp_reader(naive_tz)
    try:
        f = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise BackfillError(f"cannot read {path}: {exc.strerror or exc}") from None
    with f:
        try:
            if fmt == "csv":
                return _read_csv(f, columns, parse, progress)
            return _read_jsonl(f, columns, parse, progress)
        except UnicodeDecodeError as exc:
            raise BackfillError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error as exc:
            raise BackfillError(f"{path} is not CSV: {exc}") from None
        except OSError as exc:
            raise BackfillError(f"cannot read {path}: {exc.strerror or exc}") from None


def _position(f: io.TextIOWrapper) -> int:
    return f.buffer.tell()  # the text layer's tell() is off while it is iterated


def _read_csv(f, columns: Columns, parse: Callable[[object], float], progress) -> Parsed:
    sample = f.read(8192)
    f.seek(0)
    dialect = csv.excel_tab if sample.count("\t") > sample.count(",") else csv.excel
    reader = csv.reader(f, dialect)
    header = next(reader, None)
    if header is None:
        raise BackfillError("the file is empty: no header line")
    names = [h.strip() for h in header]
    i_ts = _column(names, columns.timestamp, "--timestamp-column", None)
    i_sym = _column(names, columns.symbol, "--symbol-column", Columns.symbol)
    i_data = _column(names, columns.data_timestamp, "--data-timestamp-column", Columns.data_timestamp)
    i_kind = _column(names, columns.kind, "--kind-column", Columns.kind)
    if i_sym is not None and i_data is None:
        raise BackfillError(
            f"a {columns.symbol!r} column but no {columns.data_timestamp!r} one: a signal needs the "
            f"time of its data (--data-timestamp-column; columns: {', '.join(names)})"
        )
    out = Parsed()
    signals, beats, bad = out.signals.append, out.beats.append, out.bad
    width = len(names)
    ts_name, sym_name, data_name, kind_name = (
        names[i_ts],
        columns.symbol,
        columns.data_timestamp,
        columns.kind,
    )
    lines = 0
    end = reader.line_num  # the last line read: a row starts on the one after it
    for row in reader:
        start, end = end + 1, reader.line_num
        if not row:  # a blank line
            continue
        lines += 1
        if not lines % PROGRESS_EVERY and progress is not None:
            progress(_position(f))
        col = ""
        try:
            if len(row) != width:
                raise ValueError(f"{len(row)} fields where the header has {width}")
            col = ts_name
            at = parse(row[i_ts])
            col = ""
            kind = row[i_kind].strip().lower() if i_kind is not None else ""
            symbol = row[i_sym].strip() if i_sym is not None else ""
            if kind in SIGNAL_KINDS or (not kind and symbol):
                if not symbol:
                    raise ValueError(f"a signal without a symbol ({sym_name!r} is empty)")
                col = data_name
                signals((at, symbol, parse(row[i_data])))
            elif kind in BEAT_KINDS or not kind:
                beats(at)
            else:
                raise ValueError(f"{kind_name} {kind[:20]!r} is neither signal nor heartbeat")
        except (ValueError, TypeError) as exc:
            bad.append(BadLine(start, f"{col} {exc}" if col else str(exc)))
            if len(bad) >= MAX_BAD_LINES:
                out.stopped_early = True
                break
    out.lines = lines
    return out


def _column(names: list[str], name: str, flag: str, optional_default: str | None) -> int | None:
    """The column's index; None for an optional column left at its default name and absent
    (a column named by a flag must be there)."""
    try:
        return names.index(name)
    except ValueError:
        if name != optional_default:
            raise BackfillError(
                f"no column {name!r} in the header (columns: {', '.join(names)[:200]}); name it with {flag}"
            ) from None
        return None


def _read_jsonl(f, columns: Columns, parse: Callable[[object], float], progress) -> Parsed:
    out = Parsed()
    signals, beats, bad = out.signals.append, out.beats.append, out.bad
    loads = json.loads
    ts_key, sym_key, data_key, kind_key = (
        columns.timestamp,
        columns.symbol,
        columns.data_timestamp,
        columns.kind,
    )
    lines = 0
    for number, line in enumerate(f, 1):
        if not line.strip():
            continue
        lines += 1
        if not lines % PROGRESS_EVERY and progress is not None:
            progress(_position(f))
        col = ""
        try:
            try:
                obj = loads(line)
            except ValueError as exc:
                raise ValueError(f"not JSON: {exc}") from None
            if type(obj) is not dict:
                raise ValueError("not a JSON object")
            col = ts_key
            at = parse(obj.get(ts_key))
            col = ""
            kind = obj.get(kind_key)
            kind = kind.strip().lower() if isinstance(kind, str) else ""
            symbol = obj.get(sym_key)
            symbol = "" if symbol is None else str(symbol).strip()
            if not symbol.isascii():
                symbol.encode()  # a lone surrogate from a JSON escape: SQLite cannot store it
            if kind in SIGNAL_KINDS or (not kind and symbol):
                if not symbol:
                    raise ValueError(f"a signal without a symbol (no {sym_key!r})")
                col = data_key
                signals((at, symbol, parse(obj.get(data_key))))
            elif kind in BEAT_KINDS or not kind:
                beats(at)
            else:
                raise ValueError(f"{kind_key} {kind[:20]!r} is neither signal nor heartbeat")
        except (ValueError, TypeError) as exc:  # UnicodeEncodeError is a ValueError
            bad.append(BadLine(number, f"{col} {exc}" if col else str(exc)))
            if len(bad) >= MAX_BAD_LINES:
                out.stopped_early = True
                break
    out.lines = lines
    return out
