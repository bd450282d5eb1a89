"""Interval arithmetic on epoch floats: the whole of uptime and coverage is unions and
intersections of half-open [start, end) intervals."""

from __future__ import annotations

from collections.abc import Iterable

Interval = tuple[float, float]


def merge(intervals: Iterable[Interval], join_within: float = 0.0) -> list[Interval]:
    """Union of intervals; touching (or closer than ``join_within``) ones become one."""
    out: list[list[float]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if out and start <= out[-1][1] + join_within:
            if end > out[-1][1]:
                out[-1][1] = end
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def clip(intervals: Iterable[Interval], lo: float, hi: float) -> list[Interval]:
    return [(max(s, lo), min(e, hi)) for s, e in intervals if e > lo and s < hi]


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two merged, sorted interval lists."""
    out: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        s = max(a[i][0], b[j][0])
        e = min(a[i][1], b[j][1])
        if e > s:
            out.append((s, e))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(intervals: list[Interval], lo: float, hi: float) -> list[Interval]:
    """The parts of [lo, hi) not covered by the merged, sorted ``intervals``."""
    out: list[Interval] = []
    cursor = lo
    for s, e in intervals:
        if e <= cursor:
            continue
        if s >= hi:
            break
        if s > cursor:
            out.append((cursor, min(s, hi)))
        cursor = max(cursor, e)
    if cursor < hi:
        out.append((cursor, hi))
    return out


def total(intervals: Iterable[Interval]) -> float:
    return sum(e - s for s, e in intervals)
