"""The tasks that open and close every sfqb run."""

from __future__ import annotations

import logging

from airflow.sdk import task

log = logging.getLogger(__name__)


@task
def begin_run(**context) -> dict:
    """Fix the run's bounds once and check its configuration before anything syncs.

    - ``upper_bound``: the end of every extract window of this run (ARCHITECTURE "The flow of
      one area"): the run's ``run_after``, never "now" inside a later task.
    - preferences (SPEC section 8) from the Variable ``sfqb.preferences``: a bad key or value
      fails the run here, naming it, without retries (a retry cannot fix configuration).
    - the install date (R-GEN-6): the ``sync_start`` preference, else the first run's start.

    Returns:
        ``{"run_id", "run_type", "upper_bound", "data_interval_start", "data_interval_end",
        "backfill", "install_date", "preferences"}`` (JSON, ISO instants).
    """
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.preferences import VARIABLE_KEY, PreferencesError, parse_preferences
    from sfqb.state import SyncState, TaskVariables
    from sfqb.steps.common import run_context

    dag_run = context["dag_run"]
    try:
        prefs = parse_preferences(Variable.get(VARIABLE_KEY, default=None))
    except PreferencesError as exc:
        raise AirflowFailException(str(exc)) from exc
    upper_bound = dag_run.run_after
    install_date = SyncState(TaskVariables()).ensure_install_date(
        configured=prefs.sync_start, first_run_start=upper_bound
    )
    interval_start = context.get("data_interval_start")
    interval_end = context.get("data_interval_end")
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    run = run_context(run_id=dag_run.run_id, upper_bound=upper_bound, install_date=install_date,
                      preferences_json=prefs.as_json(), run_type=run_type,
                      data_interval=(interval_start, interval_end))
    log.info(
        "sfqb run %s (%s): upper bound %s, data interval [%s, %s), install date %s",
        run["run_id"],
        run_type,
        run["upper_bound"],
        run["data_interval_start"],
        run["data_interval_end"],
        run["install_date"],
    )
    non_default = {k: v for k, v in prefs.as_json().items() if v != getattr(type(prefs)(), k, v)}
    log.info("preferences: %s", non_default or "all defaults")
    return run


@task
def summarize_run(run: dict, area_reports: list[dict] | None = None) -> dict:
    """Gather what every area of the run did into one summary (SPEC R-OPS-2).

    Args:
        run: what ``begin_run`` returned.
        area_reports: one report per area that ran.
    Returns:
        ``{"run_id", "upper_bound", "areas": [...]}``, also logged as a table; every warning is
        logged at WARNING level.
    """
    from sfqb.report import format_summary

    reports = [r for r in (area_reports or []) if r]
    summary = {"run_id": run["run_id"], "upper_bound": run["upper_bound"], "areas": reports}
    for line in format_summary(summary).splitlines():
        log.info("%s", line)
    for report in reports:
        for warning in report.get("warnings", []):
            log.warning("%s", warning)
    return summary
