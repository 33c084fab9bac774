"""The items task group: extract -> plan -> load -> commit (SPEC section 4).

Runs before customers (R-GEN-8): opportunities need the Products it creates.

- ``extract_items`` reads the items (all active ones on the first run, then the changed ones)
  and the Products and standard price entries they meet;
- ``plan_items_task`` applies the pure rules of ``sfqb.areas.items``;
- ``load_items`` upserts Products, then writes standard PricebookEntries; one outcome per
  record, failures as WARNINGs;
- ``commit_items`` saves the items to retry and moves the watermark, only after the load.
"""

from __future__ import annotations

from airflow.sdk import task, task_group

AREA = "items"


@task(pool="sfqb_quickbooks")
def extract_items(run: dict) -> dict:
    """Read the items to sync and what Salesforce holds for them."""
    from sfqb.steps.items import extract

    return extract(run)


@task
def plan_items_task(run: dict, extracted: dict) -> dict:
    """Products and standard prices to write, and the items skipped."""
    from sfqb.steps.items import plan as make_plan

    return make_plan(run, extracted)


@task
def load_items(run: dict, plan: dict) -> dict:
    """Write the plan; returns the area report (counts and warnings)."""
    from sfqb.steps.items import load

    return load(run, plan)


@task
def commit_items(run: dict, extracted: dict, report: dict) -> dict:
    """Save the items to retry, then advance the watermark."""
    from sfqb.steps.items import commit

    return commit(run, extracted, report)


@task_group(group_id=AREA)
def items_group(run):
    """QuickBooks Items -> Salesforce Products and Standard Price Book entries."""
    extracted = extract_items(run)
    plan = plan_items_task(run, extracted)
    report = load_items(run, plan)
    commit_items(run, extracted, report)
    return report
