"""The single-machine path (`make ui`, `make sync`, `make demo`): scripts/airflow_db.sh."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("fernet_key", "stops"), [("", True), ("a-key-set-by-hand", False)])
def test_given_an_empty_fernet_key_when_the_local_airflow_is_prepared_then_it_stops(
    tmp_path, fernet_key, stops
):
    """R-OPS-4: the local Airflow never stores connections unencrypted: an empty `[core]
    fernet_key` (set by hand; `airflow db migrate` writes a generated one) stops
    scripts/airflow_db.sh, naming the setting and never printing a key."""
    import airflow

    (tmp_path / "airflow.db").write_bytes(b"")  # an existing, current database: no migration
    (tmp_path / ".sfqb-db-version").write_text(airflow.__version__ + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__FERNET_KEY=fernet_key)
    done = subprocess.run(
        ["bash", "scripts/airflow_db.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (done.returncode != 0) == stops, done.stderr
    if stops:
        assert "[core] fernet_key is empty" in done.stderr
