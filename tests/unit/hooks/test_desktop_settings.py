"""The Desktop connection's extras the sync reads: the QuickBooks PC's time zone and how long
the Web Connector may stay silent (R-QBD-2, R-QBD-3)."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from sfqb.hooks.desktop import DesktopQuickBooks
from sfqb.qbwc import JobQueue
from sfqb.qbwc.settings import SettingsError, desktop_settings

pytestmark = pytest.mark.unit


def connection(monkeypatch, **extra) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT",
        json.dumps({"conn_type": "generic", "login": "sfqb", "password": "pw", "extra": extra}),
    )


def test_given_no_extras_when_read_then_utc_and_ten_minutes(monkeypatch):
    """Without the extras the company's clock is taken as UTC and the Web Connector counts as
    running for 10 minutes after its last poll (R-QBD-2)."""
    connection(monkeypatch)
    settings = desktop_settings()
    assert settings.time_zone == "UTC" and settings.tz == ZoneInfo("UTC")
    assert settings.max_poll_age == dt.timedelta(minutes=10)


def test_given_a_time_zone_and_a_poll_age_when_the_adapter_is_made_then_it_uses_them(
    monkeypatch, tmp_path
):
    """The adapter made from the connection reads the company's local time in the PC's zone
    and allows the configured silence (R-QBD-2, R-QBD-3)."""
    connection(monkeypatch, time_zone="America/Chicago", max_poll_minutes="2.5")
    queue = JobQueue.from_url(f"sqlite:///{tmp_path / 'queue.sqlite3'}")
    qb = DesktopQuickBooks.from_connection(queue=queue)
    assert qb.tz == ZoneInfo("America/Chicago")
    assert qb.max_poll_age == dt.timedelta(minutes=2, seconds=30)
    assert qb.quickbooks_conn_id == "quickbooks_desktop_default" and qb.queue is queue
    assert "pw" not in repr(desktop_settings())


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        ({"time_zone": "Central Time"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
        ({"max_poll_minutes": "ten"}, "max_poll_minutes"),
        ({"max_poll_minutes": 0}, "max_poll_minutes"),
        ({"max_poll_minutes": "inf"}, "max_poll_minutes"),
    ],
)
def test_given_a_bad_extra_when_read_then_the_error_names_the_key(monkeypatch, extra, key):
    """A bad extra fails the adapter's making, naming the connection and the key, before
    anything is read or queued (R-QBD-2)."""
    connection(monkeypatch, **extra)
    with pytest.raises(SettingsError, match=rf"'quickbooks_desktop_default'.*extra {key}"):
        DesktopQuickBooks.from_connection()
