"""The sandbox's subset of Salesforce formulas, as the package's validation rules use it."""

from __future__ import annotations

import re

import pytest

from sfqb_sandbox.salesforce.formula import FormulaError, compile_formula

pytestmark = pytest.mark.unit

LOCKED = "AND(ISCHANGED(Transaction_Type__c), NOT(ISBLANK(External_Transaction_ID__c)))"


@pytest.mark.parametrize(
    ("now", "before", "refused"),
    [
        ({"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": "7"}, None, False),
        (
            {"Transaction_Type__c": "Sales Receipt", "External_Transaction_ID__c": "7"},
            {"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": "7"},
            True,
        ),
        (
            {"Transaction_Type__c": "Sales Receipt", "External_Transaction_ID__c": None},
            {"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": None},
            False,
        ),
        (
            {"Transaction_Type__c": "Sales Receipt", "External_Transaction_ID__c": ""},
            {"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": "7"},
            False,
        ),
        (
            {"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": "7", "Name": "B"},
            {"Transaction_Type__c": "Invoice", "External_Transaction_ID__c": "7", "Name": "A"},
            False,
        ),
    ],
    ids=["create", "synced-type-change", "unsynced", "unlinked-in-same-save", "other-change"],
)
def test_given_the_transaction_type_rule_when_saves_are_checked_then_only_a_synced_change_is_refused(
    now, before, refused
):
    """R-OPP-6: the package's rule refuses a Transaction Type change of a synced Opportunity
    only: a create, an unsynced record, a save that clears the link and other changes pass."""
    assert compile_formula(LOCKED)(now, before) is refused


def test_given_operators_and_functions_when_evaluated_then_they_follow_salesforce():
    """R-OPP-6 (the rule language): blank text is NULL, PRIORVALUE reads the record before the
    save, ISPICKVAL compares a picklist's value, && || = <> combine as in Salesforce."""
    record, before = {"Stage": "Won", "Note": "", "n": 3}, {"Stage": "Open", "n": 3}
    cases = {
        "ISBLANK(Note) && ISNULL(Missing)": True,
        "PRIORVALUE(Stage) = 'Open' || FALSE": True,
        'ISPICKVAL(stage, "Won")': True,
        "n <> 3": False,
        "NOT(ISCHANGED(n)) && TEXT(Stage) == 'Won'": True,
        "ISNEW()": False,
    }

    assert {f: compile_formula(f)(record, before) for f in cases} == cases


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("VLOOKUP(Name)", "does not model the formula function VLOOKUP"),
        ("AND(Name", "expected ), found the end"),
        ("Name > 3", "cannot read the formula"),
        ("ISCHANGED('x')", "ISCHANGED takes a field"),
        ("NOT(A, B)", "NOT does not take 2 arguments"),
    ],
)
def test_given_a_formula_the_sandbox_does_not_model_when_compiled_then_it_fails_naming_it(
    formula, message
):
    """R-OPP-6: strict, as the sandbox is: a rule it cannot evaluate stops it loading the
    package rather than letting saves through that a real org refuses."""
    with pytest.raises(FormulaError, match=re.escape(message)):
        compile_formula(formula)
