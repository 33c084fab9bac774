"""Customers <-> Accounts on QuickBooks Desktop, end to end (docs/rules.md section 2, their QBD
rules): whole sfqb_sync runs against the Desktop company through the Web Connector."""

from __future__ import annotations

from decimal import Decimal
from xml.sax.saxutils import escape

import pytest
from pandas import Timedelta, Timestamp

from sfqb import soql
from sfqb.hooks.quickbooks import BatchOp
from sfqb.report import web_connector_line
from sfqb_sandbox.common import names
from tests.integration.conftest import report_of
from tests.integration.test_customers_sync import new_won_account

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNT_FIELDS = [
    "Id",
    "Name",
    "External_Account_ID__c",
    "ParentId",
    "BillingStreet",
    "BillingCity",
    "Billing_Address_Block__c",
    "Credit_Limit__c",
    "Sales_Rep__c",
    "Terms__c",
]


def accounts(env) -> list[dict]:
    return list(env.sf().query(soql.select("Account", ACCOUNT_FIELDS)))


def by_customer(env) -> dict[str, dict]:
    return {a["External_Account_ID__c"]: a for a in accounts(env) if a["External_Account_ID__c"]}


def customers(env) -> list[dict]:
    return list(env.qb().query_all("Customer", include_inactive=True))


def is_job(customer: dict) -> bool:
    return customer.get("JobStatus") not in (None, "None")


def edit_in_quickbooks(env, customer: dict, **changes) -> dict:
    """A QuickBooks user's sparse edit of ``customer`` (through the queue, the Web Connector
    polling); the customer as QuickBooks answered it."""
    (answer,) = env.qb().batch(
        [
            BatchOp(
                key="qb-user",
                operation="update",
                entity="Customer",
                payload={
                    "Id": customer["Id"],
                    "SyncToken": customer["SyncToken"],
                    "sparse": True,
                    **changes,
                },
            )
        ]
    )
    assert answer.ok, answer.error
    return answer.entity


def synced(env, **prefs):
    env.set_preferences(quickbooks_edition="desktop", **prefs)
    dag_run, states, summary = env.run(task_retries=0)
    assert dag_run.state == "success", states
    return summary


def nothing_written_again(env, **prefs) -> None:
    """R-GEN-4: a run after the scenario writes to neither system (no echo)."""
    env.sandbox.clear_counters()
    synced(env, **prefs)
    assert env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_a_desktop_company_when_first_synced_then_jobs_stay_out_and_names_link(desktop_env):
    """R-PRE-1 (an unlinked Account named like a Desktop customer is linked, no duplicate on
    either side; two sub-customers sharing a name under different parents are told apart by
    the parent's Account), R-ACC-3 (jobs, JobStatus not None, get no Account; the sub-customer's
    Account has the parent's Account as ParentId), R-ACC-7 (QB -> SF fills only the Address
    Block fields), R-ACC-9 (Terms, Credit Limit, Sales Rep come to the Account), R-ACC-8 (the
    contact person becomes the billing Contact), R-GEN-4 (the second run writes nothing)."""
    env = desktop_env
    name = names.company_name(0)
    (twin,) = [a for a in accounts(env) if a["Name"].strip().lower() == name.lower()]
    assert env.sf().update("Account", [{"Id": twin["Id"], "Name": name}])[0].ok
    seeded = {a["Id"] for a in accounts(env)}
    before = customers(env)
    parent = next(c for c in before if c["DisplayName"] == name)
    jobs = [c for c in before if is_job(c)]
    (branch,) = [c for c in before if c.get("ParentRef") and not is_job(c)]
    assert len(jobs) == 2 and branch["ParentRef"]["value"] == parent["Id"]
    # A name is unique only under one parent on Desktop: a second sub-customer of the branch's
    # name under another customer, and an Account of that name under the twin's Account.
    other = next(
        c
        for c in before
        if not c.get("ParentRef") and not is_job(c) and c["Active"] and c["Id"] != parent["Id"]
    )
    env.in_quickbooks(
        f"<CustomerAddRq><CustomerAdd><Name>{escape(branch['DisplayName'])}</Name>"
        f"<ParentRef><ListID>{other['Id']}</ListID></ParentRef></CustomerAdd></CustomerAddRq>"
    )
    (under_twin,) = env.sf().create(
        "Account", [{"Name": branch["DisplayName"], "ParentId": twin["Id"]}]
    )

    summary = synced(env)

    after = customers(env)
    linked = by_customer(env)
    assert [c["DisplayName"] for c in after].count(name) == 1
    assert [a["Name"].strip().lower() for a in accounts(env)].count(name.lower()) == 1
    assert linked[parent["Id"]]["Id"] == twin["Id"]
    assert not {j["Id"] for j in jobs} & set(linked)
    assert linked[branch["Id"]]["ParentId"] == twin["Id"]
    # The parent told the two apart: the Account under the twin is the branch's; the other
    # sub-customer got its own Account under its parent's.
    assert linked[branch["Id"]]["Id"] == under_twin.id
    (namesake,) = [
        c for c in after if c["DisplayName"] == branch["DisplayName"] and c["Id"] != branch["Id"]
    ]
    assert linked[namesake["Id"]]["ParentId"] == linked[other["Id"]]["Id"]
    assert [a["Name"] for a in accounts(env)].count(branch["DisplayName"]) == 2
    skipped = report_of(summary, "customers")
    assert skipped["failed"] == 0
    new_from_qb = [
        c
        for c in before
        if c["Id"] in linked and c["Id"] != parent["Id"] and not c.get("ParentRef")
    ]
    created = [c for c in new_from_qb if linked[c["Id"]]["Id"] not in seeded]
    for customer in created:  # Accounts the run created for Desktop customers
        account = linked[customer["Id"]]
        assert customer["BillAddr"]["City"] in account["Billing_Address_Block__c"]
        assert account["BillingStreet"] is None and account["BillingCity"] is None
        assert Decimal(str(account["Credit_Limit__c"])) == customer["CreditLimit"]
        assert account["Sales_Rep__c"] == customer["SalesRepRef"]["name"]
        assert account["Terms__c"] == customer["SalesTermRef"]["name"]
    assert len(created) >= 3
    one = created[0]
    (contact,) = env.sf().query(
        soql.select(
            "Contact",
            ["AccountId", "FirstName", "LastName", "Is_Billing_Contact__c"],
            where=soql.eq("External_Contact_ID__c", one["Id"]),
        )
    )
    assert contact["AccountId"] == linked[one["Id"]]["Id"] and contact["Is_Billing_Contact__c"]
    assert (contact["FirstName"], contact["LastName"]) == (one["GivenName"], one["FamilyName"])

    nothing_written_again(env)


def test_given_edits_on_both_sides_when_synced_on_desktop_then_addresses_stay_and_r_acc_9_flows(
    desktop_env,
):
    """R-ACC-7 (an Account's address change never reaches its Desktop customer, even with
    modifying allowed; a Desktop address change reaches only the Address Block), R-ACC-9
    (Terms, Credit Limit and Sales Rep both ways; initials QuickBooks does not know are a
    WARNING, not a crash), R-ACC-4, R-ACC-6 (a new Account's customer takes its billing
    Contact's mailing address and name), R-GEN-4 (the next run writes nothing)."""
    env = desktop_env
    allowed = {"allow_salesforce_to_modify_quickbooks": True}
    synced(env, **allowed)
    qb_before = {c["Id"]: c for c in customers(env)}
    linked = by_customer(env)
    from_qb = [
        qb_before[i]
        for i, a in sorted(linked.items())
        if a["Billing_Address_Block__c"] and not qb_before[i].get("ParentRef")
    ]
    edited, unknown, edited_in_qb = from_qb[:3]
    sf = env.sf()
    sf.update(
        "Account",
        [
            {
                "Id": linked[edited["Id"]]["Id"],
                "BillingStreet": "1 Changed Rd",
                "BillingCity": "Elsewhere",
                "Credit_Limit__c": 12345,
                "Sales_Rep__c": "AK" if edited["SalesRepRef"]["name"] != "AK" else "MR",
                "Terms__c": "Net 60" if edited["SalesTermRef"]["name"] != "Net 60" else "Net 15",
            },
            {"Id": linked[unknown["Id"]]["Id"], "Sales_Rep__c": "ZZ"},
        ],
    )
    new_id = new_won_account(env, "Desktop Billing Co", Sales_Rep__c="MR", Credit_Limit__c=2500)
    (contact,) = sf.create(
        "Contact",
        [
            {
                "AccountId": new_id,
                "FirstName": "Bea",
                "LastName": "Billing",
                "Is_Billing_Contact__c": True,
                "MailingStreet": "77 Ledger Ln",
                "MailingCity": "Boise",
                "MailingState": "ID",
                "MailingPostalCode": "83702",
            }
        ],
    )
    assert contact.ok, contact.errors
    edit_in_quickbooks(
        env,
        edited_in_qb,
        BillAddr={"Line1": "9 Harbor Way", "City": "Oakland"},
        CreditLimit="7777.00",
    )

    summary = synced(env, **allowed)

    after = {c["Id"]: c for c in customers(env)}
    now = after[edited["Id"]]
    assert now["BillAddr"] == edited["BillAddr"]
    assert now["CreditLimit"] == Decimal("12345.00")
    assert now["SalesRepRef"]["name"] in ("AK", "MR") != edited["SalesRepRef"]["name"]
    assert now["SalesTermRef"]["name"] != edited["SalesTermRef"]["name"]
    assert after[unknown["Id"]]["SalesRepRef"] == unknown["SalesRepRef"]
    warnings = report_of(summary, "customers")["warnings"]
    assert any("'ZZ'" in w and "R-ACC-9" in w for w in warnings), warnings
    (made,) = [c for c in after.values() if c["DisplayName"] == "Desktop Billing Co"]
    assert made["BillAddr"]["Line1"] == "77 Ledger Ln" and made["BillAddr"]["City"] == "Boise"
    assert (made["GivenName"], made["FamilyName"]) == ("Bea", "Billing")
    assert made["SalesRepRef"]["name"] == "MR" and made["CreditLimit"] == Decimal("2500.00")
    account = by_customer(env)[edited_in_qb["Id"]]
    assert "9 Harbor Way" in account["Billing_Address_Block__c"]
    assert "Oakland" in account["Billing_Address_Block__c"]
    assert account["BillingStreet"] is None and account["BillingCity"] is None
    assert Decimal(str(account["Credit_Limit__c"])) == Decimal("7777.00")

    nothing_written_again(env, **allowed)


def test_given_the_pc_clock_behind_when_a_customer_is_edited_after_a_run_then_the_next_copies_it(
    desktop_env,
):
    """R-ACC-5, R-GEN-2, R-GEN-7: the company PC's clock runs 15 minutes behind the server's
    (more than the 10-minute lookback), and QuickBooks stamps its edits with it. A customer
    edited in QuickBooks after a run is stamped before that run's upper bound and before the
    server's time of its read; the next run still reads it (the watermark is no later than
    QuickBooks' time of the read) and takes it as a QuickBooks edit (the Account's Last Sync
    Date is on the PC's clock): the Account gets the new phone. Before, the watermark and the
    stamp were on the server's clock and the edit was lost until the customer's next one. The
    first run's writes showed the PC's clock: the run summary says how far behind (R-QBD-8)."""
    env = desktop_env
    install = (Timestamp.now(tz="UTC") - Timedelta(hours=2)).isoformat()
    env.sandbox.set_clock("quickbooks_desktop", advance_seconds=-900)
    try:
        summary = synced(env, sync_start=install)
        # The first run's writes showed the PC's clock: kept, and said in the summary.
        clock = summary["web_connector"]["pc_clock"]
        assert -960 < clock["seconds"] <= -899, clock
        assert "about 15 minutes behind" in web_connector_line(summary["web_connector"])
        linked = by_customer(env)
        customer = next(
            c
            for c in customers(env)
            if c["Id"] in linked and c["Active"] and not c.get("ParentRef") and not is_job(c)
        )
        edited = edit_in_quickbooks(
            env, customer, PrimaryPhone={"FreeFormNumber": "(415) 555-0142"}
        )
        edited_at = Timestamp(edited["MetaData"]["LastUpdatedTime"])
        # The PC stamps the edit, made after the first run, before the server's now by more
        # than the lookback.
        assert edited_at < Timestamp.now(tz="UTC") - Timedelta(minutes=14)
        account = linked[customer["Id"]]

        synced(env, sync_start=install)

        (after,) = env.sf().query(
            f"SELECT Phone, Last_Sync_Date__c FROM Account WHERE Id = '{account['Id']}'"
        )
        assert after["Phone"] == "(415) 555-0142"
        assert Timestamp(after["Last_Sync_Date__c"]) >= edited_at
    finally:
        env.sandbox.set_clock("quickbooks_desktop", reset=True)
