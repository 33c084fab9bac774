"""No credential in any log (SPEC R-OPS-4): a whole sfqb_sync run with DEBUG logging, every
line captured (Python logging, the process's stdout/stderr, task log files); nor in clear in
the local copies of the QuickBooks token state the run left on disk."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

import pytest

from tests.integration.conftest import SINCE_SEED

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

# The shapes of the tokens the sandboxes mint during a run: QuickBooks access tokens (JWT-like)
# and rotated refresh tokens, Salesforce session ids (org id + "!AQ").
MINTED = re.compile(r"eyJ[\w-]{40,}|RT1-[\w-]{30,}|00D\w{12,15}!AQ[\w.-]{20,}")


def test_given_a_whole_sync_logged_at_debug_when_its_output_is_searched_then_no_credential_appears(
        sync_env, caplog, capfd, monkeypatch):
    """R-OPS-4: no access token, refresh token (the connection's, the rotated one saved in the
    token state), client secret, consumer secret or password of the run's connections appears
    in the captured log output or a task log file, nor in the encrypted local copy of the token
    state."""
    from sfqb.hooks.token_store import token_dir
    from sfqb.state import MetadataDbVariables

    quickbooks = json.loads(os.environ["AIRFLOW_CONN_QUICKBOOKS_DEFAULT"])
    salesforce = json.loads(os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"])
    sf_info = sync_env.sandbox.connections["salesforce"]
    secrets = {
        "QuickBooks client secret": quickbooks["password"],
        "QuickBooks refresh token (connection)": json.loads(quickbooks["extra"])["refresh_token"],
        "Salesforce password": salesforce["password"],
        "Salesforce consumer secret": json.loads(salesforce["extra"])["consumer_secret"],
        "Salesforce security token": sf_info["security_token"],
        "Salesforce long-lived session": sf_info["access_token"],
    }
    monkeypatch.setenv("AIRFLOW__LOGGING__LOGGING_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    sync_env.set_preferences(sync_start=SINCE_SEED)

    _, states, summary = sync_env.run()

    assert set(states.values()) == {"success"}, states
    assert summary["areas"]
    token_state = json.loads(MetadataDbVariables().get("sfqb.quickbooks_default.token_state"))
    secrets["QuickBooks refresh token (rotated)"] = token_state["refresh_token"]
    secrets["QuickBooks access token"] = token_state["access_token"]
    assert all(len(v) >= 8 for v in secrets.values()), secrets.keys()

    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    files = [p for p in Path(os.environ["AIRFLOW_HOME"], "logs").rglob("*") if p.is_file()]
    copies = list(token_dir().glob("sfqb-qbo-token-*.bin"))
    assert copies, "the run left no local copy of the token state"
    texts = {"logging": logged, "stdout": out, "stderr": err,
             **{str(p): p.read_text(errors="replace") for p in files + copies}}
    # The run was really logged at DEBUG, through the HTTP clients that carried the tokens.
    assert any(r.levelno == logging.DEBUG and r.name.startswith("urllib3") for r in caplog.records)
    assert any(r.name.startswith("sfqb.hooks") for r in caplog.records)
    for where, text in texts.items():
        for name, value in secrets.items():
            assert value not in text, f"{name} appears in {where}"
        found = MINTED.findall(text)
        assert not found, f"minted token(s) in {where}: {[t[:8] + '...' for t in found]}"
