"""`python -m sfqb state show|reset` against Airflow's real metadata database (R-OPS-5)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sfqb.__main__ import main
from sfqb.state import MetadataDbVariables, SyncState

pytestmark = pytest.mark.integration

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def test_given_state_in_airflow_variables_when_shown_and_reset_then_the_operator_sees_and_clears_it(
    airflow_db, capsys
):
    """R-OPS-5: the state can be inspected and reset by an operator; preferences are untouched."""
    backend = MetadataDbVariables()
    for key in backend.keys("sfqb."):  # other tests' runs leave state behind
        backend.delete(key)
    backend.set("sfqb.preferences", '{"sync_items": false}')
    state = SyncState(backend)
    state.commit_watermark("quickbooks.Customer", T0, run_id="run-1", now=T0)
    state.mark_first_run_done("matching", run_id="run-1", now=T0)

    assert main(["state", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["sfqb.watermark.quickbooks.Customer"]["value"] == T0.isoformat()
    assert shown["sfqb.first_run.matching"]["run_id"] == "run-1"

    assert main(["state", "reset", "matching"]) == 0
    assert "reset sfqb.first_run.matching" in capsys.readouterr().out
    assert state.first_run_done("matching") is None

    assert main(["state", "reset", "--all"]) == 0
    assert state.show() == {}
    assert backend.get("sfqb.preferences") == '{"sync_items": false}'
    backend.delete("sfqb.preferences")

    assert main(["state", "reset", "nope"]) == 2
    assert "nothing to reset for 'nope'" in capsys.readouterr().err


def test_given_a_lease_left_by_a_dead_run_when_shown_and_reset_then_the_operator_sees_its_holder_and_releases_it(
    airflow_db, capsys
):
    """R-GEN-10, R-OPS-5: `state show` shows the lease (holder, heartbeat age, holds / waits /
    expired) and `state reset lease` releases it, naming the run it belonged to."""
    from sfqb.lease import RunLease

    backend = MetadataDbVariables()
    for key in backend.keys("sfqb."):
        backend.delete(key)
    lease = RunLease(backend, dag_id="sfqb_sync", run_id="manual__stuck", expiry=1800)
    lease.acquire(wait=0)

    assert main(["state", "show"]) == 0
    shown = json.loads(capsys.readouterr().out)[lease.key]
    assert (shown["dag_id"], shown["run_id"], shown["state"]) == (
        "sfqb_sync",
        "manual__stuck",
        "holds",
    )
    assert shown["heartbeat_age_seconds"] < 60 and shown["expiry_seconds"] == 1800

    assert main(["state", "reset", "lease"]) == 0
    assert (
        f"reset {lease.key} (sfqb_sync run manual__stuck: holds, last heartbeat"
        in capsys.readouterr().out
    )
    assert backend.keys("sfqb.lease.") == []
    assert main(["state", "reset", "lease"]) == 0
    assert "nothing to reset for 'lease'" in capsys.readouterr().out


def run_cli(tmp_path, *args: str):
    """``python -m sfqb ARGS`` in a fresh process whose AIRFLOW_HOME is an empty directory (what
    a shell without the Airflow setting gives: Airflow's default ~/airflow, empty)."""
    import os
    import subprocess
    import sys

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AIRFLOW__DATABASE__") and k != "AIRFLOW_HOME"
    }
    env["AIRFLOW_HOME"] = str(tmp_path / "no-airflow-here")
    return subprocess.run(
        [sys.executable, "-m", "sfqb", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_given_no_airflow_database_when_the_state_is_shown_then_one_sentence_says_how_to_point_at_one(
    tmp_path,
):
    """R-OPS-5: without an Airflow metadata database in the shell, `state show` exits non-zero
    with one line naming the database it looked at and how to point it at the right one
    (AIRFLOW_HOME, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN, the repository's local homes), not a
    SQL traceback."""
    done = run_cli(tmp_path, "state", "show")

    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sfqb: sqlite:///") and "no-airflow-here" in line
    assert "has no Airflow tables" in line
    for hint in (
        "AIRFLOW_HOME",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        ".airflow",
        ".demo/airflow",
    ):
        assert hint in line


def test_given_no_airflow_database_when_the_maps_are_shown_then_the_defaults_print_with_a_note(
    tmp_path,
):
    """R-MAP-1, R-OPS-5: `mapping show` needs no database for the default maps: without one it
    prints them and notes on stderr, in one line, that custom rows were not read."""
    done = run_cli(tmp_path, "mapping", "show", "customer_to_account")

    assert done.returncode == 0
    assert "customer_to_account: quickbooks.Customer -> salesforce.Account" in done.stdout
    assert "DisplayName" in done.stdout and "Traceback" not in done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("sfqb: custom mapping rows were not read, these are the default maps:")
