"""The company's local time: qbXML date-times without an offset are local (api-notes 8.4).

QuickBooks answers ``TimeCreated``/``TimeModified`` as local time with the offset of that
instant (so it changes across a daylight-saving change) and reads a request's date-time without
an offset as local time. ``TxnDate`` is a plain local date.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .errors import bad_date


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def format_dt(epoch: float, tz: ZoneInfo) -> str:
    """``2025-03-09T01:59:59-08:00``: seconds, with the local offset of that instant."""
    return dt.datetime.fromtimestamp(int(epoch), tz).isoformat(timespec="seconds")


def local_date(epoch: float, tz: ZoneInfo) -> str:
    return dt.datetime.fromtimestamp(epoch, tz).date().isoformat()


def parse_dt(text: str, field: str, tz: ZoneInfo, *, end: bool = False) -> float:
    """An epoch from a qbXML DATETIMETYPE (or a date: the start, or with ``end`` the last
    second, of that local day). Naive values are local; an ambiguous local time (the repeated
    hour when clocks go back) is taken as its first occurrence (``fold=0``)."""
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            value = dt.datetime.combine(day, dt.time(23, 59, 59) if end else dt.time())
        else:
            value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_date(text, field) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.timestamp()


def parse_date(text: str, field: str) -> str:
    raw = text.strip()
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        raise bad_date(text, field) from None
