"""The DAG files parse, carry what operators rely on, and stay cheap and safe to parse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, load_dag

pytestmark = pytest.mark.unit

DAG_FILES = sorted((ROOT / "dags").glob("*.py"))
DAG_IDS = ["sfqb_sync", "sfqb_invoice_migration"]

# Run in a fresh interpreter: record every Connection/Variable lookup and which heavy modules a
# DAG file import pulls in. The lookups raise, as they would with no metadata DB reachable.
_PARSE_PROBE = r"""
import json, sys
before = set(sys.modules)  # intuit-oauth's .pth puts an empty `intuitlib` here at start-up
calls = []
def _trap(name):
    def trap(*args, **kwargs):
        calls.append(name)
        raise RuntimeError(f"{name} called at DAG parse time")
    return trap
from airflow.sdk.definitions.connection import Connection as SdkConnection
from airflow.sdk.definitions.variable import Variable as SdkVariable
from airflow.models.connection import Connection
from airflow.models.variable import Variable
SdkConnection.get = classmethod(_trap("sdk Connection.get"))
SdkVariable.get = staticmethod(_trap("sdk Variable.get"))
Connection.get_connection_from_secrets = classmethod(_trap("Connection.get_connection_from_secrets"))
Variable.get = classmethod(_trap("Variable.get"))
import runpy
runpy.run_path(sys.argv[1], run_name="dag_module")
heavy = ["pandas", "pyarrow", "great_expectations", "simple_salesforce", "quickbooks", "intuitlib", "requests_oauthlib"]
new = set(sys.modules) - before
print(json.dumps({"calls": calls, "heavy": [m for m in heavy if m in new]}))
"""


def probe_parse(dag_file: Path) -> dict:
    """Run the parse probe on one file: ``{"calls": [...], "heavy": [...]}``."""
    out = subprocess.run(
        [sys.executable, "-c", _PARSE_PROBE, str(dag_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_given_dags_folder_when_dagbag_loads_then_no_import_errors_and_both_dags_present():
    """The DagBag of dags/ loads both sfqb DAGs with no import error."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    assert set(DAG_IDS) <= set(bag.dag_ids)


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_given_a_dag_when_parsed_then_it_has_tags_retries_owner_docs_and_one_active_run(dag_id):
    """Operators filter by tags, read doc_md in the UI, and rely on retries for transient faults."""
    dag = load_dag(dag_id)
    assert "sfqb" in dag.tags
    assert dag.doc_md and dag.doc_md.strip().startswith("## " + dag_id)
    assert dag.max_active_runs == 1
    assert dag.catchup is False
    for task in dag.tasks:
        assert task.retries >= 2, task.task_id
        assert task.owner == "sfqb", task.task_id
        assert task.retry_exponential_backoff, task.task_id


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_given_a_dag_when_listed_then_it_has_a_description_and_its_docs_say_what_unpause_on_trigger_does(
    dag_id,
):
    """R-OPS-1: the DAG list shows a one-line description; the DAG's docs say that the trigger
    dialog's "Unpause on trigger" is ticked by default, what it does and to untick it for a
    run alone. None of the text a user reads (docs, description, param descriptions) cites a
    rule ID."""
    import re

    dag = load_dag(dag_id)
    assert dag.description and len(dag.description) <= 120 and "\n" not in dag.description
    docs = " ".join(dag.doc_md.split())
    assert '"Unpause on trigger" is ticked by default' in docs and "untick" in docs.lower()
    texts = [dag.doc_md, dag.description, *(p.description or "" for p in dag.params.values())]
    assert not [t for t in texts if re.search(r"R-[A-Z]+-\d", t)]


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_given_a_task_returning_a_dict_when_parsed_then_its_result_is_one_xcom(dag_id):
    """R-GEN-2 (XCom-passed results): every task hands on its dict as one XCom. Airflow infers
    ``multiple_outputs`` from a ``-> dict`` annotation and would also push each key (every
    extract's frames twice: double the XCom writes and storage, ~7 pushes per task)."""
    dag = load_dag(dag_id)
    unrolled = [t.task_id for t in dag.tasks if getattr(t, "multiple_outputs", False)]
    assert unrolled == []


def task_body(task):
    """A TaskFlow task's function, or an sfqb operator's ``body`` (``AwaitWebConnector``)."""
    return getattr(task, "python_callable", None) or getattr(task, "body", None)


# Tasks that neither read nor write Salesforce or QuickBooks, so they do not hold the lease.
OUTSIDE_THE_LEASE = {
    "begin_run",
    "take_lease",
    "give_back_lease",
    "summarize_run",
    "start_migration",
}


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_given_a_dag_when_parsed_then_every_task_touching_the_systems_runs_inside_the_run_lease(
    dag_id,
):
    """R-GEN-10: take_lease is the setup and give_back_lease its teardown; every other task
    but begin_run comes after take_lease, every task that reads or writes the systems holds the
    lease (``leased``), and give_back_lease comes after all of them (start_migration excepted:
    the migration it starts takes the same lease, once this run gave it back)."""
    dag = load_dag(dag_id)
    taken, released = dag.get_task("take_lease"), dag.get_task("give_back_lease")
    assert taken.is_setup and released.is_teardown and "take_lease" in released.upstream_task_ids
    for task in dag.tasks:
        if task.task_id in ("begin_run", "take_lease"):
            continue
        assert "take_lease" in task.get_flat_relative_ids(upstream=True), task.task_id
        if task.task_id not in ("give_back_lease", "start_migration"):
            assert "give_back_lease" in task.get_flat_relative_ids(upstream=False), task.task_id
        if task.task_id not in OUTSIDE_THE_LEASE:
            assert getattr(task_body(task), "sfqb_leased", False), f"{task.task_id} is not leased"
    if dag_id == "sfqb_sync":
        assert "give_back_lease" in dag.get_task("start_migration").upstream_task_ids


@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_given_a_dag_when_drawn_then_begin_run_has_one_edge_and_every_task_still_runs_after_it(
    dag_id,
):
    """R-GEN-8, R-OPS-2: begin_run's run context is not an argument of every task (an edge
    each: 27 in sfqb_sync): only take_lease follows begin_run directly; every other task reads
    the run from begin_run's XCom, and each of them still runs after begin_run (downstream of
    it), so none can run without the run it reads."""
    dag = load_dag(dag_id)
    begin = dag.get_task("begin_run")
    assert begin.downstream_task_ids == {"take_lease"}
    after_begin = begin.get_flat_relative_ids(upstream=False)
    assert after_begin == {t.task_id for t in dag.tasks} - {"begin_run"}
    readers = [t.task_id for t in dag.tasks if getattr(task_body(t), "sfqb_run_from_xcom", False)]
    assert set(readers) == after_begin - {"take_lease"}


AREA_TASKS = ("extract", "plan", "load", "commit")


def test_given_the_sync_dag_when_parsed_then_every_task_id_follows_one_pattern():
    """R-GEN-1, R-GEN-8: each area group holds <step>_<area> for extract, plan, load and commit
    (the plan tasks were plan_<area>_task before: docs/operations.md, "Upgrading"); the other
    task ids are the run's own."""
    from sfqb.run_params import AREAS

    dag = load_dag("sfqb_sync")
    expected = {f"{area}.{step}_{area}" for area in AREAS for step in AREA_TASKS}
    expected |= {
        "preflight.validate_org",
        "preflight.await_web_connector",
        "preflight.match_existing_records",
    }
    expected |= {
        "begin_run",
        "take_lease",
        "reconcile",
        "summarize_run",
        "give_back_lease",
        "start_migration",
    }
    assert {t.task_id for t in dag.tasks} == expected
    assert not [t.task_id for t in dag.tasks if t.task_id.endswith("_task")]


def test_given_sync_dag_when_scheduled_then_hourly_on_a_data_interval_timetable():
    """R-OPS-1: hourly by default, and runs cover a real interval, so backfills mean something."""
    from airflow.sdk import CronDataIntervalTimetable

    dag = load_dag("sfqb_sync")
    assert isinstance(dag.timetable, CronDataIntervalTimetable)
    assert dag.timetable.expression == "0 * * * *"


def test_given_migration_dag_when_parsed_then_it_is_never_scheduled():
    """R-MIG-3: the historical migration runs only when triggered."""
    timetable = load_dag("sfqb_invoice_migration").timetable
    assert type(timetable).__name__ == "NullTimetable"
    assert timetable.can_be_scheduled is False


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_given_a_dag_file_when_imported_then_no_connection_variable_or_heavy_import(
    dag_file: Path,
):
    """CONTRIBUTING.md (layers): dags/ is wiring only: no Connection/Variable lookups and no
    pandas, GX or client libraries at parse time (checked through sys.modules in a fresh
    interpreter)."""
    assert probe_parse(dag_file) == {"calls": [], "heavy": []}


def test_given_a_dag_file_that_reads_a_variable_and_imports_pandas_when_probed_then_both_are_caught(
    tmp_path: Path,
):
    """The parse probe above can fail: a DAG file doing both forbidden things is reported."""
    bad = tmp_path / "bad_dag.py"
    bad.write_text(
        "import pandas\n"
        "from airflow.sdk import Variable\n"
        "try:\n    Variable.get('sfqb.preferences')\nexcept RuntimeError:\n    pass\n"
    )
    result = probe_parse(bad)
    assert "pandas" in result["heavy"]
    assert result["calls"] == ["sdk Variable.get"]
