"""Company data: in-memory dicts per entity, written through to SQLite so it survives a restart.

Queries at 100k customers must be fast, so reads never touch SQLite; every change is written
to the ``objects`` table as one JSON row per entity object. The file also holds the requestid
replay table, OAuth tokens, settings and the deleted-entity log CDC reads.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .schema import TRANSACTIONS
from .values import dumps, dumps_bytes, loads

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (entity TEXT, id INTEGER, body TEXT, PRIMARY KEY (entity, id));
CREATE TABLE IF NOT EXISTS deleted (entity TEXT, id INTEGER, ts REAL, time TEXT);
CREATE TABLE IF NOT EXISTS requests (requestid TEXT PRIMARY KEY, status INTEGER, body TEXT, \
ts REAL);
CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, body TEXT);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);
"""

# Name-list entities whose names are unique (case-insensitively) and indexed for that check.
UNIQUE_NAME_FIELD = {
    "Customer": "DisplayName",
    "Item": "FullyQualifiedName",
    "Class": "FullyQualifiedName",
    "Term": "Name",
    "Account": "FullyQualifiedName",
}


class Store:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self._changes = itertools.count(1)  # never reset, so versions never repeat
        self.load()

    # -- loading -------------------------------------------------------------------------
    def load(self) -> None:
        self.objects: dict[str, dict[int, dict]] = {}
        self.names: dict[str, dict[str, int]] = {entity: {} for entity in UNIQUE_NAME_FIELD}
        self.next_ids: dict[str, int] = {}
        # Bumped on every change of an entity's table: lets queries cache a sorted order.
        self.versions: dict[str, int] = {}
        for entity, id_, body in self.db.execute(
            "SELECT entity, id, body FROM objects ORDER BY entity, id"
        ):
            self._remember(entity, id_, loads(body))
        self.deleted: list[tuple[str, int, float, str]] = [
            tuple(row) for row in self.db.execute("SELECT entity, id, ts, time FROM deleted")
        ]
        self.settings: dict[str, Any] = {
            key: loads(value) for key, value in self.db.execute("SELECT key, value FROM settings")
        }

    def _remember(self, entity: str, id_: int, obj: dict) -> None:
        self.versions[entity] = next(self._changes)
        table = self.objects.setdefault(entity, {})
        old = table.get(id_)
        field = UNIQUE_NAME_FIELD.get(entity)
        if field and old is not None and old.get(field):
            self.names[entity].pop(old[field].lower(), None)
        table[id_] = obj
        if field and obj.get(field):
            self.names[entity][obj[field].lower()] = id_
        if id_ >= self.next_ids.get(entity, 1):
            self.next_ids[entity] = id_ + 1

    def is_empty(self) -> bool:
        """No business data: at most the defaults a new company has (the "empty" seed)."""
        business = ("Customer", "Invoice", "Payment", "SalesReceipt", "Estimate")
        return (
            not any(self.objects.get(e) for e in business)
            and len(self.objects.get("Item", {})) <= 1
        )

    # -- objects -------------------------------------------------------------------------
    def table(self, entity: str) -> dict[int, dict]:
        return self.objects.setdefault(entity, {})

    def get(self, entity: str, id_: Any) -> dict | None:
        try:
            key = int(id_)
        except (TypeError, ValueError):
            return None
        return self.objects.get(entity, {}).get(key)

    def new_id(self, entity: str) -> int:
        """The next Id of ``entity``. Transactions share one sequence: sfqb keeps an Opportunity's
        Invoice or Sales Receipt in one unique External Transaction ID (R-OPP-4), which
        holds only because QuickBooks never gives two transactions the same Id (api-notes is
        silent; docs/sandbox-quickbooks.md). A new transaction takes the next Id after every
        transaction type's highest. The seeds number each type from 1 (bulk-inserted, they
        predate this rule); every transaction made through the API after them is unique."""
        if entity in TRANSACTIONS:
            id_ = max(self.next_ids.get(e, 1) for e in TRANSACTIONS)
        else:
            id_ = self.next_ids.get(entity, 1)
        self.next_ids[entity] = id_ + 1
        return id_

    def put(self, entity: str, obj: dict) -> None:
        id_ = int(obj["Id"])
        self._remember(entity, id_, obj)
        self.db.execute(
            "INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", (entity, id_, dumps_bytes(obj))
        )

    def remove(self, entity: str, id_: int, ts: float, time: str) -> None:
        obj = self.objects.get(entity, {}).pop(id_, None)
        self.versions[entity] = next(self._changes)
        field = UNIQUE_NAME_FIELD.get(entity)
        if obj and field and obj.get(field):
            self.names[entity].pop(obj[field].lower(), None)
        self.deleted.append((entity, id_, ts, time))
        self.db.execute("DELETE FROM objects WHERE entity = ? AND id = ?", (entity, id_))
        self.db.execute("INSERT INTO deleted VALUES (?, ?, ?, ?)", (entity, id_, ts, time))

    def find_name(self, entity: str, name: str) -> int | None:
        return self.names[entity].get(name.lower())

    def bulk_put(self, entity: str, objs: Iterable[dict]) -> None:
        """Seeding: many objects in one executemany (no per-row commits)."""
        rows = []
        for obj in objs:
            id_ = int(obj["Id"])
            self._remember(entity, id_, obj)
            rows.append((entity, id_, dumps_bytes(obj)))
        self.db.execute("BEGIN")
        self.db.executemany("INSERT OR REPLACE INTO objects VALUES (?, ?, ?)", rows)
        self.db.execute("COMMIT")

    # -- requestid replay, tokens, settings -----------------------------------------------
    def replay(self, requestid: str) -> tuple[int, str] | None:
        row = self.db.execute(
            "SELECT status, body FROM requests WHERE requestid = ?", (requestid,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def remember_request(self, requestid: str, status: int, body: str, ts: float) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO requests VALUES (?, ?, ?, ?)", (requestid, status, body, ts)
        )

    def tokens(self) -> dict[str, dict]:
        # Plain floats here: token times are epoch seconds, not money.
        return {
            token: json.loads(body)
            for token, body in self.db.execute("SELECT token, body FROM tokens")
        }

    def put_token(self, token: str, record: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO tokens VALUES (?, ?)", (token, dumps(record)))

    def delete_tokens(self) -> None:
        self.db.execute("DELETE FROM tokens")

    def set_setting(self, key: str, value: Any) -> None:
        self.settings[key] = value
        self.db.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (key, dumps(value)))

    # -- lifecycle -------------------------------------------------------------------------
    def wipe(self, keep_settings: bool = True) -> None:
        """Drop all company data (and requestids); tokens and settings stay valid."""
        self.db.execute("DELETE FROM objects")
        self.db.execute("DELETE FROM deleted")
        self.db.execute("DELETE FROM requests")
        if not keep_settings:
            self.db.execute("DELETE FROM settings")
        self.load()

    def close(self) -> None:
        self.db.close()
