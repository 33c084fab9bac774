"""No credential in any log at DEBUG (R-OPS-4), searched where a user would look.

Airflow reads its log level when a process starts, so each run here is a real Airflow process
started with ``AIRFLOW__LOGGING__LOGGING_LEVEL=DEBUG``, and every line it leaves is searched:

- ``airflow dags test sfqb_sync`` (what ``make sync`` runs): the command's own output, where the
  in-process supervisor prints every message the tasks send it, and the task logs with it;
- a LocalExecutor deployment (``airflow api-server``, ``dag-processor`` and ``scheduler``, as
  ``make ui`` runs them): a triggered run; the output of each process (the scheduler's holds the
  task supervisors' lines, which never import sfqb) and the task log files.

The Celery path is searched the same way by ``tests/distributed`` (``make test-distributed``).
Searched for: the connections' secrets (QuickBooks client secret and refresh token, Salesforce
password, consumer secret, security token and long-lived session), the tokens of the run (the
rotated refresh token and the access token in the token state, every token the sandboxes
minted, by shape), and Airflow's own JWT secret; also in the encrypted local copies of the token
state the run left on disk.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import SINCE_SEED
from tests.integration.deployment import LocalDeployment, run_state, runs_now

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

BIN = Path(sys.executable).parent
# The shapes of the tokens the sandboxes mint during a run: QuickBooks access tokens (JWT-like)
# and rotated refresh tokens, Salesforce session ids (org id + "!AQ").
# A token starts a word: inside the sealed state's base64 (Fernet: letters, digits, - and _)
# "eyJ" turns up by chance, about once in a thousand saves.
MINTED = re.compile(r"(?<![\w-])(?:eyJ[\w-]{40,}|RT1-[\w-]{30,}|00D\w{12,15}!AQ[\w.-]{20,})")
JWT_SECRET = "sfqb-test-jwt-secret-7d1f0c9a4e2b8c3d5f6a7b8c9d0e1f2a"


def connection_secrets(sync_env) -> dict[str, str]:
    quickbooks = json.loads(os.environ["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])
    salesforce = json.loads(os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"])
    sf_info = sync_env.sandbox.connections["salesforce"]
    return {
        "QuickBooks client secret": quickbooks["password"],
        "QuickBooks refresh token (connection)": json.loads(quickbooks["extra"])["refresh_token"],
        "Salesforce password": salesforce["password"],
        "Salesforce consumer secret": json.loads(salesforce["extra"])["consumer_secret"],
        "Salesforce security token": sf_info["security_token"],
        "Salesforce long-lived session": sf_info["access_token"],
        "Airflow JWT secret": JWT_SECRET,
    }


def run_tokens(bootstrap: str) -> dict[str, str]:
    """The tokens the run left in the (sealed) token state: it refreshed at least once."""
    from sfqb.hooks.token_store import AirflowVariableTokenStore

    state = AirflowVariableTokenStore("quickbooks_default", seal_with=bootstrap).load()
    assert state is not None and state.access_token and state.refresh_token != bootstrap
    return {
        "QuickBooks refresh token (rotated)": state.refresh_token,
        "QuickBooks access token": state.access_token,
    }


def leaks(texts: dict[str, str], secrets: dict[str, str]) -> list[str]:
    assert all(len(v) >= 8 for v in secrets.values()), secrets.keys()
    found = []
    for where, text in texts.items():
        found += [f"{name} in {where}" for name, value in secrets.items() if value in text]
        found += [f"minted token {t[:8]}... in {where}" for t in MINTED.findall(text)]
    return found


def task_logs(folder: Path, *, required: bool = True) -> dict[str, str]:
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert files or not required, f"no task log under {folder}"
    return {str(p.relative_to(folder)): p.read_text(errors="replace") for p in files}


def debug_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This test's Airflow environment (database, connections, sandbox trust, and the Fernet key
    this process reads the database with), at DEBUG, with its own task log folder."""
    from airflow.configuration import conf

    return {
        **os.environ,
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
        "AIRFLOW__CORE__FERNET_KEY": conf.get("core", "fernet_key", fallback=""),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(tmp_path / "logs"),
        "AIRFLOW__API_AUTH__JWT_SECRET": JWT_SECRET,
        "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "false",
        **extra,
    }


def test_given_airflow_dags_test_at_debug_when_the_sync_runs_then_no_credential_is_in_its_output_or_task_logs(
    sync_env, tmp_path
):
    """R-OPS-4: `airflow dags test sfqb_sync` at DEBUG, as a user runs it: its output (the
    in-process supervisor prints every task message there) and the task log files hold none
    of the connections' secrets nor any token of the run."""
    sync_env.set_preferences(sync_start=SINCE_SEED)
    secrets = connection_secrets(sync_env)
    done = subprocess.run(
        [str(BIN / "airflow"), "dags", "test", "sfqb_sync"],
        env=debug_env(tmp_path),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0 and "state=success" in output, output[-3000:]
    # DEBUG was on, and the lines that used to carry the secrets were printed
    assert "Sending request" in output and "MaskSecret(body omitted)" in output
    secrets |= run_tokens(secrets["QuickBooks refresh token (connection)"])
    # (in-process, the task logs go to the output; any file the run left is searched too, and
    # so are the encrypted local copies of the token state: no token in clear on disk either)
    from sfqb.hooks.token_store import token_dir

    copies = {
        str(p): p.read_bytes().decode(errors="replace")
        for p in token_dir().glob("sfqb-qbo-token-*.bin")
    }
    assert copies, "the run left no local copy of the token state"
    found = leaks(
        {"airflow dags test output": output, **task_logs(tmp_path / "logs", required=False)},
        secrets,
    )
    # (ciphertext is base64: only the named secrets are looked for there, not token shapes)
    found += [
        f"{name} in {where}"
        for where, text in copies.items()
        for name, value in secrets.items()
        if value in text
    ]
    assert not found, found


@pytest.mark.timeout(
    1200
)  # three Airflow processes start and a whole run goes through the scheduler
def test_given_a_local_executor_deployment_at_debug_when_a_run_is_triggered_then_no_credential_is_in_any_log(
    sync_env, tmp_path
):
    """R-OPS-4 on a real worker path: api-server, dag-processor and scheduler (LocalExecutor) at
    DEBUG, a triggered sfqb_sync run. The scheduler's output carries the task supervisors' DEBUG
    lines (every message a task sent, the token state's Variable write included: sealed); no
    process output and no task log holds a secret or a token of the run."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    sync_env.set_preferences(sync_start=SINCE_SEED)
    secrets = connection_secrets(sync_env)
    with create_session() as session:
        for name in ("sfqb_quickbooks", "sfqb_salesforce"):
            Pool.create_or_update_pool(
                name=name, slots=4, description="test", include_deferred=False, session=session
            )
    env = debug_env(tmp_path, AIRFLOW__CORE__PARALLELISM="4")
    run_id = f"secrets_debug_{int(time.time())}"
    with LocalDeployment(tmp_path, env) as airflow:
        airflow.wait_parsed("sfqb_sync")
        airflow.airflow("dags", "unpause", "sfqb_sync")
        airflow.airflow("dags", "trigger", "sfqb_sync", "--run-id", run_id)
        airflow.wait("the run", lambda: run_state(run_id) in ("success", "failed"), 900, runs_now)
    outputs = airflow.outputs()
    assert run_state(run_id) == "success", outputs["scheduler output"][-3000:]
    scheduler = outputs["scheduler output"]
    assert "Received message from task runner" in scheduler  # the supervisors' DEBUG lines
    token_writes = [
        line
        for line in scheduler.splitlines()
        if "PutVariable" in line and "sfqb.quickbooks_default.token_state" in line
    ]
    assert token_writes and all("sfqb-sealed-v1:" in line for line in token_writes), token_writes[
        :1
    ]
    secrets |= run_tokens(secrets["QuickBooks refresh token (connection)"])
    found = leaks({**outputs, **task_logs(tmp_path / "logs")}, secrets)
    assert not found, found
