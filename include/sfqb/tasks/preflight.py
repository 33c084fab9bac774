"""The preflight task group (docs/rules.md section 1): first in every ``sfqb_sync`` run (R-GEN-8).

``validate_org`` runs the great-expectations validations of the org every run; when any fails
the run fails at once with one message listing every problem and its fix, and no area runs
(R-PRE-5). Beside it, ``await_web_connector`` waits, deferred, for the Web Connector's first
answer on QuickBooks Desktop (``sfqb.tasks.desktop_wait``; at once on Online).
``match_existing_records`` then links records that exist on both sides, once (R-PRE-1/2/6).
Steps in ``sfqb.steps.preflight``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import task, task_group

from sfqb.run_params import RunContext
from sfqb.tasks.lease import leased

if TYPE_CHECKING:  # sfqb.outcomes imports pandas: a DAG file's parse never does
    from sfqb.outcomes import AreaReport

AREA = "preflight"


@task(pool="sfqb_salesforce", multiple_outputs=False)
@leased
def validate_org(run: RunContext) -> dict:
    """Package fields on page layouts, Standard Price Book active, mapped fields valid."""
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.steps.preflight import PreflightError, validate

    try:
        return validate(run)
    except PreflightError as exc:
        # Not transient: retrying cannot fix the org, so the run fails now, with the list.
        raise AirflowFailException(str(exc)) from None


@task(pool="sfqb_quickbooks", multiple_outputs=False, show_return_value_in_logs=False)
@leased
def match_existing_records(run: RunContext) -> AreaReport:
    """First run only: link Accounts to Customers and Products to Items (exact match); later
    runs look whether its warnings (ambiguous names) were settled (R-OPS-3)."""
    from sfqb.steps.common import track_warnings
    from sfqb.steps.preflight import match

    return track_warnings(run, match(run))


@task_group(group_id=AREA)
def preflight_group(after=None):
    """Validate the org, then first-run matching; returns the matching report. ``after``: what
    must finish first (the run lease: ``sfqb.tasks.lease``)."""
    from sfqb.tasks.desktop_wait import await_web_connector

    validated, awaited = validate_org(), await_web_connector()
    if after is not None:
        after >> [validated, awaited]
    matched = match_existing_records()
    [validated, awaited] >> matched
    return matched
