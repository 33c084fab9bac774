"""The seeds: sizes, the rules the records obey, editions (timings: docs/sandbox-quickbooks-desktop.md)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb_sandbox.qbd.seed import customer_count, seed_company
from sfqb_sandbox.qbd.store import Store

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    ("size", "count"),
    [("tiny", 12), ("small", 200), ("1k", 1000), ("10k", 10_000), ("100k", 100_000), ("350", 350)],
)
def test_given_a_size_name_when_read_then_it_gives_the_customer_count(size, count):
    assert customer_count(size) == count


def test_given_a_small_seed_when_built_then_balances_links_and_quantities_agree(tmp_path):
    store = Store(tmp_path / "c.sqlite3")
    counts = seed_company(store, "small", 1_780_000_000, edition="Premier")
    assert counts["Customer"] == 200 + 20 + 8  # top level, jobs, branches
    invoices = store.objects["Invoice"].values()
    for customer in store.objects["Customer"].values():
        own = sum(
            (
                Decimal(i["BalanceRemaining"])
                for i in invoices
                if i["CustomerRef"] == customer["ListID"]
            ),
            Decimal(0),
        )
        assert Decimal(customer["Balance"]) == own
        if customer.get("ParentRef"):
            assert (
                customer["FullName"]
                == store.objects["Customer"][customer["ParentRef"]]["FullName"]
                + ":"
                + customer["Name"]
            )
    partly = [so for so in store.objects["SalesOrder"].values() if so["LinkedTxn"]]
    assert partly and all(not so["IsFullyInvoiced"] for so in partly)
    open_qty: dict[str, Decimal] = {}
    for so in store.objects["SalesOrder"].values():
        for line in so["Lines"]:
            open_qty[line["ItemRef"]] = (
                open_qty.get(line["ItemRef"], Decimal(0))
                + Decimal(line["Quantity"])
                - Decimal(line["Invoiced"])
            )
    for item in store.objects["Item"].values():
        if item["Type"] == "ItemInventory":
            assert Decimal(item["QuantityOnSalesOrder"]) == open_qty.get(item["ListID"], Decimal(0))
    assert {i["Type"] for i in store.objects["Item"].values()} >= {
        "ItemService",
        "ItemInventory",
        "ItemNonInventory",
        "ItemOtherCharge",
        "ItemDiscount",
        "ItemFixedAsset",
        "ItemInventoryAssembly",
        "ItemGroup",
    }


def test_given_the_pro_edition_when_seeded_then_there_are_no_sales_orders(tmp_path):
    store = Store(tmp_path / "c.sqlite3")
    assert seed_company(store, "tiny", 1_780_000_000, edition="Pro")["SalesOrder"] == 0


def test_given_a_company_queried_when_wiped_and_seeded_again_then_queries_see_the_new_records(
    tmp_path,
):
    """A reset company (wiped, seeded anew, as the sandbox's reset does between tests) answers
    from its new records: the query's cached order of the old ones is not reused (its store
    version never returns to an earlier number)."""
    from tests.sandbox.qbd.conftest import QB, make_company

    company = make_company(tmp_path)
    qb = QB(company)
    before = {r.findtext("TxnID") for r in qb.one("<InvoiceQueryRq/>").findall("InvoiceRet")}
    company.store.wipe()
    seed_company(company.store, "tiny", company.clock.timestamp() + 5, edition="Enterprise")

    after = {r.findtext("TxnID") for r in qb.one("<InvoiceQueryRq/>").findall("InvoiceRet")}

    assert after and after == {i for i in company.store.objects["Invoice"]}
    assert after != before
