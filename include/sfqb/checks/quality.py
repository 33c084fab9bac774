"""Data-quality expectations on what the areas extract (great-expectations, R-GEN-5).

A failed expectation is not a reason to stop a run: it is a WARNING per offending record,
saying what a person should do, logged by the area's plan task and listed in the run summary.
Nothing is checked (and GX is not imported) when there is nothing to check.
"""

from __future__ import annotations

import logging

import pandas as pd

from sfqb.checks.gx import Check, failures
from sfqb.frames import present_values
from sfqb.outcomes import CHECK_KIND, warning, warning_line

log = logging.getLogger(__name__)

MAX_LISTED = 20


def _name_key(values: pd.Series) -> pd.Series:
    """A name as QuickBooks compares names for uniqueness: case and outer spaces ignored."""
    keys = [None if v is None else str(v).strip().casefold() for v in present_values(values)]
    kept = not keys or isinstance(values.dtype, pd.StringDtype)  # as ``map`` keeps a text dtype
    return pd.Series(keys, index=values.index, dtype=values.dtype if kept else None)


def _twins(rows: pd.DataFrame, name: str) -> list[str]:
    """Per failing row of a uniqueness check, the other records with the same name key."""
    out = []
    for row in rows.itertuples():
        others = rows[(rows["name_key"] == row.name_key) & (rows["Id"] != row.Id)].head(MAX_LISTED)
        out.append(", ".join(f"QB:{o.Id} ({getattr(o, name)!r})" for o in others.itertuples()))
    return out


# Each check explains a failure with one sentence per failing row, in the rows' order: the
# warning is that record's (R-GEN-5: it names the record), so it resolves when the record is
# read again and passes (R-OPS-3).
CUSTOMER_CHECKS = [
    Check(
        "ExpectColumnValuesToNotBeNull",
        {"column": "DisplayName"},
        lambda rows: (
            [
                "data quality: the QuickBooks customer has no display name: its Account gets no "
                "name; give it a display name in QuickBooks"
            ]
            * len(rows)
        ),
    ),
    Check(
        "ExpectColumnValuesToBeUnique",
        {"column": "name_key"},
        lambda rows: [
            "data quality: the QuickBooks customer's display name differs only in case or spaces "
            f"from {t}: their Accounts will be hard to tell apart; rename one in QuickBooks"
            for t in _twins(rows, "DisplayName")
        ],
    ),
]

ITEM_CHECKS = [
    Check(
        "ExpectColumnValuesToNotBeNull",
        {"column": "FullyQualifiedName"},
        lambda rows: (
            ["data quality: the QuickBooks item has no name: its Product gets no Product Code"]
            * len(rows)
        ),
    ),
    Check(
        "ExpectColumnValuesToBeUnique",
        {"column": "name_key"},
        lambda rows: [
            f"data quality: the QuickBooks item's name differs only in case or spaces from {t}: "
            "opportunity lines that find items by Product Code (R-ITM-5) may pick the wrong one; "
            "rename one in QuickBooks"
            for t in _twins(rows, "FullyQualifiedName")
        ],
    ),
    Check(
        "ExpectColumnValuesToBeBetween",
        {"column": "price", "min_value": 0},
        lambda rows: [
            f"data quality: the QuickBooks item {r.FullyQualifiedName!r} has a negative price "
            f"({r.price}): the standard price book gets it; check the item in QuickBooks"
            for r in rows.itertuples()
        ],
    ),
]


def _warn(area: str, frame: pd.DataFrame, checks: list[Check], suite: str) -> list[dict]:
    """One WARNING per failing record and check, keyed ``QB:<Id>``."""
    if frame.empty:
        return []
    found = []
    for failure in failures(frame, checks, suite=suite):
        for record_id, reason in zip(failure.rows["Id"], failure.messages(), strict=True):
            found.append(warning(area, f"QB:{record_id}", reason, CHECK_KIND))
    for entry in found:
        log.warning("%s", warning_line(entry))
    return found


def customer_warnings(area: str, customers: pd.DataFrame) -> list[dict]:
    """QuickBooks customers read this run: display names present and unique ignoring case."""
    frame = customers[["Id", "DisplayName"]].copy()
    frame["name_key"] = _name_key(frame["DisplayName"])
    return _warn(area, frame, CUSTOMER_CHECKS, "quickbooks_customers")


def item_warnings(area: str, items: pd.DataFrame) -> list[dict]:
    """QuickBooks items read this run: names present and unique ignoring case, prices >= 0."""
    frame = items[["Id", "FullyQualifiedName"]].copy()
    frame["name_key"] = _name_key(frame["FullyQualifiedName"])
    frame["price"] = pd.to_numeric(items["UnitPrice"], errors="coerce")
    return _warn(area, frame, ITEM_CHECKS, "quickbooks_items")
