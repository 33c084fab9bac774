"""The tasks that open and close every sfqb run."""

from __future__ import annotations

import logging

from airflow.sdk import task

from sfqb.run_params import RunContext
from sfqb.tasks.context import with_run

log = logging.getLogger(__name__)


@task(multiple_outputs=False)
def begin_run(**context) -> RunContext:
    """Fix the run's bounds once and check its configuration before anything syncs.

    - ``upper_bound``: the end of every extract window of this run (docs/architecture.md
      section 2): the run's ``run_after``, never "now" inside a later task.
    - preferences (docs/rules.md section 8) from the Variable ``sfqb.preferences``: a bad key or
      value fails the run here, naming it, without retries (a retry cannot fix configuration).
    - the install date (R-GEN-6): the ``sync_start`` preference, else the first run's start.
    - the run's params (R-OPS-1, ``sfqb.run_params``): the areas it runs and a full resync of
      one area; the migration's (``sfqb.areas.migration.resolve_settings``); a bad param fails
      the run here, in one sentence naming it and what it may be.

    Returns:
        ``{"run_id", "run_type", "upper_bound", "data_interval_start", "data_interval_end",
        "backfill", "install_date", "preferences"}`` (JSON, ISO instants), plus ``"areas"`` and
        ``"resync"`` in a DAG with the run params.
    """
    from airflow.sdk import Variable
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.preferences import VARIABLE_KEY, PreferencesError, parse_preferences
    from sfqb.run_params import PARAM_AREAS, RunParamsError, describe, parse_run_params
    from sfqb.state import SyncState, TaskVariables
    from sfqb.steps.common import run_context

    dag_run = context["dag_run"]
    try:
        prefs = parse_preferences(Variable.get(VARIABLE_KEY, default=None))
    except PreferencesError as exc:
        raise AirflowFailException(str(exc)) from exc
    upper_bound = dag_run.run_after
    run_type = str(getattr(dag_run.run_type, "value", dag_run.run_type))
    params = context.get("params") or {}
    try:
        # Only a DAG that declares the run params (sfqb_sync) can be narrowed.
        narrowed = (
            parse_run_params(params, upper_bound=upper_bound, run_type=run_type)
            if PARAM_AREAS in params
            else {}
        )
    except RunParamsError as exc:
        raise AirflowFailException(str(exc)) from exc
    if "migration_date" in params:  # the migration's form: checked before the lease is taken
        from sfqb.areas.migration import MigrationConfigError, resolve_settings

        try:
            resolve_settings(prefs, dict(params))
        except MigrationConfigError as exc:
            raise AirflowFailException(str(exc)) from exc
    install_date = SyncState(TaskVariables()).ensure_install_date(
        configured=prefs.sync_start, first_run_start=upper_bound
    )
    interval_start = context.get("data_interval_start")
    interval_end = context.get("data_interval_end")
    run = run_context(
        run_id=dag_run.run_id,
        upper_bound=upper_bound,
        install_date=install_date,
        preferences_json=prefs.as_json(),
        run_type=run_type,
        data_interval=(interval_start, interval_end),
    )
    if narrowed:
        run["areas"], run["resync"] = narrowed["areas"], narrowed["resync"]
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
    if narrowed:
        log.info("this run: %s", describe(run))
    return run


# The summary is logged as a table and its warnings one line each: not echoed a second time.
def _web_connector(run: RunContext) -> dict:
    """The Web Connector's last poll and its sessions' errors during the run (R-QBD-8); a
    queue that cannot be read is said so, never a failed summary."""
    import datetime as dt

    from sfqb.hooks.desktop.waiting import web_connector_status
    from sfqb.qbwc import JobQueue

    try:
        queue = JobQueue.open()
        try:
            return web_connector_status(queue, dt.datetime.fromisoformat(run["upper_bound"]))
        finally:
            queue.close()
    except Exception as exc:  # noqa: BLE001 - the summary of a finished sync must not fail
        log.warning("the Web Connector's sessions cannot be read: %s", exc)
        return {"unreadable": str(exc)}


@task(trigger_rule="none_failed", multiple_outputs=False, show_return_value_in_logs=False)
@with_run
def summarize_run(run: RunContext, /, area_reports: list[dict] | None = None, **context) -> dict:
    """Gather what every area of the run did into one summary (R-OPS-2), and send the
    alert for its new warnings, with the daily digest of standing ones when it is due (R-OPS-3,
    ``sfqb.notify``).

    It runs when no area failed (areas a manual run did not select are skipped, not failed).

    Args:
        run: what ``begin_run`` returned.
        area_reports: one report per area that ran (None for a skipped area).
    Returns:
        ``{"run_id", "upper_bound", "run_type", "backfill", "data_interval_start",
        "data_interval_end", "install_date", "scope", "warning_count", "warning_counts",
        "areas": [...]}``: the time the run covered (its upper bound, a backfill's data interval)
        and the install date, so the sync log can say what a run read (a backfill before the
        install date reads nothing, R-GEN-6); per area its counts per record type and its
        warnings with their state (new, standing, resolved); on QuickBooks Desktop also
        ``"web_connector"``: its last poll and the errors of its sessions during the run
        (R-QBD-8); also logged as text (the XCom the sync log page shows). New warnings are
        logged at WARNING level, standing and resolved ones at INFO (each area's load logged
        them when it found them).
    """
    from sfqb.notify import RunAlert
    from sfqb.outcomes import warning_line
    from sfqb.preferences import parse_preferences
    from sfqb.report import format_summary
    from sfqb.run_params import describe
    from sfqb.state import SyncState, TaskVariables
    from sfqb.warning_state import NEW, STANDING, totals

    reports = [r for r in (area_reports or []) if r]
    counts = totals(reports)
    summary = {
        "run_id": run["run_id"],
        "upper_bound": run["upper_bound"],
        "run_type": run.get("run_type"),
        "backfill": bool(run.get("backfill")),
        "data_interval_start": run.get("data_interval_start"),
        "data_interval_end": run.get("data_interval_end"),
        "install_date": run.get("install_date"),
        "scope": describe(run) if "areas" in run else None,
        "warning_count": counts[NEW] + counts[STANDING],
        "warning_counts": counts,
        "areas": reports,
    }
    if parse_preferences(run["preferences"]).quickbooks_edition == "desktop":
        summary["web_connector"] = _web_connector(run)
    for line in format_summary(summary, with_warnings=False).splitlines():
        log.info("%s", line)
    log.info("warnings: %s", ", ".join(f"{n} {s}" for s, n in counts.items()))
    for report in reports:
        for entry in report.get("warnings", []):
            level = logging.WARNING if entry.get("state") == NEW else logging.INFO
            log.log(level, "%s (%s)", warning_line(entry), entry.get("state"))
    try:
        RunAlert(
            summary=summary,
            preferences=parse_preferences(run["preferences"]),
            state=SyncState(TaskVariables()),
        )(context)
    except Exception:  # noqa: BLE001 - a mail server's trouble must not fail the finished sync
        log.exception("the alert for this run could not be sent")
    return summary
