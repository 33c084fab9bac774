"""Apply writes through the hooks in the fewest calls, one outcome per record (R-GEN-3/5).

Salesforce writes go through sObject Collections of 200 (Bulk API 2.0 above the hook's
threshold); QuickBooks writes through ``/batch`` in 30s. Nothing here raises for one bad
record: every record gets an outcome row (``sfqb.outcomes``), and failures carry the service's
code and message so the WARNING line says what to fix.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence

from sfqb.outcomes import CREATED, FAILED, UPDATED, outcome, salesforce_record
from sfqb.soql import sf_datetime

log = logging.getLogger(__name__)


def now_stamp() -> str:
    """``Last_Sync_Date__c`` for a write about to happen (R-GEN-7), on the worker's clock: for
    the areas whose rules never compare it with a QuickBooks time. The customer area stamps on
    Intuit's clock instead (``QuickBooksHook.clock``, ``areas.customers.sync_stamps``): its
    conflict rule (R-ACC-5) compares the stamp with the customer's ``LastUpdatedTime``."""
    return sf_datetime(dt.datetime.now(dt.UTC))


def describe_issues(errors: Iterable) -> str:
    """Salesforce record errors as one line: ``CODE: message (fields)``."""
    parts = []
    for issue in errors:
        fields = f" ({', '.join(issue.fields)})" if getattr(issue, "fields", None) else ""
        parts.append(f"{issue.status_code}: {issue.message}{fields}")
    return "; ".join(parts) or "unknown error"


def sf_outcomes(results: Sequence, sobject: str) -> list[dict]:
    """Outcome rows from the Salesforce hook's CollectionResults (key, ok, id, created, errors)
    of writes to ``sobject``: created when Salesforce says it created the record, else updated."""
    record = salesforce_record(sobject)
    rows = []
    for result in results:
        if result.ok:
            action = CREATED if result.created is True else UPDATED
            rows.append(outcome(result.key, action, record=record, target_id=result.id))
        else:
            rows.append(
                outcome(result.key, FAILED, record=record, reason=describe_issues(result.errors))
            )
    return rows
