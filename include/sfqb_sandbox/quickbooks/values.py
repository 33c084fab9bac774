"""Small value helpers: company-local timestamps, money, dates, JSON encoding.

QBO answers in the company's local time with an offset (api-spec 2.2); the sandbox company is in
US Pacific. Money is ``Decimal`` quantised to cents everywhere and is emitted as a JSON number.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

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
    """An ISO date or date-time; naive values are company local time (api-spec 2.9)."""
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
    from .faults import QBOFault

    if isinstance(value, bool):
        raise QBOFault("2010", f"Property Name:{field} must be a number", element=field)
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        raise QBOFault("2010", f"Property Name:{field} is not a valid number: {value!r}",
                       element=field) from None
    if not number.is_finite():
        raise QBOFault("2010", f"Property Name:{field} is not a valid number", element=field)
    return number.quantize(CENT, rounding=ROUND_HALF_UP)


def number(value: Any, field: str) -> Decimal:
    """A Decimal quantity (not rounded to cents)."""
    from .faults import QBOFault

    if isinstance(value, bool):
        raise QBOFault("2010", f"Property Name:{field} must be a number", element=field)
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise QBOFault("2010", f"Property Name:{field} is not a valid number: {value!r}",
                       element=field) from None
    if not result.is_finite():
        raise QBOFault("2010", f"Property Name:{field} is not a valid number", element=field)
    return result


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 \
            else float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(payload: Any) -> str:
    return json.dumps(payload, default=_default, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | bytes) -> Any:
    """Parse stored JSON; floats come back as Decimal so money stays exact."""
    return json.loads(text, parse_float=Decimal)


def to_json_ready(payload: Any) -> Any:
    return json.loads(dumps(payload))


def valid_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
