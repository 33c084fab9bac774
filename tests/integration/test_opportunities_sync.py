"""Won Opportunities -> QuickBooks transactions end to end: dag.test() against both sandbox
servers (docs/rules.md section 3)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.opportunities import line_amount, line_external_id, marker
from tests.integration.conftest import SINCE_SEED, report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

OPP_FIELDS = [
    "Id",
    "Name",
    "IsWon",
    "Transaction_Type__c",
    "AccountId",
    "Account.External_Account_ID__c",
    "External_Transaction_ID__c",
    "External_Transaction_Number__c",
    "Last_Sync_Date__c",
    "Sync_Me__c",
]
LINE_FIELDS = [
    "Id",
    "OpportunityId",
    "Quantity",
    "UnitPrice",
    "Description",
    "SortOrder",
    "External_Line_ID__c",
    "External_Line_Index__c",
    "Product2.External_Item_ID__c",
    "Product2.ProductCode",
]
ENTITY = {"Invoice": "Invoice", "Sales Receipt": "SalesReceipt"}


def opportunities(env, where=None) -> dict[str, dict]:
    return {r["Id"]: r for r in env.sf().query(soql.select("Opportunity", OPP_FIELDS, where=where))}


def lines_of(env, opp_id: str) -> list[dict]:
    rows = env.sf().query(
        soql.select("OpportunityLineItem", LINE_FIELDS, where=soql.eq("OpportunityId", opp_id))
    )
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
    entries = list(
        sf.query(
            soql.select(
                "PricebookEntry",
                ["Id", "Product2Id", "UnitPrice", "Product2.External_Item_ID__c", "Product2.Name"],
                where=[
                    soql.eq("Pricebook2Id", book),
                    soql.compare("Product2.External_Item_ID__c", "!=", None),
                ],
            )
        )
    )
    return sorted(entries, key=lambda e: e["Id"])[:n]


def linked_account(env) -> dict:
    rows = env.sf().query(
        soql.select(
            "Account",
            ["Id", "Name", "External_Account_ID__c"],
            where=soql.compare("External_Account_ID__c", "!=", None),
        )
    )
    return sorted(rows, key=lambda r: r["Id"])[0]


def won_opportunity(env, account_id: str, kind: str | None, lines=(), **fields) -> str:
    """A closed/won Opportunity made through the Salesforce API, with Opportunity Products
    ``lines`` = [(PricebookEntry, quantity, unit price, description)]."""
    sf = env.sf()
    book = sf.standard_pricebook()["Id"]
    (opp,) = sf.create(
        "Opportunity",
        [
            {
                "Name": f"Deal {kind}",
                "AccountId": account_id,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-20",
                "Transaction_Type__c": kind,
                "Pricebook2Id": book,
                **fields,
            }
        ],
    )
    assert opp.ok, opp.errors
    if lines:
        made = sf.create(
            "OpportunityLineItem",
            [
                {
                    "OpportunityId": opp.id,
                    "PricebookEntryId": entry["Id"],
                    "Quantity": qty,
                    "UnitPrice": price,
                    "Description": text,
                    "SortOrder": n,
                }
                for n, (entry, qty, price, text) in enumerate(lines, start=1)
            ],
        )
        assert all(r.ok for r in made), [r.errors for r in made]
    return opp.id


def test_given_won_opportunities_when_synced_then_each_eligible_one_becomes_its_transaction(
    sync_env,
):
    """R-OPP-1, R-OPP-2, R-OPP-3, R-OPP-4: a won opportunity with products, a Transaction Type
    and a synced Account becomes an Invoice or Sales Receipt for the Account's customer, one
    line per product (item, quantity, rate, description, amount to the cent), linked back on the
    Opportunity (External Transaction ID and Number) and each product (External Line ID/Index);
    the others are skipped with their reason."""
    synced(sync_env)
    account = linked_account(sync_env)
    a, b = priced_products(sync_env, 2)
    invoice = won_opportunity(
        sync_env,
        account["Id"],
        "Invoice",
        [(a, 2, 150.25, "Setup"), (b, 1.5, 99.99, "Support hours")],
    )
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
            assert Decimal(str(line["Amount"])) == line_amount(
                Decimal(str(product["Quantity"])), Decimal(str(product["UnitPrice"]))
            )
            assert line.get("Description") == product["Description"]
            assert product["External_Line_ID__c"] == line_external_id(entity, txn["Id"], line["Id"])
            assert product["External_Line_Index__c"] == line["LineNum"]
    assert kinds == {"Invoice", "SalesReceipt"}
    assert (
        f"opportunities: {order}: Transaction Type is Sales Order, which QuickBooks Online does not have "
        "(QuickBooks Desktop only): choose Invoice or Sales Receipt (R-OPP-2)" in report["warnings"]
    )
    assert not any(
        key in w for w in report["warnings"] for key in (never, untyped, empty)
    )  # INFO, not warnings


def test_given_a_synced_opportunity_when_the_sync_runs_again_then_nothing_is_written(sync_env):
    """R-GEN-3, R-GEN-4, R-OPP-6: a rerun creates no second transaction and writes nothing to
    either system; an Invoice opportunity edited in Salesforce afterwards is not sent again; once
    its invoice is deleted in QuickBooks and External Transaction ID cleared, a new one is made."""
    synced(sync_env)
    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 1, 100, "One")])
    synced(sync_env)
    before = len(list(sync_env.qb().query_all("Invoice")))
    sync_env.sf().update("Opportunity", [{"Id": opp, "Description": "edited after the invoice"}])
    report = synced(sync_env)
    assert report["created"] == 0
    sync_env.sandbox.clear_counters()
    synced(sync_env)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert len(list(sync_env.qb().query_all("Invoice"))) == before

    # R-OPP-6: the invoice deleted in QuickBooks and the External Transaction ID cleared: a new one.
    qb = sync_env.qb()
    old = opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
    qb.delete("Invoice", old, qb.read("Invoice", old)["SyncToken"])
    sync_env.sf().update("Opportunity", [{"Id": opp, "External_Transaction_ID__c": None}])
    synced(sync_env)
    new = opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
    assert new and new != old
    assert len(list(qb.query_all("Invoice"))) == before


def test_given_an_interrupted_earlier_attempt_when_synced_then_its_transaction_is_linked_not_duplicated(
    sync_env,
):
    """R-GEN-3: QuickBooks already holds the invoice an interrupted attempt created for this
    opportunity (its PrivateNote marker) but Salesforce never recorded it: the next run links
    that invoice and creates none. R-GEN-11: it counts as recovered, not created, and the
    adoption is a warning in the summary, not only a log line."""
    synced(sync_env)
    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 2, 50, "Two")])
    qb = sync_env.qb()
    orphan = qb.create(
        "Invoice",
        {
            "CustomerRef": {"value": account["External_Account_ID__c"]},
            "PrivateNote": marker(opp),
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 100,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": a["Product2"]["External_Item_ID__c"]},
                        "Qty": 2,
                        "UnitPrice": 50,
                    },
                }
            ],
        },
        request_id=None,
    )
    before = len(list(qb.query_all("Invoice")))
    report = synced(sync_env)
    assert len(list(qb.query_all("Invoice"))) == before
    linked = opportunities(sync_env, where=soql.eq("Id", opp))[opp]
    assert linked["External_Transaction_ID__c"] == orphan["Id"]
    assert report["records"]["QuickBooks Invoice"]["recovered"] == 1 and report["failed"] == 0
    assert report["records"]["QuickBooks Invoice"]["created"] == 0
    assert any(opp in w and "interrupted" in w for w in report["warnings"])
    (line,) = lines_of(sync_env, opp)
    assert line["External_Line_ID__c"] == line_external_id(
        "Invoice", orphan["Id"], sales_lines(orphan)[0]["Id"]
    )


def test_given_a_product_without_item_when_synced_then_the_opportunity_waits_and_syncs_once_fixed(
    sync_env,
):
    """R-OPP-3, R-GEN-5: an Opportunity Product whose Product has no QuickBooks item blocks its
    opportunity with a WARNING naming the product; the opportunity is retried and syncs on the
    run after the Product gets the item's full name as its Product Code (R-ITM-5)."""
    synced(sync_env)
    sf = sync_env.sf()
    account = linked_account(sync_env)
    book = sf.standard_pricebook()["Id"]
    (product,) = sf.create(
        "Product2", [{"Name": "Unlinked Gadget", "ProductCode": "NOT-IN-QB", "IsActive": True}]
    )
    (entry,) = sf.create(
        "PricebookEntry",
        [{"Pricebook2Id": book, "Product2Id": product.id, "UnitPrice": 5, "IsActive": True}],
    )
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [({"Id": entry.id}, 3, 5, "Gadgets")])
    report = synced(sync_env)
    (warning,) = [w for w in report["warnings"] if opp in w]
    assert (
        "Unlinked Gadget" in warning and "NOT-IN-QB" in warning and "no QuickBooks item" in warning
    )
    assert (
        opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"] is None
    )

    item = next(
        i for i in sync_env.qb().query_all("Item") if i["Type"] == "Service" and i["Id"] != "1"
    )
    sf.update("Product2", [{"Id": product.id, "ProductCode": item["FullyQualifiedName"]}])
    synced(sync_env)
    txn_id = opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
    assert txn_id
    (line,) = sales_lines(sync_env.qb().read("Invoice", txn_id))
    assert line["SalesItemLineDetail"]["ItemRef"]["value"] == item["Id"]


def test_given_header_fields_and_a_primary_contact_when_synced_then_the_invoice_carries_them(
    sync_env,
):
    """R-OPP-4, R-OPP-5: dates default to the sync date; Terms and Class are QuickBooks
    references; Shipping Method is free text; PO Number goes to the sales-form custom field of
    that name; the primary Contact's Mailing and Other addresses become Bill To and Ship To; an
    unknown term blocks the opportunity with a WARNING."""
    synced(sync_env)
    sf, qb = sync_env.sf(), sync_env.qb()
    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    klass = next(iter(qb.query_all("Class")))
    (contact,) = sf.create(
        "Contact",
        [
            {
                "LastName": "Buyer",
                "AccountId": account["Id"],
                "MailingStreet": "1 Bill St",
                "MailingCity": "Austin",
                "OtherStreet": "9 Dock Rd",
                "OtherCity": "Dallas",
            }
        ],
    )
    opp = won_opportunity(
        sync_env,
        account["Id"],
        "Invoice",
        [(a, 1, 10, None)],
        Terms__c="Net 30",
        Class__c=klass["FullyQualifiedName"],
        Shipping_Method__c="UPS",
        PO_Number__c="PO-77",
        Transaction_Date__c="2026-11-02",
    )
    assert sf.create(
        "OpportunityContactRole",
        [
            {
                "OpportunityId": opp,
                "ContactId": contact.id,
                "IsPrimary": True,
                "Role": "Decision Maker",
            }
        ],
    )[0].ok
    bad = won_opportunity(
        sync_env,
        account["Id"],
        "Invoice",
        [(a, 1, 10, None)],
        Terms__c="Net 30",
        Class__c="No Such Class",
    )
    report = synced(sync_env)
    txn = qb.read(
        "Invoice",
        opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"],
    )
    terms = {t["Name"]: t["Id"] for t in qb.query_all("Term")}
    assert txn["TxnDate"] == "2026-11-02"
    assert txn["SalesTermRef"]["value"] == terms["Net 30"]
    assert txn["ClassRef"]["value"] == klass["Id"]
    assert txn["ShipMethodRef"]["value"] == "UPS"
    assert {f["Name"]: f.get("StringValue") for f in txn.get("CustomField", [])}.get(
        "PO Number"
    ) == "PO-77"
    assert txn["BillAddr"]["Line1"] == "1 Bill St" and txn["BillAddr"]["City"] == "Austin"
    assert txn["ShipAddr"]["Line1"] == "9 Dock Rd" and txn["ShipAddr"]["City"] == "Dallas"
    assert any(
        bad in w and "'No Such Class' is not a QuickBooks class" in w for w in report["warnings"]
    )


def test_given_a_crash_after_quickbooks_created_the_invoice_when_retried_then_one_invoice_is_linked(
    sync_env,
):
    """R-GEN-3, R-GEN-2: Salesforce fails every attempt to record the new invoice (the load
    task dies after QuickBooks created it, and the watermark stays); the next run finds the
    invoice by its marker and links it: exactly one invoice for the opportunity."""
    synced(sync_env)
    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 1, 42, "Crash")])
    sync_env.set_preferences(sync_start=SINCE_SEED)
    sync_env.sandbox.add_fault(
        "salesforce", kind="http_503", path=r"/composite/sobjects", method="PATCH", times=50
    )
    _, states, _ = sync_env.run(task_retries=0)
    sync_env.sandbox.clear_faults("salesforce")
    assert states["opportunities.load_opportunities"] == "failed"
    ours = [i for i in sync_env.qb().query_all("Invoice") if i.get("PrivateNote") == marker(opp)]
    assert len(ours) == 1  # QuickBooks has it; Salesforce does not know yet
    assert (
        opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"] is None
    )

    synced(sync_env)
    ours = [i for i in sync_env.qb().query_all("Invoice") if i.get("PrivateNote") == marker(opp)]
    assert len(ours) == 1
    assert (
        opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"]
        == ours[0]["Id"]
    )


def test_given_an_ineligible_opportunity_or_the_area_off_when_it_qualifies_then_it_syncs(sync_env):
    """R-OPP-1, R-OPP-8: with sync_won_opportunities off nothing is sent; an opportunity skipped
    for its Transaction Type None syncs on the run after a user sets Invoice, and the one held
    back by the preference syncs once it is turned on."""
    synced(sync_env)
    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    held = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 1, 10, None)])
    later = won_opportunity(sync_env, account["Id"], "None", [(a, 1, 10, None)])
    report = synced(sync_env, sync_won_opportunities=False)
    assert (report["created"], report["skipped"]) == (0, 0)
    assert not any(
        opportunities(sync_env, where=soql.eq("AccountId", account["Id"]))[o][
            "External_Transaction_ID__c"
        ]
        for o in (held, later)
    )

    sync_env.sf().update("Opportunity", [{"Id": later, "Transaction_Type__c": "Invoice"}])
    report = synced(sync_env)
    opps = opportunities(sync_env, where=soql.eq("AccountId", account["Id"]))
    assert opps[held]["External_Transaction_ID__c"] and opps[later]["External_Transaction_ID__c"]


def test_given_the_default_install_date_when_synced_then_only_opportunities_won_or_changed_since_are_sent(
    sync_env,
):
    """R-OPP-9, R-GEN-6: with the install date at the first run, the seed's older won
    opportunities are not pulled; one won after it is."""
    sync_env.set_preferences()
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    assert report_of(summary, "opportunities")["created"] == 0
    older = opportunities(sync_env, where=soql.eq("IsWon", True))
    assert not any(o["External_Transaction_ID__c"] for o in older.values())

    account = linked_account(sync_env)
    (a,) = priced_products(sync_env, 1)
    new = won_opportunity(sync_env, account["Id"], "Invoice", [(a, 1, 10, None)])
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    created = {
        o
        for o, r in opportunities(sync_env, where=soql.eq("IsWon", True)).items()
        if r["External_Transaction_ID__c"]
    }
    assert created == {new}
