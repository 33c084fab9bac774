"""Invoices of QuickBooks projects (jobs) through dag.test() runs of the whole ``sfqb_sync``
against both sandbox servers (R-INV-7, R-ACC-3).

The sandbox's seed has a project (``IsProject``: QuickBooks Online makes projects in its own
screens, the API cannot) under a top-level customer; the test bills invoices to it. Projects are
never synced, so an invoice of one takes the Account of its nearest ancestor that has one. The
install date (``sync_start``) is the test's start: only the invoices the test makes are read."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest

from sfqb import soql
from sfqb.areas.invoices import EXT_INVOICE, INVOICE_STREAM
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]


def run(env, install: str) -> dict:
    """One dag.test() run of sfqb_sync; every task succeeds; returns the summary. No lookback:
    a run reads from the last one's upper bound, as an hourly run does for a change older than
    the lookback."""
    env.set_preferences(sync_start=install, lookback_minutes=0)
    _, states, summary = env.run(task_retries=0)
    assert set(states.values()) == {"success"}, states
    return summary


def account_of(env, invoice_id: str) -> str | None:
    (record,) = env.sf().query(
        soql.select("Invoice__c", ["Account__c"], where=soql.eq(EXT_INVOICE, invoice_id))
    )
    return record["Account__c"]


def test_given_a_project_with_invoices_when_synced_then_they_take_the_parents_account_once_it_has_one(
    sync_env,
):
    """R-INV-7, R-ACC-3, R-INV-1, R-GEN-5, in three DAG runs.

    Run 1: the project's parent is active but not linked (two Salesforce Accounts share its
    name, so neither first-run matching nor the customers area links it): the project's invoice
    is loaded without an Account, with one warning naming the project, its parent (Id and
    name) and why; it waits on the parent instead of being retried.
    Run 2 (nothing changed): the invoice is not read again and nothing warns about it.
    Run 3: a person links one of the Accounts to the parent; that run fills in the waiting
    invoice's Account without the invoice changing in QuickBooks, and a new invoice of the
    project takes the same Account with no warning; the reconciliation counts both invoices'
    balances for the parent."""
    from sfqb.state import MetadataDbVariables, SyncState

    install = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)).isoformat()
    sf, qb = sync_env.sf(), sync_env.qb()
    project = next(c for c in qb.query_all("Customer") if c.get("IsProject"))
    parent = qb.read("Customer", project["ParentRef"]["value"])
    assert not parent.get("IsProject") and parent["Active"]
    made = sf.create("Account", [{"Name": parent["DisplayName"]}, {"Name": parent["DisplayName"]}])
    assert all(r.ok for r in made), made
    item = next(
        i
        for i in qb.query_all("Item")
        if i["Type"] in ("Service", "NonInventory") and i.get("UnitPrice")
    )

    def invoice(amount: str) -> dict:
        return qb.create(
            "Invoice",
            {
                "CustomerRef": {"value": project["Id"]},
                "Line": [
                    {
                        "DetailType": "SalesItemLineDetail",
                        "Amount": Decimal(amount),
                        "SalesItemLineDetail": {
                            "ItemRef": {"value": item["Id"]},
                            "Qty": 1,
                            "UnitPrice": Decimal(amount),
                        },
                    }
                ],
            },
            None,
        )

    waiting = invoice("120")
    key = f"QB:Invoice:{waiting['Id']}"
    # QuickBooks keeps whole seconds and Change Data Capture repeats a change made in the second
    # of its changedSince: run 1 starts a second later, so run 2 does not read the invoice again.
    time.sleep(1.1)

    # Run 1: the parent has no Account.
    report = report_of(run(sync_env, install), "invoices")
    assert report["failed"] == 0, report
    assert account_of(sync_env, waiting["Id"]) is None
    (warning,) = [w for w in report["warnings"] if key in w]
    assert f'project {project["Id"]} "{project["DisplayName"]}"' in warning
    assert f'customer {parent["Id"]} "{parent["DisplayName"]}" is active in QuickBooks' in warning
    assert (
        f"(External Account ID {parent['Id']}): see the customers and matching warnings" in warning
    )
    state = SyncState(MetadataDbVariables())
    assert waiting["Id"] not in state.retries(INVOICE_STREAM)
    assert waiting["Id"] in state.waiting(INVOICE_STREAM)[parent["Id"]]

    # Run 2: nothing changed: the waiting invoice is not read again.
    report = report_of(run(sync_env, install), "invoices")
    assert report["created"] == report["updated"] == report["failed"] == 0, report
    # its warning stands (R-OPS-3), not looked at again: the invoice was not read
    (standing,) = [w for w in report["warning_entries"] if w["key"] == key]
    assert (standing["state"], standing["checked"]) == ("standing", False), standing
    assert waiting["Id"] in state.waiting(INVOICE_STREAM)[parent["Id"]]

    # Run 3: the parent linked by a person; a new invoice of the project.
    linked = made[0].id
    sf.update("Account", [{"Id": linked, "External_Account_ID__c": parent["Id"]}])
    new = invoice("80")
    summary = run(sync_env, install)
    report = report_of(summary, "invoices")
    assert report["failed"] == 0, report
    assert account_of(sync_env, waiting["Id"]) == linked
    assert account_of(sync_env, new["Id"]) == linked
    open_now = [w for w in report["warning_entries"] if w["state"] != "resolved"]
    assert not [w for w in open_now if w["key"] in (key, f"QB:Invoice:{new['Id']}")], open_now
    assert [w["state"] for w in report["warning_entries"] if w["key"] == key] == [
        "resolved"
    ]  # R-OPS-3
    assert state.waiting(INVOICE_STREAM) == {}
    reconciled = report_of(summary, "reconcile")
    assert reconciled["counts"]["customer_balances"] == 0, reconciled["warnings"]
    assert reconciled["counts"]["customer_balances_compared"] >= 1
