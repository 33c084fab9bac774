"""Task SDK messages rendered for a log with no credential in them (R-OPS-4, sfqb.logsafety)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_given_a_mask_secret_message_when_logged_then_its_body_is_omitted():
    """R-OPS-4: the value a task asks to mask never reaches the line (Airflow's in-process
    supervisor channel prints the message before anything masks it)."""
    from airflow.sdk.execution_time.comms import MaskSecret

    from sfqb.logsafety import redact_task_messages

    event = {"event": "Sending request", "msg": MaskSecret(value={"password": "hunter2-secret"})}
    out = redact_task_messages(None, "debug", event)
    assert out["msg"] == "MaskSecret(body omitted)"
    assert out["event"] == "Sending request"


def test_given_variable_and_xcom_messages_when_logged_then_sensitive_and_registered_values_are_masked():
    """R-OPS-4: a Variable whose key names a token is shown as ***; a value registered with the
    masker is *** inside any other message; the rest stays readable for debugging."""
    from airflow.sdk._shared.secrets_masker import _secrets_masker
    from airflow.sdk.execution_time.comms import PutVariable, SetXCom

    from sfqb.logsafety import render_task_message

    _secrets_masker().add_mask("sess-00D5g!AQregistered-token")
    put = PutVariable(
        key="sfqb.quickbooks_default.token_state",
        value='{"refresh_token": "RT1-x"}',
        description="d",
    )
    xcom = SetXCom(
        key="k",
        value={"note": "sess-00D5g!AQregistered-token", "n": 3},
        dag_id="d",
        run_id="r",
        task_id="t",
    )
    assert "RT1-x" not in render_task_message(put) and "'value': '***'" in render_task_message(put)
    shown = render_task_message(xcom)
    assert "registered-token" not in shown and "'n': 3" in shown and shown.startswith("SetXCom(")


def test_given_a_message_that_cannot_be_dumped_when_logged_then_the_line_still_renders():
    """A log line must never fail a task: a model that cannot be dumped shows no body."""
    from airflow.sdk.execution_time.comms import PutVariable

    from sfqb.logsafety import render_task_message

    class Broken(PutVariable):
        def model_dump(self, *args, **kwargs):
            raise RuntimeError("not fully defined")

    assert (
        render_task_message(Broken(key="k", value="v", description=None)) == "Broken(body omitted)"
    )


def test_given_the_structlog_chain_when_installed_twice_then_it_is_added_once_before_the_renderer():
    """The processor goes in front of the last processor (the renderer), once per process."""
    import structlog

    from sfqb.logsafety import install, redact_task_messages

    install()
    chain = structlog.get_config()["processors"]
    assert install() is False
    assert [p for p in chain if p is redact_task_messages] == [redact_task_messages]
    assert chain.index(redact_task_messages) == len(chain) - 2
