"""Keep credentials out of what Airflow prints about its task messages (R-OPS-4).

A task talks to its supervisor in messages (Task SDK ``comms``: ``GetConnection``,
``MaskSecret``, ``PutVariable``, ...). At DEBUG, Airflow 3.3 prints them whole:

- the supervisor of every executor (LocalExecutor, Celery, ``dags test``) prints each message it
  receives, except ``MaskSecret``: a ``PutVariable`` with its value. sfqb's only Variable that
  could hold a credential, the QuickBooks token state, is sealed before it is written
  (``sfqb.hooks.token_store``), so this prints ciphertext;
- an in-process run (``airflow dags test``, ``airflow tasks test``, ``dag.test()``) also prints
  each message as the task sends it, ``MaskSecret`` included: every value the task asks to mask
  (Airflow's own connection passwords and secret extras, the hooks' session and access tokens)
  in plain text, before any masking. The processor here renders those messages with
  ``MaskSecret`` bodies omitted (as the supervisor does) and every other body through Airflow's
  secrets masker (the sensitive field names and every value registered so far).

Airflow's own masking is untouched: the processor only adds redaction, for the message objects
that Airflow's ``mask_logs`` processor passes through as they are (it walks strings, dicts and
lists, not pydantic models). ``install`` puts it into the process's structlog chain, before the
renderer; ``sfqb.tasks`` calls it on import, so every process that runs an sfqb task has it
before the task's first message.
"""

from __future__ import annotations

from typing import Any

MESSAGE_MODULES = ("airflow.sdk.execution_time.comms", "airflow.sdk.api.datamodels.")
"""Where the Task SDK's messages (and the models they carry) live."""


def _is_task_message(value: object) -> bool:
    from pydantic import BaseModel

    return isinstance(value, BaseModel) and type(value).__module__.startswith(MESSAGE_MODULES)


def render_task_message(message: Any) -> str:
    """A Task SDK message as text a log may show: ``MaskSecret`` without its body; any other
    with its fields through Airflow's secrets masker."""
    name = type(message).__name__
    if name == "MaskSecret":
        return f"{name}(body omitted)"
    try:
        from airflow.sdk._shared.secrets_masker import redact

        fields = message.model_dump(mode="json", exclude_none=True)
        fields.pop("type", None)
        if name == "PutVariable" and fields.get("value") is not None:
            fields["value"] = redact(fields["value"], name=str(fields.get("key", "")))
        return f"{name}({redact(fields)!r})"
    except Exception:  # noqa: BLE001 - a log line must never fail a task; show no body then
        return f"{name}(body omitted)"


def redact_task_messages(logger: Any, method_name: str, event_dict: dict) -> dict:
    """structlog processor: every Task SDK message in the event rendered by
    ``render_task_message`` (other values untouched)."""
    for key, value in list(event_dict.items()):
        if _is_task_message(value):
            event_dict[key] = render_task_message(value)
    return event_dict


def install() -> bool:
    """Add ``redact_task_messages`` to the process's structlog chain, before its renderer (the
    last processor); True when added, False when it was there already. The chain is changed in
    place: Airflow's loggers are cached on first use and keep the list they were built with."""
    import structlog

    chain = structlog.get_config()["processors"]
    if any(getattr(p, "__name__", None) == redact_task_messages.__name__ for p in chain):
        return False
    chain.insert(max(len(chain) - 1, 0), redact_task_messages)
    return True
