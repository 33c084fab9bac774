"""The customers task group (docs/rules.md section 2): Customers <-> Accounts and billing Contacts,
both ways (first-run matching of accounts runs before it, in the preflight group).

Steps in ``sfqb.steps.customers``: extract reads both systems for this run's windows; plan
applies ``sfqb.areas.customers``; load writes QuickBooks first, then Salesforce, one outcome per
record (it fails only for run-level trouble: auth, quota, retries exhausted); commit moves both
watermarks after a successful load.
"""

from __future__ import annotations

from airflow.sdk import task_group

from sfqb.tasks.area import area_chain

AREA = "customers"


@task_group(group_id=AREA)
def customers_group(after=None):
    """Customers <-> Accounts and billing Contacts."""
    _, report = area_chain(AREA, after=after)
    return report
