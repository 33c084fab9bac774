"""Alert rules (SPEC R-OPS-3): when a run's problems reach the minimum level, who gets the
mail and what it says. Pure functions; sending is tested against a real SMTP server in
tests/integration/test_alerts.py."""

from __future__ import annotations

import pytest

from sfqb.notify import at_or_above, failure_message, recipients, summary_level, summary_message

pytestmark = pytest.mark.unit


def area(name, failed=0, warnings=()):
    return {"area": name, "created": 1, "updated": 0, "skipped": 0, "failed": failed,
            "warning_count": len(warnings), "warnings": list(warnings)}


def test_given_run_summaries_when_levelled_then_failed_records_are_errors_and_skips_warnings():
    """R-OPS-3: a failed record is ERROR, a warning-level skip WARNING, a clean run nothing."""
    assert summary_level({"areas": [area("items")]}) is None
    assert summary_level({"areas": []}) is None
    assert summary_level({"areas": [area("items", warnings=["items: 1: no price"])]}) == "WARNING"
    assert summary_level({"areas": [area("items", warnings=["w"]), area("customers", failed=1)]}) == "ERROR"


def test_given_a_minimum_level_when_compared_then_only_problems_at_or_above_it_alert():
    """R-OPS-3: WARNING (recommended) mails warnings and errors; ERROR mails errors only."""
    assert at_or_above("WARNING", "WARNING") and at_or_above("ERROR", "WARNING")
    assert at_or_above("ERROR", "ERROR") and not at_or_above("WARNING", "ERROR")
    assert not at_or_above(None, "WARNING")


def test_given_the_alert_emails_preference_when_split_then_commas_semicolons_and_spaces_separate():
    """R-OPS-3: every address of alert_emails gets the mail."""
    assert recipients("a@x.com, b@y.org;c@z.net  d@w.io") == ["a@x.com", "b@y.org", "c@z.net", "d@w.io"]
    assert recipients(None) == [] and recipients(" ") == []


def test_given_a_run_with_warnings_when_the_message_is_made_then_it_lists_every_warning_and_the_counts():
    """R-OPS-3: the alert lists the warnings (R-OPS-2's summary table)."""
    summary = {"run_id": "manual__1", "upper_bound": "2026-11-26T04:00:00+00:00",
               "areas": [area("items", warnings=["items: 7: no price"]), area("customers", failed=1,
                                                                              warnings=["customers: 001: name rejected"])]}
    subject, body = summary_message("sfqb_sync", summary, "ERROR")
    assert subject == "[sfqb] sfqb_sync run manual__1: 2 warning(s) (ERROR)"
    assert "items: 7: no price" in body and "customers: 001: name rejected" in body
    assert "warnings: 2" in body


def test_given_a_failed_run_when_the_message_is_made_then_it_names_the_task_and_how_to_go_on():
    """R-OPS-3: a failed run is mailed at ERROR, naming the failed task and its log."""
    subject, body = failure_message("sfqb_sync", "scheduled__x", "preflight.validate_org", "task_failure",
                                    "http://airflow/log")
    assert subject == "[sfqb] sfqb_sync run scheduled__x FAILED (ERROR)"
    assert "preflight.validate_org" in body and "http://airflow/log" in body and "clear the failed task" in body
