"""The company file: in-memory dicts per kind, written through to SQLite (survives a restart).

Like the QuickBooks Online sandbox's store, reads never touch SQLite, so a query over 100k
customers stays fast; every change writes one JSON row. Kinds: ``Customer``, ``Item`` (every
item type in one list: item names are unique across types), ``StandardTerms``, ``SalesRep``,
``Class``, ``ShipMethod``, ``Account``, ``OtherName``, and the transactions ``SalesOrder``,
``Invoice``, ``SalesReceipt``, ``ReceivePayment``. Deleted objects are kept in ``deleted`` for
ListDeletedQuery / TxnDeletedQuery.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import msgspec

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (kind TEXT, id TEXT, body BLOB, PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS deleted (kind TEXT, id TEXT, ts REAL, body BLOB);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value BLOB);
"""
LISTS = (
    "Customer",
    "Item",
    "StandardTerms",
    "SalesRep",
    "Class",
    "ShipMethod",
    "Account",
    "OtherName",
)
TXNS = ("SalesOrder", "Invoice", "SalesReceipt", "ReceivePayment")
# The field that must be unique (case-insensitively) within a kind.
UNIQUE = {kind: "FullName" for kind in LISTS}

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.load()

    def load(self) -> None:
        self.objects: dict[str, dict[str, dict]] = {kind: {} for kind in (*LISTS, *TXNS)}
        self.names: dict[str, dict[str, str]] = {kind: {} for kind in UNIQUE}
        # Never back to a number seen before: caches keyed by the version (sorted ids) must
        # not take a wiped and re-seeded company for the one they cached.
        self.version = getattr(self, "version", -1) + 1
        for kind, id_, body in self.db.execute("SELECT kind, id, body FROM objects ORDER BY rowid"):
            self._remember(kind, id_, _dec.decode(body))
        self.deleted: list[dict] = [
            {**_dec.decode(body), "kind": kind, "id": id_, "ts": ts}
            for kind, id_, ts, body in self.db.execute(
                "SELECT kind, id, ts, body FROM deleted ORDER BY ts"
            )
        ]
        self.settings: dict[str, Any] = {
            key: _dec.decode(value)
            for key, value in self.db.execute("SELECT key, value FROM settings")
        }

    def _remember(self, kind: str, id_: str, obj: dict) -> None:
        self.version += 1
        table = self.objects[kind]
        field = UNIQUE.get(kind)
        old = table.get(id_)
        if field and old is not None:
            self.names[kind].pop(old[field].lower(), None)
        table[id_] = obj
        if field:
            self.names[kind][obj[field].lower()] = id_

    def get(self, kind: str, id_: str) -> dict | None:
        return self.objects[kind].get(id_)

    def find_name(self, kind: str, name: str) -> dict | None:
        id_ = self.names[kind].get(name.lower())
        return self.objects[kind].get(id_) if id_ is not None else None

    def put(self, kind: str, obj: dict) -> None:
        id_ = obj["ListID"] if kind in LISTS else obj["TxnID"]
        self._remember(kind, id_, obj)
        self.db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", (kind, id_, _enc.encode(obj))
        )

    def bulk_put(self, kind: str, objs: Iterable[dict]) -> None:
        """Seeding: many objects in one transaction."""
        key = "ListID" if kind in LISTS else "TxnID"
        rows = []
        for obj in objs:
            self._remember(kind, obj[key], obj)
            rows.append((kind, obj[key], _enc.encode(obj)))
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    def remove(self, kind: str, id_: str, ts: float, record: dict) -> None:
        obj = self.objects[kind].pop(id_)
        self.version += 1
        field = UNIQUE.get(kind)
        if field:
            self.names[kind].pop(obj[field].lower(), None)
        self.deleted.append({**record, "kind": kind, "id": id_, "ts": ts})
        self.db.execute("DELETE FROM objects WHERE kind = ? AND id = ?", (kind, id_))
        self.db.execute(
            "INSERT INTO deleted VALUES (?, ?, ?, ?)", (kind, id_, ts, _enc.encode(record))
        )

    def set_setting(self, key: str, value: Any) -> None:
        self.settings[key] = value
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, _enc.encode(value)))

    def is_empty(self) -> bool:
        return not self.objects["Customer"] and not any(self.objects[k] for k in TXNS)

    def wipe(self) -> None:
        """Drop the company's data; settings (edition, time zone, counters) stay."""
        self.db.execute("DELETE FROM objects")
        self.db.execute("DELETE FROM deleted")
        self.load()

    def close(self) -> None:
        self.db.close()
