"""The queue database's tables and their migrations.

The schema is versioned by a small table of its own, ``sfqb_qbwc_schema`` (one row per applied
migration), and ``MIGRATIONS`` lists the steps in order; ``migrate`` applies the missing ones,
each in its own transaction, under a lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory
lock), so a service and several workers opening the queue at once migrate it once.

Why not alembic: alembic wants an environment and a script directory shipped as package data
and a configuration to point at them, for what is here four tables and a handful of steps. A
list of Python functions on SQLAlchemy Core is as portable (SQLite and PostgreSQL), is tested
the same way (an old-version database migrates forward: tests/sandbox/qbwc/test_queue.py), and
cannot collide with Airflow's own alembic version table in a shared database (sfqb never puts
its queue in Airflow's metadata DB, but an operator might point both at one PostgreSQL server).
A step never changes once released: a change is a new step at the end.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

PREFIX = "sfqb_qbwc_"
VERSION_TABLE = f"{PREFIX}schema"

metadata = sa.MetaData()

version_table = sa.Table(
    VERSION_TABLE,
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
    sa.Column("description", sa.String(200), nullable=False),
)

# Small values the service and the sync share: the .qwc's OwnerID and FileID, the last poll.
meta = sa.Table(
    f"{PREFIX}meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

jobs = sa.Table(
    f"{PREFIX}jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(200), nullable=False, unique=True),
    sa.Column("kind", sa.String(10), nullable=False),  # read | write
    sa.Column("state", sa.String(10), nullable=False),  # queued | sent | done | failed | in_doubt
    sa.Column("on_error", sa.String(20), nullable=False),
    sa.Column("iterate", sa.Boolean, nullable=False),
    sa.Column("requests", sa.Text, nullable=False),  # JSON list of request elements
    sa.Column("created_at", sa.String(40), nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("iterator_id", sa.String(100)),
    sa.Column("remaining", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("note", sa.Text),
    # version 2:
    sa.Column("session_id", sa.String(40)),
    sa.Index(f"{PREFIX}jobs_state", "state", "id"),
    sa.Index(f"{PREFIX}jobs_session", "session_id"),
)

pages = sa.Table(
    f"{PREFIX}pages",
    metadata,
    sa.Column("job_id", sa.Integer, sa.ForeignKey(f"{PREFIX}jobs.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("xml", sa.Text, nullable=False),
    sa.Column("created_at", sa.String(40), nullable=False),
)

sessions = sa.Table(
    f"{PREFIX}sessions",
    metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("ticket_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_name", sa.String(200), nullable=False),
    # open | ended | error | refused (a bad login: nvu) | idle (no work: none)
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("last_seen_at", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.String(40), nullable=False),
    sa.Column("ended_at", sa.String(40)),
    sa.Column("company_file", sa.Text),
    sa.Column("product_name", sa.Text),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("answered", sa.Integer, nullable=False),
    sa.Column("current_job_id", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Index(f"{PREFIX}sessions_state", "state", "started_at"),
)

events = sa.Table(
    f"{PREFIX}events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("session_id", sa.String(40), nullable=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Index(f"{PREFIX}events_session", "session_id", "id"),
)


def _v1(conn: Connection) -> None:
    """The first release: meta, jobs (without session_id) and pages, as they were then."""
    v1 = sa.MetaData()
    sa.Table(
        meta.name,
        v1,
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    sa.Table(
        jobs.name,
        v1,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("on_error", sa.String(20), nullable=False),
        sa.Column("iterate", sa.Boolean, nullable=False),
        sa.Column("requests", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("iterator_id", sa.String(100)),
        sa.Column("remaining", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("note", sa.Text),
        sa.Index(f"{PREFIX}jobs_state", "state", "id"),
    )
    sa.Table(
        pages.name,
        v1,
        sa.Column("job_id", sa.Integer, sa.ForeignKey(f"{PREFIX}jobs.id"), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("xml", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    v1.create_all(conn)


def _v2(conn: Connection) -> None:
    """Web Connector sessions and their events; a job remembers the session it was sent in."""
    conn.execute(sa.text(f"ALTER TABLE {jobs.name} ADD COLUMN session_id VARCHAR(40)"))
    sa.Index(f"{PREFIX}jobs_session", jobs.c.session_id).create(conn)
    sessions.create(conn)
    events.create(conn)


# (version, description, step), in order; the last version is the schema of the tables above.
MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "jobs, pages and meta", _v1),
    (2, "sessions, events, jobs.session_id", _v2),
]
LATEST = MIGRATIONS[-1][0]
