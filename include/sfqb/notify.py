"""Alerts (R-OPS-3): an e-mail when a run fails, or ends with new warnings at or above the
``alert_min_level`` preference; standing warnings come at most once a day, as a digest.

Levels: ``WARNING`` (a record skipped for a person to fix, a note, a check's finding) and
``ERROR`` (a record failed, or the run failed). A failed run is always mailed, at ``ERROR``.
Warnings have an identity (``sfqb.warning_state``): a run's summary tells new ones from standing
ones (open since an earlier run) and resolved ones. A finished run's alert lists its new
warnings and those it resolved; the standing ones go out in a digest at most every
``DIGEST_EVERY``, never in the day after the same warning was mailed. Nobody gets the same
e-mail every hour. Nothing is sent while ``alert_emails`` is empty.

``RunAlert`` is an Airflow notifier: the DAG's ``on_failure_callback`` (a failed run) and
``summarize_run`` (a finished run) call it. It sends through the provider's ``SmtpHook`` and the
SMTP connection named by ``alert_smtp_conn_id`` (``smtp_default``). The rules (when, what) are
the pure functions above the class.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import re
import sys

from airflow.sdk import BaseNotifier

from sfqb.preferences import ALERT_LEVELS, Preferences
from sfqb.records import FAILED_KIND, warning_line
from sfqb.report import format_summary
from sfqb.warning_state import NEW, RESOLVED, STANDING

log = logging.getLogger(__name__)
DEFAULT_FROM = "sfqb@localhost"
# Standing warnings are e-mailed at most this often, in one digest (R-OPS-3).
DIGEST_EVERY = dt.timedelta(hours=24)


def recipients(text: str | None) -> list[str]:
    """The addresses of the ``alert_emails`` preference (separated by commas, semicolons or
    spaces)."""
    return [a for a in re.split(r"[,;\s]+", text or "") if a]


def level_of(entry: dict) -> str:
    """A warning's alert level: ``ERROR`` for a record that failed, else ``WARNING``."""
    return "ERROR" if entry.get("kind") == FAILED_KIND else "WARNING"


def summary_level(summary: dict) -> str | None:
    """The highest level among a run summary's open warnings (new or standing): ``ERROR`` (a
    record failed), ``WARNING`` (warnings only), None (a clean run)."""
    entries = [w for w in _entries(summary) if w.get("state") != RESOLVED]
    if any(level_of(w) == "ERROR" for w in entries):
        return "ERROR"
    return "WARNING" if entries else None


def at_or_above(level: str | None, minimum: str) -> bool:
    return level is not None and ALERT_LEVELS.index(level) >= ALERT_LEVELS.index(minimum)


def _entries(summary: dict) -> list[dict]:
    return [
        w for a in summary.get("areas") or [] for w in a.get("warnings", []) if isinstance(w, dict)
    ]


def _time(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def plan_alert(
    summary: dict, alerts: dict, *, minimum: str, now: dt.datetime
) -> tuple[list[dict], list[dict], dict]:
    """What a finished run's alert carries, and the alert state after it (pure, R-OPS-3).

    New warnings at or above ``minimum`` go out at once. Standing ones go out in a digest, at
    most once every ``DIGEST_EVERY``, and only those not e-mailed in the last ``DIGEST_EVERY``
    (a warning mailed as new is not in the next hour's digest). ``alerts``: the saved state
    (``{"last_digest_at", "alerted": {warning id: time}}``).

    Returns:
        (new warnings to mail, standing warnings to mail (the digest; empty when not due), the
        alert state to save once the mail went out).
    """
    alerted = {
        i: t
        for i, t in (alerts.get("alerted") or {}).items()
        if now - dt.datetime.fromisoformat(t) < DIGEST_EVERY
    }
    last_digest = _time(alerts.get("last_digest_at"))
    chosen = [w for w in _entries(summary) if at_or_above(level_of(w), minimum)]
    new = [w for w in chosen if w.get("state") == NEW]
    standing = [w for w in chosen if w.get("state") == STANDING and w.get("id") not in alerted]
    if last_digest is not None and now - last_digest < DIGEST_EVERY:
        standing = []
    stamp = now.isoformat()
    after = {
        "last_digest_at": stamp if standing else alerts.get("last_digest_at"),
        "alerted": {**alerted, **{w["id"]: stamp for w in new + standing if w.get("id")}},
    }
    return new, standing, after


def summary_message(
    dag_id: str, summary: dict, new: list[dict], standing: list[dict]
) -> tuple[str, str]:
    """(subject, plain-text body) of the alert for a finished run: its new warnings, those it
    resolved, and (when due) the digest of standing ones; the counts table first."""
    counts = {
        s: sum((a.get("warning_counts") or {}).get(s, 0) for a in summary.get("areas") or [])
        for s in (NEW, STANDING, RESOLVED)
    }
    run = summary.get("run_id")
    levels = [level_of(w) for w in new + standing]
    level = "ERROR" if "ERROR" in levels else "WARNING"
    parts = []
    if new:
        parts.append(f"{counts[NEW]} new warning(s)")
    if standing:
        parts.append(f"daily digest of {counts[STANDING]} standing")
    subject = f"[sfqb] {dag_id} run {run}: {', '.join(parts)} ({level})"
    resolved = [w for w in _entries(summary) if w.get("state") == RESOLVED]
    lines = [format_summary(summary, with_warnings=False), ""]
    if new:
        lines += ["New warnings:", *(f"  {warning_line(w)}" for w in new), ""]
    if resolved:
        lines += ["Resolved in this run:", *(f"  {warning_line(w)}" for w in resolved), ""]
    if standing:
        lines += [
            "Standing warnings (daily digest; each with the time it was first seen):",
            *(f"  {warning_line(w)} (since {w.get('since')})" for w in standing),
            "",
        ]
    elif counts[STANDING]:
        lines.append(
            f"{counts[STANDING]} standing warning(s) are open: the sync log lists them, and "
            "the daily digest e-mails them."
        )
    return subject, "\n".join(lines).rstrip()


def failure_message(
    dag_id: str,
    run_id: str | None,
    task_id: str | None,
    reason: str | None,
    log_url: str | None = None,
) -> tuple[str, str]:
    """(subject, plain-text body) of the alert for a failed run."""
    lines = [f"sfqb run {run_id} of {dag_id} failed ({reason or 'failed'})."]
    if task_id:
        lines.append(f"The task that failed: {task_id}.")
    if log_url:
        lines.append(f"Its log: {log_url}")
    lines.append(
        "Nothing after the failed task ran; watermarks moved only for the areas that "
        "finished. Fix the cause, then clear the failed task or trigger a new run."
    )
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
        smtp.send_email_smtp(
            to=to,
            subject=subject,
            html_content=as_html(body),
            from_email=smtp.from_email or DEFAULT_FROM,
        )
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
    ``RunAlert(summary=..., preferences=..., state=...)(context)`` mails a finished run's new
    warnings, and the daily digest of standing ones when it is due (``plan_alert``); ``state``
    (a ``SyncState``) keeps when each warning and the digest were last mailed."""

    def __init__(
        self, summary: dict | None = None, preferences: Preferences | None = None, state=None
    ):
        super().__init__()
        self.summary = summary
        self.preferences = preferences
        self.state = state

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
            send(
                prefs,
                *failure_message(
                    dag_id,
                    getattr(dag_run, "run_id", context.get("run_id")),
                    getattr(ti, "task_id", None),
                    context.get("reason"),
                    getattr(ti, "log_url", None),
                ),
            )
            return
        saved = self.state.alerts() if self.state is not None else {}
        new, standing, after = plan_alert(
            self.summary, saved, minimum=prefs.alert_min_level, now=dt.datetime.now(dt.UTC)
        )
        if not new and not standing:
            log.info(
                "no alert: no new warning at or above alert_min_level %s, and the daily digest of "
                "standing ones is not due (last sent %s)",
                prefs.alert_min_level,
                saved.get("last_digest_at") or "never",
            )
            return
        send(prefs, *summary_message(dag_id, self.summary, new, standing))
        if self.state is not None:
            self.state.save_alerts(after)
