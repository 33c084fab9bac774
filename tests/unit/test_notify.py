"""Alert rules (R-OPS-3): which warnings a run's mail carries, when the daily digest of
standing ones is due, who gets the mail and what it says. Pure functions; sending is tested
against a real SMTP server in tests/integration/test_alerts.py."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.notify import (
    DIGEST_EVERY,
    at_or_above,
    failure_message,
    plan_alert,
    recipients,
    summary_level,
    summary_message,
)

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)


def entry(wid, state, kind="skipped", area="items"):
    return {
        "id": wid,
        "area": area,
        "key": f"QB:{wid}",
        "reason": f"problem {wid}",
        "kind": kind,
        "state": state,
        "since": "2026-12-01T09:00:00+00:00",
    }


def summary(*entries):
    counts = {s: sum(e["state"] == s for e in entries) for s in ("new", "standing", "resolved")}
    return {
        "run_id": "manual__1",
        "upper_bound": "2026-12-01T10:00:00+00:00",
        "areas": [
            {
                "area": "items",
                "records": {},
                "warnings": list(entries),
                "warning_counts": counts,
                "warning_count": counts["new"] + counts["standing"],
            }
        ],
    }


def test_given_run_summaries_when_levelled_then_failed_records_are_errors_and_skips_warnings():
    """R-OPS-3: a failed record is ERROR, a warning-level skip WARNING, a clean run nothing;
    resolved warnings are no problem."""
    assert summary_level(summary()) is None
    assert summary_level(summary(entry("a", "resolved", "failed"))) is None
    assert summary_level(summary(entry("a", "standing"))) == "WARNING"
    assert summary_level(summary(entry("a", "new"), entry("b", "standing", "failed"))) == "ERROR"


def test_given_a_minimum_level_when_compared_then_only_problems_at_or_above_it_alert():
    """R-OPS-3: WARNING (recommended) mails warnings and errors; ERROR mails errors only."""
    assert at_or_above("WARNING", "WARNING") and at_or_above("ERROR", "WARNING")
    assert at_or_above("ERROR", "ERROR") and not at_or_above("WARNING", "ERROR")
    assert not at_or_above(None, "WARNING")


def test_given_an_hourly_series_when_alerts_are_planned_then_new_ones_go_at_once_and_standing_ones_once_a_day():
    """R-OPS-3: a new warning is mailed in its run; the next hours' runs, where it stands, mail
    nothing; a day after it was mailed it comes in the digest; a second new one is mailed at once
    and is not in the digest of the next hour."""
    alerts: dict = {}
    new, standing, alerts = plan_alert(
        summary(entry("a", "new")), alerts, minimum="WARNING", now=T0
    )
    assert [w["id"] for w in new] == ["a"] and standing == []
    for hour in range(1, 24):
        new, standing, alerts = plan_alert(
            summary(entry("a", "standing")),
            alerts,
            minimum="WARNING",
            now=T0 + dt.timedelta(hours=hour),
        )
        assert new == [] and standing == [], hour
    new, standing, alerts = plan_alert(
        summary(entry("a", "standing"), entry("b", "new")),
        alerts,
        minimum="WARNING",
        now=T0 + DIGEST_EVERY,
    )
    assert [w["id"] for w in new] == ["b"] and [w["id"] for w in standing] == ["a"]
    new, standing, alerts = plan_alert(
        summary(entry("a", "standing"), entry("b", "standing")),
        alerts,
        minimum="WARNING",
        now=T0 + DIGEST_EVERY + dt.timedelta(hours=1),
    )
    assert new == [] and standing == []
    new, standing, _ = plan_alert(
        summary(entry("a", "standing"), entry("b", "standing")),
        alerts,
        minimum="WARNING",
        now=T0 + 2 * DIGEST_EVERY,
    )
    assert sorted(w["id"] for w in standing) == ["a", "b"]


def test_given_the_error_minimum_when_planned_then_only_failed_records_are_mailed():
    """R-OPS-3: at ERROR, a new skip warning is not mailed, a new failure is."""
    new, _, _ = plan_alert(
        summary(entry("a", "new"), entry("b", "new", "failed")), {}, minimum="ERROR", now=T0
    )
    assert [w["id"] for w in new] == ["b"]


def test_given_the_alert_emails_preference_when_split_then_commas_semicolons_and_spaces_separate():
    """R-OPS-3: every address of alert_emails gets the mail."""
    assert recipients("a@x.com, b@y.org;c@z.net  d@w.io") == [
        "a@x.com",
        "b@y.org",
        "c@z.net",
        "d@w.io",
    ]
    assert recipients(None) == [] and recipients(" ") == []


def test_given_new_resolved_and_standing_warnings_when_the_message_is_made_then_each_has_its_section():
    """R-OPS-3: the mail lists the new warnings and those resolved, and says how many stand (the
    digest lists them only when it is due)."""
    run = summary(entry("a", "new", "failed"), entry("b", "standing"), entry("c", "resolved"))
    subject, body = summary_message("sfqb_sync", run, [entry("a", "new", "failed")], [])
    assert subject == "[sfqb] sfqb_sync run manual__1: 1 new warning(s) (ERROR)"
    assert "New warnings:\n  items: QB:a: problem a" in body
    assert "Resolved in this run:\n  items: QB:c: problem c" in body
    assert "QB:b" not in body and "1 standing warning(s) are open" in body
    subject, body = summary_message("sfqb_sync", run, [], [entry("b", "standing")])
    assert subject == "[sfqb] sfqb_sync run manual__1: daily digest of 1 standing (WARNING)"
    assert "items: QB:b: problem b (since 2026-12-01T09:00:00+00:00)" in body


def test_given_a_failed_run_when_the_message_is_made_then_it_names_the_task_and_how_to_go_on():
    """R-OPS-3: a failed run is mailed at ERROR, naming the failed task and its log."""
    subject, body = failure_message(
        "sfqb_sync", "scheduled__x", "preflight.validate_org", "task_failure", "http://airflow/log"
    )
    assert subject == "[sfqb] sfqb_sync run scheduled__x FAILED (ERROR)"
    assert (
        "preflight.validate_org" in body
        and "http://airflow/log" in body
        and "clear the failed task" in body
    )
