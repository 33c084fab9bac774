"""What the run summary counts and lists, without pandas: actions, record types, warnings
(R-GEN-11, R-OPS-2, R-OPS-3). DAG files import the alert notifier, which reads these: nothing
here may import a heavy library (tests/dags checks it). ``sfqb.outcomes`` builds them from
frames.

A warning is a dict ``{"area", "key", "reason", "kind"}`` (``warning``): ``key`` names the record
(``""`` for an area-wide warning) and ``kind`` says where it comes from: ``failed`` (a write
failed), ``skipped`` (not written: a person must act), ``note`` (written, with something to
know), ``check`` (a data-quality or reconciliation finding). ``sfqb.warning_state`` gives each an
identity and tells new, standing and resolved ones apart (R-OPS-3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CREATED, UPDATED, RECOVERED, DELETED, SKIPPED, FAILED = (
    "created",
    "updated",
    "recovered",
    "deleted",
    "skipped",
    "failed",
)
# The columns of a record type's counts, in the order the summary shows them. RECOVERED: a
# record an interrupted earlier attempt created and this run adopted (R-GEN-11).
ACTIONS = (CREATED, UPDATED, RECOVERED, DELETED, SKIPPED, FAILED)
OUTCOME_COLUMNS = ["key", "action", "target_id", "reason", "record"]
SKIP_COLUMNS = ["key", "reason", "level", "record"]
INFO, WARNING = "INFO", "WARNING"
FAILED_KIND, SKIPPED_KIND, NOTE_KIND, CHECK_KIND = "failed", "skipped", "note", "check"
# Warnings listed in a summary per area and state; the rest are counted (the task log has them all).
MAX_LISTED_WARNINGS = 200

# Record types (R-GEN-11): the system, then the record as its users know it.
SF_ACCOUNT = "Salesforce Account"
SF_CONTACT = "Salesforce Contact"
SF_PRODUCT = "Salesforce Product"
SF_PRICE = "Salesforce Price Book Entry"
SF_OPPORTUNITY = "Salesforce Opportunity"
SF_OPPORTUNITY_PRODUCT = "Salesforce Opportunity Product"
SF_INVOICE = "Salesforce Invoice"
SF_INVOICE_ITEM = "Salesforce Invoice Item"
SF_INVOICE_LINK = "Salesforce Invoice-Opportunity Link"
QB_CUSTOMER = "QuickBooks Customer"
QB_TRANSACTION = "QuickBooks transaction"  # an opportunity's, before its type is known
SALESFORCE_RECORDS = {
    "Account": SF_ACCOUNT,
    "Contact": SF_CONTACT,
    "Product2": SF_PRODUCT,
    "PricebookEntry": SF_PRICE,
    "Opportunity": SF_OPPORTUNITY,
    "OpportunityLineItem": SF_OPPORTUNITY_PRODUCT,
    "Invoice__c": SF_INVOICE,
    "Invoice_Item__c": SF_INVOICE_ITEM,
    "Invoice_Opportunity_Link__c": SF_INVOICE_LINK,
}
QUICKBOOKS_RECORDS = {
    "Customer": QB_CUSTOMER,
    "Invoice": "QuickBooks Invoice",
    "SalesReceipt": "QuickBooks Sales Receipt",
    "SalesOrder": "QuickBooks Sales Order",
}


def salesforce_record(sobject: str) -> str:
    """The record type of a Salesforce object's writes (``Invoice__c`` -> Salesforce Invoice)."""
    return SALESFORCE_RECORDS.get(sobject, f"Salesforce {sobject}")


def quickbooks_record(entity: str) -> str:
    """The record type of a QuickBooks entity's writes (``SalesReceipt`` -> QuickBooks Sales
    Receipt)."""
    return QUICKBOOKS_RECORDS.get(entity, f"QuickBooks {entity}")


def warning(area: str, key, reason: str, kind: str) -> dict:
    """One warning (see the module docstring); ``key`` "" for an area-wide one."""
    return {
        "area": area,
        "key": "" if key is None else str(key),
        "reason": str(reason),
        "kind": kind,
    }


def warning_line(entry: dict) -> str:
    """A warning as one line: ``area: key: reason`` (``area: reason`` without a key)."""
    key = entry.get("key")
    return (
        f"{entry['area']}: {key}: {entry['reason']}"
        if key
        else f"{entry['area']}: {entry['reason']}"
    )


def count(report: Mapping[str, Any], action: str, record: str | None = None) -> int:
    """How many records of ``record`` (of every type when None: for tests and benchmarks, never
    for a summary a person reads) had ``action`` in an area report."""
    return sum(
        c.get(action, 0) for r, c in (report.get("records") or {}).items() if record in (None, r)
    )


def merge_counts(
    into: dict[str, dict[str, int]], more: dict[str, dict[str, int]]
) -> dict[str, dict[str, int]]:
    """Add ``more``'s counts per record type to ``into`` (in place; returns it)."""
    for record, counts in more.items():
        mine = into.setdefault(record, dict.fromkeys(ACTIONS, 0))
        for action, n in counts.items():
            mine[action] = mine.get(action, 0) + n
    return into
