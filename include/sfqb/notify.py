"""Alerts (SPEC R-OPS-3): an e-mail when a run fails, or ends with problems at or above the
``alert_min_level`` preference, listing them.

Levels: ``WARNING`` (any warning in the run summary: a record skipped for a person to fix, or a
record that failed) and ``ERROR`` (a record failed, or the run failed). A failed run is always
``ERROR``. Nothing is sent while ``alert_emails`` is empty.

``RunAlert`` is an Airflow notifier: the DAG's ``on_failure_callback`` (a failed run) and
``summarize_run`` (a finished run with warnings) call it. It sends through the provider's
``SmtpHook`` and the SMTP connection named by ``alert_smtp_conn_id`` (``smtp_default``).
The rules (when, what) are the pure functions above the class.
"""

from __future__ import annotations

import html
import logging
import re
import sys

from airflow.sdk import BaseNotifier

from sfqb.preferences import ALERT_LEVELS, Preferences
from sfqb.report import format_summary

log = logging.getLogger(__name__)
DEFAULT_FROM = "sfqb@localhost"


def recipients(text: str | None) -> list[str]:
    """The addresses of the ``alert_emails`` preference (separated by commas, semicolons or
    spaces)."""
    return [a for a in re.split(r"[,;\s]+", text or "") if a]


def summary_level(summary: dict) -> str | None:
    """The highest level among a run summary's problems: ``ERROR`` (a record failed),
    ``WARNING`` (warnings only), None (a clean run)."""
    areas = summary.get("areas") or []
    if any(a.get("failed", 0) for a in areas):
        return "ERROR"
    if any(a.get("warning_count", len(a.get("warnings", []))) for a in areas):
        return "WARNING"
    return None


def at_or_above(level: str | None, minimum: str) -> bool:
    return level is not None and ALERT_LEVELS.index(level) >= ALERT_LEVELS.index(minimum)


def summary_message(dag_id: str, summary: dict, level: str) -> tuple[str, str]:
    """(subject, plain-text body) of the alert for a finished run with problems."""
    count = sum(a.get("warning_count", len(a.get("warnings", []))) for a in summary.get("areas") or [])
    subject = f"[sfqb] {dag_id} run {summary.get('run_id')}: {count} warning(s) ({level})"
    return subject, format_summary(summary)


def failure_message(dag_id: str, run_id: str | None, task_id: str | None, reason: str | None,
                    log_url: str | None = None) -> tuple[str, str]:
    """(subject, plain-text body) of the alert for a failed run."""
    lines = [f"sfqb run {run_id} of {dag_id} failed ({reason or 'failed'})."]
    if task_id:
        lines.append(f"The task that failed: {task_id}.")
    if log_url:
        lines.append(f"Its log: {log_url}")
    lines.append("Nothing after the failed task ran; watermarks moved only for the areas that "
                 "finished. Fix the cause, then clear the failed task or trigger a new run.")
    return f"[sfqb] {dag_id} run {run_id} FAILED (ERROR)", "\n".join(lines)


def as_html(text: str) -> str:
    return f"<pre>{html.escape(text, quote=False)}</pre>"


def send(prefs: Preferences, subject: str, body: str) -> list[str]:
    """E-mail ``body`` to the ``alert_emails`` through ``alert_smtp_conn_id``; returns the
    addresses (none: nothing sent)."""
    to = recipients(prefs.alert_emails)
    if not to:
        return []
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    with SmtpHook(smtp_conn_id=prefs.alert_smtp_conn_id) as smtp:
        smtp.send_email_smtp(to=to, subject=subject, html_content=as_html(body),
                             from_email=smtp.from_email or DEFAULT_FROM)
    log.info("alert sent to %s: %s", ", ".join(to), subject)
    return to


def _current_preferences() -> Preferences | None:
    """The preferences as a callback finds them: through the Task SDK where a supervisor
    serves it (tasks, the DAG processor that runs DAG callbacks), else from the metadata
    database (dag.test() runs DAG callbacks in its own process)."""
    from sfqb.preferences import VARIABLE_KEY, PreferencesError, parse_preferences

    if hasattr(sys.modules.get("airflow.sdk.execution_time.task_runner"), "SUPERVISOR_COMMS"):
        from airflow.sdk import Variable

        raw = Variable.get(VARIABLE_KEY, default=None)
    else:
        from sfqb.state import MetadataDbVariables

        raw = MetadataDbVariables().get(VARIABLE_KEY)
    try:
        return parse_preferences(raw)
    except PreferencesError as exc:
        log.warning("no alert can be sent: the preferences are bad (%s)", exc)
        return None


class RunAlert(BaseNotifier):
    """An sfqb alert. ``RunAlert()`` on a DAG's ``on_failure_callback`` mails a failed run;
    ``RunAlert(summary=..., preferences=...)(context)`` mails a finished run's problems when
    they reach ``alert_min_level``."""

    def __init__(self, summary: dict | None = None, preferences: Preferences | None = None):
        super().__init__()
        self.summary = summary
        self.preferences = preferences

    def render_template_fields(self, context, jinja_env=None) -> None:
        """Nothing to render (no template fields); skipping it also spares the DAG lookup that
        fails for the serialized DAG dag.test() hands to callbacks."""

    def notify(self, context) -> None:
        prefs = self.preferences or _current_preferences()
        if prefs is None or not recipients(prefs.alert_emails):
            log.info("no alert: the preference alert_emails is empty")
            return
        dag = context.get("dag")
        dag_id = getattr(dag, "dag_id", None) or "sfqb"
        if self.summary is None:
            dag_run, ti = context.get("dag_run"), context.get("ti")
            message = failure_message(dag_id, getattr(dag_run, "run_id", context.get("run_id")),
                                      getattr(ti, "task_id", None), context.get("reason"),
                                      getattr(ti, "log_url", None))
        else:
            level = summary_level(self.summary)
            if not at_or_above(level, prefs.alert_min_level):
                log.info("no alert: the run's problems (%s) are below alert_min_level %s",
                         level or "none", prefs.alert_min_level)
                return
            message = summary_message(dag_id, self.summary, level)
        send(prefs, *message)
