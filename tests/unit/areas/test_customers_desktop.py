"""The customer area's QuickBooks Desktop branches as pure functions: jobs (R-ACC-3), addresses
(R-ACC-7), Terms, Credit Limit and Sales Rep (R-ACC-9)."""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd
import pytest

from sfqb.areas.customers import edition_maps, jobs, plan_customers
from sfqb.mapping.maps import AREA_MAPS, default_map
from sfqb.preferences import Preferences
from tests.unit.areas.test_customers import inputs, qb_frame, sf_frame

pytestmark = pytest.mark.unit

DESKTOP = Preferences(quickbooks_edition="desktop")
DEFAULTS = {pair: default_map(pair) for pair in AREA_MAPS["customers"]}
REPS = {"JD": "R1", "AK": "R2"}


def desktop_plan(prefs: Preferences = DESKTOP, **given):
    return plan_customers(
        inputs(desktop=True, sales_reps=REPS, **given), prefs, edition_maps(DEFAULTS, True)
    )


def test_given_desktop_jobs_and_sub_customers_when_planned_then_only_sub_customers_sync():
    """R-ACC-3 (Desktop): a customer whose JobStatus is not "None" is a job and gets no Account;
    a sub-customer (JobStatus None or absent, with a parent) gets one under its parent's."""
    qb = qb_frame(
        {"Id": "1", "DisplayName": "Acme"},
        {"Id": "2", "DisplayName": "Job 0", "ParentRef": {"value": "1"}, "JobStatus": "Awarded"},
        {"Id": "3", "DisplayName": "Branch", "ParentRef": {"value": "1"}, "Level": 1},
        {"Id": "4", "DisplayName": "Annex", "ParentRef": {"value": "1"}, "JobStatus": "None"},
    )
    assert list(jobs(qb, desktop=True)) == [False, True, False, False]
    assert not jobs(qb).any()  # Online: only a Project (IsProject) is a job

    plan = desktop_plan(qb_changed=qb)

    accounts = plan.accounts.set_index("External_Account_ID__c")
    assert sorted(accounts.index) == ["1", "3", "4"]
    assert accounts.at["3", "parent_ext_id"] == "1" and accounts.at["4", "parent_ext_id"] == "1"
    (skip,) = plan.skips[plan.skips["key"] == "QB:2"].to_dict("records")
    assert "Job Status is not None" in skip["reason"] and "R-ACC-3" in skip["reason"]


def test_given_online_when_the_maps_are_taken_then_they_are_the_defaults():
    """R-ACC-7, R-ACC-9: Online's maps are left as they are."""
    assert edition_maps(DEFAULTS, desktop=False) is DEFAULTS


def test_given_a_desktop_customer_with_an_address_when_planned_then_only_the_block_fields_fill():
    """R-ACC-7 (Desktop): QB -> SF writes the Address Block fields, never the standard Billing or
    Shipping address fields."""
    qb = qb_frame(
        {"Id": "5", "DisplayName": "Addr Co", "BillAddr": {"Line1": "1 Main", "City": "Austin"}}
    )
    (account,) = desktop_plan(qb_changed=qb).accounts.to_dict("records")
    assert account["Billing_Address_Block__c"] == "1 Main\nAustin"
    assert not any(c.startswith(("Billing", "Shipping")) and "Block" not in c for c in account)


def test_given_a_linked_account_whose_address_changed_when_modify_is_on_then_desktop_sends_none():
    """R-ACC-7 (Desktop): the QB address is set only when the customer is created: a changed
    Billing address of a linked Account is not sent, even with modifying QuickBooks allowed;
    a new Account's address goes with its create."""
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Addr Co",
            "External_Account_ID__c": "9",
            "BillingStreet": "2 New St",
            "BillingCity": "Reno",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
        },
        {"Id": "001B", "Name": "New Co", "BillingStreet": "3 Elm", "BillingCity": "Waco"},
    )
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Addr Co",
            "BillAddr": {"Line1": "1 Main", "City": "Austin"},
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    allowed = Preferences(quickbooks_edition="desktop", allow_salesforce_to_modify_quickbooks=True)
    plan = desktop_plan(allowed, sf_changed=sf, qb_linked=qb)
    assert plan.customer_updates.empty
    (create,) = plan.customer_creates.to_dict("records")
    assert json.loads(create["payload"])["BillAddr"] == {"Line1": "3 Elm", "City": "Waco"}

    online = plan_customers(
        inputs(sf_changed=sf, qb_linked=qb), Preferences(allow_salesforce_to_modify_quickbooks=True)
    )
    assert "BillAddr.City" in online.customer_updates.iloc[0]["changed"]


def test_given_a_desktop_credit_limit_and_sales_rep_when_planned_then_they_reach_the_account():
    """R-ACC-9 (Desktop): Credit Limit and Sales Rep come to the Account; the values as
    Salesforce stores them (5000.0) are no change (R-GEN-4)."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Rep Co",
            "CreditLimit": "5000.00",
            "SalesRepRef": {"value": "R1", "name": "JD"},
        }
    )
    (account,) = desktop_plan(qb_changed=qb).accounts.to_dict("records")
    assert (account["Credit_Limit__c"], account["Sales_Rep__c"]) == ("5000.00", "JD")

    sf = sf_frame({"Id": "001A", "Name": "Rep Co", "External_Account_ID__c": "9"})
    sf["Credit_Limit__c"], sf["Sales_Rep__c"] = [5000.0], ["JD"]
    assert desktop_plan(qb_changed=qb, sf_linked=sf).accounts.empty


def test_given_accounts_with_sales_reps_and_credit_limits_when_planned_then_known_ones_go_to_qb():
    """R-ACC-9 (Desktop): a Sales Rep is sent as the QuickBooks rep of those initials with the
    Credit Limit; initials QuickBooks does not know are a WARNING for that record, not a
    crash, and the customer is created without them."""
    sf = sf_frame({"Id": "001K", "Name": "Known Co"}, {"Id": "001U", "Name": "Unknown Co"})
    sf["Sales_Rep__c"] = ["ak", "ZZ"]
    sf["Credit_Limit__c"] = [Decimal("7500.00"), pd.NA]  # the Salesforce hook reads Decimals
    plan = desktop_plan(sf_changed=sf)
    payloads = {
        k: json.loads(p)
        for k, p in zip(plan.customer_creates["key"], plan.customer_creates["payload"], strict=True)
    }
    assert payloads["001K"]["SalesRepRef"] == {"value": "R2"}
    assert payloads["001K"]["CreditLimit"] == "7500.00"
    assert "SalesRepRef" not in payloads["001U"] and "CreditLimit" not in payloads["001U"]
    (note,) = plan.notes.to_dict("records")
    assert note["key"] == "001U" and note["level"] == "WARNING"
    assert "Sales Rep 'ZZ' is the initials of no QuickBooks sales rep" in note["reason"]


def test_given_a_linked_account_whose_credit_limit_changed_when_allowed_then_desktop_updates_it():
    """R-ACC-9, R-ACC-4 (Desktop): a Credit Limit or Sales Rep changed in Salesforce updates the
    customer when modifying QuickBooks is allowed; an equal value (5000.0 against "5000.00")
    is no change."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Rep Co",
            "SyncToken": "3",
            "CreditLimit": "5000.00",
            "SalesRepRef": {"value": "R1", "name": "JD"},
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Rep Co",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
        }
    )
    sf["Credit_Limit__c"], sf["Sales_Rep__c"] = [5000.0], ["JD"]
    allowed = Preferences(quickbooks_edition="desktop", allow_salesforce_to_modify_quickbooks=True)
    assert desktop_plan(allowed, sf_changed=sf, qb_linked=qb).customer_updates.empty

    sf["Credit_Limit__c"], sf["Sales_Rep__c"] = [9000.0], ["AK"]
    (update,) = desktop_plan(allowed, sf_changed=sf, qb_linked=qb).customer_updates.to_dict(
        "records"
    )
    assert json.loads(update["payload"]) == {"CreditLimit": 9000.0, "SalesRepRef": {"value": "R2"}}


def test_given_unknown_initials_on_a_linked_account_when_allowed_then_nothing_is_sent():
    """R-ACC-9, R-GEN-4 (Desktop): initials QuickBooks does not know, and an emptied Credit
    Limit (qbXML cannot clear one), are left out: the customer keeps its own and no empty
    update goes to QuickBooks, run after run."""
    qb = qb_frame(
        {
            "Id": "9",
            "DisplayName": "Rep Co",
            "SalesRepRef": {"value": "R1", "name": "JD"},
            "CreditLimit": "5000.00",
            "MetaData": {"LastUpdatedTime": "2026-05-01T10:00:00-07:00"},
        }
    )
    sf = sf_frame(
        {
            "Id": "001A",
            "Name": "Rep Co",
            "External_Account_ID__c": "9",
            "Last_Sync_Date__c": "2026-05-01T18:00:00.000Z",
        }
    )
    sf["Sales_Rep__c"], sf["Credit_Limit__c"] = ["ZZ"], [pd.NA]  # qbXML cannot clear a limit
    allowed = Preferences(quickbooks_edition="desktop", allow_salesforce_to_modify_quickbooks=True)
    plan = desktop_plan(allowed, sf_changed=sf, qb_linked=qb)
    assert plan.customer_updates.empty
    assert "Sales Rep 'ZZ'" in plan.notes.iloc[0]["reason"]
