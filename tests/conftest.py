"""Test set-up shared by every suite.

Airflow reads its configuration when first imported, so the environment is set here, before
anything imports it: a throwaway AIRFLOW_HOME, no examples, this repo's dags/ and plugins/.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sfqb-airflow-home-"))
os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(ROOT / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(ROOT / "plugins")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}"
os.environ.setdefault("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)  # swaps in Airflow's own test config
# Each test process has its own sandbox servers, so its own QuickBooks rate windows too.
os.environ["SFQB_QBO_LIMITER_DIR"] = str(_AIRFLOW_HOME)
# GX logs ~200 INFO lines unless its logger is quiet before the first import.
import logging  # noqa: E402

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """Both sandbox servers, seeded 'tiny', for the whole test session.

    Sets REQUESTS_CA_BUNDLE to the sandbox bundle (system CAs + the sandbox CA): the sessions
    inside python-quickbooks and intuit-oauth take their trust from it. Tests that change data
    or admin settings reset what they touched (``sandbox.reset(service, seed)``).
    """
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(tmp_path_factory.mktemp("sandbox"), seed="tiny")
    admin = process.start()
    previous = os.environ.get("REQUESTS_CA_BUNDLE")
    os.environ["REQUESTS_CA_BUNDLE"] = admin.connections["ca_bundle"]
    try:
        yield admin
    finally:
        process.stop()
        if previous is None:
            os.environ.pop("REQUESTS_CA_BUNDLE", None)
        else:
            os.environ["REQUESTS_CA_BUNDLE"] = previous


@pytest.fixture(scope="session")
def airflow_db():
    """Airflow's metadata schema in the throwaway SQLite database, created once per session."""
    from airflow.utils.db import initdb

    initdb()
    return os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]


def load_dag(dag_id: str):
    """A freshly parsed DAG (dag.test(run_conf=...) mutates params in-process: never reuse one)."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


# -- where the suite's time goes ---------------------------------------------------------------
# `--dist loadfile` keeps a file on one worker, so the slowest files bound the suite's wall time:
# the terminal summary lists them (setup, call and teardown summed per file) beside pytest's
# slowest tests (`--durations`). bench/results/suite.md keeps the figures.
_FILE_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path = report.nodeid.split("::", 1)[0]
    _FILE_SECONDS[path] = _FILE_SECONDS.get(path, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    slowest = sorted(_FILE_SECONDS.items(), key=lambda item: -item[1])[:15]
    if len(_FILE_SECONDS) < 10 or not slowest:
        return  # a few files run by hand: nothing to rank
    terminalreporter.section("slowest test files (seconds, setup + call + teardown)")
    for path, seconds in slowest:
        terminalreporter.write_line(f"{seconds:8.1f}  {path}")
