"""Won Opportunities -> QuickBooks transactions end to end: dag.test() against both sandbox
servers (SPEC section 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb.areas.opportunities import line_amount, line_external_id, marker
from sfqb.extract import soql
from tests.integration.conftest import SINCE_SEED, report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

OPP_FIELDS = ["Id", "Name", "IsWon", "Transaction_Type__c", "AccountId", "Account.External_Account_ID__c",
              "External_Transaction_ID__c", "External_Transaction_Number__c", "Last_Sync_Date__c", "Sync_Me__c"]
LINE_FIELDS = ["Id", "OpportunityId", "Quantity", "UnitPrice", "Description", "SortOrder", "External_Line_ID__c",
               "External_Line_Index__c", "Product2.External_Item_ID__c", "Product2.ProductCode"]
ENTITY = {"Invoice": "Invoice", "Sales Receipt": "SalesReceipt"}


def opportunities(env, where=None) -> dict[str, dict]:
    return {r["Id"]: r for r in env.sf().query(soql.select("Opportunity", OPP_FIELDS, where=where))}


def lines_of(env, opp_id: str) -> list[dict]:
    rows = env.sf().query(soql.select("OpportunityLineItem", LINE_FIELDS, where=soql.eq("OpportunityId", opp_id)))
    return sorted(rows, key=lambda r: (r["SortOrder"] or 0, r["Id"]))


def synced(env, **prefs) -> dict:
    env.set_preferences(sync_start=SINCE_SEED, **prefs)
    _, states, summary = env.run()
    assert set(states.values()) == {"success"}, states
    return report_of(summary, "opportunities")


def sales_lines(txn: dict) -> list[dict]:
    return [line for line in txn["Line"] if line["DetailType"] == "SalesItemLineDetail"]


def priced_products(env, n: int) -> list[dict]:
    """n Products linked to QuickBooks items, with their standard price book entry."""
    sf = env.sf()
    book = sf.standard_pricebook()["Id"]
    entries = list(sf.query(soql.select(
        "PricebookEntry", ["Id", "Product2Id", "UnitPrice", "Product2.External_Item_ID__c", "Product2.Name"],
        where=[soql.eq("Pricebook2Id", book), soql.compare("Product2.External_Item_ID__c", "!=", None)])))
    return sorted(entries, key=lambda e: e["Id"])[:n]


def linked_account(env) -> dict:
    rows = env.sf().query(soql.select("Account", ["Id", "Name", "External_Account_ID__c"],
                                      where=soql.compare("External_Account_ID__c", "!=", None)))
    return sorted(rows, key=lambda r: r["Id"])[0]


def won_opportunity(env, account_id: str, kind: str | None, lines=(), **fields) -> str:
    """A closed/won Opportunity made through the Salesforce API, with Opportunity Products
    ``lines`` = [(PricebookEntry, quantity, unit price, description)]."""
    sf = env.sf()
    book = sf.standard_pricebook()["Id"]
    (opp,) = sf.create("Opportunity", [{"Name": f"Deal {kind}", "AccountId": account_id, "StageName": "Closed Won",
                                        "CloseDate": "2026-11-20", "Transaction_Type__c": kind,
                                        "Pricebook2Id": book, **fields}])
    assert opp.ok, opp.errors
    if lines:
        made = sf.create("OpportunityLineItem", [
            {"OpportunityId": opp.id, "PricebookEntryId": entry["Id"], "Quantity": qty, "UnitPrice": price,
             "Description": text, "SortOrder": n}
            for n, (entry, qty, price, text) in enumerate(lines, start=1)])
        assert all(r.ok for r in made), [r.errors for r in made]
    return opp.id


def test_given_won_opportunities_when_synced_then_each_eligible_one_becomes_its_transaction(sync_env):
    """R-OPP-1, R-OPP-2, R-OPP-3, R-OPP-4: a won opportunity with products, a Transaction Type
    and a synced Account becomes an Invoice or Sales Receipt for the Account's customer, one
    line per product (item, quantity, rate, description, amount to the cent), linked back on the
    Opportunity (External Transaction ID and Number) and each product (External Line ID/Index);
    the others are skipped with their reason."""
    synced(sync_env)
    account = linked_account(sync_env)
    a, b = priced_products(sync_env, 2)
    invoice = won_opportunity(sync_env, account["Id"], "Invoice",
                              [(a, 2, 150.25, "Setup"), (b, 1.5, 99.99, "Support hours")])
    receipt = won_opportunity(sync_env, account["Id"], "Sales Receipt", [(b, 3, 20, None)])
    order = won_opportunity(sync_env, account["Id"], "Sales Order", [(a, 1, 10, None)])
    never = won_opportunity(sync_env, account["Id"], "None", [(a, 1, 10, None)])
    untyped = won_opportunity(sync_env, account["Id"], None, [(a, 1, 10, None)])
    empty = won_opportunity(sync_env, account["Id"], "Invoice")
    report = synced(sync_env)

    qb = sync_env.qb()
    opps = opportunities(sync_env, where=soql.eq("AccountId", account["Id"]))
    created = [o for o in opps.values() if o["External_Transaction_ID__c"]]
    assert {o["Id"] for o in created} >= {invoice, receipt}
    assert not {order, never, untyped, empty} & {o["Id"] for o in created}
    assert report["created"] >= 2
    kinds = set()
    for opp in created:
        entity = ENTITY[opp["Transaction_Type__c"]]
        kinds.add(entity)
        txn = qb.read(entity, opp["External_Transaction_ID__c"])
        assert txn["CustomerRef"]["value"] == opp["Account"]["External_Account_ID__c"]
        assert txn["DocNumber"] == opp["External_Transaction_Number__c"]
        assert txn["PrivateNote"] == marker(opp["Id"])
        products, qb_lines = lines_of(sync_env, opp["Id"]), sales_lines(txn)
        assert len(products) == len(qb_lines)
        for product, line in zip(products, qb_lines, strict=True):
            detail = line["SalesItemLineDetail"]
            assert detail["ItemRef"]["value"] == product["Product2"]["External_Item_ID__c"]
            assert Decimal(str(detail["Qty"])) == Decimal(str(product["Quantity"]))
            assert Decimal(str(detail["UnitPrice"])) == Decimal(str(product["UnitPrice"]))
            assert Decimal(str(line["Amount"])) == line_amount(Decimal(str(product["Quantity"])),
                                                               Decimal(str(product["UnitPrice"])))
            assert line.get("Description") == product["Description"]
            assert product["External_Line_ID__c"] == line_external_id(entity, txn["Id"], line["Id"])
            assert product["External_Line_Index__c"] == line["LineNum"]
    assert kinds == {"Invoice", "SalesReceipt"}
    assert f"opportunities: {order}: Transaction Type is Sales Order, which QuickBooks Online does not have " \
           "(QuickBooks Desktop only): choose Invoice or Sales Receipt (R-OPP-2)" in report["warnings"]
    assert not any(key in w for w in report["warnings"] for key in (never, untyped, empty))  # INFO, not warnings
