"""Sync Me on each object (R-GEN-9): a user ticks it to force a record into the next run;
the sync clears it once the record synced, leaves it ticked while it fails, and a record that
keeps failing waits for its spaced-out retries. dag.test() against both sandbox servers."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from sfqb import soql
from tests.integration.conftest import SINCE_SEED, report_of
from tests.integration.test_customers_sync import new_won_account, synced
from tests.integration.test_opportunities_sync import (
    linked_account,
    opportunities,
    priced_products,
    won_opportunity,
)

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]


def sync_me(env, sobject: str, record_id: str) -> bool:
    (row,) = env.sf().query(soql.select(sobject, ["Sync_Me__c"], where=soql.eq("Id", record_id)))
    return row["Sync_Me__c"]


def test_given_ticked_contacts_when_synced_then_their_account_replays_and_the_ticks_clear(sync_env):
    """R-GEN-9 (Contact), R-ACC-6: a ticked billing Contact brings its Account's values, its
    own included, to QuickBooks (modifying allowed) and is cleared; a ticked Contact that is not
    the billing Contact is cleared too (its Account had nothing to send)."""
    synced(sync_env)
    sf = sync_env.sf()
    account = next(
        a
        for a in sf.query(
            soql.select(
                "Account",
                ["Id", "External_Account_ID__c"],
                where=soql.compare("External_Account_ID__c", "!=", None),
            )
        )
        if list(
            sf.query(
                soql.select(
                    "Contact",
                    ["Id"],
                    where=[soql.eq("AccountId", a["Id"]), soql.eq("Is_Billing_Contact__c", True)],
                )
            )
        )
    )
    (billing,) = sf.query(
        soql.select(
            "Contact",
            ["Id"],
            where=[soql.eq("AccountId", account["Id"]), soql.eq("Is_Billing_Contact__c", True)],
        )
    )
    (other,) = sf.create("Contact", [{"AccountId": account["Id"], "LastName": "Bystander"}])
    sf.update(
        "Contact",
        [
            {"Id": billing["Id"], "Email": "replayed@example.com", "Sync_Me__c": True},
            {"Id": other.id, "Sync_Me__c": True},
        ],
    )

    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    customer = sync_env.qb().read("Customer", account["External_Account_ID__c"])
    assert customer["PrimaryEmailAddr"]["Address"] == "replayed@example.com"
    assert sync_me(sync_env, "Contact", billing["Id"]) is False
    assert sync_me(sync_env, "Contact", other.id) is False


def test_given_a_ticked_opportunity_older_than_the_install_date_when_synced_then_it_is_sent_and_cleared(
    sync_env,
):
    """R-GEN-9 (Opportunity), R-OPP-9: an opportunity won before the install date is not sent;
    once a user ticks Sync Me it is sent to QuickBooks and its tick cleared."""
    synced(sync_env)
    account = linked_account(sync_env)
    (entry,) = priced_products(sync_env, 1)
    opp = won_opportunity(sync_env, account["Id"], "Invoice", [(entry, 1, 25, "ticked")])
    install = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=2)).isoformat()
    sync_env.set_preferences(sync_start=install)
    time.sleep(2.5)  # the opportunity is now older than the install date
    assert set(sync_env.run()[1].values()) == {"success"}
    assert (
        opportunities(sync_env, where=soql.eq("Id", opp))[opp]["External_Transaction_ID__c"] is None
    )

    sync_env.sf().update("Opportunity", [{"Id": opp, "Sync_Me__c": True}])
    assert set(sync_env.run()[1].values()) == {"success"}
    after = opportunities(sync_env, where=soql.eq("Id", opp))[opp]
    assert after["External_Transaction_ID__c"] and after["Sync_Me__c"] is False


def test_given_a_ticked_invoice_edited_in_salesforce_when_synced_then_quickbooks_values_come_back_and_it_clears(
    sync_env,
):
    """R-GEN-9 (Invoice__c), R-INV-6: invoices are QuickBooks' records; a ticked Invoice__c is read
    again from QuickBooks though it did not change there, the Salesforce edit is overwritten and
    the tick cleared. Without the tick the edit stays (nothing in QuickBooks changed)."""
    synced(sync_env)
    sf = sync_env.sf()
    invoices = list(
        sf.query(
            soql.select(
                "Invoice__c",
                ["Id", "Invoice_Number__c"],
                where=soql.compare("Invoice_Number__c", "!=", None),
            )
        )
    )
    first, second = sorted(invoices, key=lambda r: r["Id"])[:2]
    sf.update(
        "Invoice__c",
        [
            {"Id": first["Id"], "Invoice_Number__c": "EDITED-1", "Sync_Me__c": True},
            {"Id": second["Id"], "Invoice_Number__c": "EDITED-2"},
        ],
    )
    synced(sync_env)
    rows = {
        r["Id"]: r
        for r in sf.query(
            soql.select(
                "Invoice__c",
                ["Id", "Invoice_Number__c", "Sync_Me__c"],
                where=soql.in_list("Id", [first["Id"], second["Id"]]),
            )
        )
    }
    assert rows[first["Id"]]["Invoice_Number__c"] == first["Invoice_Number__c"]
    assert rows[first["Id"]]["Sync_Me__c"] is False
    assert rows[second["Id"]]["Invoice_Number__c"] == "EDITED-2"


def test_given_a_ticked_account_that_keeps_failing_when_synced_hourly_then_it_stays_ticked_and_backs_off(
    sync_env,
):
    """R-GEN-9, R-GEN-5: a ticked Account QuickBooks cannot take (a colon in its name) stays
    ticked with the reason warned; after failing twice in a row its next retry waits (hours),
    so the third run does not read it: the warning is standing, not looked at again."""
    bad = new_won_account(sync_env, "Colon: Ticked Co")
    sync_env.sf().update("Account", [{"Id": bad, "Sync_Me__c": True}])
    # No lookback: the runs here are seconds apart, where hourly runs' windows would not reach
    # back to the tick.
    sync_env.set_preferences(sync_start=SINCE_SEED, lookback_minutes=0)
    found = []
    for _ in range(3):
        _, states, summary = sync_env.run()
        assert set(states.values()) == {"success"}, states
        found.append(
            [w for w in report_of(summary, "customers")["warning_entries"] if w["key"] == bad]
        )
    assert [len(f) for f in found] == [1, 1, 1]
    assert [f[0]["state"] for f in found] == ["new", "standing", "standing"]
    assert [f[0]["checked"] for f in found] == [True, True, False]
    assert sync_me(sync_env, "Account", bad) is True
