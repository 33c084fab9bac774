"""Batch (api-notes 2.8) and Change Data Capture (api-notes 2.9) through python-quickbooks."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from quickbooks.batch import batch_create, batch_delete, batch_update
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import ValidationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice

pytestmark = pytest.mark.sandbox


def customer(name: str) -> Customer:
    c = Customer()
    c.DisplayName = name
    return c


def invoice_for(cust: Customer, amount) -> Invoice:
    inv = Invoice()
    inv.CustomerRef = cust.to_ref()
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    inv.Line = [line]
    return inv


def test_given_batch_with_a_failing_item_when_created_then_per_item_results(qbo, qb):
    """api-notes 2.8: HTTP 200 overall; per-item entity or Fault; bIds echoed; items counted."""
    tag = uuid.uuid4().hex[:6]
    existing = customer(f"Batch Existing {tag}").save(qb=qb)
    objs = [customer(f"Batch A {tag}"), customer(existing.DisplayName), customer(f"Batch B {tag}")]
    result = batch_create(objs, qb=qb)
    assert sorted(c.DisplayName for c in result.successes) == [f"Batch A {tag}", f"Batch B {tag}"]
    assert len(result.faults) == 1
    error = result.faults[0].Error[0]
    assert error.code == "6240" and "Duplicate" in error.Message
    counters = qbo.admin.counters("quickbooks")["by_operation"]
    assert counters["batch"] == 1 and counters["batch.items"] == 3


def test_given_batch_update_and_delete_when_run_then_applied(qb):
    """batch_update changes objects; batch_delete answers {"status": "Deleted"} per item."""
    tag = uuid.uuid4().hex[:6]
    cust = customer(f"Batch Upd {tag}").save(qb=qb)
    cust.Notes = "updated in batch"
    updated = batch_update([cust], qb=qb)
    assert updated.successes[0].Notes == "updated in batch"
    assert updated.successes[0].SyncToken == "1"
    invoices = [invoice_for(cust, 10).save(qb=qb), invoice_for(cust, 20).save(qb=qb)]
    deleted = batch_delete(invoices, qb=qb)
    assert not deleted.faults
    assert Invoice.filter(CustomerRef=cust.Id, qb=qb) == []


def test_given_batch_with_query_and_void_items_when_posted_then_shapes_match(qbo, qb):
    """Raw batch: a Query item gives QueryResponse; optionsData void voids; bad op faults."""
    cust = customer(f"Batch Raw {uuid.uuid4().hex[:6]}").save(qb=qb)
    inv = invoice_for(cust, 30).save(qb=qb)
    body = {
        "BatchItemRequest": [
            {"bId": "q1", "Query": "SELECT * FROM Customer WHERE Id = '1'"},
            {
                "bId": "v1",
                "operation": "update",
                "optionsData": "void",
                "Invoice": {"Id": inv.Id, "SyncToken": inv.SyncToken},
            },
            {"bId": "x1", "operation": "merge", "Customer": {"DisplayName": "nope"}},
        ]
    }
    answer = qbo.http("POST", "batch?minorversion=75", qb.auth_client.access_token, json=body)
    assert answer.status_code == 200
    items = {item["bId"]: item for item in answer.json()["BatchItemResponse"]}
    assert items["q1"]["QueryResponse"]["Customer"][0]["Id"] == "1"
    assert items["v1"]["Invoice"]["TotalAmt"] == 0
    assert items["x1"]["Fault"]["Error"][0]["code"] == "2170"


def test_given_more_than_30_items_when_batched_then_validation_fault(qbo, qb):
    """api-notes 2.8: at most 30 items per batch request."""
    body = {"BatchItemRequest": [{"bId": str(i), "Query": "SELECT * FROM Term"} for i in range(31)]}
    with pytest.raises(ValidationException):
        qb.batch_operation(__import__("json").dumps(body))
    answer = qbo.http("POST", "batch", qb.auth_client.access_token, json=body)
    assert answer.status_code == 400


def test_given_changes_and_deletes_when_cdc_then_full_objects_and_deleted_stubs(qbo, qb):
    """api-notes 2.9: changed objects in full, deleted ones minimal with status Deleted."""
    # CDC compares whole seconds: move past the second of earlier tests' changes first.
    since = qbo.admin.set_clock("quickbooks", advance_seconds=1)["now"]
    cust = customer(f"CDC {uuid.uuid4().hex[:6]}").save(qb=qb)
    kept = invoice_for(cust, 15).save(qb=qb)
    gone = invoice_for(cust, 25).save(qb=qb)
    gone.delete(qb=qb)
    result = change_data_capture([Customer, Invoice], since, qb=qb)
    assert [c.Id for c in result.Customer] == [cust.Id]
    by_id = {inv.Id: inv for inv in result.Invoice}
    assert by_id[kept.Id].TotalAmt == 15
    assert by_id[gone.Id].status == "Deleted"
    assert not hasattr(by_id[kept.Id], "status") or by_id[kept.Id].status != "Deleted"


def test_given_naive_datetime_when_cdc_then_library_format_accepted(qb):
    """python-quickbooks sends a naive YYYY-MM-DDTHH:MM:SS for a datetime (company time)."""
    result = change_data_capture([Customer], dt.datetime.now() - dt.timedelta(days=1), qb=qb)
    assert result is not None


def test_given_changed_since_older_than_30_days_when_cdc_then_fault(qb):
    """api-notes 2.9: the lookback is limited to 30 days."""
    old = (dt.datetime.now(dt.UTC) - dt.timedelta(days=31)).isoformat()
    with pytest.raises(ValidationException) as excinfo:
        change_data_capture([Customer], old, qb=qb)
    assert "30 days" in excinfo.value.detail


def test_given_more_than_1000_changes_when_cdc_then_oldest_1000(qbo, qb):
    """api-notes 2.9: at most 1000 objects per response, the oldest by LastUpdatedTime."""
    since = qbo.call("GET", "clock")["now"]
    qbo.call("POST", "throttle", {"enabled": False})
    tag = uuid.uuid4().hex[:6]
    for start in range(0, 1020, 30):
        batch_create(
            [customer(f"Bulk {tag} {i:04d}") for i in range(start, min(start + 30, 1020))], qb=qb
        )
    answer = qbo.http(
        "GET",
        "cdc",
        qb.auth_client.access_token,
        params={"entities": "Customer", "changedSince": since},
    )
    rows = answer.json()["CDCResponse"][0]["QueryResponse"][0]["Customer"]
    assert len(rows) == 1000
    stamps = [r["MetaData"]["LastUpdatedTime"] for r in rows]
    assert stamps == sorted(stamps)


def test_given_batch_item_referencing_earlier_item_when_run_then_610(qbo, qb):
    """api-notes 2.8: batch items are independent; a later item cannot see an earlier create."""
    name = f"Batch Parent {uuid.uuid4().hex[:6]}"
    body = {
        "BatchItemRequest": [
            {"bId": "c1", "operation": "create", "Customer": {"DisplayName": name}},
            {
                "bId": "i1",
                "operation": "create",
                "Invoice": {
                    "CustomerRef": {"value": "PLACEHOLDER"},
                    "Line": [
                        {
                            "Amount": 5,
                            "DetailType": "SalesItemLineDetail",
                            "SalesItemLineDetail": {},
                        }
                    ],
                },
            },
        ]
    }
    next_id = (
        int(
            qb.query(
                "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Id DESC MAXRESULTS 1"
            )["QueryResponse"]["Customer"][0]["Id"]
        )
        + 1
    )
    body["BatchItemRequest"][1]["Invoice"]["CustomerRef"]["value"] = str(next_id)
    answer = qbo.http("POST", "batch", qb.auth_client.access_token, json=body).json()
    items = {item["bId"]: item for item in answer["BatchItemResponse"]}
    assert items["c1"]["Customer"]["Id"] == str(next_id)
    assert items["i1"]["Fault"]["Error"][0]["code"] == "610"
    after = invoice_for(Customer.get(next_id, qb=qb), 5).save(qb=qb)  # visible afterwards
    assert after.CustomerRef.value == str(next_id)
