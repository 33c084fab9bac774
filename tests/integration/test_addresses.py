"""Bill To / Ship To both ways on QuickBooks Online (R-ACC-7): dag.test() against both
sandbox servers."""

from __future__ import annotations

import pytest

from sfqb import soql
from tests.integration.conftest import report_of
from tests.integration.test_customers_sync import new_won_account, synced

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

ADDRESS_FIELDS = [
    "Id",
    "External_Account_ID__c",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "ShippingStreet",
    "ShippingCity",
    "ShippingState",
    "ShippingPostalCode",
    "ShippingCountry",
    "Billing_Address_Block__c",
    "Shipping_Address_Block__c",
]


def account_of(env, where) -> dict:
    (account,) = env.sf().query(soql.select("Account", ADDRESS_FIELDS, where=where))
    return account


def test_given_a_quickbooks_customer_with_addresses_when_synced_then_both_salesforce_address_forms_follow(
    sync_env,
):
    """R-ACC-7 (QBO): QuickBooks' Bill To and Ship To fill the Account's native Billing and
    Shipping address fields (street lines joined) and its read-only Address Block fields; a later
    change of the QuickBooks address updates both."""
    synced(sync_env)
    qb = sync_env.qb()
    customer = qb.create(
        "Customer",
        {
            "DisplayName": "Harbor Address Test Co",
            "BillAddr": {
                "Line1": "100 Main St",
                "Line2": "Suite 4",
                "City": "Portland",
                "CountrySubDivisionCode": "OR",
                "PostalCode": "97201",
                "Country": "USA",
            },
            "ShipAddr": {
                "Line1": "7 Dock Rd",
                "City": "Astoria",
                "CountrySubDivisionCode": "OR",
                "PostalCode": "97103",
            },
        },
        None,
    )

    synced(sync_env)
    account = account_of(sync_env, soql.eq("External_Account_ID__c", customer["Id"]))
    assert (
        account["BillingStreet"],
        account["BillingCity"],
        account["BillingState"],
        account["BillingPostalCode"],
        account["BillingCountry"],
    ) == ("100 Main St\nSuite 4", "Portland", "OR", "97201", "USA")
    assert (account["ShippingStreet"], account["ShippingCity"], account["ShippingPostalCode"]) == (
        "7 Dock Rd",
        "Astoria",
        "97103",
    )
    assert account["Billing_Address_Block__c"].splitlines() == [
        "100 Main St",
        "Suite 4",
        "Portland, OR 97201",
        "USA",
    ]
    assert account["Shipping_Address_Block__c"].splitlines() == ["7 Dock Rd", "Astoria, OR 97103"]

    current = qb.read("Customer", customer["Id"])
    qb.update(
        "Customer",
        {
            "Id": current["Id"],
            "SyncToken": current["SyncToken"],
            "sparse": True,
            "ShipAddr": {
                "Line1": "9 Pier Ave",
                "City": "Seaside",
                "CountrySubDivisionCode": "OR",
                "PostalCode": "97138",
            },
        },
    )
    synced(sync_env)
    account = account_of(sync_env, soql.eq("External_Account_ID__c", customer["Id"]))
    assert (account["ShippingStreet"], account["ShippingCity"]) == ("9 Pier Ave", "Seaside")
    assert account["Shipping_Address_Block__c"].splitlines() == ["9 Pier Ave", "Seaside, OR 97138"]
    assert account["BillingCity"] == "Portland"


def test_given_salesforce_address_edits_when_synced_then_they_reach_quickbooks_only_while_modifying_is_allowed(
    sync_env,
):
    """R-ACC-7, R-ACC-4 (QBO): a new Account's Billing and Shipping addresses make the new
    customer's Bill To and Ship To; later Salesforce edits reach the customer only with
    allow_salesforce_to_modify_quickbooks on, and a run after that writes nothing (R-GEN-4)."""
    account_id = new_won_account(
        sync_env,
        "Address Flow Co",
        BillingStreet="1 First St",
        BillingCity="Austin",
        BillingState="TX",
        BillingPostalCode="78701",
        ShippingStreet="2 Second St\nDock B",
        ShippingCity="Round Rock",
        ShippingState="TX",
        ShippingPostalCode="78664",
    )
    synced(sync_env)
    qb = sync_env.qb()
    qb_id = account_of(sync_env, soql.eq("Id", account_id))["External_Account_ID__c"]
    created = qb.read("Customer", qb_id)
    assert (
        created["BillAddr"]["Line1"],
        created["BillAddr"]["City"],
        created["BillAddr"]["PostalCode"],
    ) == ("1 First St", "Austin", "78701")
    assert (
        created["ShipAddr"]["Line1"],
        created["ShipAddr"]["Line2"],
        created["ShipAddr"]["City"],
    ) == ("2 Second St", "Dock B", "Round Rock")

    sf = sync_env.sf()
    sf.update(
        "Account", [{"Id": account_id, "BillingCity": "Dallas", "ShippingStreet": "3 Third St"}]
    )
    summary = synced(sync_env)
    after_off = qb.read("Customer", qb_id)
    assert (
        after_off["BillAddr"]["City"] == "Austin"
        and after_off["ShipAddr"]["Line1"] == "2 Second St"
    )
    assert report_of(summary, "customers")["records"]["QuickBooks Customer"]["skipped"] >= 1

    sf.update("Account", [{"Id": account_id, "BillingPostalCode": "75201"}])
    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    after_on = qb.read("Customer", qb_id)
    assert (after_on["BillAddr"]["City"], after_on["BillAddr"]["PostalCode"]) == ("Dallas", "75201")
    assert after_on["ShipAddr"]["Line1"] == "3 Third St" and after_on["ShipAddr"].get("Line2") in (
        None,
        "",
    )
    account = account_of(sync_env, soql.eq("Id", account_id))
    assert account["Billing_Address_Block__c"].splitlines()[:2] == [
        "1 First St",
        "Dallas, TX 75201",
    ]

    sync_env.sandbox.clear_counters()
    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
