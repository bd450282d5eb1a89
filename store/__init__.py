"""The SQLite health store: schema and migrations, the background writer, the read-only reader.

This layer knows SQLite and the shape of the events; it knows nothing of markets. Exports are
resolved lazily, so a reader (a report, the console) does not pay for the writer's imports.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "SCHEMA_VERSION": "store.schema",
    "Recorder": "store.recorder",
    "SchemaTooNew": "store.reader",
    "StoreReader": "store.reader",
    "StoreUnavailable": "store.reader",
    "resolve_store_path": "store.paths",
}

__all__ = [
    "SCHEMA_VERSION",
    "Recorder",
    "SchemaTooNew",
    "StoreReader",
    "StoreUnavailable",
    "resolve_store_path",
]

if TYPE_CHECKING:
    from store.paths import resolve_store_path
    from store.reader import SchemaTooNew, StoreReader, StoreUnavailable
    from store.recorder import Recorder
    from store.schema import SCHEMA_VERSION


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'store' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
