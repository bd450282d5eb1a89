"""A sorted multiset of floats at 8 bytes each, for the exact median of a day's data ages.

The report states the median data age of the day (docs/CONTRACT.md §3, "freshness"): exact,
so every age must be kept. A live view adds ages one by one as the loop records signals; a
sorted Python list would cost a memmove of the whole day per signal, and a list of float
objects (``sortedcontainers.SortedList``) about 32 bytes per age. Here the ages live in
``array('d')`` chunks of at most ``2 * CHUNK`` values: an insertion moves at most one chunk,
and a million ages take 8 MB.
"""

from __future__ import annotations

import bisect
from array import array

CHUNK = 1024


class SortedFloats:
    __slots__ = ("_chunks", "_len", "_maxes")

    def __init__(self, values=()) -> None:
        self._chunks: list[array] = []
        self._maxes: list[float] = []  # the last (largest) value of each chunk
        self._len = 0
        ordered = array("d", sorted(values))
        for i in range(0, len(ordered), CHUNK):
            self._chunks.append(ordered[i : i + CHUNK])
            self._maxes.append(ordered[min(i + CHUNK, len(ordered)) - 1])
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    def add(self, value: float) -> None:
        maxes = self._maxes
        if not maxes:
            self._chunks.append(array("d", (value,)))
            maxes.append(value)
            self._len = 1
            return
        i = bisect.bisect_left(maxes, value)
        if i == len(maxes):  # beyond every value so far: the common case for a clock
            i -= 1
            chunk = self._chunks[i]
            chunk.append(value)
            maxes[i] = value
        else:
            chunk = self._chunks[i]
            chunk.insert(bisect.bisect_right(chunk, value), value)
        self._len += 1
        if len(chunk) > 2 * CHUNK:
            upper = chunk[CHUNK:]
            del chunk[CHUNK:]
            self._chunks.insert(i + 1, upper)
            maxes[i] = chunk[-1]
            maxes.insert(i + 1, upper[-1])

    def __getitem__(self, k: int) -> float:
        """The k-th smallest value (0-based; negative from the end)."""
        if k < 0:
            k += self._len
        if not 0 <= k < self._len:
            raise IndexError("SortedFloats index out of range")
        for chunk in self._chunks:
            if k < len(chunk):
                return chunk[k]
            k -= len(chunk)
        raise IndexError("SortedFloats index out of range")  # pragma: no cover

    def median(self) -> float | None:
        """What ``statistics.median`` answers for the same values, None when empty."""
        n = self._len
        if n == 0:
            return None
        if n % 2:
            return self[n // 2]
        return (self[n // 2 - 1] + self[n // 2]) / 2

    def max(self) -> float | None:
        return self._maxes[-1] if self._maxes else None

    def __iter__(self):
        for chunk in self._chunks:
            yield from chunk
