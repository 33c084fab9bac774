"""Records in memory (object name -> id -> record dict), written through to SQLite.

Every handler runs on the event loop, so the dicts need no locks. A record holds field values
in their JSON wire form (dates and datetimes as Salesforce strings, which sort correctly);
keys starting with ``_`` are private bookkeeping (e.g. ``_deleted_at``) and never rendered.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from .ids import make_id


class Store:
    def __init__(self, path: Path | None) -> None:
        self.tables: dict[str, dict[str, dict]] = {}
        self.counter = 0
        self.meta: dict = {}
        self._db = None
        # (sobject, field, fold) -> value -> set of ids; built on first use, kept up to date by put
        self._indexes: dict[tuple[str, str, bool], dict] = {}
        if path is not None:
            self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS records (id TEXT PRIMARY KEY, sobject TEXT, data TEXT)"
            )
            self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            self._load()

    def bulk_load(self, sobject: str, records: list[dict]) -> None:
        """Add many new records at once (the seed): no per-record index upkeep."""
        table = self.table(sobject)
        for rec in records:
            table[rec["Id"]] = rec
        for key in [k for k in self._indexes if k[0] == sobject]:
            del self._indexes[key]

    def _load(self) -> None:
        for sobject, data in self._db.execute("SELECT sobject, data FROM records"):
            record = json.loads(data)
            self.tables.setdefault(sobject, {})[record["Id"]] = record
        for key, value in self._db.execute("SELECT key, value FROM meta"):
            self.meta[key] = json.loads(value)
        self.counter = int(self.meta.get("counter", 0))

    @property
    def empty(self) -> bool:
        return not any(self.tables.values())

    def table(self, sobject: str) -> dict[str, dict]:
        return self.tables.setdefault(sobject, {})

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return make_id(prefix, self.counter)

    def get(self, sobject: str, record_id: str) -> dict | None:
        return self.tables.get(sobject, {}).get(record_id)

    def find(self, record_id: str) -> tuple[str, dict] | None:
        for sobject, table in self.tables.items():
            record = table.get(record_id)
            if record is not None:
                return sobject, record
        return None

    def put(self, sobject: str, record: dict) -> None:
        table = self.table(sobject)
        old = table.get(record["Id"])
        table[record["Id"]] = record
        self._reindex(sobject, old, record)

    def pop(self, sobject: str, record_id: str) -> dict | None:
        old = self.tables.get(sobject, {}).pop(record_id, None)
        if old is not None:
            self._reindex(sobject, old, None)
        return old

    def _reindex(self, sobject: str, old: dict | None, new: dict | None) -> None:
        for (obj, field, fold), index in self._indexes.items():
            if obj != sobject:
                continue
            before = _key(old.get(field), fold) if old else None
            after = _key(new.get(field), fold) if new else None
            if before == after and old is not None and new is not None:
                continue
            if old is not None and before is not None:
                ids = index.get(before)
                if ids is not None:
                    ids.discard(old["Id"])
            if new is not None and after is not None:
                index.setdefault(after, set()).add(new["Id"])

    def lookup(self, sobject: str, field: str, value, fold: bool = False) -> list[dict]:
        """Records whose ``field`` equals ``value`` (case-folded when ``fold``), via an index."""
        key = (sobject, field, fold)
        index = self._indexes.get(key)
        if index is None:
            index = {}
            for rec in self.table(sobject).values():
                k = _key(rec.get(field), fold)
                if k is not None:
                    index.setdefault(k, set()).add(rec["Id"])
            self._indexes[key] = index
        table = self.table(sobject)
        # ids grow with creation (base-62 counter), so sorting keeps creation order
        return [table[i] for i in sorted(index.get(_key(value, fold), ())) if i in table]

    def remove(self, sobject: str, record_id: str) -> None:
        self.pop(sobject, record_id)
        if self._db is not None:
            self._db.execute("DELETE FROM records WHERE id = ?", (record_id,))

    def persist(self, items: Iterable[tuple[str, dict]]) -> None:
        """Write the given (sobject, record) pairs and the id counter through to SQLite."""
        if self._db is None:
            return
        rows = [(r["Id"], s, json.dumps(r, separators=(",", ":"))) for s, r in items]
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
        self.meta["counter"] = self.counter
        self._db.executemany(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            [(k, json.dumps(v)) for k, v in self.meta.items()],
        )
        self._db.execute("COMMIT")

    def save_meta(self) -> None:
        self.persist([])

    def clear(self) -> None:
        self.tables.clear()
        self._indexes.clear()
        self.counter = 0
        self.meta.clear()
        if self._db is not None:
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _key(value, fold: bool):
    if value is None:
        return None
    return value.lower() if fold and isinstance(value, str) else value
