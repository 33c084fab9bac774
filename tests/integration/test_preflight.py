"""Preflight end to end (docs/rules.md section 1): validations before any write, first-run
matching once."""

from __future__ import annotations

from collections import Counter

import pytest

from sfqb import soql
from tests.integration.conftest import SINCE_SEED, report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

EXT_ITEM = "External_Item_ID__c"
AREA_TASKS = (
    "items.extract_items",
    "customers.extract_customers",
    "preflight.match_existing_records",
)


def products(env) -> list[dict]:
    return list(env.sf().query(soql.select("Product2", ["Id", "Name", "ProductCode", EXT_ITEM])))


def supported_items(env) -> list[dict]:
    return [
        i
        for i in env.qb().query_all("Item")
        if i["Type"] in {"Service", "Inventory", "NonInventory"}
    ]


def validate_message(env) -> str:
    from sfqb.steps.preflight import PreflightError, validate

    with pytest.raises(PreflightError) as caught:
        validate({"preferences": {}}, sf=env.sf())
    return str(caught.value)


def failed_before_any_write(env) -> dict:
    env.set_preferences(sync_start=SINCE_SEED)
    env.sandbox.clear_counters()
    dag_run, states, _ = env.run(task_retries=0)
    assert dag_run.state == "failed"
    assert states["preflight.validate_org"] == "failed"
    for task_id in AREA_TASKS:
        assert states[task_id] == "upstream_failed", task_id
    assert env.writes() == {"quickbooks": 0, "salesforce": 0}
    return states


def test_given_a_package_field_on_no_layout_when_the_sync_runs_then_it_stops_before_any_write(
    sync_env,
):
    """R-PRE-3, R-PRE-5: a package field missing from every page layout fails the run before
    any area runs (sandbox write counters stay at zero), with a message naming field and fix."""
    sync_env.sandbox.call(
        "salesforce", "POST", "layout", {"object": "Account", "field": "Sync_Me__c"}
    )
    failed_before_any_write(sync_env)
    layout_id = sync_env.sf().describe_layouts("Account")["layouts"][0]["id"]
    assert validate_message(sync_env) == (
        "preflight: 1 problem with the Salesforce org; nothing was synced in this run. Fix them and run again:\n"
        f"  1. Account.Sync_Me__c (Sync Me) is on no page layout ({layout_id}): add the package's "
        "section to your Account layouts with `python -m sfqb salesforce layouts` "
        "(docs/salesforce-package.md, step 4), or add the field in Setup > Object Manager > "
        "Account > Page Layouts (R-PRE-3)"
    )


def test_given_an_inactive_standard_price_book_and_a_field_off_layouts_when_synced_then_both_are_listed(
    sync_env,
):
    """R-PRE-4, R-PRE-5: an inactive Standard Price Book stops the run before any write; the one
    message lists every failed check."""
    sync_env.sandbox.call("salesforce", "POST", "standard-pricebook", {"active": False})
    sync_env.sandbox.call("salesforce", "POST", "layout", {"object": "Product2", "field": EXT_ITEM})
    failed_before_any_write(sync_env)
    book = sync_env.sf().standard_pricebook()
    message = validate_message(sync_env)
    assert message.startswith(
        "preflight: 2 problems with the Salesforce org; nothing was synced in this run."
    )
    assert (
        f"the Standard Price Book ({book['Name']}, {book['Id']}) is inactive: activate it"
        in message
    )
    assert "Product2.External_Item_ID__c (External Item ID) is on no page layout" in message


def test_given_existing_products_when_the_first_sync_runs_then_exact_codes_are_linked_once(
    sync_env,
):
    """R-PRE-2, R-PRE-6: Products whose ProductCode equals an item's FullyQualifiedName are
    linked (no duplicate created); a code shared by two Products is a WARNING naming both and
    neither is linked; a code differing only in case or trailing space is not a match (exact
    means exact); matching does not run again on the next run."""
    items = supported_items(sync_env)
    sf = sync_env.sf()
    seeded = {p["ProductCode"]: p for p in products(sync_env) if p["ProductCode"]}
    twin_item, near_item = [i for i in items if i["FullyQualifiedName"] in seeded][:2]
    (twin,) = sf.create(
        "Product2", [{"Name": "Twin", "ProductCode": twin_item["FullyQualifiedName"]}]
    )
    near_code = near_item["FullyQualifiedName"].upper() + " "
    sf.update(
        "Product2",
        [{"Id": seeded[near_item["FullyQualifiedName"]]["Id"], "ProductCode": near_code}],
    )

    sync_env.set_preferences(sync_start=SINCE_SEED)
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states

    after = products(sync_env)
    by_id = {p["Id"]: p for p in after}
    others = [i for i in items if i not in (twin_item, near_item)]
    for item in others:
        code = item["FullyQualifiedName"]
        if code in seeded:  # an existing Product carried the code: linked, not duplicated
            assert by_id[seeded[code]["Id"]][EXT_ITEM] == item["Id"], code
    assert Counter(p[EXT_ITEM] for p in after if p[EXT_ITEM]).most_common(1)[0][1] == 1
    assert (
        by_id[twin.id][EXT_ITEM] is None
        and by_id[seeded[twin_item["FullyQualifiedName"]]["Id"]][EXT_ITEM] is None
    )
    assert by_id[seeded[near_item["FullyQualifiedName"]]["Id"]][EXT_ITEM] is None
    assert any(
        p[EXT_ITEM] == near_item["Id"] and p["ProductCode"] == near_item["FullyQualifiedName"]
        for p in after
    )
    matching = report_of(summary, "matching")
    assert matching["updated"] >= len([i for i in others if i["FullyQualifiedName"] in seeded])
    (warning,) = [w for w in matching["warnings"] if "the code" in w]
    assert (
        repr(twin_item["FullyQualifiedName"]) in warning
        and twin.id in warning
        and "not linked" in warning
    )

    # An existing pair unlinked by hand stays unlinked: matching does not run again (R-PRE-6).
    relinkable = next(
        seeded[i["FullyQualifiedName"]]["Id"] for i in others if i["FullyQualifiedName"] in seeded
    )
    sf.update("Product2", [{"Id": relinkable, EXT_ITEM: None}])
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    assert report_of(summary, "matching")["updated"] == 0
    assert {p["Id"]: p for p in products(sync_env)}[relinkable][EXT_ITEM] is None
