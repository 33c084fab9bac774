"""Data-quality expectations on what the areas extract (great-expectations, SPEC R-GEN-5).

A failed expectation is not a reason to stop a run: it is a WARNING that names the offending
records and what a person should do, logged by the area's plan task and listed in the run
summary. Nothing is checked (and GX is not imported) when there is nothing to check.
"""

from __future__ import annotations

import logging

import pandas as pd

from sfqb.checks.gx import Check, failures
from sfqb.extract.frames import missing

log = logging.getLogger(__name__)

MAX_LISTED = 20


def _listed(rows: pd.DataFrame, label) -> str:
    shown = [label(r) for r in rows.head(MAX_LISTED).itertuples()]
    more = len(rows) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _name_key(values: pd.Series) -> pd.Series:
    """A name as QuickBooks compares names for uniqueness: case and outer spaces ignored."""
    return values.map(lambda v: None if missing(v) else str(v).strip().casefold())


def _customer(r) -> str:
    return f"QB:{r.Id} ({r.DisplayName!r})" if isinstance(r.DisplayName, str) else f"QB:{r.Id}"


def _item(r) -> str:
    return f"QB:{r.Id} ({r.FullyQualifiedName!r})" if isinstance(r.FullyQualifiedName, str) else f"QB:{r.Id}"


CUSTOMER_CHECKS = [
    Check("ExpectColumnValuesToNotBeNull", {"column": "DisplayName"}, lambda rows: [
        f"QuickBooks customers without a display name: {_listed(rows, _customer)}: their Accounts get no "
        "name; give each customer a display name in QuickBooks"]),
    Check("ExpectColumnValuesToBeUnique", {"column": "name_key"}, lambda rows: [
        f"QuickBooks customers whose display names differ only in case or spaces: {_listed(rows, _customer)}: "
        "their Accounts will be hard to tell apart; rename one in QuickBooks"]),
]

ITEM_CHECKS = [
    Check("ExpectColumnValuesToNotBeNull", {"column": "FullyQualifiedName"}, lambda rows: [
        f"QuickBooks items without a name: {_listed(rows, _item)}: their Products get no Product Code"]),
    Check("ExpectColumnValuesToBeUnique", {"column": "name_key"}, lambda rows: [
        f"QuickBooks items whose names differ only in case or spaces: {_listed(rows, _item)}: opportunity "
        "lines that find items by Product Code (R-ITM-5) may pick the wrong one; rename one in QuickBooks"]),
    Check("ExpectColumnValuesToBeBetween", {"column": "price", "min_value": 0}, lambda rows: [
        f"QuickBooks items with a negative price: {_listed(rows, _item)}: the standard price book gets the "
        "negative price; check the items in QuickBooks"]),
]


def _warn(area: str, frame: pd.DataFrame, checks: list[Check], suite: str) -> list[str]:
    if frame.empty:
        return []
    lines = [f"{area}: data quality: {m}" for f in failures(frame, checks, suite=suite) for m in f.messages()]
    for line in lines:
        log.warning("%s", line)
    return lines


def customer_warnings(area: str, customers: pd.DataFrame) -> list[str]:
    """QuickBooks customers read this run: display names present and unique ignoring case."""
    frame = customers[["Id", "DisplayName"]].copy()
    frame["name_key"] = _name_key(frame["DisplayName"])
    return _warn(area, frame, CUSTOMER_CHECKS, "quickbooks_customers")


def item_warnings(area: str, items: pd.DataFrame) -> list[str]:
    """QuickBooks items read this run: names present and unique ignoring case, prices >= 0."""
    frame = items[["Id", "FullyQualifiedName"]].copy()
    frame["name_key"] = _name_key(frame["FullyQualifiedName"])
    frame["price"] = pd.to_numeric(items["UnitPrice"], errors="coerce")
    return _warn(area, frame, ITEM_CHECKS, "quickbooks_items")
