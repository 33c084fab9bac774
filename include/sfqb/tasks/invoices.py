"""The invoices task group (docs/rules.md section 5, R-INV-1..7): QuickBooks Invoices and payments
-> Salesforce Invoice__c, Invoice_Item__c and Invoice_Opportunity_Link__c. Last in a run (R-GEN-8):
it links to the Opportunities the earlier areas wrote.

Steps in ``sfqb.steps.invoices``: extract reads the Invoice and Payment changes since the
``quickbooks.Invoice@invoices`` / ``quickbooks.Payment@invoices`` watermarks (Change Data
Capture, deletions included), re-reads the invoices of changed payments and those left to retry,
and those waiting for an Account whose customer has one now, then the Salesforce side
(Invoice__c, items, links, Accounts, Products, Opportunities) and, for a customer without an
Account, its QuickBooks ancestors; plan applies ``sfqb.areas.invoices``; load upserts placeholder
Opportunities, invoices, items and links and deletes removed items; commit saves the invoices
waiting for an Account and those to retry, and moves the watermarks.
"""

from __future__ import annotations

from airflow.sdk import task_group

from sfqb.tasks.area import area_chain

AREA = "invoices"


@task_group(group_id=AREA)
def invoices_group(after=None):
    """QuickBooks Invoices and payments -> Salesforce Invoices, items and opportunity links."""
    _, report = area_chain(AREA, after=after)
    return report
