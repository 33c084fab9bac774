"""Records on the wire: query records without ``attributes`` (``strip_attributes``), values as
JSON (``_json_value``: exact ``Decimal``, UTC datetimes), records as Bulk API 2.0 CSV cells
(``bulk_row``) and Bulk API 2.0 query CSV back as records (``parse_bulk_csv``)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from sfqb import soql


def strip_attributes(record: Any) -> Any:
    """A query record without the ``attributes`` entries SF adds to every (nested) record."""
    if isinstance(record, dict):
        return {k: strip_attributes(v) for k, v in record.items() if k != "attributes"}
    if isinstance(record, list):
        return [strip_attributes(v) for v in record]
    return record


def _json_value(value: Any) -> Any:
    """JSON default for record values: Decimal as an exact JSON number, dates ISO, datetimes
    UTC. A Decimal that a JSON number cannot carry exactly is refused rather than rounded."""
    if isinstance(value, Decimal):
        number = float(value)
        if Decimal(repr(number)) != value:
            raise ValueError(f"{value} cannot be sent as an exact JSON number")
        return number
    if isinstance(value, dt.datetime):
        return soql.sf_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if callable(getattr(value, "item", None)):  # numpy scalars from pandas frames
        return value.item()
    raise TypeError(f"cannot send {type(value).__name__} to Salesforce")


def _csv_value(value: Any) -> str:
    """A Bulk API 2.0 CSV cell: empty means "not set"; ``#N/A`` would null a field."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return _csv_value(_json_value(value))


def bulk_row(record: Mapping, prefix: str = "") -> dict[str, str]:
    """A record as Bulk API 2.0 CSV cells. A nested relationship reference such as
    ``{"Parent": {"Ext__c": "42"}}`` (the REST form) becomes the ``Parent.Ext__c`` column."""
    row: dict[str, str] = {}
    for key, value in record.items():
        if key == "attributes":
            continue
        if isinstance(value, Mapping):
            row.update(bulk_row(value, f"{prefix}{key}."))
        else:
            row[f"{prefix}{key}"] = _csv_value(value)
    return row


def parse_bulk_csv(text: str) -> Iterator[dict]:
    """Bulk API 2.0 query CSV -> records shaped like REST ones: empty cells are None and dotted
    columns (``Account.Name``) become nested dicts. Values stay strings (CSV has no types)."""
    for row in csv.DictReader(io.StringIO(text)):
        record: dict = {}
        for column, value in row.items():
            target = record
            *parents, leaf = column.split(".")
            for parent in parents:
                target = target.setdefault(parent, {})
            target[leaf] = value if value != "" else None
        yield record
