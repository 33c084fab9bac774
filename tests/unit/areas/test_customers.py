"""Customer area rules as pure functions (docs/rules.md section 2, R-GEN-4, R-GEN-9)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sfqb.areas.customers import (
    CustomerInputs,
    display_name_problem,
    plan_customers,
)
from sfqb.frames import add_address_columns, records_frame
from sfqb.preferences import Preferences

pytestmark = pytest.mark.unit

QB_COLUMNS = [
    "Id",
    "SyncToken",
    "DisplayName",
    "Active",
    "Job",
    "IsProject",
    "ParentRef.value",
    "Level",
    "GivenName",
    "FamilyName",
    "PrimaryEmailAddr.Address",
    "PrimaryPhone.FreeFormNumber",
    "SalesTermRef.value",
    "SalesTermRef.name",
]
SF_COLUMNS = [
    "Id",
    "Name",
    "External_Account_ID__c",
    "Sync_Me__c",
    "Last_Sync_Date__c",
    "HasWonOpportunity",
    "Phone",
    "Parent.External_Account_ID__c",
    "BillingContact.Id",
    "BillingContact.External_Contact_ID__c",
    "BillingContact.FirstName",
    "BillingContact.LastName",
    "BillingContact.Email",
    "BillingContact.Phone",
    "BillingStreet",
    "BillingCity",
    "Terms__c",
]


def qb_frame(*records: dict) -> pd.DataFrame:
    base = {"Active": True, "IsProject": False, "Level": 0, "SyncToken": "0"}
    frame = records_frame([{**base, **r} for r in records], QB_COLUMNS)
    frame = add_address_columns(frame, "BillAddr")
    return add_address_columns(frame, "ShipAddr")


def sf_frame(*records: dict) -> pd.DataFrame:
    base = {"Sync_Me__c": False, "HasWonOpportunity": True}
    return records_frame([{**base, **r} for r in records], SF_COLUMNS)


def inputs(
    qb_changed=None,
    sf_changed=None,
    sf_linked=None,
    qb_linked=None,
    terms=None,
    qb_read_at=None,
    **more,
):
    return CustomerInputs(
        qb_changed=qb_changed if qb_changed is not None else qb_frame(),
        sf_changed=sf_changed if sf_changed is not None else sf_frame(),
        sf_linked=sf_linked if sf_linked is not None else sf_frame(),
        qb_linked=qb_linked if qb_linked is not None else qb_frame(),
        terms=terms or {"Net 30": "3"},
        qb_read_at=qb_read_at,
        **more,
    )


def test_given_new_active_qb_customers_when_planned_then_accounts_are_created_parents_first():
    """R-ACC-2, R-ACC-3: active customers create Accounts; sub-customers keep their parent."""
    qb = qb_frame(
        {"Id": "7", "DisplayName": "Child", "ParentRef": {"value": "5"}, "Job": True, "Level": 1},
        {"Id": "5", "DisplayName": "Parent Co", "BillAddr": {"Line1": "1 Main", "City": "Austin"}},
    )
    plan = plan_customers(inputs(qb_changed=qb), Preferences())
    accounts = plan.accounts
    assert list(accounts["External_Account_ID__c"]) == ["5", "7"]  # level 0 before level 1
    parent, child = accounts.to_dict("records")
    assert parent["Name"] == "Parent Co" and parent["BillingCity"] == "Austin"
    assert parent["Billing_Address_Block__c"] == "1 Main\nAustin"
    assert child["parent_ext_id"] == "5"
    assert bool(child["is_new"])


def test_given_inactive_customers_and_projects_when_planned_then_skipped_with_reasons():
    """R-ACC-2 (only Active), R-ACC-3 (QBO projects are jobs: not synced)."""
    qb = qb_frame(
        {"Id": "1", "DisplayName": "Gone", "Active": False},
        {
            "Id": "2",
            "DisplayName": "Project X",
            "IsProject": True,
            "Job": True,
            "ParentRef": {"value": "3"},
        },
    )
    plan = plan_customers(inputs(qb_changed=qb), Preferences())
    assert plan.accounts.empty
    reasons = dict(zip(plan.skips["key"], plan.skips["reason"], strict=True))
    assert "inactive in QuickBooks" in reasons["QB:1"]
    assert "jobs are not synced" in reasons["QB:2"]


def test_given_a_linked_account_with_qb_values_when_planned_again_then_nothing_is_written():
    """R-GEN-4: no echo: values the sync wrote are not written again."""
    qb = qb_frame({"Id": "9", "DisplayName": "Same Co", "PrimaryPhone": {"FreeFormNumber": "555"}})
    sf = sf_frame({"Id": "001A", "Name": "Same Co", "Phone": "555", "External_Account_ID__c": "9"})
    plan = plan_customers(inputs(qb_changed=qb, sf_linked=sf), Preferences())
    assert plan.accounts.empty


def test_given_a_phone_changed_in_qb_when_planned_then_only_that_account_is_updated():
    """R-ACC-2 (QB -> SF updates) with change detection on mapped values (R-GEN-4)."""
    qb = qb_frame(
        {"Id": "9", "DisplayName": "Same Co", "PrimaryPhone": {"FreeFormNumber": "555-0000"}},
        {"Id": "10", "DisplayName": "Other Co"},
    )
    sf = sf_frame(
        {"Id": "001A", "Name": "Same Co", "Phone": "555", "External_Account_ID__c": "9"},
        {"Id": "001B", "Name": "Other Co", "External_Account_ID__c": "10"},
    )
    plan = plan_customers(inputs(qb_changed=qb, sf_linked=sf), Preferences())
    assert list(plan.accounts["External_Account_ID__c"]) == ["9"]
    assert plan.accounts.iloc[0]["Phone"] == "555-0000"


def test_given_a_won_account_not_in_qb_when_planned_then_a_customer_is_created_from_its_billing_contact():
    """R-ACC-1, R-ACC-4, R-ACC-6: new Account -> new Customer; bill address and contact
    details come from the billing Contact when it has them."""
    sf = sf_frame(
        {
            "Id": "001N",
            "Name": "New Co",
            "Phone": "111",
            "BillingCity": "Boston",
            "BillingContact": {
                "Id": "003C",
                "FirstName": "Ada",
                "LastName": "Byron",
                "Email": "ada@example.com",
                "Phone": "222",
            },
            "Terms__c": "Net 30",
        }
    )
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    (create,) = plan.customer_creates.to_dict("records")
    payload = json.loads(create["payload"])
    assert payload["DisplayName"] == "New Co"
    assert payload["GivenName"] == "Ada" and payload["FamilyName"] == "Byron"
    assert payload["PrimaryPhone"] == {"FreeFormNumber": "222"}  # the contact's, not the account's
    assert payload["PrimaryEmailAddr"] == {"Address": "ada@example.com"}
    assert payload["BillAddr"]["City"] == "Boston"
    assert payload["SalesTermRef"] == {"value": "3"}
    assert create["billing_contact_id"] == "003C"


def test_given_an_account_without_a_won_opportunity_when_planned_then_skipped_unless_preferred():
    """R-ACC-1: only Accounts with a closed/won Opportunity, unless the preference says all."""
    sf = sf_frame({"Id": "001P", "Name": "Prospect", "HasWonOpportunity": False})
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    assert plan.customer_creates.empty
    assert "no closed/won opportunity" in plan.skips.iloc[0]["reason"]
    plan = plan_customers(
        inputs(sf_changed=sf), Preferences(sync_accounts_without_won_opportunities=True)
    )
    assert list(plan.customer_creates["key"]) == ["001P"]


def test_given_an_unknown_term_when_planned_then_the_customer_is_created_without_it_and_warned():
    """R-ACC-9: a Terms name QuickBooks does not know is a warning for that record."""
    sf = sf_frame({"Id": "001T", "Name": "Terms Co", "Terms__c": "Net 45"})
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    assert "SalesTermRef" not in json.loads(plan.customer_creates.iloc[0]["payload"])
    note = plan.notes.iloc[0]
    assert note["key"] == "001T" and note["level"] == "WARNING"
    assert "Terms 'Net 45' do not exist in QuickBooks" in note["reason"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [("A:B Corp", "':'"), ("x" * 501, "501 characters"), ("Tab\tCo", "'\\t'"), (None, "no name")],
)
def test_given_a_name_quickbooks_rejects_when_planned_then_a_warning_not_a_crash(name, problem):
    """R-GEN-5: names QB rejects (colon, over-long, control characters) are per-record warnings."""
    assert problem in display_name_problem(name)
    sf = sf_frame({"Id": "001X", "Name": name}, {"Id": "001Y", "Name": "Fine Co"})
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    assert list(plan.customer_creates["key"]) == ["001Y"]
    warned = plan.skips[plan.skips["key"] == "001X"].iloc[0]
    assert warned["level"] == "WARNING" and problem in warned["reason"]


def test_given_a_linked_account_edited_in_sf_when_modify_is_off_then_qb_is_not_updated():
    """R-ACC-4: updating an existing QB Customer from SF only when allowed (off by default)."""
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Renamed Co",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
        }
    )
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Old Co",
            "SyncToken": "4",
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    plan = plan_customers(inputs(sf_changed=sf, qb_linked=qb), Preferences())
    assert plan.customer_updates.empty
    assert "allow_salesforce_to_modify_quickbooks is off" in plan.skips.iloc[0]["reason"]

    plan = plan_customers(
        inputs(sf_changed=sf, qb_linked=qb), Preferences(allow_salesforce_to_modify_quickbooks=True)
    )
    (update,) = plan.customer_updates.to_dict("records")
    assert (update["Id"], update["SyncToken"]) == ("9", "4")
    assert json.loads(update["payload"])["DisplayName"] == "Renamed Co"
    assert "DisplayName" in update["changed"]


def test_given_one_part_of_an_address_changed_when_sent_then_the_whole_address_goes():
    """R-ACC-7: QuickBooks replaces an address object whole in a sparse update, so a changed
    billing city sends the whole Bill To (street included), and not the unchanged Ship To."""
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Co",
            "External_Account_ID__c": "9",
            "BillingStreet": "1 First St",
            "BillingCity": "Dallas",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
        }
    )
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Co",
            "SyncToken": "4",
            "BillAddr": {"Line1": "1 First St", "City": "Austin"},
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    plan = plan_customers(
        inputs(sf_changed=sf, qb_linked=qb), Preferences(allow_salesforce_to_modify_quickbooks=True)
    )
    (update,) = plan.customer_updates.to_dict("records")
    assert update["changed"] == ["BillAddr.City"]
    payload = json.loads(update["payload"])
    assert payload["BillAddr"]["Line1"] == "1 First St" and payload["BillAddr"]["City"] == "Dallas"
    assert "ShipAddr" not in payload


def test_given_both_sides_changed_when_planned_then_quickbooks_wins():
    """R-ACC-5: changed on both sides since the last sync -> QB's values overwrite SF."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "QB Name",
            "SyncToken": "2",
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    sf_now = sf_frame(
        {
            "Id": "001A",
            "Name": "SF Name",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T16:00:00.000Z",
        }
    )
    plan = plan_customers(
        inputs(qb_changed=qb, sf_changed=sf_now, sf_linked=sf_now, qb_linked=qb),
        Preferences(allow_salesforce_to_modify_quickbooks=True),
    )
    assert plan.customer_updates.empty
    assert list(plan.accounts["Name"]) == ["QB Name"]
    assert "QuickBooks' values win" in plan.skips.iloc[0]["reason"]


def test_given_ticked_sync_me_when_planned_then_cleared_only_for_records_that_can_sync():
    """R-GEN-9: Sync_Me__c is cleared once synced, left ticked when the record fails."""
    sf = sf_frame(
        {"Id": "001OK", "Name": "Good Co", "Sync_Me__c": True},
        {"Id": "001BAD", "Name": "Bad:Co", "Sync_Me__c": True},
    )
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    assert plan.clear_sync_me == ["001OK"]


def test_given_a_qb_contact_person_when_planned_then_the_billing_contact_is_written_and_linked():
    """R-ACC-8: the customer's contact person goes to the Account's billing Contact: the same
    person's Contact (names equal up to case and spaces) is updated in place and linked."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Co",
            "GivenName": "Grace",
            "FamilyName": "Hopper",
            "PrimaryEmailAddr": {"Address": "g@example.com"},
        },
        {"Id": "10", "DisplayName": "No Person Co", "GivenName": "Solo"},
    )
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Co",
            "External_Account_ID__c": "9",
            "BillingContact": {"Id": "003X", "FirstName": "grace", "LastName": "HOPPER "},
        }
    )
    plan = plan_customers(inputs(qb_changed=qb, sf_linked=sf), Preferences())
    (contact,) = plan.contacts.to_dict("records")
    assert contact["contact_id"] == "003X"
    assert (contact["LastName"], contact["Email"]) == ("Hopper", "g@example.com")
    assert contact["External_Contact_ID__c"] == "9" and contact["Is_Billing_Contact__c"] is True
    assert plan.contact_releases.empty
    assert "no family name" in plan.skips.set_index("key").loc["QB:10", "reason"]


def people_frame(*records: dict) -> pd.DataFrame:
    from sfqb.areas.customers import PEOPLE_COLUMNS

    return records_frame(
        [
            {"Is_Billing_Contact__c": False, "LastModifiedDate": "2026-01-01T00:00:00Z", **r}
            for r in records
        ],
        PEOPLE_COLUMNS,
    )


MATCHED = {
    "Id": "001A",
    "Name": "Co",
    "External_Account_ID__c": "9",
    "Last_Sync_Date__c": "2026-12-01T10:00:00.000Z",
    "BillingContact": {
        "Id": "003ADA",
        "FirstName": "Ada",
        "LastName": "Diaz",
        "Email": "ada@co.com",
    },
}
KEIKO = {
    "Id": "9",
    "DisplayName": "Co",
    "GivenName": "Keiko",
    "FamilyName": "Nguyen",
    "PrimaryEmailAddr": {"Address": "keiko@co.com"},
    "MetaData": {"LastUpdatedTime": "2026-11-01T00:00:00Z"},
}


def test_given_a_matched_pair_whose_contact_persons_differ_when_planned_then_no_contact_is_renamed():
    """R-ACC-10: on a first-run matched pair (QuickBooks' person never linked) QuickBooks wins,
    but a Contact is a person: Ada stays Ada (released from the billing role), and Keiko gets a
    Contact of her own; with modifying allowed nothing read from QuickBooks goes back to it."""
    qb = qb_frame(KEIKO)
    sf = sf_frame(MATCHED)
    people = people_frame(
        {
            "Id": "003ADA",
            "AccountId": "001A",
            "FirstName": "Ada",
            "LastName": "Diaz",
            "Is_Billing_Contact__c": True,
        }
    )
    plan = plan_customers(
        inputs(qb_changed=qb, sf_linked=sf, sf_changed=sf, qb_linked=qb, people=people),
        Preferences(allow_salesforce_to_modify_quickbooks=True),
    )
    (contact,) = plan.contacts.to_dict("records")
    assert contact["contact_id"] is None and (contact["FirstName"], contact["LastName"]) == (
        "Keiko",
        "Nguyen",
    )
    (release,) = plan.contact_releases.to_dict("records")
    assert release["Id"] == "003ADA" and release["Is_Billing_Contact__c"] is False
    assert plan.customer_updates.empty
    assert (
        "nothing read from QuickBooks is sent back"
        in plan.skips.set_index("key").loc["001A", "reason"]
    )


def test_given_a_contact_of_that_name_on_the_account_when_planned_then_it_is_linked_not_duplicated():
    """R-ACC-10: when QuickBooks' person already has a Contact on the Account, that Contact
    becomes the billing Contact; none is created."""
    people = people_frame(
        {
            "Id": "003ADA",
            "AccountId": "001A",
            "FirstName": "Ada",
            "LastName": "Diaz",
            "Is_Billing_Contact__c": True,
        },
        {"Id": "003KEI", "AccountId": "001A", "FirstName": "KEIKO", "LastName": "Nguyen"},
    )
    plan = plan_customers(
        inputs(qb_changed=qb_frame(KEIKO), sf_linked=sf_frame(MATCHED), people=people),
        Preferences(),
    )
    (contact,) = plan.contacts.to_dict("records")
    assert contact["contact_id"] == "003KEI" and contact["Is_Billing_Contact__c"] is True
    assert list(plan.contact_releases["Id"]) == ["003ADA"]


def test_given_a_billing_contact_chosen_in_salesforce_when_quickbooks_did_not_change_then_it_is_left_alone():
    """R-ACC-10, R-ACC-5: Keiko was linked before; a person picked Ada as billing Contact in
    Salesforce and QuickBooks has not changed since the last sync: Salesforce's choice stands."""
    people = people_frame(
        {
            "Id": "003ADA",
            "AccountId": "001A",
            "FirstName": "Ada",
            "LastName": "Diaz",
            "Is_Billing_Contact__c": True,
        },
        {
            "Id": "003KEI",
            "AccountId": "001A",
            "FirstName": "Keiko",
            "LastName": "Nguyen",
            "External_Contact_ID__c": "9",
        },
    )
    plan = plan_customers(
        inputs(qb_changed=qb_frame(KEIKO), sf_linked=sf_frame(MATCHED), people=people),
        Preferences(),
    )
    assert plan.contacts.empty and plan.contact_releases.empty


def test_given_quickbooks_names_a_new_contact_person_when_planned_then_the_old_contact_keeps_its_name():
    """R-ACC-10: QuickBooks changed its contact person from Keiko to Sam since the last sync:
    Keiko's Contact is not renamed; it gives up the billing role and the link, and Sam's Contact
    is created."""
    sam = {
        **KEIKO,
        "GivenName": "Sam",
        "FamilyName": "Ortiz",
        "MetaData": {"LastUpdatedTime": "2026-12-02T00:00:00Z"},
    }
    account = {
        **MATCHED,
        "BillingContact": {
            "Id": "003KEI",
            "FirstName": "Keiko",
            "LastName": "Nguyen",
            "External_Contact_ID__c": "9",
        },
    }
    people = people_frame(
        {
            "Id": "003KEI",
            "AccountId": "001A",
            "FirstName": "Keiko",
            "LastName": "Nguyen",
            "External_Contact_ID__c": "9",
            "Is_Billing_Contact__c": True,
        }
    )
    plan = plan_customers(
        inputs(qb_changed=qb_frame(sam), sf_linked=sf_frame(account), people=people), Preferences()
    )
    (contact,) = plan.contacts.to_dict("records")
    assert contact["contact_id"] is None and contact["LastName"] == "Ortiz"
    (release,) = plan.contact_releases.to_dict("records")
    assert (
        release["Id"] == "003KEI"
        and release["Is_Billing_Contact__c"] is False
        and release["clear_link"]
    )


def test_given_ticked_contacts_when_planned_then_their_sync_me_clears_unless_their_account_failed():
    """R-GEN-9: Sync Me on a Contact replays its Account; it is cleared when the Account went
    through and stays ticked when the Account failed."""
    sf = sf_frame({"Id": "001OK", "Name": "Fine Co"}, {"Id": "001BAD", "Name": "Bad: Co"})
    ticked = pd.DataFrame({"Id": ["003A", "003B"], "AccountId": ["001OK", "001BAD"]})
    plan = plan_customers(inputs(sf_changed=sf, ticked_contacts=ticked), Preferences())
    assert plan.clear_contact_sync_me == ["003A"]


def test_given_names_that_differ_only_in_case_when_compared_then_r_acc_11_sees_them_and_names_both_records():
    """R-ACC-11: names equal up to case or surrounding spaces are one name to QuickBooks; the
    warning for such a link names both records."""
    from sfqb.areas.customers import case_only_difference, same_name_link

    assert case_only_difference("ZETA LLC ", "Zeta LLC")
    assert not case_only_difference("Zeta LLC", "Zeta LLC") and not case_only_difference(
        "Zeta LLC", "Zeta Inc"
    )
    text = same_name_link("001Z", "ZETA LLC", "7", "Zeta LLC")
    assert (
        "Salesforce Account 001Z 'ZETA LLC'" in text and "QuickBooks customer 7 'Zeta LLC'" in text
    )
    assert "R-ACC-11" in text


def test_given_a_customer_whose_company_name_differs_when_planned_then_create_only_rows_do_not_update():
    """R-GEN-4: Account Name -> CompanyName fills new customers only; an existing customer's own
    CompanyName is not a difference to send back."""
    sf = sf_frame({"Id": "001A", "Name": "Acme", "External_Account_ID__c": "9"})
    qb = qb_frame({"Id": "9", "DisplayName": "Acme", "CompanyName": "Acme Holdings LLC"})
    plan = plan_customers(
        inputs(sf_changed=sf, qb_linked=qb), Preferences(allow_salesforce_to_modify_quickbooks=True)
    )
    assert plan.customer_updates.empty and plan.skips.empty


def test_given_two_new_accounts_with_one_name_when_planned_then_neither_is_sent():
    """R-GEN-5: QB names are unique; two Accounts with one name are a warning, not a race."""
    sf = sf_frame(
        {"Id": "001A", "Name": "Twin Co"},
        {"Id": "001B", "Name": "Twin Co"},
        {"Id": "001C", "Name": "Solo"},
    )
    plan = plan_customers(inputs(sf_changed=sf), Preferences())
    assert list(plan.customer_creates["key"]) == ["001C"]
    assert set(plan.skips.loc[plan.skips["level"] == "WARNING", "key"]) == {"001A", "001B"}


def test_given_a_new_customer_named_like_an_unlinked_account_when_planned_then_no_duplicate_account():
    """R-PRE-1 / R-GEN-5: a customer whose name an unlinked Account carries is a warning asking
    for a link, never a second Account of that name."""
    qb = qb_frame({"Id": "12", "DisplayName": "Lumen Co", "GivenName": "A", "FamilyName": "B"})
    plan = plan_customers(
        CustomerInputs(
            qb_changed=qb,
            sf_changed=sf_frame(),
            sf_linked=sf_frame(),
            qb_linked=qb_frame(),
            terms={},
            unlinked_names=frozenset({"Lumen Co"}),
        ),
        Preferences(),
    )
    assert plan.accounts.empty and plan.contacts.empty
    (skip,) = plan.skips.to_dict("records")
    assert skip["key"] == "QB:12" and skip["level"] == "WARNING"
    assert "set its External Account ID to 12" in skip["reason"]


def test_given_an_account_phone_unlike_its_contact_phone_when_planned_then_the_contact_is_not_rewritten():
    """R-GEN-4 / R-ACC-8: the Contact is compared with the Contact (not with the Account's
    field of the same name)."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Co",
            "GivenName": "Ann",
            "FamilyName": "Lee",
            "PrimaryPhone": {"FreeFormNumber": "111"},
        }
    )
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Co",
            "Phone": "999",
            "External_Account_ID__c": "9",
            "BillingContact": {
                "Id": "003X",
                "FirstName": "Ann",
                "LastName": "Lee",
                "Phone": "111",
                "External_Contact_ID__c": "9",
            },
        }
    )
    plan = plan_customers(inputs(qb_changed=qb, sf_linked=sf), Preferences())
    assert plan.contacts.empty


def test_given_qb_unchanged_since_the_last_sync_when_sf_is_edited_then_it_is_not_a_conflict():
    """R-ACC-5 only when QuickBooks changed after the last sync: the sync's own earlier writes
    and records merely re-read by the lookback are not QuickBooks edits."""
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "New Name",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T17:00:01.000Z",
        }
    )
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Old Name",
            "SyncToken": "1",
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )  # 17:00:00 UTC
    plan = plan_customers(
        inputs(qb_changed=qb, sf_changed=sf, sf_linked=sf, qb_linked=qb),
        Preferences(allow_salesforce_to_modify_quickbooks=True),
    )
    assert list(plan.customer_updates["key"]) == ["001A"]
    assert plan.accounts.empty  # the old QuickBooks name does not overwrite the Salesforce edit


def test_given_a_linked_account_phone_edit_when_its_contact_has_another_phone_then_the_account_phone_is_sent():
    """R-ACC-6 gives the billing Contact's phone precedence on creation only; afterwards the
    Account's phone is the customer's phone (R-ACC-4 updates, allowed)."""
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Co",
            "Phone": "303",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
            "BillingContact": {"Id": "003X", "LastName": "Lee", "Phone": "206"},
        }
    )
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Co",
            "SyncToken": "1",
            "FamilyName": "Lee",
            "PrimaryPhone": {"FreeFormNumber": "206"},
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    plan = plan_customers(
        inputs(sf_changed=sf, qb_linked=qb), Preferences(allow_salesforce_to_modify_quickbooks=True)
    )
    (update,) = plan.customer_updates.to_dict("records")
    assert json.loads(update["payload"])["PrimaryPhone"] == {"FreeFormNumber": "303"}


def test_given_a_name_clash_whose_account_is_created_this_run_when_planned_then_it_is_info_not_a_warning():
    """R-GEN-3 / R-PRE-1: a new customer named like an unlinked Account that this run sends to
    QuickBooks is linked by the load (duplicate name adopted), so the clash needs no one; a clash
    with an Account that is not being created still asks a person to link it."""
    import json as _json

    from sfqb.areas.customers import linked_by_load
    from sfqb.outcomes import INFO, WARNING, skips

    clashes = skips(
        ["QB:7", "QB:8"],
        "Salesforce already has an Account named ...: link it",
        WARNING,
        record="Salesforce Account",
    )
    qb = pd.DataFrame({"Id": ["7", "8"], "DisplayName": ["Zeta Existing LLC", "Other Co"]})
    creates = pd.DataFrame(
        {"key": ["001Z"], "payload": [_json.dumps({"DisplayName": "Zeta Existing LLC"})]}
    )
    out = linked_by_load(clashes, qb, creates)
    assert list(out["level"]) == [INFO, WARNING]
    assert "the load links the two" in out["reason"].iloc[0]


def test_given_customers_read_by_the_extract_when_planned_then_their_accounts_are_stamped_on_intuits_clock():
    """R-GEN-7, R-ACC-5: an Account (and its billing Contact) that copies a customer is stamped
    with the later of the customer's LastUpdatedTime and the QuickBooks time of the extract's
    first answer, both Intuit's times: never the worker's clock, never older than the copy."""
    qb = qb_frame(
        {
            "Id": "7",
            "DisplayName": "Old Edit Co",
            "FamilyName": "Ng",
            "MetaData": {"LastUpdatedTime": "2026-05-01T09:00:00-07:00"},
        },
        {
            "Id": "8",
            "DisplayName": "Fresh Edit Co",
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:30:00.250-07:00"},
        },
    )
    plan = plan_customers(
        inputs(qb_changed=qb, qb_read_at="2026-05-01T17:20:00.125+00:00"), Preferences()
    )
    stamps = dict(
        zip(
            plan.accounts["External_Account_ID__c"], plan.accounts["Last_Sync_Date__c"], strict=True
        )
    )
    assert stamps == {"7": "2026-05-01T17:20:00.125Z", "8": "2026-05-01T17:30:00.250Z"}
    assert list(plan.contacts["Last_Sync_Date__c"]) == ["2026-05-01T17:20:00.125Z"]


def test_given_a_customer_edited_after_the_extract_read_it_when_the_next_run_compares_then_the_edit_counts():
    """R-ACC-5: the stamp of a copy is no later than the extract's read, so a QuickBooks edit
    made while the run was still loading is newer than the stamp: the next run takes it."""
    from sfqb.areas.customers import qb_changed_since_sync, sync_stamps

    copied = pd.Series(["2026-05-01T10:00:00-07:00"])
    (stamp,) = sync_stamps(copied, "2026-05-01T17:05:00.000+00:00")
    edited_during_load = pd.DataFrame({"MetaData.LastUpdatedTime": ["2026-05-01T10:06:00-07:00"]})
    assert qb_changed_since_sync(
        edited_during_load, pd.DataFrame({"Last_Sync_Date__c": [stamp]})
    ).tolist() == [True]
    unchanged = pd.DataFrame({"MetaData.LastUpdatedTime": copied})
    assert qb_changed_since_sync(
        unchanged, pd.DataFrame({"Last_Sync_Date__c": [stamp]})
    ).tolist() == [False]
    assert sync_stamps(pd.Series([None]), None).tolist() == [None]


def test_given_a_new_customer_held_back_when_planned_then_its_sub_customers_wait_with_the_reason():
    """R-ACC-3: a new parent whose name clashes with an unlinked Account gets no Account in this
    run, so its sub-customers (and theirs) wait, each with a warning naming the parent, instead
    of failing on the missing parent Account."""
    qb = qb_frame(
        {"Id": "1", "DisplayName": "Acme Analytics Inc"},
        {
            "Id": "13",
            "DisplayName": "Acme Analytics Inc:Warehouse",
            "ParentRef": {"value": "1"},
            "Job": True,
            "Level": 1,
        },
        {"Id": "14", "DisplayName": "Dock", "ParentRef": {"value": "13"}, "Job": True, "Level": 2},
        {"Id": "20", "DisplayName": "Other Co"},
    )
    plan = plan_customers(
        inputs(qb_changed=qb, unlinked_names=frozenset({"ACME ANALYTICS INC "})), Preferences()
    )
    assert list(plan.accounts["External_Account_ID__c"]) == ["20"]
    reasons = plan.skips.set_index("key")["reason"]
    assert "link it" in reasons["QB:1"]
    assert (
        reasons["QB:13"].startswith("its parent customer 1 gets no Account")
        and "R-ACC-3" in reasons["QB:13"]
    )
    assert reasons["QB:14"].startswith("its parent customer 13 gets no Account")
    assert set(plan.retry) >= {"QB:1", "QB:13", "QB:14"}
