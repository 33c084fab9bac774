"""What a failed task stops, on the DAGs as parsed: a failed validation stops every write of
the run (R-PRE-5) and a failed load stops its area's watermark commit (R-GEN-2).

Fast checks of the wiring itself: each parsed task's trigger rule is applied to its upstream
tasks' states, as the scheduler does for the two rules sfqb uses (``all_success``: runs only
when every upstream task succeeded; ``none_failed``: runs unless an upstream task failed). A
task with any other rule counts as running, so a rule that runs after a failure fails here."""

from __future__ import annotations

import pytest

from tests.conftest import load_dag

pytestmark = pytest.mark.unit

RUNS, FAILED, UPSTREAM_FAILED = "runs", "failed", "upstream_failed"


def after_failure(dag, failed_task_id: str) -> dict[str, str]:
    """Each task's fate when ``failed_task_id`` fails and every task that runs succeeds."""
    fate: dict[str, str] = {}
    for task in dag.topological_sort():
        if task.task_id == failed_task_id:
            fate[task.task_id] = FAILED
            continue
        upstream = [fate[t] for t in task.upstream_task_ids]
        broken = any(state in (FAILED, UPSTREAM_FAILED) for state in upstream)
        if getattr(task.trigger_rule, "value", task.trigger_rule) in ("all_success", "none_failed"):
            fate[task.task_id] = UPSTREAM_FAILED if broken else RUNS
        else:
            fate[task.task_id] = RUNS  # any other rule may run after a failure
    return fate


def writes(task_id: str) -> bool:
    """Tasks that write to Salesforce or QuickBooks, or move the sync state forward."""
    name = task_id.rsplit(".", 1)[-1]
    return name.startswith(
        ("load_", "commit_", "match_existing_records", "migrate_", "start_migration")
    )


def test_given_a_failed_validation_when_the_run_goes_on_then_no_task_that_writes_runs():
    """R-PRE-5: validate_org failing stops the run before any write: no matching, load,
    commit or migration start runs (the summary still may, it writes nothing)."""
    dag = load_dag("sfqb_sync")
    fate = after_failure(dag, "preflight.validate_org")
    writers = [t for t in fate if writes(t)]
    assert len(writers) >= 11  # matching, five loads, five commits, the migration's start
    assert {t: fate[t] for t in writers} == dict.fromkeys(writers, UPSTREAM_FAILED)


def test_given_a_failed_load_when_the_run_goes_on_then_its_watermark_is_not_committed():
    """R-GEN-2: an area's commit (records to retry, new watermarks) needs its load's success:
    the load is upstream of the commit, and a failed load leaves that commit, and every later
    one, not run."""
    dag = load_dag("sfqb_sync")
    loads = [t.task_id for t in dag.tasks if t.task_id.rsplit(".", 1)[-1].startswith("load_")]
    assert len(loads) == 5
    for load in loads:
        fate = after_failure(dag, load)
        area_commit = load.replace("load_", "commit_")
        assert load in dag.get_task(area_commit).upstream_task_ids, area_commit
        commits = [t for t in fate if t.rsplit(".", 1)[-1].startswith("commit_")]
        stopped = {t for t in commits if fate[t] == UPSTREAM_FAILED}
        assert area_commit in stopped, (load, fate[area_commit])
        # the commits of the areas after it (R-GEN-8) wait for its load too
        downstream = dag.get_task(load).get_flat_relative_ids(upstream=False)
        assert {t for t in commits if t in downstream} <= stopped, load


def test_given_a_failed_check_when_validate_org_runs_then_the_task_fails_without_retrying(
    monkeypatch,
):
    """R-PRE-5: the org's problems fail the validate_org task at once (no retry can fix an org),
    with the message that names every problem; the wiring above then stops every write."""
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.steps import preflight as steps
    from sfqb.tasks.preflight import validate_org

    def failing(run):
        raise steps.PreflightError("2 problems: field X on no layout; Standard Price Book inactive")

    monkeypatch.setattr(steps, "validate", failing)
    with pytest.raises(AirflowFailException, match="Standard Price Book inactive"):
        validate_org.function.__wrapped__({"run_id": "r"})  # the body, without the run lease
