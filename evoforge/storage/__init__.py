"""Persistence of runs: the store contract and its SQLite implementation."""

from evoforge.storage.base import ProgramStore
from evoforge.storage.sqlite import DB_FILENAME, SQLiteStore

__all__ = ["DB_FILENAME", "ProgramStore", "SQLiteStore"]
