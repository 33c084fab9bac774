"""Salesforce hook: per-record results, record shapes and wire values, without a network."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sfqb.hooks.errors import SyncServiceError
from sfqb.hooks.retry import RetryPolicy
from sfqb.hooks.salesforce import (
    CollectionResult,
    RecordIssue,
    SfqbSalesforceHook,
    bulk_row,
    parse_bulk_csv,
    parse_collection_results,
    strip_attributes,
)
from sfqb.hooks.salesforce.encoding import _csv_value, _json_value
from sfqb.hooks.salesforce.results import _bulk_issue

pytestmark = pytest.mark.unit


def test_given_a_partial_failure_when_parsing_then_each_key_gets_its_own_result():
    """api-notes 3.6: SaveResults come in request order; errors use statusCode (R-GEN-5)."""
    items = [
        {"id": "001A", "success": True, "errors": [], "created": True},
        {
            "success": False,
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [Name]",
                    "fields": ["Name"],
                }
            ],
        },
    ]
    results = parse_collection_results(items, ["k1", "k2"])
    assert results == [
        CollectionResult("k1", True, "001A", True, []),
        CollectionResult(
            "k2",
            False,
            None,
            None,
            [
                RecordIssue(
                    "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"]
                )
            ],
        ),
    ]
    assert results[1].error_codes == ["REQUIRED_FIELD_MISSING"]
    with pytest.raises(SyncServiceError):
        parse_collection_results(items, ["only-one"])


def test_given_nested_query_records_when_stripped_then_attributes_go_and_nesting_stays():
    """api-notes 3.3: relationship fields stay nested as SF returns them, minus attributes."""
    record = {
        "attributes": {"type": "Opportunity"},
        "Id": "006A",
        "Account": {"attributes": {"type": "Account"}, "Name": "Acme"},
        "Pricebook2": None,
        "OpportunityLineItems": {
            "totalSize": 1,
            "done": True,
            "records": [{"attributes": {"type": "OpportunityLineItem"}, "Quantity": 2.0}],
        },
    }
    assert strip_attributes(record) == {
        "Id": "006A",
        "Account": {"Name": "Acme"},
        "Pricebook2": None,
        "OpportunityLineItems": {"totalSize": 1, "done": True, "records": [{"Quantity": 2.0}]},
    }


def test_given_bulk_query_csv_when_parsed_then_rows_look_like_rest_records():
    """api-notes 3.12: dotted relationship columns nest; empty cells are null."""
    text = 'Id,Name,Account.Name\n001A,"O\'Brien, ""Jr""",\n001B,Zoë,Acme\n'
    assert list(parse_bulk_csv(text)) == [
        {"Id": "001A", "Name": 'O\'Brien, "Jr"', "Account": {"Name": None}},
        {"Id": "001B", "Name": "Zoë", "Account": {"Name": "Acme"}},
    ]


def test_given_python_values_when_sent_then_money_stays_exact():
    """Money is never a float in our code: Decimals go out as exact JSON numbers or not at all."""
    assert _json_value(Decimal("1234.56")) == 1234.56
    with pytest.raises(ValueError):
        _json_value(Decimal("0.12345678901234567890"))
    assert _json_value(dt.date(2025, 1, 2)) == "2025-01-02"
    assert (
        _json_value(dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "2025-01-02T03:04:05.000Z"
    )
    with pytest.raises(ValueError):
        _json_value(dt.datetime(2025, 1, 2))
    assert [_csv_value(v) for v in (None, True, 7, Decimal("0.10"), "x")] == [
        "",
        "true",
        "7",
        "0.10",
        "x",
    ]
    import numpy as np

    assert _json_value(np.int64(3)) == 3 and _csv_value(np.bool_(True)) == "true"


def test_given_a_relationship_reference_when_made_a_bulk_row_then_it_is_a_dotted_column():
    """api-notes 3.12: Bulk CSV names a parent by ``Relationship.ExternalIdField``."""
    record = {"attributes": {"type": "Account"}, "Name": "Kid", "Parent": {"Ext__c": "42"}}
    assert bulk_row(record) == {"Name": "Kid", "Parent.Ext__c": "42"}


def test_given_a_bulk_error_cell_when_parsed_then_code_message_and_fields_split():
    """api-notes 3.12: sf__Error is CODE:message:fields --."""
    assert _bulk_issue(
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    ) == RecordIssue("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ["Name"])
    assert _bulk_issue("DUPLICATE_VALUE:duplicate value found") == RecordIssue(
        "DUPLICATE_VALUE", "duplicate value found", []
    )


class FakeCollections:
    """A fake client whose collection calls lock some records on the first attempt."""

    def __init__(self, lock_first: set[int]):
        self.lock_first = lock_first
        self.bodies = []
        self.seen: set[int] = set()
        self._salesforce_login_partial = None

    def restful(self, path, method="GET", data=None, **_):
        import json

        body = json.loads(data)
        self.bodies.append(body)
        out = []
        for record in body["records"]:
            n = record["Ext__c"]
            first_time = n not in self.seen
            self.seen.add(n)
            if first_time and n in self.lock_first:
                out.append(
                    {
                        "success": False,
                        "errors": [
                            {"statusCode": "UNABLE_TO_LOCK_ROW", "message": "locked", "fields": []}
                        ],
                    }
                )
            elif n == 3:
                out.append(
                    {
                        "success": False,
                        "errors": [
                            {"statusCode": "DUPLICATE_VALUE", "message": "dup", "fields": ["X"]}
                        ],
                    }
                )
            else:
                out.append({"id": f"001{n}", "success": True, "errors": [], "created": True})
        return out


def test_given_locked_records_in_a_collection_when_upserting_then_only_those_are_resent():
    """UNABLE_TO_LOCK_ROW inside a collection: just those records are retried; other record
    errors stay per-record results (R-GEN-5); chunks are 200 (api-notes 3.6). The two chunks go
    at once (``parallel_calls``), so the calls are compared in any order."""
    fake = FakeCollections(lock_first={1, 250})
    hook = SfqbSalesforceHook(
        retry_policy=RetryPolicy(max_attempts=3, base_delay=0), sleep=lambda s: None
    )
    hook.__dict__["conn"] = fake
    records = [{"Ext__c": n, "Amount__c": Decimal("1.50")} for n in range(300)]
    results = hook.upsert("Account", records, ext_id_field="Ext__c")
    assert [r.key for r in results] == list(range(300))
    assert sorted(len(b["records"]) for b in fake.bodies) == [1, 1, 100, 200]
    assert all(b["allOrNone"] is False for b in fake.bodies)
    resent = sorted(b["records"][0]["Ext__c"] for b in fake.bodies if len(b["records"]) == 1)
    assert resent == [1, 250]
    assert results[1].ok and results[250].ok
    assert results[3].error_codes == ["DUPLICATE_VALUE"] and results[3].errors[0].fields == ["X"]
    assert hook.calls.snapshot() == {"collections.upsert": 4}
    assert all(r["attributes"] == {"type": "Account"} for b in fake.bodies for r in b["records"])
