"""The tasks that open and close every sfqb run."""

from __future__ import annotations

import logging

from airflow.sdk import task

log = logging.getLogger(__name__)


@task
def begin_run(**context) -> dict:
    """Fix the run's time bounds once, so every later task of the run uses the same ones.

    Returns:
        ``{"run_id", "run_type", "upper_bound", "data_interval_start", "data_interval_end"}`` as
        ISO strings. ``upper_bound`` is the end of every extract window of this run (ARCHITECTURE
        "The flow of one area"): the run's ``run_after``, never "now" inside a later task.
    """
    dag_run = context["dag_run"]
    interval_start = context.get("data_interval_start")
    interval_end = context.get("data_interval_end")
    run = {
        "run_id": dag_run.run_id,
        "run_type": str(getattr(dag_run.run_type, "value", dag_run.run_type)),
        "upper_bound": dag_run.run_after.isoformat(),
        "data_interval_start": interval_start.isoformat() if interval_start else None,
        "data_interval_end": interval_end.isoformat() if interval_end else None,
    }
    log.info(
        "sfqb run %s (%s): upper bound %s, data interval [%s, %s)",
        run["run_id"],
        run["run_type"],
        run["upper_bound"],
        run["data_interval_start"],
        run["data_interval_end"],
    )
    return run


@task
def summarize_run(run: dict, area_reports: list[dict] | None = None) -> dict:
    """Gather what every area of the run did into one summary (SPEC R-OPS-2).

    Args:
        run: what ``begin_run`` returned.
        area_reports: one report per area that ran (none until the sync areas are installed).
    Returns:
        ``{"run_id", "areas": [...]}``, logged as a table.
    """
    reports = list(area_reports or [])
    if not reports:
        log.info(
            "sfqb run %s: no sync areas are installed yet; nothing was read or written.",
            run["run_id"],
        )
    return {"run_id": run["run_id"], "upper_bound": run["upper_bound"], "areas": reports}
