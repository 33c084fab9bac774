"""The business simulation on QuickBooks Desktop (docs/simulation.md, ``python -m sfqb_sim
--edition desktop``), short: half a simulated day of business on the Desktop company and the
Salesforce org with faults of both kinds, ``sfqb_sync`` every 6 hours through sfqb's Web
Connector service and the Web Connector emulator, and every invariant checked after each run.
Plus the Desktop checks' own rules, pure."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from sfqb_sim.ledger import Ledger
from tests.integration.test_soak import three_weeks_back

SEED = 20
"""Its faults: QuickBooks restarting mid-read and a lost answer to an add in the first busy
run, a lost answer to a CustomerMod in the second (``sfqb_sim.faults.plan``)."""


@pytest.mark.integration
@pytest.mark.slow
def test_given_half_a_day_of_desktop_business_and_faults_when_synced_every_6_hours_then_no_invariant_breaks(
    desktop_env, tmp_path
):
    """R-QBD-4, R-QBD-6, R-QBD-7, R-ACC-3, R-INV-2, R-GEN-2, R-GEN-3, R-ACC-1, R-ACC-5,
    R-OPP-1, R-INV-4: new customers and sub-customers, edits on both sides, inventory items,
    invoices, payments, Sales Orders made from won opportunities and invoiced in part by a
    QuickBooks user, with lost answers and a restart mid-read; after every run: nothing
    duplicated, nothing lost past its deadline, sub-customers under their parents' Accounts,
    partial invoices linked to their opportunities, inventory quantities on the Products."""
    from sfqb.state import MetadataDbVariables
    from sfqb_sim.desktop import PREFERENCES, DesktopSite, desktop_hooks
    from sfqb_sim.runner import Config, dag_runner, report, simulate

    variables = MetadataDbVariables()
    variables.set("sfqb.preferences", json.dumps(PREFERENCES))
    site = DesktopSite(
        desktop_env.sandbox, f"sqlite:///{tmp_path / 'qbwc-queue.sqlite3'}", desktop_env.rig
    )
    config = Config(
        days=0.5,
        seed=SEED,
        runs_per_day=4,
        fault_rate=0.5,
        actions_per_hour=4,  # half a day: twice Online's pace, so the day has its business
        settle_runs=1,
        start=three_weeks_back(),
        edition="desktop",
    )
    try:
        result = simulate(
            config, desktop_env.sandbox, dag_runner(), desktop_hooks(site), variables, site=site
        )
    finally:
        desktop_env.sandbox.set_clock("quickbooks_desktop", reset=True)
        desktop_env.sandbox.clear_faults()
        desktop_env.sandbox.call("quickbooks_desktop", "DELETE", "company/faults")

    summary = report(result, config)
    assert result.violations == [], summary
    assert result.runs == 4, summary  # the install run, 2 busy runs, 1 quiet
    assert sum(result.made.values()) >= 10, summary
    assert {k for k, n in result.records.items() if n} >= {
        "qb_customer",
        "opportunity",
        "qb_invoice",
        "qb_stock",
    }, summary
    assert any(k.startswith("quickbooks_desktop") for k in result.faults_fired), summary
    assert result.on_time > 0, summary


def _snap(**parts) -> dict:
    """A Desktop snapshot with nothing in it but ``parts``."""
    empty = {
        "sf_accounts": [],
        "qb_customers": {},
        "qb_invoices": {},
        "qb_receipts": {},
        "qb_orders": {},
        "sf_opportunities": {},
        "sf_invoices": [],
        "sf_invoice_links": {},
        "sf_products": [],
        "qb_items": {},
        "sf_entries": {},
    }
    return {**empty, **parts}


@pytest.mark.unit
def test_given_a_sub_customer_when_its_account_is_under_another_parent_then_it_is_a_problem():
    """R-ACC-3: a sub-customer's Account sits under the Account of its QuickBooks parent."""
    from sfqb_sim.observe import problems

    ledger = Ledger()
    ledger.add("qb_customer", "80-B", 1, name="Branch", active=True, parent="80-P")
    branch = {"Id": "80-B", "DisplayName": "Branch", "FullyQualifiedName": "Parent:Branch"}
    account = {"Id": "001B", "Name": "Branch", "Phone": None, "External_Account_ID__c": "80-B"}
    snap = _snap(
        qb_customers={"80-B": branch},
        sf_accounts=[{**account, "Parent": {"External_Account_ID__c": "80-P"}}],
    )
    assert problems(ledger, snap) == {}
    snap["sf_accounts"] = [{**account, "Parent": None}]
    assert problems(ledger, snap) == {
        ("qb_customer", "80-B"): "Account's parent holds QuickBooks customer None, its "
        "QuickBooks parent is 80-P"
    }


@pytest.mark.unit
def test_given_a_partial_invoice_of_a_sales_order_when_its_invoice_links_no_opportunity_then_it_is_a_problem():
    """R-INV-2, R-QBD-6: an invoice a QuickBooks user made from part of a Sales Order that came
    from an Opportunity has its Invoice__c, and that Invoice__c links the Opportunity."""
    from sfqb_sim.observe import problems

    ledger = Ledger()
    ledger.add("qb_invoice", "T-9", 2, customer="80-C", state="open", linked_opportunity="006S")
    invoice = {"Id": "T-9", "Balance": 20, "CustomerRef": {"value": "80-C"}}
    snap = _snap(
        qb_invoices={"T-9": invoice},
        sf_invoices=[
            {
                "External_Invoice_ID__c": "T-9",
                "Status__c": "Open",
                "Outstanding_Balance__c": 20,
                "Account__c": None,
            }
        ],
    )
    assert problems(ledger, snap) == {
        ("qb_invoice", "T-9"): "Invoice__c not linked to the Sales Order's Opportunity 006S"
    }
    snap["sf_invoice_links"] = {"T-9": {"006S"}}
    assert problems(ledger, snap) == {}


@pytest.mark.unit
def test_given_an_inventory_item_when_its_product_holds_other_quantities_then_it_is_a_problem():
    """R-ITM-4, R-QBD-7: an Inventory Part's Product holds its quantity on hand and on sales
    orders; an inactive item's are not judged, nor an assembly's, whose Product gets none (the
    first short Desktop soak, seed 20, run 3, expected an assembly's 35 on its Product)."""
    from decimal import Decimal

    from sfqb_sim.observe import problems

    ledger = Ledger()
    ledger.add("qb_stock", "80-W", 1)
    item = {
        "Id": "80-W",
        "Active": True,
        "DesktopType": "ItemInventory",
        "QtyOnHand": Decimal("495"),
        "QtyOnSalesOrder": 3,
    }
    product = {
        "Id": "01t1",
        "External_Item_ID__c": "80-W",
        "Quantity_On_Hand__c": 495.0,
        "Quantity_Allocated__c": 3.0,
    }
    snap = _snap(qb_items={"80-W": item}, sf_products=[product])
    assert problems(ledger, snap) == {}
    snap["sf_products"] = [{**product, "Quantity_On_Hand__c": 500.0}]
    (detail,) = problems(ledger, snap).values()
    assert "500.00" in detail and "495.00" in detail
    snap["qb_items"] = {"80-W": {**item, "Active": False}}
    assert problems(ledger, snap) == {}
    snap["qb_items"] = {"80-W": {**item, "DesktopType": "ItemInventoryAssembly"}}
    snap["sf_products"] = [{**product, "Quantity_On_Hand__c": None}]
    assert problems(ledger, snap) == {}


@pytest.mark.unit
def test_given_the_web_connector_stopped_when_the_run_succeeds_or_writes_then_violations():
    """R-QBD-2: with the Web Connector stopped the run fails in preflight, its log naming the
    last poll, and writes nothing to QuickBooks."""
    from sfqb_sim.observe import stopped_run_violations

    last = dt.datetime(2026, 12, 5, 7, 3, 11, tzinfo=dt.UTC)
    logged = "the Web Connector is not running: it last polled at 2026-12-05 07:03:11 UTC, 6 h"
    states = {"preflight.await_web_connector": "failed", "customers.extract": "upstream_failed"}
    assert stopped_run_violations(4, "failed", states, 0, logged, last) == []
    found = stopped_run_violations(4, "success", {"a": "success"}, 2, "", last)
    assert [v.check for v in found] == [
        "the Web Connector was stopped, yet the log does not name its last poll",
        "the Web Connector was stopped, yet the run did not fail in preflight",
        "the Web Connector was stopped, yet QuickBooks was written",
    ]


@pytest.mark.unit
def test_given_a_voided_desktop_invoice_when_its_invoice_c_says_paid_then_it_is_a_problem():
    """R-INV-1: a voided invoice's Invoice__c is Voided, balance 0, and not paid; Desktop's
    "VOID:" memo hides the sync's marker, yet the voided invoice stays its opportunity's."""
    from sfqb_sim.observe import MARK, problems

    ledger = Ledger()
    ledger.add("qb_invoice", "T-7", 2, customer="80-C", state="voided", opportunity="006V")
    invoice = {
        "Id": "T-7",
        "Balance": 0,
        "CustomerRef": {"value": "80-C"},
        "PrivateNote": f"VOID: {MARK}006V",
    }
    voided = {
        "External_Invoice_ID__c": "T-7",
        "Status__c": "Voided",
        "Outstanding_Balance__c": 0,
        "Is_Paid__c": False,
        "Account__c": None,
    }
    snap = _snap(qb_invoices={"T-7": invoice}, sf_invoices=[voided])
    assert problems(ledger, snap) == {}
    snap["sf_invoices"] = [{**voided, "Status__c": "Paid", "Is_Paid__c": True}]
    assert problems(ledger, snap) == {
        ("qb_invoice", "T-7"): "Invoice__c Paid 0.00, QuickBooks Voided 0"
    }
    snap["sf_invoices"] = [{**voided, "Is_Paid__c": True}]
    assert problems(ledger, snap) == {("qb_invoice", "T-7"): "Invoice__c Voided with Is Paid True"}


@pytest.mark.unit
def test_given_a_voided_sales_receipt_when_its_opportunity_keeps_its_amount_then_it_is_a_problem():
    """R-OPP-6, R-OPP-7: a Sales Receipt sfqb made and a QuickBooks user voided is still the
    opportunity's transaction (its marker is gone from the memo), and the opportunity takes
    back its zeroed amounts: Amount 0."""
    from sfqb_sim.observe import problems

    ledger = Ledger()
    ledger.add("opportunity", "006R", 1, eligible=True, txn_type="Sales Receipt")
    ledger.touch("opportunity", "006R", 3, voided_receipt="T-R")
    receipt = {"Id": "T-R", "PrivateNote": "VOID: sfqb:006R", "Line": []}
    opp = {"Id": "006R", "AccountId": None, "External_Transaction_ID__c": "T-R", "Amount": 0}
    snap = _snap(qb_receipts={"T-R": receipt}, sf_opportunities={"006R": opp})
    assert problems(ledger, snap) == {}
    snap["sf_opportunities"] = {"006R": {**opp, "Amount": 120.5}}
    assert problems(ledger, snap) == {
        ("opportunity", "006R"): "Sales Receipt T-R voided, Opportunity Amount 120.5"
    }
