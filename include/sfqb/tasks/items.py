"""The items task group (docs/rules.md section 4): QuickBooks Items -> Salesforce Products and the
standard price book. Runs before customers (R-GEN-8): opportunities need its Products.

Steps in ``sfqb.steps.items``: extract reads the items (all active ones on the first run, then
the changed ones) and the Products and standard price entries they meet; plan applies
``sfqb.areas.items``; load upserts Products, then writes standard PricebookEntries; commit saves
the items to retry and moves the watermark.
"""

from __future__ import annotations

from airflow.sdk import task_group

from sfqb.tasks.area import area_chain

AREA = "items"


@task_group(group_id=AREA)
def items_group(after=None):
    """QuickBooks Items -> Salesforce Products and Standard Price Book entries."""
    _, report = area_chain(AREA, after=after)
    return report
