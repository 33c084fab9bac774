"""The item area end to end: dag.test() against both sandbox servers (docs/rules.md section 4)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sfqb import soql
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

EXT = "External_Item_ID__c"


def products(env) -> dict[str, dict]:
    """Linked Products by item Id, with their standard price."""
    sf = env.sf()
    fields = ["Id", "Name", "ProductCode", "IsActive", EXT]
    rows = {
        r[EXT]: r
        for r in sf.query(soql.select("Product2", fields, where=soql.compare(EXT, "!=", None)))
    }
    book = sf.standard_pricebook()["Id"]
    prices = {
        r["Product2Id"]: r
        for r in sf.query(
            soql.select(
                "PricebookEntry",
                ["Product2Id", "UnitPrice", "IsActive"],
                where=soql.eq("Pricebook2Id", book),
            )
        )
    }
    for row in rows.values():
        row["entry"] = prices.get(row["Id"])
    return rows


def synced(env, **prefs) -> dict:
    env.set_preferences(**prefs)
    _, states, summary = env.run()
    assert set(states.values()) == {"success"}, states
    return report_of(summary, "items")


def test_given_seeded_items_when_the_first_sync_runs_then_each_active_supported_item_is_a_priced_product(
    sync_env,
):
    """R-ITM-1/2/3, R-PRE-2: every active Service/Inventory/NonInventory item becomes one
    Product (ProductCode = FullyQualifiedName) priced in the Standard Price Book; categories
    are skipped; a seeded Product with the item's code is linked by first-run matching and
    takes the item's values, never duplicated."""
    report = synced(sync_env)
    items = list(sync_env.qb().query_all("Item"))
    linked = products(sync_env)
    clashes = {
        w.split()[1].rstrip(":") for w in report["warnings"] if "linked to no QuickBooks item" in w
    }
    for item in items:
        wanted = (
            item["Type"] in {"Service", "Inventory", "NonInventory"}
            and f"QB:{item['Id']}" not in clashes
        )
        assert (item["Id"] in linked) == wanted, item["FullyQualifiedName"]
        if wanted:
            product = linked[item["Id"]]
            assert product["ProductCode"] == item["FullyQualifiedName"]
            assert product["Name"] == item["Name"]
            assert Decimal(str(product["entry"]["UnitPrice"])) == Decimal(
                str(item.get("UnitPrice") or 0)
            )
    assert any(i["Type"] == "Category" for i in items)
    codes = [
        p["ProductCode"]
        for p in sync_env.sf().query(soql.select("Product2", ["ProductCode"]))
        if p["ProductCode"]
    ]
    assert len(codes) == len(set(codes))
    assert report["created"] > 0 and report["failed"] == 0


def test_given_synced_items_when_a_price_changes_and_an_item_is_deactivated_then_only_those_are_written(
    sync_env,
):
    """R-ITM-1/2, R-GEN-4: a later run updates the changed price, deactivates (never deletes)
    the Product of an inactive item, and a run with no change writes nothing."""
    synced(sync_env)
    qb = sync_env.qb()
    linked = products(sync_env)
    priced, retired = (qb.read("Item", i) for i in sorted(linked, key=int)[1:3])
    qb.update(
        "Item",
        {"Id": priced["Id"], "SyncToken": priced["SyncToken"], "sparse": True, "UnitPrice": 123.45},
    )
    qb.update(
        "Item",
        {"Id": retired["Id"], "SyncToken": retired["SyncToken"], "sparse": True, "Active": False},
    )
    report = synced(sync_env)
    after = products(sync_env)
    assert Decimal(str(after[priced["Id"]]["entry"]["UnitPrice"])) == Decimal("123.45")
    assert after[retired["Id"]]["IsActive"] is False
    assert after[priced["Id"]]["IsActive"] is True
    assert set(after) == set(linked)
    assert report["failed"] == 0 and report["created"] == 0 and report["updated"] >= 2
    sync_env.sandbox.clear_counters()
    again = synced(sync_env)
    assert sync_env.writes()["salesforce"] == 0
    assert again["created"] == again["updated"] == 0


def test_given_unusual_names_and_a_rejected_product_when_items_sync_then_the_others_are_loaded(
    sync_env,
):
    """R-ITM-2, R-GEN-5: quotes, unicode and colon paths reach Salesforce intact; a Product
    Salesforce rejects fails alone (a WARNING, retried next run), the rest are loaded."""
    qb = sync_env.qb()
    services = qb.read("Item", "1")
    base = {"Type": "Service", "IncomeAccountRef": services["IncomeAccountRef"], "UnitPrice": 10}
    odd = qb.create(
        "Item",
        {**base, "Name": 'Café "Zürich" O\'Brien ✓', "SubItem": True, "ParentRef": {"value": "1"}},
        None,
    )
    blocked = qb.create("Item", {**base, "Name": "Blocked Gadget"}, None)
    sync_env.sandbox.call(
        "salesforce",
        "POST",
        "validation-rules",
        {
            "object": "Product2",
            "when": {"Name": "Blocked Gadget"},
            "field": "Name",
            "message": "Gadgets are not sold here",
        },
    )
    report = synced(sync_env)
    linked = products(sync_env)
    assert linked[odd["Id"]]["ProductCode"] == 'Services:Café "Zürich" O\'Brien ✓'
    assert linked[odd["Id"]]["Name"] == 'Café "Zürich" O\'Brien ✓'
    assert Decimal(str(linked[odd["Id"]]["entry"]["UnitPrice"])) == Decimal("10")
    assert blocked["Id"] not in linked
    assert report["failed"] == 1
    assert any(
        f"QB:{blocked['Id']}" in w and "Gadgets are not sold here" in w for w in report["warnings"]
    )
    assert report["created"] > 10


def test_given_a_price_entry_whose_create_answer_was_lost_when_the_load_is_retried_then_it_is_recovered_not_failed(
    sync_env,
):
    """R-GEN-3, R-GEN-11: Salesforce made the standard PricebookEntry but its answer was lost, so
    the load failed; the retried load meets DUPLICATE_VALUE for it: the entry exists with the
    wanted price, which is success (recovered), not a failure."""
    import datetime as dt

    from sfqb.outcomes import SF_PRICE, count
    from sfqb.preferences import Preferences
    from sfqb.state import InMemoryVariables, SyncState
    from sfqb.steps import items as steps
    from sfqb.steps.common import run_context

    upper = dt.datetime.now(dt.UTC)
    run = run_context(
        run_id="manual__lost",
        upper_bound=upper,
        install_date=upper - dt.timedelta(days=1),
        preferences_json=Preferences().as_json(),
    )
    sf, qb, state = sync_env.sf(), sync_env.qb(), SyncState(InMemoryVariables())
    planned = steps.plan(run, steps.extract(run, sf=sf, qb=qb, state=state))
    assert planned["prices"]
    sync_env.sandbox.add_fault(
        "salesforce", kind="drop_after", path="/composite/sobjects$", method="POST"
    )
    with pytest.raises(Exception):  # noqa: B017 - the lost answer fails the load, whatever its class
        steps.load(run, planned, sf=sync_env.sf())
    sync_env.sandbox.clear_faults()

    report = steps.load(run, planned, sf=sync_env.sf())
    assert count(report, "failed") == 0, report["warnings"]
    assert count(report, "recovered", SF_PRICE) >= 1
    entries = products(sync_env)
    assert all(p["entry"] is not None for p in entries.values() if p["IsActive"])
