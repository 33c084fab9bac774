"""Small value helpers: company-local timestamps, money, dates, JSON encoding.

QBO answers in the company's local time with an offset (api-notes 2.2); the sandbox company is in
US Pacific. Money is ``Decimal`` quantised to cents everywhere and is emitted as a JSON number.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

COMPANY_TZ = ZoneInfo("America/Los_Angeles")
CENT = Decimal("0.01")


def local(now: dt.datetime) -> dt.datetime:
    return now.astimezone(COMPANY_TZ)


def qbo_time(now: dt.datetime, millis: bool = False) -> str:
    """``2025-01-15T10:58:12-08:00`` (MetaData) or with milliseconds (the envelope ``time``)."""
    value = local(now)
    text = value.isoformat(timespec="milliseconds" if millis else "seconds")
    return text


def today(now: dt.datetime) -> str:
    return local(now).date().isoformat()


def parse_qbo_datetime(text: str) -> dt.datetime:
    """An ISO date or date-time; naive values are company local time (api-notes 2.9)."""
    text = text.strip()
    if len(text) == 10:
        value = dt.datetime.fromisoformat(text)
    else:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=COMPANY_TZ)
    return value


def money(value: Any, field: str = "Amount") -> Decimal:
    """A cents-quantised Decimal from a JSON number or numeric string."""
    if isinstance(value, Decimal) and value.is_finite():
        return value.quantize(CENT, rounding=ROUND_HALF_UP)
    return number(value, field).quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Any, field: str) -> Decimal:
    """A Decimal quantity (not rounded to cents); 2010 for anything that is not a number."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if not isinstance(value, bool) and isinstance(value, (int, float, str)):
        try:
            result = Decimal(str(value))
        except (InvalidOperation, ValueError):
            result = None
        if result is not None and result.is_finite():
            return result
    from .faults import QBOFault  # faults imports this module

    raise QBOFault("2010", f"Property Name:{field} is not a valid number: {value!r}", element=field)


# msgspec (already installed with Airflow, pinned in constraints.txt) writes Decimals as exact
# JSON numbers and reads numbers back as Decimal, faster than the json module with hooks;
# that keeps seeding and loading a 100k-customer company to seconds.
_encoder = msgspec.json.Encoder(decimal_format="number")
_decoder = msgspec.json.Decoder(float_hook=Decimal)


def dumps_bytes(payload: Any) -> bytes:
    return _encoder.encode(payload)


def dumps(payload: Any) -> str:
    return _encoder.encode(payload).decode()


def loads(text: str | bytes) -> Any:
    """Parse stored JSON; non-integer numbers come back as Decimal so money stays exact."""
    return _decoder.decode(text)


def valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
