"""The Airflow connections the Web Connector service and its queue read.

- ``quickbooks_desktop_default``: ``login`` and ``password`` are what the QuickBooks admin types
  into the Web Connector (the .qwc's UserName and the password); extra ``company_file`` is the
  company file's full path on the QuickBooks PC (empty: whichever file is open), extra
  ``edition`` is ``pro``, ``premier``, ``enterprise`` or ``accountant`` (empty: any), checked
  against the product name QuickBooks reports (R-QBD-1, R-QBD-5). Two more extras are the
  sync's: ``time_zone``, the QuickBooks PC's time zone as an IANA name (``America/Chicago``;
  default ``UTC``), in which Desktop reads its date-times without an offset and its transaction
  dates; ``max_poll_minutes``, how long since the Web Connector's last poll it still counts as
  running (default 10, two default schedules; R-QBD-2).
- ``sfqb_qbwc_queue``: the queue's database. Extra ``url`` holds a SQLAlchemy URL
  (``postgresql+psycopg://user:pw@host/db``, ``sqlite:////path/queue.sqlite3``); a ``postgres``
  connection without it is turned into one; with no connection at all the queue is the SQLite
  file ``sfqb-qbwc-queue.sqlite3`` in ``$SFQB_QBWC_DIR``, else ``$AIRFLOW_HOME``, else
  ``~/airflow``. Never Airflow's metadata DB.

They are read as sfqb's hooks read theirs (``airflow.sdk.BaseHook.get_connection``): from an
``AIRFLOW_CONN_<ID>`` environment variable (URI or JSON), a secrets backend or the metadata DB.
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DESKTOP_CONN_ID = "quickbooks_desktop_default"
QUEUE_CONN_ID = "sfqb_qbwc_queue"
QUEUE_FILE = "sfqb-qbwc-queue.sqlite3"
EDITIONS = ("pro", "premier", "enterprise", "accountant")
DEFAULT_MAX_POLL_MINUTES = 10
"""Two of the .qwc's default 5-minute schedules (``python -m sfqb qbwc qwc --minutes``)."""


class SettingsError(ValueError):
    """A connection is missing or incomplete."""


@dataclass(frozen=True)
class DesktopSettings:
    user_name: str
    password: str
    company_file: str
    edition: str
    time_zone: str = "UTC"
    max_poll_age: dt.timedelta = field(
        default_factory=lambda: dt.timedelta(minutes=DEFAULT_MAX_POLL_MINUTES)
    )

    @property
    def tz(self) -> dt.tzinfo:
        return ZoneInfo(self.time_zone)

    def __repr__(self) -> str:  # never the password
        return (
            f"DesktopSettings(user_name={self.user_name!r}, company_file={self.company_file!r}, "
            f"edition={self.edition!r}, time_zone={self.time_zone!r}, "
            f"max_poll_age={self.max_poll_age!r})"
        )


def _connection(conn_id: str) -> Any:
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(conn_id)


def desktop_settings(conn_id: str = DESKTOP_CONN_ID) -> DesktopSettings:
    try:
        conn = _connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - Airflow's not-found error differs by version
        raise SettingsError(f"connection {conn_id!r} cannot be read: {exc}") from exc
    extra = conn.extra_dejson or {}
    if not conn.login or not conn.password:
        raise SettingsError(f"connection {conn_id!r} lacks the login or the password")
    edition = str(extra.get("edition") or "").strip().lower()
    if edition and edition not in EDITIONS:
        raise SettingsError(f"connection {conn_id!r}: edition {edition!r} is not one of {EDITIONS}")
    return DesktopSettings(
        user_name=str(conn.login),
        password=str(conn.password),
        company_file=str(extra.get("company_file") or "").strip(),
        edition=edition,
        time_zone=_time_zone(conn_id, extra.get("time_zone")),
        max_poll_age=dt.timedelta(minutes=_poll_minutes(conn_id, extra.get("max_poll_minutes"))),
    )


def _time_zone(conn_id: str, value: Any) -> str:
    name = str(value or "UTC").strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"connection {conn_id!r}: extra time_zone {name!r} is not an IANA time zone name "
            "(for example America/Chicago): give the QuickBooks PC's time zone"
        ) from None
    return name


def _poll_minutes(conn_id: str, value: Any) -> float:
    if value in (None, ""):
        return DEFAULT_MAX_POLL_MINUTES
    try:
        minutes = float(value)
    except (TypeError, ValueError):
        minutes = 0.0
    if not (minutes > 0 and math.isfinite(minutes)):
        raise SettingsError(
            f"connection {conn_id!r}: extra max_poll_minutes must be a positive number of "
            f"minutes, not {value!r}"
        )
    return minutes


def default_queue_dir() -> Path:
    for name in ("SFQB_QBWC_DIR", "AIRFLOW_HOME"):
        if os.environ.get(name):
            return Path(os.environ[name])
    return Path.home() / "airflow"


def queue_url(conn_id: str = QUEUE_CONN_ID) -> str:
    """The SQLAlchemy URL of the queue (see the module doc)."""
    try:
        conn = _connection(conn_id)
    except Exception:  # noqa: BLE001 - no connection: the default SQLite file
        conn = None
    if conn is None:
        directory = default_queue_dir()
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / QUEUE_FILE}"
    url = (conn.extra_dejson or {}).get("url")
    if url:
        return str(url)
    if conn.conn_type in ("postgres", "postgresql"):
        import sqlalchemy as sa

        return sa.engine.URL.create(
            "postgresql+psycopg",
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        ).render_as_string(hide_password=False)
    raise SettingsError(
        f"connection {conn_id!r}: put the queue's SQLAlchemy URL in extra 'url' "
        "(or use a postgres connection)"
    )
