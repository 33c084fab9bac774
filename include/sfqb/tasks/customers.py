"""The customers task group (SPEC section 2): first-run matching, then Customers <-> Accounts
and billing Contacts, both ways.

Steps in ``sfqb.steps.customers``: extract reads both systems for this run's windows; plan
applies ``sfqb.areas.customers``; load writes QuickBooks first, then Salesforce, one outcome per
record (it fails only for run-level trouble: auth, quota, retries exhausted); commit moves both
watermarks after a successful load.
"""

from __future__ import annotations

from airflow.sdk import task, task_group

from sfqb.tasks.area import area_chain

AREA = "customers"


@task(pool="sfqb_quickbooks")
def match_customers(run: dict) -> dict:
    """First run only: link Accounts and Customers that share an exact name (R-PRE-1)."""
    from sfqb.steps.customers import first_run_match

    return first_run_match(run)


@task_group(group_id=AREA)
def customers_group(run):
    """Customers <-> Accounts and billing Contacts."""
    matched = match_customers(run)
    extracted, report = area_chain(AREA, run)
    matched >> extracted
    return [matched, report]
