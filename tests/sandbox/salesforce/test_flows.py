"""The sandbox's reading of the package's record-triggered Flows (``sfqb_sandbox.salesforce.flows``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfqb_sandbox.salesforce.flows import FlowError, parse_flow

pytestmark = pytest.mark.unit

PACKAGE_FLOW = (
    Path(__file__).resolve().parents[3]
    / "include/salesforce/force-app/main/default/flows/SFQB_One_Billing_Contact.flow-meta.xml"
)


def test_given_the_package_flow_when_read_then_it_unticks_the_accounts_other_billing_contacts():
    """R-ACC-6: the package's Flow starts when a Contact becomes its Account's billing contact
    (created ticked or ticked later; not on other saves of a ticked one) and unticks the
    Account's other ticked Contacts, found through the Account."""
    flow = parse_flow(PACKAGE_FLOW)
    assert flow is not None
    ticked = {"Id": "003A", "AccountId": "001A", "Is_Billing_Contact__c": True}
    others = [
        {"Id": "003B", "AccountId": "001A", "Is_Billing_Contact__c": True},
        {"Id": "003C", "AccountId": "001A", "Is_Billing_Contact__c": False},
        {"Id": "003D", "AccountId": "001B", "Is_Billing_Contact__c": True},
        ticked,
    ]

    assert flow.triggered_by(ticked, None)
    assert flow.triggered_by(ticked, dict(ticked, Is_Billing_Contact__c=False))
    assert not flow.triggered_by(ticked, dict(ticked, LastName="Renamed"))
    assert not flow.triggered_by(dict(ticked, AccountId=None), None)
    assert flow.narrowing(ticked) == ("AccountId", "001A")
    assert flow.updates(ticked, others) == [("003B", {"Is_Billing_Contact__c": False})]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("<triggerType>RecordAfterSave", "<triggerType>RecordBeforeSave"), "after-save"),
        (("<operator>NotEqualTo", "<operator>Contains"), "operator 'Contains'"),
        (("<filterLogic>and</filterLogic>", "<filterLogic>or</filterLogic>"), "'and' filter"),
        (("<recordUpdates>", "<recordDeletes>"), "one Update Records element"),
        (("<elementReference>$Record.Id", "<elementReference>$Record.Owner.Id"), "follow"),
    ],
)
def test_given_a_flow_of_another_shape_when_read_then_the_sandbox_refuses_it_by_name(
    tmp_path, change, message
):
    """R-ACC-6: strict: a Flow the sandbox does not model stops the package loading, naming
    the file, instead of running differently from a real org."""
    old, new = change
    text = PACKAGE_FLOW.read_text()
    assert old in text
    if old == "<recordUpdates>":
        text = text.replace("recordUpdates>", "recordDeletes>")
    else:
        text = text.replace(old, new, 1)
    path = tmp_path / "Changed.flow-meta.xml"
    path.write_text(text)

    with pytest.raises(FlowError, match=message):
        parse_flow(path)


def test_given_a_draft_flow_when_read_then_it_is_not_run(tmp_path):
    """R-ACC-6: only an active Flow runs (a Draft is deployed but off)."""
    path = tmp_path / "Draft.flow-meta.xml"
    path.write_text(PACKAGE_FLOW.read_text().replace("<status>Active", "<status>Draft"))

    assert parse_flow(path) is None
