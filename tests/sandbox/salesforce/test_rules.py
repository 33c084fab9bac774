"""The rules that bite real integrations: each rejects what Salesforce rejects, with its code."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

pytestmark = pytest.mark.sandbox


def _error(call) -> dict:
    with pytest.raises((SalesforceMalformedRequest, SalesforceResourceNotFound)) as caught:
        call()
    return caught.value.content[0]


def _standard_book(sf) -> str:
    return sf.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")["records"][0]["Id"]


def _product_with_price(sf, name: str, price: float = 10.0) -> tuple[str, str]:
    product = sf.Product2.create({"Name": name, "IsActive": True})["id"]
    entry = sf.PricebookEntry.create(
        {
            "Pricebook2Id": _standard_book(sf),
            "Product2Id": product,
            "UnitPrice": price,
            "IsActive": True,
        }
    )["id"]
    return product, entry


def test_given_field_level_violations_when_writing_then_salesforce_codes(sf, fresh):
    """api-notes 3.5 error catalogue: required fields, restricted picklists, field lengths,
    unknown and read-only fields, malformed ids and lookups that do not exist."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    opp = {"Name": "Rules", "StageName": "Prospecting", "CloseDate": "2025-01-31"}
    cases = [
        (lambda: sf.Account.create({"Phone": "1"}), "REQUIRED_FIELD_MISSING", ["Name"]),
        (lambda: sf.Opportunity.create({"Name": "No stage"}), "REQUIRED_FIELD_MISSING", None),
        (
            lambda: sf.Opportunity.create({**opp, "Transaction_Type__c": "Credit Memo"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["Transaction_Type__c"],
        ),
        (
            lambda: sf.Opportunity.create({**opp, "StageName": "Dreaming"}),
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            ["StageName"],
        ),
        (lambda: sf.Account.create({"Name": "x" * 256}), "STRING_TOO_LONG", ["Name"]),
        (lambda: sf.Account.create({"Name": "A", "Colour__c": "red"}), "INVALID_FIELD", None),
        (
            lambda: sf.Opportunity.create({**opp, "IsWon": True}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["IsWon"],
        ),
        (
            lambda: sf.Account.update(account, {"CreatedDate": "2020-01-01T00:00:00Z"}),
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
        (
            lambda: sf.Contact.create({"LastName": "L", "AccountId": "not-an-id"}),
            "MALFORMED_ID",
            ["AccountId"],
        ),
        (
            lambda: sf.Contact.create({"LastName": "L", "AccountId": "001000000000000AAA"}),
            "INVALID_CROSS_REFERENCE_KEY",
            ["AccountId"],
        ),
        (
            lambda: sf.Opportunity.create({**opp, "CloseDate": "31/01/2025"}),
            "JSON_PARSER_ERROR",
            None,
        ),
        (lambda: sf.Account.update(account, {"Name": None}), "REQUIRED_FIELD_MISSING", ["Name"]),
    ]
    for call, code, fields in cases:
        error = _error(call)
        assert error["errorCode"] == code, error
        if fields is not None:
            assert error["fields"] == fields, error


def test_given_a_deleted_record_when_updating_then_entity_is_deleted(sf, fresh):
    """api-notes 3.5: writes to a soft-deleted record fail with ENTITY_IS_DELETED."""
    new = sf.Account.create({"Name": "Short Lived"})["id"]
    sf.Account.delete(new)
    assert (
        _error(lambda: sf.Account.update(new, {"Phone": "1"}))["errorCode"] == "ENTITY_IS_DELETED"
    )


def test_given_stages_when_saving_opportunities_then_is_closed_and_is_won_follow(sf, fresh):
    """api-notes 3.11, stages (docs/rules.md section 3): IsClosed/IsWon are derived from
    OpportunityStage, including the package's Migrated stage (closed and won); they change with the
    stage."""
    expected = {
        "Closed Won": (True, True),
        "Closed Lost": (True, False),
        "Migrated": (True, True),
        "Prospecting": (False, False),
    }
    for stage, flags in expected.items():
        new = sf.Opportunity.create({"Name": stage, "StageName": stage, "CloseDate": "2025-02-01"})[
            "id"
        ]
        row = sf.Opportunity.get(new)
        assert (row["IsClosed"], row["IsWon"]) == flags, stage
    sf.Opportunity.update(new, {"StageName": "Closed Won"})
    row = sf.Opportunity.get(new)
    assert (row["IsClosed"], row["IsWon"]) == (True, True)
    stages = sf.query(
        "SELECT ApiName, IsClosed, IsWon FROM OpportunityStage WHERE ApiName = 'Migrated'"
    )
    assert stages["records"][0]["IsWon"] is True


def test_given_price_books_when_adding_line_items_then_the_price_book_rules_apply(sf, fresh):
    """api-notes 3.11: a line needs a PricebookEntry (FIELD_INTEGRITY_EXCEPTION without); the
    first line sets the opportunity's price book; an entry of another book is rejected;
    Amount is the sum of TotalPrice; a custom book needs the standard price first."""
    product, entry = _product_with_price(sf, "Rule Widget", 12.5)
    opp = sf.Opportunity.create(
        {"Name": "Lines", "StageName": "Prospecting", "CloseDate": "2025-02-01"}
    )["id"]
    no_entry = _error(
        lambda: sf.OpportunityLineItem.create({"OpportunityId": opp, "Quantity": 1, "UnitPrice": 1})
    )
    assert no_entry["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "PricebookEntryId" in no_entry["message"]
    sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 12.5}
    )
    sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 3, "TotalPrice": 30}
    )
    row = sf.Opportunity.get(opp)
    assert row["Pricebook2Id"] == _standard_book(sf)
    assert row["Amount"] == 55.0 and row["HasOpportunityLineItem"] is True
    both = _error(
        lambda: sf.OpportunityLineItem.create(
            {
                "OpportunityId": opp,
                "PricebookEntryId": entry,
                "Quantity": 1,
                "UnitPrice": 1,
                "TotalPrice": 1,
            }
        )
    )
    assert both["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    custom = sf.Pricebook2.create({"Name": "Wholesale", "IsActive": True})["id"]
    orphan = sf.Product2.create({"Name": "No Standard Price", "IsActive": True})["id"]
    no_standard = _error(
        lambda: sf.PricebookEntry.create(
            {"Pricebook2Id": custom, "Product2Id": orphan, "UnitPrice": 5, "IsActive": True}
        )
    )
    assert no_standard["errorCode"] == "STANDARD_PRICE_NOT_DEFINED"
    custom_entry = sf.PricebookEntry.create(
        {"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 9, "IsActive": True}
    )["id"]
    other_book = _error(
        lambda: sf.OpportunityLineItem.create(
            {"OpportunityId": opp, "PricebookEntryId": custom_entry, "Quantity": 1, "UnitPrice": 9}
        )
    )
    assert other_book["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert "different pricebook" in other_book["message"]
    duplicate = _error(
        lambda: sf.PricebookEntry.create(
            {"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 8, "IsActive": True}
        )
    )
    assert duplicate["errorCode"] == "DUPLICATE_VALUE"


def test_given_an_inactive_standard_price_book_when_writing_prices_then_it_fails(sf, fresh):
    """api-notes 3.11, R-PRE-4: the standard book can be made inactive (admin switch);
    then its entries and line items on it are rejected; IsActive reads back false."""
    product, entry = _product_with_price(sf, "Before Inactive")
    opp = sf.Opportunity.create(
        {"Name": "Inactive book", "StageName": "Prospecting", "CloseDate": "2025-02-01"}
    )["id"]
    fresh.call("salesforce", "POST", "standard-pricebook", {"active": False})
    book = sf.query("SELECT IsActive FROM Pricebook2 WHERE IsStandard = true")["records"][0]
    assert book["IsActive"] is False
    other = sf.Product2.create({"Name": "After Inactive", "IsActive": True})["id"]
    entry_error = _error(
        lambda: sf.PricebookEntry.create(
            {"Pricebook2Id": _standard_book(sf), "Product2Id": other, "UnitPrice": 1}
        )
    )
    assert entry_error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    line_error = _error(
        lambda: sf.OpportunityLineItem.create(
            {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 1, "UnitPrice": 1}
        )
    )
    assert line_error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert product


def test_given_a_second_billing_contact_when_marked_then_the_first_is_unmarked(sf, fresh):
    """R-ACC-6: at most one Is_Billing_Contact__c per Account; marking another unmarks the
    previous one. The package's Flow SFQB_One_Billing_Contact does it, run by the org."""
    account = sf.Account.create({"Name": "Billing Rule Co"})["id"]
    first = sf.Contact.create(
        {"LastName": "First", "AccountId": account, "Is_Billing_Contact__c": True}
    )["id"]
    second = sf.Contact.create({"LastName": "Second", "AccountId": account})["id"]
    sf.Contact.update(second, {"Is_Billing_Contact__c": True})
    rows = sf.query(f"SELECT Id, Is_Billing_Contact__c FROM Contact WHERE AccountId = '{account}'")
    flags = {r["Id"]: r["Is_Billing_Contact__c"] for r in rows["records"]}
    assert flags == {first: False, second: True}


def test_given_a_second_primary_contact_role_when_saved_then_only_one_is_primary(sf, fresh):
    """api-notes 3.11: one primary OpportunityContactRole per opportunity."""
    account = sf.Account.create({"Name": "Roles Co"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": "Roles",
            "StageName": "Prospecting",
            "CloseDate": "2025-02-01",
            "AccountId": account,
        }
    )["id"]
    contacts = [sf.Contact.create({"LastName": n, "AccountId": account})["id"] for n in "AB"]
    for contact in contacts:
        sf.OpportunityContactRole.create(
            {
                "OpportunityId": opp,
                "ContactId": contact,
                "IsPrimary": True,
                "Role": "Decision Maker",
            }
        )
    rows = sf.query(
        f"SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opp}'"
    )["records"]
    assert {r["ContactId"]: r["IsPrimary"] for r in rows} == {contacts[0]: False, contacts[1]: True}


def test_given_a_failing_line_item_when_rejected_then_the_opportunity_is_untouched(sf, fresh):
    """api-notes 3.11: a rejected write changes nothing, including what its rules would have
    touched (the first line would set the opportunity's price book)."""
    _, entry = _product_with_price(sf, "Atomic Widget")
    opp = sf.Opportunity.create(
        {"Name": "Atomic", "StageName": "Prospecting", "CloseDate": "2025-02-01"}
    )["id"]
    error = _error(
        lambda: sf.OpportunityLineItem.create(
            {
                "OpportunityId": opp,
                "PricebookEntryId": entry,
                "Quantity": 1,
                "UnitPrice": 1,
                "TotalPrice": 1,
            }
        )
    )
    assert error["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert sf.Opportunity.get(opp)["Pricebook2Id"] is None


def test_given_derived_fields_when_saving_then_the_org_computes_them(sf, fresh):
    """Auto-number names (package Invoice_Item__c, display format II-{0000000}), a custom
    object's text Name defaulting to the Id, Contact.Name, and ExpectedRevenue from Amount and
    the stage's probability."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    invoice = sf.Invoice__c.create({"Account__c": account})["id"]
    assert sf.Invoice__c.get(invoice)["Name"] == invoice
    item = sf.Invoice_Item__c.create({"Invoice__c": invoice})["id"]
    assert sf.Invoice_Item__c.get(item)["Name"] == "II-0000001"
    contact = sf.Contact.create({"FirstName": "Renée", "LastName": "Ørsted"})["id"]
    assert sf.Contact.get(contact)["Name"] == "Renée Ørsted"
    opp = sf.Opportunity.create(
        {
            "Name": "Forecast",
            "StageName": "Negotiation/Review",
            "CloseDate": "2025-02-01",
            "Amount": 1000,
        }
    )["id"]
    row = sf.Opportunity.get(opp)
    assert (row["Probability"], row["ExpectedRevenue"], row["ForecastCategoryName"]) == (
        90.0,
        900.0,
        "Pipeline",
    )


def test_given_a_validation_rule_when_a_record_matches_then_custom_validation_fails(sf, fresh):
    """api-notes 3.5: FIELD_CUSTOM_VALIDATION_EXCEPTION from a validation rule registered on
    the admin surface, with the rule's message and error field; other records save."""
    fresh.call(
        "salesforce",
        "POST",
        "validation-rules",
        {
            "object": "Account",
            "when": {"Terms__c": "Net 90"},
            "field": "Terms__c",
            "message": "Net 90 needs approval",
        },
    )
    error = _error(lambda: sf.Account.create({"Name": "Slow Payer", "Terms__c": "net 90"}))
    assert error == {
        "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "message": "Net 90 needs approval",
        "fields": ["Terms__c"],
    }
    assert sf.Account.create({"Name": "Fast Payer", "Terms__c": "Net 30"})["success"] is True
    fresh.call("salesforce", "DELETE", "validation-rules")
    assert sf.Account.create({"Name": "Slow Payer", "Terms__c": "Net 90"})["success"] is True


def test_given_half_cent_prices_when_lines_are_written_then_the_org_rounds_half_up(sf, fresh):
    """api-notes 3.11 and the money rule: currency fields keep 2 decimals and Salesforce rounds
    half up, the price book entry's UnitPrice and the line's TotalPrice alike (12.345 -> 12.35,
    0.5 x 24.69 = 12.345 -> 12.35); half to even would store 12.34."""
    product, entry = _product_with_price(sf, "Half Cent Widget", 12.345)
    assert sf.PricebookEntry.get(entry)["UnitPrice"] == 12.35
    opp = sf.Opportunity.create(
        {"Name": "Half cents", "StageName": "Prospecting", "CloseDate": "2025-02-01"}
    )["id"]
    line = sf.OpportunityLineItem.create(
        {"OpportunityId": opp, "PricebookEntryId": entry, "Quantity": 0.5, "UnitPrice": 24.69}
    )["id"]
    assert sf.OpportunityLineItem.get(line)["TotalPrice"] == 12.35
    assert sf.Opportunity.get(opp)["Amount"] == 12.35


def test_given_a_synced_opportunity_when_its_transaction_type_changes_then_the_package_refuses(
    sf, fresh
):
    """R-OPP-6: the package's validation rule (objects/Opportunity/validationRules), applied by
    the org as a real org with the package applies it: the Transaction Type of an Opportunity
    linked to a QuickBooks transaction cannot change; the same save that clears External
    Transaction ID may change it."""
    account = sf.Account.create({"Name": "Locked Type Co"})["id"]
    opp = sf.Opportunity.create(
        {
            "Name": "Locked",
            "StageName": "Prospecting",
            "CloseDate": "2025-03-01",
            "AccountId": account,
            "Transaction_Type__c": "Invoice",
            "External_Transaction_ID__c": "901",
        }
    )["id"]

    error = _error(lambda: sf.Opportunity.update(opp, {"Transaction_Type__c": "Sales Receipt"}))
    sf.Opportunity.update(opp, {"Name": "Locked, renamed"})
    sf.Opportunity.update(
        opp, {"Transaction_Type__c": "Sales Receipt", "External_Transaction_ID__c": None}
    )

    assert error["errorCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert error["fields"] == ["Transaction_Type__c"]
    assert error["message"].startswith("This Opportunity is synced to a QuickBooks transaction")
    row = sf.Opportunity.get(opp)
    assert (row["Name"], row["Transaction_Type__c"]) == ("Locked, renamed", "Sales Receipt")


def test_given_the_billing_contact_flow_deactivated_when_two_are_ticked_then_both_stay(sf, fresh):
    """R-ACC-6: the rule is the package's Flow, not the org's: an admin who deactivates it
    (as in Setup) gets several billing Contacts per Account, as a real org would; activated
    again, the next Contact ticked is the only one."""
    flow = "SFQB_One_Billing_Contact"
    assert fresh.call("salesforce", "GET", "flows") == {flow: True}
    fresh.call("salesforce", "POST", "flows", {"name": flow, "active": False})
    account = sf.Account.create({"Name": "Two Billing Co"})["id"]
    made = [
        sf.Contact.create({"LastName": n, "AccountId": account, "Is_Billing_Contact__c": True})[
            "id"
        ]
        for n in ("First", "Second")
    ]

    def ticked() -> set[str]:
        rows = sf.query(
            f"SELECT Id FROM Contact WHERE AccountId = '{account}' AND Is_Billing_Contact__c = true"
        )
        return {r["Id"] for r in rows["records"]}

    assert ticked() == set(made)
    fresh.call("salesforce", "POST", "flows", {"name": flow, "active": True})
    third = sf.Contact.create(
        {"LastName": "Third", "AccountId": account, "Is_Billing_Contact__c": True}
    )["id"]
    assert ticked() == {third}
