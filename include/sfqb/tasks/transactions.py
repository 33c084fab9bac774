"""The transactions task group (R-OPP-7): QuickBooks Invoice and Sales Receipt changes back
to their linked Salesforce Opportunities. Runs after the opportunities group and before the
invoices (R-GEN-8).

Steps in ``sfqb.steps.transactions``: extract reads the transactions changed since the
``quickbooks.Invoice@opportunities`` / ``quickbooks.SalesReceipt@opportunities`` watermarks (and
those left to retry), the Opportunities linked to them, their Opportunity Products and the
Products and standard prices of the items on their lines; plan applies
``sfqb.areas.transactions``; load deletes, updates and creates Opportunity Products and updates
the Opportunities; commit saves the transactions to retry and moves the watermarks.
"""

from __future__ import annotations

from airflow.sdk import task_group

from sfqb.tasks.area import area_chain

AREA = "transactions"


@task_group(group_id=AREA)
def transactions_group(after=None):
    """QuickBooks Invoices and Sales Receipts -> their linked Opportunities and products."""
    _, report = area_chain(AREA, after=after)
    return report
