"""The customers task group: extract -> plan -> load -> commit (SPEC section 2).

- ``extract_customers`` reads both systems for this run's windows (XCom: frames + windows);
- ``plan_customers_task`` applies the pure rules of ``sfqb.areas.customers``;
- ``load_customers`` writes the plan (QuickBooks first, then Salesforce), one outcome per
  record, failures as WARNINGs; it fails the task only for run-level trouble (auth, quota,
  retries exhausted), never for one record;
- ``commit_customers`` moves both watermarks to the window end, only after a successful load.
"""

from __future__ import annotations

import logging

from airflow.sdk import task, task_group

log = logging.getLogger(__name__)

AREA = "customers"


@task(pool="sfqb_quickbooks")
def match_customers(run: dict) -> dict:
    """First run only: link Accounts and Customers that share an exact name (R-PRE-1)."""
    from sfqb.steps.customers import first_run_match

    return first_run_match(run)


@task(pool="sfqb_quickbooks")
def extract_customers(run: dict) -> dict:
    """Read what changed in both systems since the last committed watermarks."""
    from sfqb.steps.customers import extract

    return extract(run)


@task
def plan_customers_task(run: dict, extracted: dict) -> dict:
    """Both directions of the customer rules, as frames of writes and skips."""
    from sfqb.steps.customers import plan as make_plan

    return make_plan(run, extracted)


@task(pool="sfqb_quickbooks")
def load_customers(run: dict, plan: dict) -> dict:
    """Write the plan; returns the area report (counts and warnings)."""
    from sfqb.steps.customers import load

    return load(run, plan)


@task
def commit_customers(run: dict, extracted: dict, report: dict) -> dict:
    """Save the records to retry, then advance the watermarks (incremental runs only)."""
    from sfqb.steps.customers import commit

    return commit(run, extracted, report)


@task_group(group_id=AREA)
def customers_group(run):
    """Customers <-> Accounts and billing Contacts."""
    matched = match_customers(run)
    extracted = extract_customers(run)
    matched >> extracted
    plan = plan_customers_task(run, extracted)
    report = load_customers(run, plan)
    commit_customers(run, extracted, report)
    return [matched, report]
