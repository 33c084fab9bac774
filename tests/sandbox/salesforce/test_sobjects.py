"""sObject REST calls, collections, describe, layouts, limits, getUpdated/getDeleted."""

from __future__ import annotations

import datetime as dt

import pytest
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from sfqb_sandbox.salesforce.ids import to18

pytestmark = pytest.mark.sandbox


def test_given_a_new_account_when_created_read_updated_deleted_then_each_step_answers(sf, fresh):
    """api-notes 3.5: 201 {id, success, errors} with an 18-char 001 id; GET returns every field
    with attributes; PATCH and DELETE answer 204; a deleted record is 404."""
    created = sf.Account.create({"Name": "Crud Test Inc", "Phone": "(555) 000-0001"})
    new_id = created["id"]
    assert created["success"] is True and created["errors"] == []
    assert len(new_id) == 18 and new_id.startswith("001") and to18(new_id[:15]) == new_id
    record = sf.Account.get(new_id)
    assert record["attributes"]["type"] == "Account" and record["Name"] == "Crud Test Inc"
    assert record["CreatedDate"].endswith("+0000") and record["IsDeleted"] is False
    assert sf.Account.get(new_id[:15])["Id"] == new_id
    assert sf.Account.update(new_id, {"Phone": "(555) 000-0002"}) == 204
    updated = sf.Account.get(new_id)
    assert updated["Phone"] == "(555) 000-0002"
    assert updated["SystemModstamp"] >= updated["LastModifiedDate"] >= record["LastModifiedDate"]
    selected = sf.Account.get(new_id, params={"fields": "Name,Phone"})
    assert set(selected) == {"attributes", "Name", "Phone"}
    assert sf.Account.delete(new_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as gone:
        sf.Account.get(new_id)
    assert gone.value.content[0]["errorCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED")
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get("001000000000000AAA")
    assert missing.value.content[0]["errorCode"] == "NOT_FOUND"


def test_given_an_external_id_when_upserting_then_201_created_then_200_updated(sf, fresh):
    """api-notes 3.5.1: PATCH by external id creates (201, created true) then updates (200,
    created false); get_by_custom_id reads it; the value with spaces must be encoded."""
    assert sf.Account.upsert("External_Account_ID__c/QB-77", {"Name": "Upsert Co"}) == 201
    assert sf.Account.upsert("External_Account_ID__c/QB-77", {"Phone": "1"}) == 200
    found = sf.Account.get_by_custom_id("External_Account_ID__c", "QB-77")
    assert found["Name"] == "Upsert Co" and found["Phone"] == "1"
    assert sf.Account.upsert("External_Account_ID__c/QB%2078", {"Name": "Spaced"}) == 201
    spaced = sf.query("SELECT Name FROM Account WHERE External_Account_ID__c = 'QB 78'")
    assert [r["Name"] for r in spaced["records"]] == ["Spaced"]
    with pytest.raises(SalesforceMalformedRequest) as in_body:
        sf.Account.upsert(
            "External_Account_ID__c/QB-79", {"Name": "X", "External_Account_ID__c": "QB-79"}
        )
    assert in_body.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as not_external:
        sf.Account.upsert("Phone/123", {"Name": "X"})
    assert not_external.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_given_a_unique_external_id_when_repeated_then_duplicate_value(sf, fresh):
    """api-notes 3.5: unique external ids reject a second record with the same value (compared
    case-insensitively) with DUPLICATE_VALUE naming the existing record; clearing it frees the
    value."""
    first = sf.Account.create({"Name": "Twin A", "External_Account_ID__c": "TW-1"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.Account.create({"Name": "Twin B", "External_Account_ID__c": "tw-1"})
    error = duplicate.value.content[0]
    assert error["errorCode"] == "DUPLICATE_VALUE" and first in error["message"]
    assert error["fields"] == ["External_Account_ID__c"]
    second = sf.Account.create({"Name": "Twin B"})["id"]
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.update(second, {"External_Account_ID__c": "TW-1"})
    sf.Account.update(first, {"External_Account_ID__c": None})
    assert sf.Account.update(second, {"External_Account_ID__c": "TW-1"}) == 204
    assert sf.Account.get_by_custom_id("External_Account_ID__c", "TW-1")["Id"] == second


def test_given_collections_when_creating_updating_upserting_then_per_record_results(sf, fresh):
    """api-notes 3.6: composite/sobjects create/update/upsert: 200 with SaveResults in order,
    statusCode per failed record when allOrNone is false; all rolled back when true; more
    than 200 records is a 400."""
    body = {
        "allOrNone": False,
        "records": [
            {"attributes": {"type": "Account"}, "Name": "Coll A"},
            {"attributes": {"type": "Account"}, "Phone": "no name"},
            {"attributes": {"type": "Contact"}, "LastName": "Coll Contact"},
        ],
    }
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["errors"][0]["fields"] == ["Name"]
    assert results[2]["id"].startswith("003")
    update = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "records": [{"attributes": {"type": "Account"}, "id": results[0]["id"], "Phone": "42"}]
        },
    )
    assert update == [{"id": results[0]["id"], "success": True, "errors": []}]
    assert sf.Account.get(results[0]["id"])["Phone"] == "42"
    rolled = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Rolled Back"},
                {"attributes": {"type": "Account"}, "Name": "x" * 256},
            ],
        },
    )
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert rolled[1]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Rolled Back'")["totalSize"] == 0
    upsert = sf.restful(
        "composite/sobjects/Product2/External_Item_ID__c",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {
                    "attributes": {"type": "Product2"},
                    "External_Item_ID__c": "I-1",
                    "Name": "Widget",
                },
                {
                    "attributes": {"type": "Product2"},
                    "External_Item_ID__c": "I-1",
                    "Name": "Widget renamed",
                },
            ],
        },
    )
    assert [(r["success"], r["created"]) for r in upsert] == [(True, True), (True, False)]
    assert sf.Product2.get_by_custom_id("External_Item_ID__c", "I-1")["Name"] == "Widget renamed"
    too_many = {
        "records": [{"attributes": {"type": "Account"}, "Name": f"N{i}"} for i in range(201)]
    }
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="POST", json=too_many)
    deleted = sf.restful(
        "composite/sobjects",
        method="DELETE",
        params={"ids": f"{results[0]['id']},001000000000000AAA", "allOrNone": "false"},
    )
    assert [r["success"] for r in deleted] == [True, False]


def test_given_describe_when_asked_then_fields_types_and_package_fields_are_there(sf):
    """api-notes 3.8, 4.4: object describe with type, length, picklist values, externalId,
    updateable; the hook's get_available_fields; the global describe lists the objects."""
    from airflow.providers.salesforce.hooks.salesforce import SalesforceHook

    described = sf.Opportunity.describe()
    fields = {f["name"]: f for f in described["fields"]}
    assert described["keyPrefix"] == "006"
    assert fields["External_Transaction_ID__c"]["externalId"] is True
    tx_type = fields["Transaction_Type__c"]
    assert tx_type["type"] == "picklist" and tx_type["restrictedPicklist"] is True
    assert {"None", "Invoice", "Sales Receipt", "Sales Order"} <= {
        v["value"] for v in tx_type["picklistValues"]
    }
    assert fields["IsWon"]["updateable"] is False and fields["Name"]["length"] == 120
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    hook_fields = SalesforceHook(salesforce_conn_id="salesforce_default").get_available_fields(
        "Account"
    )
    assert "External_Account_ID__c" in hook_fields and "Name" in hook_fields
    global_names = {o["name"] for o in sf.describe()["sobjects"]}
    assert {
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityLineItem",
        "Product2",
        "Pricebook2",
        "PricebookEntry",
        "Invoice__c",
        "Invoice_Item__c",
    } <= global_names


def test_given_layouts_when_a_field_is_removed_then_describe_layouts_no_longer_shows_it(sf, fresh):
    """api-notes 3.8: describe/layouts lists the package fields in layout items; the admin
    surface can take one off the layouts (for the preflight R-PRE-3)."""

    def on_layout(field: str) -> bool:
        body = sf.restful("sobjects/Account/describe/layouts/")
        return any(
            c.get("type") == "Field" and c.get("value") == field
            for layout in body["layouts"]
            for section in layout["detailLayoutSections"]
            for row in section["layoutRows"]
            for item in row["layoutItems"]
            for c in item["layoutComponents"]
        )

    assert on_layout("External_Account_ID__c") and on_layout("Sync_Me__c")
    fresh.call("salesforce", "POST", "layout", {"object": "Account", "field": "Sync_Me__c"})
    assert not on_layout("Sync_Me__c") and on_layout("External_Account_ID__c")
    master = sf.Account.describe_layout("012000000000000AAA")
    assert master["detailLayoutSections"]


def test_given_limits_when_asked_then_they_agree_with_the_header(sf):
    """api-notes 3.10, 3.2: /limits DailyApiRequests matches Sforce-Limit-Info."""
    limits = sf.limits()
    usage = sf.api_usage["api-usage"]
    assert limits["DailyApiRequests"]["Max"] == usage.total
    assert limits["DailyApiRequests"]["Remaining"] == usage.total - usage.used


def test_given_changes_when_asking_get_updated_and_get_deleted_then_ids_in_window(sf, fresh):
    """api-notes 3.9: updated() by SystemModstamp (a modstamp-only bump counts) and deleted()
    with deletedDate, in the window; a start older than 30 days is INVALID_REPLICATION_DATE."""
    fresh.set_clock("salesforce", now="2025-06-01T10:00:00Z", frozen=True)
    start = dt.datetime(2025, 6, 1, 9, 0, tzinfo=dt.UTC)
    keep = sf.Account.create({"Name": "Updated One"})["id"]
    gone = sf.Account.create({"Name": "Deleted One"})["id"]
    fresh.set_clock("salesforce", now="2025-06-01T10:05:00Z", frozen=True)
    sf.Account.delete(gone)
    old = sf.query(
        "SELECT Id FROM Account WHERE Name != 'Updated One' AND Name != 'Deleted One' LIMIT 1"
    )["records"][0]["Id"]
    fresh.call("salesforce", "POST", "bump-modstamp", {"object": "Account", "id": old})
    fresh.set_clock("salesforce", now="2025-06-01T10:10:00Z", frozen=True)
    end = dt.datetime(2025, 6, 1, 10, 30, tzinfo=dt.UTC)
    updated = sf.Account.updated(start, end)
    assert keep in updated["ids"] and old in updated["ids"] and gone not in updated["ids"]
    assert updated["latestDateCovered"] == "2025-06-01T10:10:00.000+0000"
    deleted = sf.Account.deleted(start, end)
    assert deleted["deletedRecords"] == [
        {"id": gone, "deletedDate": "2025-06-01T10:05:00.000+0000"}
    ]
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Account.updated(start - dt.timedelta(days=31), end)
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_given_an_invoice_tree_when_posted_then_parent_and_children_are_created(sf, fresh):
    """api-notes 3.7: sObject Tree creates an Invoice__c with its Invoice_Items__r in one call
    (201 with referenceIds); any bad record fails the whole tree with 400 and nothing is
    written."""
    account = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    invoice_fields = {f["name"]: f for f in sf.Invoice__c.describe()["fields"]}
    item_fields = {f["name"]: f for f in sf.Invoice_Item__c.describe()["fields"]}
    item_body = {
        k: 1
        for k, f in item_fields.items()
        if f["createable"] and not f["nillable"] and f["type"] in ("double", "currency", "int")
    }
    invoice = {"attributes": {"type": "Invoice__c", "referenceId": "inv1"}}
    if "Account__c" in invoice_fields:
        invoice["Account__c"] = account
    invoice["Invoice_Items__r"] = {
        "records": [
            {"attributes": {"type": "Invoice_Item__c", "referenceId": f"item{n}"}, **item_body}
            for n in range(2)
        ]
    }
    created = sf.restful("composite/tree/Invoice__c", method="POST", json={"records": [invoice]})
    assert created["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in created["results"]}
    assert set(ids) == {"inv1", "item0", "item1"}
    children = sf.query(f"SELECT Id FROM Invoice_Item__c WHERE Invoice__c = '{ids['inv1']}'")
    assert children["totalSize"] == 2
    bad = dict(
        invoice,
        Invoice_Items__r={
            "records": [
                {"attributes": {"type": "Invoice_Item__c", "referenceId": "bad"}, "Nope__c": 1}
            ]
        },
    )
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Invoice__c", method="POST", json={"records": [bad]})
    assert caught.value.content["hasErrors"] is True
    assert caught.value.content["results"][0]["referenceId"] == "bad"
    assert sf.query("SELECT COUNT() FROM Invoice__c")["totalSize"] == 1


def test_given_an_unknown_resource_when_called_then_a_salesforce_not_found_list(sf, fresh):
    """api-notes 3.2: errors are JSON lists, also for resources the org does not have; an
    unknown sObject is NOT_FOUND; the admin surface keeps its own error form."""
    with pytest.raises(SalesforceResourceNotFound) as unknown_path:
        sf.restful("no/such/resource")
    assert unknown_path.value.content[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound) as unknown_object:
        sf.restful("sobjects/Foo__c/describe")
    assert unknown_object.value.content[0]["errorCode"] == "NOT_FOUND"
    bad_fault = fresh.session.post(fresh.url("salesforce", "faults"), json={"kind": "nope"})
    assert bad_fault.status_code == 400 and "detail" in bad_fault.json()


def test_given_a_parent_named_by_external_id_when_writing_then_the_lookup_is_set(sf, fresh):
    """api-notes 3.5.1: a body may name a lookup's record by external id
    (``"Account": {"External_Account_ID__c": "X"}``), in REST and collection calls alike; an
    unknown value is INVALID_FIELD."""
    parent = sf.Account.create({"Name": "Ref Parent", "External_Account_ID__c": "RP-1"})["id"]
    child = sf.Contact.create(
        {"LastName": "Ref Child", "Account": {"External_Account_ID__c": "RP-1"}}
    )["id"]
    assert sf.Contact.get(child)["AccountId"] == parent
    results = sf.restful(
        "composite/sobjects/Account/External_Account_ID__c",
        method="PATCH",
        json={
            "records": [
                {
                    "attributes": {"type": "Account"},
                    "External_Account_ID__c": "RK-1",
                    "Name": "Ref Kid",
                    "Parent": {"External_Account_ID__c": "RP-1"},
                },
                {
                    "attributes": {"type": "Account"},
                    "External_Account_ID__c": "RK-2",
                    "Name": "Lost Kid",
                    "Parent": {"External_Account_ID__c": "none"},
                },
            ]
        },
    )
    assert results[0]["success"] is True
    assert results[1]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert sf.Account.get(results[0]["id"])["ParentId"] == parent
