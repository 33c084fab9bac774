"""The task chain every sync area shares: extract -> plan -> load -> commit
(docs/architecture.md section 1).

Each task calls the same-named function of the area's steps (``sfqb.steps.registry``):
``extract(run)``, ``plan(run, extracted)``, ``load(run, plan)`` and
``commit(run, extracted, report)``. The commit runs only after a successful load, so a
watermark never moves past unloaded data (R-GEN-2). The load task gives the report's warnings
their state (new, standing, resolved: ``sfqb.steps.common.track_warnings``).

A manual run can narrow itself (R-OPS-1, ``sfqb.run_params``): the extract of an area the run
does not select ends ``skipped``, and so do the area's other tasks; the next area's extract
still runs (``none_failed``: it waits for the earlier areas, but a skipped one is no failure).
Each task sees ``area_run(run, area)``: only the area being resynced gets ``resync_from``.

Every task runs holding the run lease (R-GEN-10, ``sfqb.tasks.lease.leased``): it fails without
writing when the run lost it, keeps it alive while it runs, and each write call checks it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import task

from sfqb.run_params import RunContext, area_run, area_selected
from sfqb.steps.registry import area_steps
from sfqb.tasks.lease import leased

if TYPE_CHECKING:  # sfqb.outcomes imports pandas: a DAG file's parse never does
    from sfqb.outcomes import AreaReport


def area_chain(area: str, *, after=None, pool: str = "sfqb_quickbooks"):
    """Add the area's four tasks (``extract_<area>``, ``plan_<area>``, ``load_<area>``,
    ``commit_<area>``) to the current task group; returns (extract, load report).

    ``after``: what must finish before the extract starts (the earlier areas of R-GEN-8: a
    later area works with what they wrote)."""

    # Extracts and plans hand on frames, loads their report with every warning: no result is
    # echoed into the task log (the steps log what they read, planned and found, each warning
    # once), and each goes on as one XCom, not one per key.
    @task(
        task_id=f"extract_{area}",
        pool=pool,
        trigger_rule="none_failed",
        multiple_outputs=False,
        show_return_value_in_logs=False,
    )
    @leased
    def extract(run: RunContext) -> dict:
        """Read what changed since the stream's committed watermark (and last run's failures)."""
        if not area_selected(run, area):
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException(f"{area} is not among this run's areas (params)")
        return area_steps(area).extract(area_run(run, area))

    @task(task_id=f"plan_{area}", multiple_outputs=False, show_return_value_in_logs=False)
    @leased
    def plan(run: RunContext, extracted: dict) -> dict:
        """Apply the area's pure rules: frames of writes and of skips with reasons."""
        return area_steps(area).plan(area_run(run, area), extracted)

    @task(
        task_id=f"load_{area}", pool=pool, multiple_outputs=False, show_return_value_in_logs=False
    )
    @leased
    def load(run: RunContext, planned: dict) -> AreaReport:
        """Write the plan; one outcome per record; returns the area report, its warnings told
        apart as new, standing and resolved (R-OPS-3)."""
        from sfqb.steps.common import track_warnings

        this_run = area_run(run, area)
        return track_warnings(this_run, area_steps(area).load(this_run, planned))

    @task(task_id=f"commit_{area}", multiple_outputs=False)
    @leased
    def commit(run: RunContext, extracted: dict, report: AreaReport) -> dict:
        """Save the records to retry, then advance the watermarks (incremental runs only)."""
        return area_steps(area).commit(area_run(run, area), extracted, report)

    # Each task reads the run from begin_run's XCom (``leased``): no edge from begin_run each.
    extracted = extract()
    if after is not None:
        after >> extracted
    report = load(plan(extracted))  # type: ignore[arg-type]  # TaskFlow: an XComArg for a typed param
    commit(extracted, report)  # type: ignore[arg-type]  # likewise
    return extracted, report
