"""The opportunities task group (docs/rules.md section 3): won Opportunities -> QuickBooks Invoices
and Sales Receipts. Runs after customers (R-GEN-8): an opportunity needs its Account synced.

Steps in ``sfqb.steps.opportunities``: extract reads the won opportunities changed since the
watermark (plus ticked Sync Me and last run's retries) with their products and primary contacts,
and the QuickBooks items, terms and classes they name; plan applies
``sfqb.areas.opportunities``; load creates the transactions (adopting any an interrupted attempt
made) and links them on the Opportunity and its products; commit saves retries and moves the
watermark.
"""

from __future__ import annotations

from airflow.sdk import task_group

from sfqb.tasks.area import area_chain

AREA = "opportunities"


@task_group(group_id=AREA)
def opportunities_group(after=None):
    """Won Opportunities -> QuickBooks Invoices and Sales Receipts."""
    _, report = area_chain(AREA, after=after)
    return report
