"""The SQLite health store: schema and migrations, the background writer, the read-only reader.

This layer knows SQLite and the shape of the events; it knows nothing of markets.
"""

from store.paths import resolve_store_path
from store.reader import SchemaTooNew, StoreReader, StoreUnavailable
from store.recorder import Recorder
from store.schema import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "Recorder",
    "SchemaTooNew",
    "StoreReader",
    "StoreUnavailable",
    "resolve_store_path",
]
