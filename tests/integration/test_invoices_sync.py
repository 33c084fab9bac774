"""The invoices area's steps run directly (extract, plan, load, commit) with real hooks against
both sandbox servers and an in-memory sync state (docs/rules.md section 5), for what a dag.test()
run of ``sfqb_sync`` cannot set up: there the items area makes a Product for every QuickBooks item
before the invoices area runs, so an invoice line whose item has no Product only happens here.
Every other case runs through the DAG in ``test_invoices_dag.py``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.invoices import EXT_INVOICE, EXT_ITEM, INVOICE_STREAM
from sfqb.preferences import Preferences
from sfqb.state import InMemoryVariables, SyncState
from sfqb.steps import invoices as steps
from sfqb.steps.common import run_context
from tests.integration.conftest import report_view

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]


def sync(env, install: dt.datetime, state: SyncState) -> dict:
    """One run of the area's four steps, bounded now; returns the load report."""
    upper = dt.datetime.now(dt.UTC)
    run = run_context(
        run_id=f"manual__{upper.isoformat()}",
        upper_bound=upper,
        install_date=install,
        preferences_json=Preferences().as_json(),
    )
    sf, qb = env.sf(), env.qb()
    extracted = steps.extract(run, sf=sf, qb=qb, state=state)
    report = steps.load(run, steps.plan(run, extracted), sf=sf)
    steps.commit(run, extracted, report, state=state)
    return report_view(report)


def items_of(env, invoice_id: str) -> dict[str, str | None]:
    """Description -> Product of the Invoice_Item__c of the invoice."""
    sf = env.sf()
    (record,) = sf.query(soql.select("Invoice__c", ["Id"], where=soql.eq(EXT_INVOICE, invoice_id)))
    rows = sf.query(
        soql.select(
            "Invoice_Item__c",
            [EXT_ITEM, "Description__c", "Product__c"],
            where=soql.eq("Invoice__c", record["Id"]),
        )
    )
    return {r["Description__c"]: r["Product__c"] for r in rows}


def test_given_an_item_without_product_when_synced_then_its_line_loads_with_a_warning_and_gets_the_product_once_it_exists(
    sync_env,
):
    """R-INV-1, R-GEN-5: a line whose item has no Product (by Product Code) is loaded without
    one, with a WARNING naming the item, and its invoice is kept to read again; once the Product
    exists the next run fills it in, though the invoice did not change in QuickBooks."""
    install = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    state = SyncState(InMemoryVariables())
    sf, qb = sync_env.sf(), sync_env.qb()
    codes = {p["ProductCode"] for p in sf.query(soql.select("Product2", ["ProductCode"]))}
    with_product, without = [
        i
        for i in qb.query_all("Item")
        if i["Type"] in ("Service", "NonInventory")
        and i.get("UnitPrice")
        and i["FullyQualifiedName"] not in codes
    ][:2]
    (made,) = sf.create(
        "Product2",
        [
            {
                "Name": with_product["Name"],
                "ProductCode": with_product["FullyQualifiedName"],
                "IsActive": True,
            }
        ],
    )
    customer = next(
        c for c in qb.query_all("Customer") if not c.get("IsProject") and not c.get("ParentRef")
    )
    (account,) = sf.create(
        "Account", [{"Name": "Invoices Test Co", "External_Account_ID__c": customer["Id"]}]
    )
    assert made.ok and account.ok
    invoice = qb.create(
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": Decimal("10"),
                    "Description": description,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item["Id"]},
                        "Qty": 1,
                        "UnitPrice": Decimal("10"),
                    },
                }
                for description, item in (("has one", with_product), ("has none", without))
            ],
        },
        None,
    )

    report = sync(sync_env, install, state)
    assert report["failed"] == 0, report
    assert items_of(sync_env, invoice["Id"]) == {"has one": made.id, "has none": None}
    assert any(without["FullyQualifiedName"] in w for w in report["warnings"]), report["warnings"]
    assert state.retries(INVOICE_STREAM) == [invoice["Id"]]

    (later,) = sf.create(
        "Product2",
        [{"Name": without["Name"], "ProductCode": without["FullyQualifiedName"], "IsActive": True}],
    )
    report = sync(sync_env, install, state)
    assert report["failed"] == 0 and report["warnings"] == [], report
    assert items_of(sync_env, invoice["Id"]) == {"has one": made.id, "has none": later.id}
    assert state.retries(INVOICE_STREAM) == []
