"""The QuickBooks refresh token's expiry in the preflight report, the first report of the run
summary (R-OPS-3, R-OPS-4): every run, whether or not matching still has work to do."""

from __future__ import annotations

import logging

import pytest

from sfqb.hooks.errors import AuthError
from sfqb.steps.preflight import match, quickbooks_token_warnings

pytestmark = pytest.mark.unit

LAPSING = (
    "quickbooks (quickbooks_default): the QuickBooks refresh token lapses on 2028-10-01 "
    "00:00 UTC, in 12 days (...): before then, reconnect the app: ..."
)


class Hook:
    quickbooks_conn_id = "quickbooks_default"

    def __init__(self, warning=None, error=None) -> None:
        self.warning, self.error = warning, error

    def refresh_token_warning(self):
        if self.error:
            raise self.error
        return self.warning


class MatchedBefore:
    """A sync state whose first-run matching is done for every kind, with no open warning."""

    def first_run_done(self, key):
        return {"done_at": "2026-01-01T00:00:00+00:00"}

    def warnings(self, area):
        return {}


def test_given_a_lapsing_refresh_token_when_matching_has_nothing_to_do_then_the_report_warns(
    caplog,
):
    """The warning rides on the matching report (its warnings and warning_count, so the run
    summary lists it and the alert counts it), keyed by the connection, which the check looks
    at every run (so the warning resolves once the operator reconnects); it is logged in the
    preflight task's log."""
    with caplog.at_level(logging.WARNING):
        report = match({"preferences": {}}, sf=object(), qb=Hook(LAPSING), state=MatchedBefore())
    assert [(w["key"], w["reason"]) for w in report["warnings"]] == [
        ("quickbooks_default", LAPSING)
    ]
    assert report["warning_count"] == 1 and "quickbooks_default" in report["considered"]
    assert LAPSING in caplog.text


def test_given_a_healthy_or_unreadable_token_state_when_checked_then_no_warning():
    """No warning far from the expiry; a connection that cannot be read is the areas' to
    report (they stop on it), not the preflight's."""
    assert quickbooks_token_warnings(Hook(None)) == []
    assert quickbooks_token_warnings(Hook(error=AuthError("no refresh token"))) == []
    report = match({"preferences": {}}, sf=object(), qb=Hook(None), state=MatchedBefore())
    assert report["warnings"] == [] and report["warning_count"] == 0
