"""Records named in the task log by what a person knows them as, beside their key (R-OPS-2):
the plan carries the names of the records its load may log (skipped or written)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sfqb.frames import records_frame
from sfqb.outcomes import QB_CUSTOMER, labelled, skips
from sfqb.steps.common import names_of, plan_names

pytestmark = pytest.mark.unit


def test_given_extracted_frames_when_named_then_keys_take_their_prefix_and_names_their_label():
    """R-OPS-2: a QuickBooks customer is ``QB:<Id>`` named by its display name, an invoice
    ``QB:Invoice:<Id>`` by its number; a record without a name is left out; keys and names
    that are not text are read as text."""
    customers = pd.DataFrame({"Id": ["7", "8", "9"], "DisplayName": ["Acme Inc ", None, " "]})
    invoices = pd.DataFrame({"Id": ["61"], "DocNumber": ["1061"]})

    assert names_of(customers, "DisplayName", prefix="QB:") == {"QB:7": "Acme Inc"}
    assert names_of(invoices, "DocNumber", prefix="QB:Invoice:", label="invoice ") == {
        "QB:Invoice:61": "invoice 1061"
    }
    assert names_of(customers, "Name") == {}  # no such column: no names, no error
    numbered = pd.DataFrame({"Id": [5, "6"], "Name": [1061, " Widget "]}, dtype=object)
    assert names_of(numbered, "Name") == {"5": "1061", "6": "Widget"}  # keys and names as text


def test_given_the_keys_a_plan_needs_when_named_then_only_those_records_are_named():
    """R-OPS-2: with ``keys``, ``names_of`` names only the records among them (a plan asks for
    the few it logs of a million read), each as it would without them; ``plan_names`` asks a
    function for exactly its keys and the records of its suffixed keys."""
    customers = pd.DataFrame({"Id": ["7", "8", "9"], "DisplayName": ["Acme", "Beta", "Gamma"]})
    asked = []

    def known(keys):
        asked.append(set(keys))
        return names_of(customers, "DisplayName", prefix="QB:", keys=keys)

    assert names_of(customers, "DisplayName", prefix="QB:", keys=["QB:9", "8", "QB:1"]) == {
        "QB:9": "Gamma"
    }
    plan = {"skips": skips(["QB:8 contact", "QB:7"], "why", record=QB_CUSTOMER)}
    assert plan_names(plan, known) == {"QB:7": "Acme", "QB:8": "Beta"}
    assert asked == [{"QB:8 contact", "QB:8", "QB:7"}]


def test_given_a_plan_when_its_names_are_kept_then_only_records_it_skips_or_writes_are_named():
    """R-OPS-2: the names cross XCom with the plan, so only the records its load may log are
    named: skipped ones, and written ones (a write may fail), found in frames and in lists of
    entries; a key with a suffix (a customer's contact, an invoice line) takes its record's."""
    known = {f"QB:{i}": f"Customer {i}" for i in range(1, 100)}
    plan = {
        "skips": skips(["QB:1", "QB:2 contact"], "why", record=QB_CUSTOMER),
        "creates": pd.DataFrame({"key": ["QB:3"], "payload": ["{}"]}),
        "items": [{"key": "QB:4 line 2", "Name": "x"}, {"no key": True}],
        "considered": ["QB:5", "QB:6"],
    }

    names = plan_names(plan, known)

    assert names == {f"QB:{i}": f"Customer {i}" for i in (1, 2, 3, 4)}
    assert labelled("QB:2 contact", names) == "QB:2 contact (Customer 2)"
    assert labelled("QB:5", names) == "QB:5"


def test_given_the_same_plan_when_named_twice_then_the_names_come_in_the_plans_order():
    """R-OPS-2: the names the plan carries come in the order the plan holds its records (a
    record's own key first, then the records of suffixed keys), not in a set's order that
    changes from one process to the next; Arrow-backed key columns included."""
    known = {f"QB:{i}": f"Customer {i}" for i in range(1, 10)}
    plan = {
        "skips": skips(["QB:9", "QB:2 contact", "QB:5"], "why", record=QB_CUSTOMER),
        "creates": pd.DataFrame({"key": pd.Series(["QB:7", None, "QB:1"], dtype="str")}),
        "items": [{"key": "QB:3 line 2"}, {"key": "QB:9"}],
    }

    names = plan_names(plan, known)

    assert list(names) == ["QB:9", "QB:5", "QB:7", "QB:1", "QB:2", "QB:3"]


def test_given_opportunities_skipped_when_planned_then_the_plan_names_them_by_opportunity_name():
    """R-OPS-2, R-OPP-1: the opportunities plan names the opportunities it skips and creates
    (their Opportunity Name), and no other."""
    from sfqb.areas import opportunities as rules
    from sfqb.steps import opportunities as steps
    from tests.unit.areas.test_opportunities import ITEMS, line, opp

    opps = [opp("o1", IsWon=False), opp("o4", Transaction_Type__c="None"), opp("ok")]
    extracted = {
        "windows": {},
        "opportunities": records_frame(opps, rules.OPPORTUNITY_FIELDS),
        "lines": records_frame([line("l1", "ok", item="5")], rules.LINE_FIELDS),
        "contacts": records_frame([], rules.CONTACT_FIELDS),
        "items": ITEMS,
        "terms": {},
        "classes": {},
        "custom_fields": {},
        "inactive_customers": [],
    }
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC).isoformat()
    run = {"run_id": "r1", "upper_bound": now, "install_date": now, "preferences": {}}

    planned = steps.plan(run, extracted)  # type: ignore[arg-type]  # a hand-made extract

    assert planned["names"] == {"o1": "Deal o1", "o4": "Deal o4", "ok": "Deal ok"}
