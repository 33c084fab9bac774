"""Custom field mappings end to end (docs/rules.md section 7): dag.test() against both sandboxes."""

from __future__ import annotations

import pytest

from sfqb import soql
from tests.integration.conftest import SINCE_SEED, report_of
from tests.integration.test_opportunities_sync import won_opportunity

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

MAPPINGS = """\
version: 1
maps:
  customer_to_account:
    - {source: Notes, target: QB_Notes__c}             # added: into the org's own field
    - {source: Mobile.FreeFormNumber, target: Phone}   # overrides PrimaryPhone.FreeFormNumber
  opportunity_to_transaction:
    - {source: Order_Ref__c, target: DocNumber}        # added: a custom Opportunity field
    - {source: Name, target: CustomerMemo.value}       # overrides Description
"""


def add_field(env, obj: str, name: str, length: int) -> None:
    env.sandbox.call(
        "salesforce", "POST", "custom-field", {"object": obj, "name": name, "length": length}
    )


def coded_entry(env) -> dict:
    """A standard PricebookEntry whose Product's code names an active QuickBooks item (the
    opportunity finds its item by ProductCode before any matching ran, R-OPP-3)."""
    sf = env.sf()
    codes = {
        i["FullyQualifiedName"]
        for i in env.qb().query_all("Item")
        if i["Type"] in {"Service", "Inventory", "NonInventory"}
    }
    entries = sf.query(
        soql.select(
            "PricebookEntry",
            ["Id", "Product2.ProductCode"],
            where=soql.eq("Pricebook2Id", sf.standard_pricebook()["Id"]),
        )
    )
    return next(
        e
        for e in sorted(entries, key=lambda e: e["Id"])
        if (e.get("Product2") or {}).get("ProductCode") in codes
    )


def mapping_file(tmp_path, text: str) -> str:
    path = tmp_path / "sfqb-mappings.yaml"
    path.write_text(text)
    return str(path)


def test_given_custom_rows_both_ways_when_synced_then_they_are_written_and_a_second_run_writes_nothing(
    sync_env, tmp_path
):
    """R-MAP-1, R-MAP-2, section 7 coercion: a QuickBooks customer's Notes reach the Account's own
    ``QB_Notes__c`` field and its Mobile overrides the Phone; an Opportunity's ``Order_Ref__c``
    becomes the invoice number and its Name overrides the memo; a Notes text longer than the
    Salesforce field is a WARNING naming record, field and lengths, and that Account is not
    written (nothing cut) but kept to retry; a second run writes nothing (the effective maps are
    compared both ways)."""
    add_field(sync_env, "Account", "QB_Notes__c", 40)
    add_field(sync_env, "Opportunity", "Order_Ref__c", 20)
    qb = sync_env.qb()
    fits = qb.create(
        "Customer",
        {
            "DisplayName": "Mapped Notes Ltd",
            "Notes": "pays by wire",
            "Mobile": {"FreeFormNumber": "555-0199"},
            "PrimaryPhone": {"FreeFormNumber": "555-0100"},
        },
        None,
    )
    too_long = qb.create("Customer", {"DisplayName": "Long Notes Ltd", "Notes": "x" * 41}, None)
    # A new Account with a won Opportunity: the customers area creates and links its customer,
    # then the opportunities area (later in the same run) sends the invoice.
    (account,) = sync_env.sf().create("Account", [{"Name": "Mapped Deal Co"}])
    opp_id = won_opportunity(
        sync_env,
        account.id,
        "Invoice",
        [(coded_entry(sync_env), 2, 50, "two")],
        Order_Ref__c="SO-7781",
        Description="not the memo",
    )

    sync_env.set_preferences(
        sync_start=SINCE_SEED, custom_mappings_path=mapping_file(tmp_path, MAPPINGS)
    )
    _, states, summary = sync_env.run()
    assert set(states.values()) <= {"success", "skipped"}, states

    sf = sync_env.sf()
    accounts = {
        a["External_Account_ID__c"]: a
        for a in sf.query(
            soql.select(
                "Account",
                ["Id", "External_Account_ID__c", "QB_Notes__c", "Phone"],
                where=soql.in_list("External_Account_ID__c", [fits["Id"], too_long["Id"]]),
            )
        )
    }
    assert accounts[fits["Id"]]["QB_Notes__c"] == "pays by wire"
    assert accounts[fits["Id"]]["Phone"] == "555-0199"
    assert too_long["Id"] not in accounts
    warnings = report_of(summary, "customers")["warnings"]
    assert any(
        f"QB:{too_long['Id']}" in w
        and "Account.QB_Notes__c would get 41 characters and keeps at most 40" in w
        for w in warnings
    ), warnings
    from sfqb.state import MetadataDbVariables, SyncState

    assert too_long["Id"] in SyncState(MetadataDbVariables()).retries("quickbooks.Customer")

    (opp,) = sf.query(
        soql.select(
            "Opportunity",
            ["External_Transaction_ID__c", "External_Transaction_Number__c"],
            where=soql.eq("Id", opp_id),
        )
    )
    invoice = qb.read("Invoice", opp["External_Transaction_ID__c"])
    assert invoice["DocNumber"] == "SO-7781" == opp["External_Transaction_Number__c"]
    assert invoice["CustomerMemo"]["value"] == "Deal Invoice"

    # What `python -m sfqb mapping show` prints is what was written.
    from sfqb.mapping.report import show
    from sfqb.preferences import Preferences

    text, problems = show(Preferences(custom_mappings_path=str(tmp_path / "sfqb-mappings.yaml")))
    shown = {tuple(line.split()[:4]) for line in text.splitlines()}
    assert problems == []
    assert {
        ("Notes", "->", "QB_Notes__c", "always"),
        ("Mobile.FreeFormNumber", "->", "Phone", "always"),
        ("Order_Ref__c", "->", "DocNumber", "always"),
        ("Name", "->", "CustomerMemo.value", "always"),
    } <= shown

    sync_env.sandbox.clear_counters()
    _, states, summary = sync_env.run()
    assert set(states.values()) <= {"success", "skipped"}, states
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    # The held-back customer was read again (retry) and is still held back, not cut.
    assert any(f"QB:{too_long['Id']}" in w for w in report_of(summary, "customers")["warnings"])


INVALID = """\
version: 1
maps:
  customer_to_account:
    - {source: Notes, target: No_Such_Field__c}
    - {source: Active, target: NumberOfEmployees}
    - {source: DisplayName, target: External_Account_ID__c}
  item_to_product:
    - {source: Name, target: ProductCode}
  invoice_to_opportunity:
    - {source: DocNumber, target: Name}
  account_to_customer:
    - {source: Phone, target: Notes}
    - {source: , target: Fax.FreeFormNumber}
"""


def test_given_an_invalid_custom_mapping_when_the_sync_runs_then_the_preflight_lists_every_row_before_any_write(
    sync_env, tmp_path
):
    """R-MAP-2, R-MAP-3, R-MAP-4, R-PRE-5: a custom mapping naming a field the org does not have,
    an incompatible type, a key field, a fixed pair, an unknown pair and a removed source fails
    the preflight before any write (write counters stay 0), one message listing each with the
    file and line; the valid row is not reported."""
    path = mapping_file(tmp_path, INVALID)
    sync_env.set_preferences(sync_start=SINCE_SEED, custom_mappings_path=path)
    sync_env.sandbox.clear_counters()
    dag_run, states, _ = sync_env.run(task_retries=0)
    assert dag_run.state == "failed"
    assert states["preflight.validate_org"] == "failed"
    assert states["customers.extract_customers"] == "upstream_failed"
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}

    from sfqb.steps.preflight import PreflightError, validate

    with pytest.raises(PreflightError) as caught:
        validate({"preferences": {"custom_mappings_path": path}}, sf=sync_env.sf())
    message = str(caught.value)
    assert message.startswith("preflight: 6 problems")
    for line, text in (
        (
            6,
            "External_Account_ID__c is an Id or a link field of the sync: key fields cannot be remapped (R-MAP-3)",
        ),
        (
            7,
            "item_to_product: the Product and Invoice__c mappings are fixed and cannot be customised (R-MAP-4)",
        ),
        (9, "unknown pair 'invoice_to_opportunity'"),
        (
            13,
            "account_to_customer: a row needs a source field: default rows can be overridden but not removed",
        ),
        (
            4,
            "customer_to_account: the Salesforce field Account.No_Such_Field__c does not exist in the org",
        ),
        (
            5,
            "customer_to_account: QuickBooks Customer.Active (boolean) cannot be copied into "
            "Account.NumberOfEmployees (int) without losing data",
        ),
    ):
        assert f"{path}, line {line}: " in message and text in message, (line, text, message)
    assert f"{path}, line 12" not in message
