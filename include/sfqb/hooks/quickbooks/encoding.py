"""Request bodies as JSON: ``dumps`` sends money (``Decimal``) as exact JSON numbers and
dates as ISO text, and refuses an amount a JSON number cannot carry exactly."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal


def _json_default(value: object) -> object:
    """Money is Decimal in our code; JSON has only numbers. A float whose shortest repr is the
    same decimal (any amount with <= 15 significant digits) is emitted exactly."""
    if isinstance(value, Decimal):
        as_float = float(value)
        if Decimal(repr(as_float)) != value:
            raise ValueError(f"{value} cannot be sent as an exact JSON number")
        return as_float
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(payload: object) -> str:
    return json.dumps(payload, default=_json_default, ensure_ascii=False)
