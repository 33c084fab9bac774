"""The areas with effective maps: custom rows flow into plans; values that do not fit hold the
record back (docs/rules.md section 7; R-MAP-1, R-OPP-4, R-OPP-7, R-ACC-8)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from sfqb.areas import opportunities as opp_rules
from sfqb.areas import transactions as txn_rules
from sfqb.areas.customers import CustomerInputs, plan_customers
from sfqb.frames import records_frame
from sfqb.mapping.coerce import UNFIT, limits_for
from sfqb.mapping.custom import parse_custom
from sfqb.mapping.maps import default_map, merge
from sfqb.outcomes import WARNING
from sfqb.preferences import Preferences
from tests.unit.areas import test_opportunities as opp_data
from tests.unit.areas import test_transactions as txn_data

pytestmark = pytest.mark.unit


def maps_of(text: str) -> dict:
    found = parse_custom("version: 1\nmaps:\n" + text, "m.yaml")
    assert found.problems == []
    return {pair: merge(default_map(pair), rows) for pair, rows in found.rows.items()}


def test_given_a_custom_header_and_line_map_when_opportunities_are_planned_then_the_payload_follows_them():
    """R-MAP-1, R-OPP-3/4: an added header row (a custom Opportunity field -> DocNumber), an
    override (Name -> the memo instead of Description) and a line override (a custom Opportunity
    Product field -> the line description) shape the transaction."""
    maps = maps_of(
        "  opportunity_to_transaction:\n    - {source: Order_Ref__c, target: DocNumber}\n"
        "    - {source: Name, target: CustomerMemo.value}\n"
        "  opportunity_product_to_line:\n    - {source: Line_Note__c, target: Description}\n"
    )
    header, lines = maps["opportunity_to_transaction"], maps["opportunity_product_to_line"]
    opp_fields, line_fields, _ = opp_rules.read_fields(header, lines)
    assert "Order_Ref__c" in opp_fields and "Line_Note__c" in line_fields
    data = opp_rules.OpportunityInputs(
        opportunities=records_frame(
            [opp_data.opp("o1", Order_Ref__c="SO-1", Description="ignored")], opp_fields
        ),
        lines=records_frame(
            [
                opp_data.line(
                    "l1", "o1", item="5", qty=2, price=3, Description="plain", Line_Note__c="noted"
                )
            ],
            line_fields,
        ),
        contacts=records_frame([], opp_rules.CONTACT_FIELDS),
        items=opp_data.ITEMS,
    )
    result = opp_rules.plan_opportunities(
        data,
        online=True,
        today=opp_data.TODAY,
        header_map=header,
        line_map=lines,
        limits=limits_for(maps.values()),
    )
    payload = json.loads(result.creates.at[0, "payload"])
    assert payload["DocNumber"] == "SO-1"
    assert payload["CustomerMemo"] == {"value": "Deal o1"}
    assert payload["Line"][0]["Description"] == "noted"
    assert payload["Line"][0]["Amount"] == "6.00"


def test_given_a_custom_value_too_long_for_quickbooks_when_planned_then_the_opportunity_is_held_back_to_retry():
    """Section 7: DocNumber keeps 21 characters in QuickBooks Online: a longer value is a WARNING
    naming the field and lengths, nothing is created for the opportunity, and it is retried."""
    maps = maps_of(
        "  opportunity_to_transaction:\n    - {source: Order_Ref__c, target: DocNumber}\n"
    )
    header = maps["opportunity_to_transaction"]
    opp_fields, line_fields, _ = opp_rules.read_fields(
        header, default_map("opportunity_product_to_line")
    )
    data = opp_rules.OpportunityInputs(
        opportunities=records_frame([opp_data.opp("o1", Order_Ref__c="R" * 22)], opp_fields),
        lines=records_frame([opp_data.line("l1", "o1", item="5")], line_fields),
        contacts=records_frame([], opp_rules.CONTACT_FIELDS),
        items=opp_data.ITEMS,
    )
    result = opp_rules.plan_opportunities(
        data, online=True, today=opp_data.TODAY, header_map=header, limits=limits_for(maps.values())
    )
    assert result.creates.empty
    assert result.retry == ["o1"]
    (reason,) = result.skips.loc[result.skips["key"] == "o1", "reason"]
    assert (
        reason
        == f"QuickBooks Invoice.DocNumber would get 22 characters and keeps at most 21: {UNFIT} "
        "(shorten the value or map a longer field)"
    )


def test_given_a_custom_row_back_to_the_opportunity_when_planned_then_it_is_written_or_held_back():
    """R-OPP-7, section 7: a QuickBooks field mapped by a custom row onto an Opportunity field is
    written when it changed; a value longer than the field holds the whole transaction back
    (header and lines) with a WARNING, to retry."""
    maps = maps_of(
        "  transaction_to_opportunity:\n    - {source: PrivateNote, target: QB_Note__c}\n"
    )
    header = maps["transaction_to_opportunity"]
    txn_columns, opp_columns, product_columns = txn_rules.read_columns(
        header, default_map(txn_rules.LINE_MAP)
    )

    def planned(note: str):
        inputs = txn_rules.TransactionInputs(
            transactions=txn_data.frame([txn_data.txn(PrivateNote=note)], txn_columns),
            lines=txn_data.frame(txn_data.LINES, txn_rules.LINE_COLUMNS),
            opportunities=txn_data.frame([txn_data.opp(QB_Note__c="old")], opp_columns),
            products=txn_data.frame(txn_data.PRODUCTS, product_columns),
            item_products=txn_data.ITEMS,
            standard_pricebook=txn_data.BOOK,
        )
        limits = {
            txn_rules.HEADER_MAP: {
                "QB_Note__c": {"kind": "text", "length": 10, "label": "Opportunity.QB_Note__c"}
            }
        }
        return txn_rules.plan_transactions(inputs, header, None, limits)

    fits = planned("new note")
    assert fits.opportunities == [
        {
            "key": "QB:Invoice:130",
            "Id": txn_data.OPP,
            "QB_Note__c": "new note",
            "Last_Sync_Date__c": None,
        }
    ]
    held = planned("a note far too long")
    assert held.opportunities == [] and held.line_updates == [] and held.line_deletes == []
    assert held.retry == ["Invoice:130"]
    assert txn_data.warnings_of(held) == [
        (
            "QB:Invoice:130",
            "Opportunity.QB_Note__c would get 19 characters and "
            f"keeps at most 10: {UNFIT} (shorten the value or map a longer field)",
        )
    ]


def test_given_custom_customer_rows_when_planned_then_accounts_get_them_and_unfit_customers_are_retried():
    """R-MAP-1, R-ACC-8, section 7: a custom row fills an Account field; a customer whose value
    is too long for it gets no Account write, a WARNING and a retry."""
    maps = maps_of("  customer_to_account:\n    - {source: Notes, target: QB_Notes__c}\n")
    qb = records_frame(
        [
            {
                "Id": "1",
                "DisplayName": "Fits",
                "Active": True,
                "IsProject": False,
                "Notes": "short",
                "MetaData.LastUpdatedTime": "2026-01-01T00:00:00Z",
            },
            {
                "Id": "2",
                "DisplayName": "Too Long",
                "Active": True,
                "IsProject": False,
                "Notes": "n" * 12,
                "MetaData.LastUpdatedTime": "2026-01-01T00:00:00Z",
            },
        ],
        [
            "Id",
            "DisplayName",
            "Active",
            "IsProject",
            "ParentRef.value",
            "Level",
            "Notes",
            "GivenName",
            "FamilyName",
            "MetaData.LastUpdatedTime",
        ],
    )
    empty_sf = pd.DataFrame(
        columns=[
            "Id",
            "Name",
            "External_Account_ID__c",
            "Sync_Me__c",
            "HasWonOpportunity",
            "Parent.External_Account_ID__c",
            "BillingContact.Id",
            "BillingContact.External_Contact_ID__c",
            "Last_Sync_Date__c",
        ]
    )
    limits = {
        "customer_to_account": {
            "QB_Notes__c": {"kind": "text", "length": 10, "label": "Account.QB_Notes__c"}
        }
    }
    plan = plan_customers(
        CustomerInputs(
            qb_changed=qb,
            sf_changed=empty_sf,
            sf_linked=empty_sf,
            qb_linked=pd.DataFrame(columns=["Id", "SyncToken"]),
            terms={},
        ),
        Preferences(),
        maps,
        limits,
    )
    assert list(plan.accounts["External_Account_ID__c"]) == ["1"]
    assert plan.accounts.at[0, "QB_Notes__c"] == "short"
    assert plan.retry == ["QB:2"]
    warned = plan.skips[plan.skips["level"] == WARNING]
    assert list(warned["key"]) == ["QB:2"]
    assert (
        "Account.QB_Notes__c would get 12 characters and keeps at most 10"
        in warned["reason"].iloc[0]
    )


def test_given_a_new_customer_when_its_values_are_recorded_with_the_link_then_unfit_custom_values_are_left_out():
    """R-GEN-4, section 7: what QuickBooks made of a new customer is written back with the link
    through the effective maps; a custom value too long for its field is left out of that write
    (the link itself must not fail; the next run's plan warns about it), numbers become text."""
    from sfqb.steps.customers import sf_values_from_qb

    maps = maps_of(
        "  customer_to_account:\n    - {source: Notes, target: QB_Notes__c}\n"
        "    - {source: Balance, target: QB_Balance__c}\n"
    )
    maps |= {p: default_map(p) for p in ("customer_to_contact", "account_to_customer")}
    entity = {
        "Id": "9",
        "DisplayName": "Acme",
        "Notes": "n" * 12,
        "Balance": 12.5,
        "MetaData": {"LastUpdatedTime": "2026-01-01T00:00:00Z"},
    }
    limits = {
        "customer_to_account": {
            "QB_Notes__c": {"kind": "text", "length": 10, "label": "Account.QB_Notes__c"}
        }
    }
    account, _ = sf_values_from_qb(entity, maps, limits)
    assert "QB_Notes__c" not in account
    assert account["QB_Balance__c"] == "12.5" and account["Name"] == "Acme"
    account, _ = sf_values_from_qb({**entity, "Notes": "short"}, maps, limits)
    assert account["QB_Notes__c"] == "short"


def test_given_many_new_customers_when_their_values_are_mapped_at_once_then_each_equals_its_own_mapping():
    """R-GEN-4, section 7: the link values of many customers are mapped as one frame (first-run
    matching and a first export link thousands at once), and each customer gets exactly what it
    would get alone: its own values, its custom rows fitted, a Contact only with a last name."""
    from sfqb.steps.customers import sf_values_by_id, sf_values_from_qb

    maps = maps_of("  customer_to_account:\n    - {source: Notes, target: QB_Notes__c}\n")
    maps |= {p: default_map(p) for p in ("customer_to_contact", "account_to_customer")}
    limits = {
        "customer_to_account": {
            "QB_Notes__c": {"kind": "text", "length": 10, "label": "Account.QB_Notes__c"}
        }
    }
    entities = [
        {
            "Id": "1",
            "DisplayName": "Acme",
            "Notes": "fits",
            "GivenName": "Ann",
            "FamilyName": "Lee",
            "BillAddr": {"Line1": "1 Main St", "City": "Springfield"},
        },
        {
            "Id": "2",
            "DisplayName": "Bolt",
            "Notes": "n" * 11,
            "PrimaryPhone": {"FreeFormNumber": "555-0100"},
        },
        {"Id": "3", "DisplayName": "Cog"},
    ]
    mapped = sf_values_by_id(entities, maps, limits)
    assert mapped == {e["Id"]: sf_values_from_qb(e, maps, limits) for e in entities}
    assert mapped["1"][0]["QB_Notes__c"] == "fits" and mapped["1"][1]["LastName"] == "Lee"
    assert "QB_Notes__c" not in mapped["2"][0] and mapped["2"][0]["Phone"] == "555-0100"
    assert mapped["3"][1] == {} and mapped["3"][0]["Name"] == "Cog"
    assert sf_values_by_id([], maps) == {}


def test_given_a_new_transaction_when_its_values_are_recorded_with_the_link_then_unfit_custom_values_are_left_out():
    """R-GEN-4, R-OPP-4, section 7: the Opportunity's link write carries what QuickBooks made of
    the transaction through the effective way-back map; a custom value too long for its field is
    left out (the link must not fail)."""
    from sfqb.steps.opportunities import _values_from_qb

    header = maps_of(
        "  transaction_to_opportunity:\n    - {source: PrivateNote, target: QB_Note__c}\n"
    )["transaction_to_opportunity"]
    entity = {
        "Id": "130",
        "DocNumber": "1001",
        "TxnDate": "2026-01-15",
        "PrivateNote": "Salesforce Opportunity 006A",
    }
    limit = {"QB_Note__c": {"kind": "text", "length": 10, "label": "Opportunity.QB_Note__c"}}
    assert (
        _values_from_qb([("Invoice", entity)], header)[0]["QB_Note__c"]
        == "Salesforce Opportunity 006A"
    )
    (values,) = _values_from_qb([("Invoice", entity)], header, limit)
    assert "QB_Note__c" not in values and values["External_Transaction_Number__c"] == "1001"


def test_given_many_new_transactions_when_their_link_values_are_mapped_at_once_then_each_equals_its_own():
    """R-GEN-4, R-OPP-4: a first run links a thousand transactions at once, mapped as one
    frame; each gets exactly what it would get alone (a Sales Receipt no due date or terms, a
    custom field only where its transaction carries it, an unfit value left out)."""
    from sfqb.steps.opportunities import _values_from_qb

    header = maps_of(
        "  transaction_to_opportunity:\n    - {source: PrivateNote, target: QB_Note__c}\n"
        "    - {source: CustomField.PO Number, target: PO__c}\n"
    )["transaction_to_opportunity"]
    limit = {"QB_Note__c": {"kind": "text", "length": 10, "label": "Opportunity.QB_Note__c"}}
    transactions = [
        (
            "Invoice",
            {
                "Id": "130",
                "DocNumber": "1001",
                "TxnDate": "2026-01-15",
                "DueDate": "2026-02-14",
                "PrivateNote": "short",
                "CustomField": [{"Name": "PO Number", "StringValue": "PO-7"}],
                "BillAddr": {"Line1": "1 Main St", "City": "Springfield"},
            },
        ),
        (
            "SalesReceipt",
            {
                "Id": "131",
                "DocNumber": "1002",
                "TxnDate": "2026-01-16",
                "PrivateNote": "Salesforce Opportunity 006B",
            },
        ),
        (
            "Invoice",
            {"Id": "132", "DocNumber": "1003", "TxnDate": "2026-01-17", "DueDate": "2026-02-16"},
        ),
    ]
    together = _values_from_qb(transactions, header, limit)
    assert together == [_values_from_qb([t], header, limit)[0] for t in transactions]
    assert together[0]["PO__c"] == "PO-7" and together[0]["QB_Note__c"] == "short"
    assert "PO__c" not in together[2] and "QB_Note__c" not in together[1]
    assert _values_from_qb([], header) == []
