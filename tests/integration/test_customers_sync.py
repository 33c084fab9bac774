"""The customer area end to end (docs/rules.md section 2): dag.test() against both sandboxes."""

from __future__ import annotations

from collections import Counter

import pytest

from sfqb import soql
from sfqb.areas.customers import name_key
from tests.integration.conftest import SINCE_SEED, report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

AMBIGUOUS = "Lumen Analytics Inc"  # the seed's two Salesforce accounts with one name
CASE_TWIN = (
    "Acme Analytics Inc"  # the seed's unlinked Account "ACME ANALYTICS INC " is its name twin
)


def held_back(customers: list[dict]) -> set[str]:
    """The seed's customers no first run links: the ambiguous name, the case twin of an unlinked
    Account, and their sub-customers (they wait for their parent's Account)."""
    parent_of = {c["Id"]: (c.get("ParentRef") or {}).get("value") for c in customers}
    held = {c["Id"] for c in customers if c["DisplayName"] in (AMBIGUOUS, CASE_TWIN)}
    while grown := {i for i, p in parent_of.items() if p in held} - held:
        held |= grown
    return held


def sf_accounts(env, where=None) -> list[dict]:
    fields = ["Id", "Name", "External_Account_ID__c", "Phone", "Sync_Me__c", "Last_Sync_Date__c"]
    return list(env.sf().query(soql.select("Account", fields, where=where)))


def qb_customers(env) -> list[dict]:
    return list(env.qb().query_all("Customer", include_inactive=True))


def new_won_account(env, name: str, **fields) -> str:
    """An Account with a closed/won Opportunity (R-ACC-1), created through the Salesforce API."""
    sf = env.sf()
    (account,) = sf.create("Account", [{"Name": name, **fields}])
    assert account.ok, account.errors
    (opp,) = sf.create(
        "Opportunity",
        [
            {
                "Name": f"{name} deal",
                "AccountId": account.id,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-01",
            }
        ],
    )
    assert opp.ok, opp.errors
    return account.id


def synced(env, **prefs):
    env.set_preferences(sync_start=SINCE_SEED, **prefs)
    _, states, summary = env.run()
    assert set(states.values()) == {"success"}, states
    return summary


def test_given_seeded_systems_when_the_first_sync_runs_then_it_links_and_creates_without_duplicates(
    sync_env,
):
    """R-PRE-1, R-ACC-1/2/3, R-GEN-3: same-name records are linked, not duplicated; every
    active QB customer (not a project) gets an Account; ambiguous names are warned, not linked.
    R-ACC-11: the seed's unlinked Account "ACME ANALYTICS INC " (no won opportunity) is the
    customer "Acme Analytics Inc" to QuickBooks: no second Account is made for it, and a warning
    asks a person to link the two."""
    summary = synced(sync_env)
    accounts, customers = sf_accounts(sync_env), qb_customers(sync_env)
    by_qb_id = Counter(a["External_Account_ID__c"] for a in accounts if a["External_Account_ID__c"])
    assert max(by_qb_id.values()) == 1
    assert max(Counter(c["DisplayName"].lower() for c in customers).values()) == 1
    parent_of = {c["Id"]: (c.get("ParentRef") or {}).get("value") for c in customers}
    held = held_back(customers)
    for customer in customers:
        wanted = customer["Active"] and not customer.get("IsProject") and customer["Id"] not in held
        assert (customer["Id"] in by_qb_id) == wanted, customer["DisplayName"]
    assert sum(a["Name"] == AMBIGUOUS for a in accounts) == 2
    twins = Counter(
        name_key(a["Name"]) for a in accounts if name_key(a["Name"]) != name_key(AMBIGUOUS)
    )
    assert max(twins.values()) == 1, [k for k, n in twins.items() if n > 1]
    warnings = report_of(summary, "customers")["warnings"]
    assert any("'ACME ANALYTICS INC '" in w and "link it" in w for w in warnings)
    waiting = [
        i
        for i in held
        if parent_of[i] and any(f"QB:{i}: its parent customer" in w for w in warnings)
    ]
    assert waiting, "a sub-customer of a held customer says why it waits"
    # R-ACC-3: sub-customers keep their hierarchy; R-ACC-8: contact persons are billing Contacts.
    sf = sync_env.sf()
    parents = {
        r["External_Account_ID__c"]: (r.get("Parent") or {}).get("External_Account_ID__c")
        for r in sf.query(
            soql.select("Account", ["External_Account_ID__c", "Parent.External_Account_ID__c"])
        )
    }
    subs = [
        c
        for c in customers
        if c.get("ParentRef") and not c.get("IsProject") and c["Active"] and c["Id"] not in held
    ]
    assert subs
    for sub in subs:
        assert parents[sub["Id"]] == sub["ParentRef"]["value"], sub["DisplayName"]
    contacts = {
        r["External_Contact_ID__c"]: r
        for r in sf.query(
            soql.select(
                "Contact",
                [
                    "External_Contact_ID__c",
                    "Account.External_Account_ID__c",
                    "Is_Billing_Contact__c",
                    "LastName",
                ],
                where=soql.eq("Is_Billing_Contact__c", True),
            )
        )
    }
    people = [c for c in customers if c.get("FamilyName") and c["Id"] in by_qb_id]
    assert people
    for person in people:
        contact = contacts[person["Id"]]
        assert contact["LastName"] == person["FamilyName"]
        assert contact["Account"]["External_Account_ID__c"] == person["Id"]
    warnings = (
        report_of(summary, "matching")["warnings"] + report_of(summary, "customers")["warnings"]
    )
    assert any(AMBIGUOUS in w and "not linked" in w for w in warnings)
    assert report_of(summary, "customers")["created"] > 0


def test_given_a_synced_pair_when_the_sync_runs_again_with_no_change_then_nothing_is_written(
    sync_env,
):
    """R-GEN-4, R-GEN-3: a second run with no changes writes nothing to either system."""
    synced(sync_env)
    sync_env.sandbox.clear_counters()
    summary = synced(sync_env)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    customers = report_of(summary, "customers")
    assert (customers["created"], customers["updated"], customers["failed"]) == (0, 0, 0)


def won_account_ids(env) -> set[str]:
    return {
        r["AccountId"]
        for r in env.sf().query(
            soql.select("Opportunity", ["AccountId"], where=soql.eq("IsWon", True))
        )
    }


def test_given_records_older_than_the_install_date_when_the_first_sync_runs_then_every_customer_syncs_once(
    sync_env,
):
    """R-GEN-6: with the default install date (the first run), customers are master data: every
    active QuickBooks customer that is not a project gets an Account and every won Account a
    customer, whatever their age; the second run duplicates nothing and writes nothing.
    R-GEN-9: a ticked Account is cleared once it synced."""
    sf = sync_env.sf()
    accounts = {a["Name"]: a for a in sf_accounts(sync_env)}
    sf.update("Account", [{"Id": accounts["Oak Analytics Inc"]["Id"], "Sync_Me__c": True}])
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    customers = qb_customers(sync_env)
    by_qb_id = Counter(
        a["External_Account_ID__c"] for a in sf_accounts(sync_env) if a["External_Account_ID__c"]
    )
    assert max(by_qb_id.values()) == 1
    for customer in customers:
        wanted = (
            customer["Active"]
            and not customer.get("IsProject")
            and customer["Id"] not in held_back(customers)
        )
        assert (customer["Id"] in by_qb_id) == wanted, customer["DisplayName"]
    won = won_account_ids(sync_env)
    linked = {a["Id"]: a for a in sf_accounts(sync_env)}
    assert {
        i
        for i in won
        if name_key(linked[i]["Name"]) not in (name_key(AMBIGUOUS), name_key(CASE_TWIN))
    } <= {i for i, a in linked.items() if a["External_Account_ID__c"]}
    assert max(Counter(c["DisplayName"].lower() for c in customers).values()) == 1
    assert linked[accounts["Oak Analytics Inc"]["Id"]]["Sync_Me__c"] is False
    report = report_of(summary, "customers")
    assert report["records"]["Salesforce Account"]["created"] > 0
    assert report["records"]["QuickBooks Customer"]["created"] > 0

    sync_env.sandbox.clear_counters()
    _, states, _ = sync_env.run()
    assert set(states.values()) == {"success"}, states
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert len(qb_customers(sync_env)) == len(customers)


def test_given_edits_on_each_side_when_synced_then_they_flow_across(sync_env):
    """R-ACC-2 (QB -> SF update), R-ACC-4 (new Account -> new Customer; updates with
    allow_salesforce_to_modify_quickbooks), R-ACC-6 (billing contact), R-GEN-7 (Last Sync Date)."""
    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    qb = sync_env.qb()
    customer = next(c for c in qb_customers(sync_env) if c["DisplayName"] == "Blue Analytics Inc")
    qb.update(
        "Customer",
        {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": "(512) 555-0101"},
        },
    )
    new_id = new_won_account(
        sync_env, "Brand New Widgets Co", Phone="(617) 555-0199", BillingCity="Boston"
    )
    linked = next(
        a
        for a in sf_accounts(sync_env)
        if a["External_Account_ID__c"]
        and a["Name"] != AMBIGUOUS
        and a["External_Account_ID__c"] != customer["Id"]
    )
    sync_env.sf().update("Account", [{"Id": linked["Id"], "Phone": "(303) 555-0142"}])

    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    accounts = {a["Id"]: a for a in sf_accounts(sync_env)}
    by_qb = {
        a["External_Account_ID__c"]: a for a in accounts.values() if a["External_Account_ID__c"]
    }
    assert by_qb[customer["Id"]]["Phone"] == "(512) 555-0101"
    assert by_qb[customer["Id"]]["Last_Sync_Date__c"]
    created = qb.read("Customer", accounts[new_id]["External_Account_ID__c"])
    assert created["DisplayName"] == "Brand New Widgets Co"
    assert created["BillAddr"]["City"] == "Boston"
    assert (
        qb.read("Customer", linked["External_Account_ID__c"])["PrimaryPhone"]["FreeFormNumber"]
        == "(303) 555-0142"
    )


def test_given_both_sides_edited_when_synced_then_quickbooks_values_win_everywhere(sync_env):
    """R-ACC-5: changed on both sides since the last sync -> QB's values overwrite SF."""
    synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    qb = sync_env.qb()
    account = next(a for a in sf_accounts(sync_env) if a["External_Account_ID__c"])
    customer = qb.read("Customer", account["External_Account_ID__c"])
    qb.update(
        "Customer",
        {
            "Id": customer["Id"],
            "SyncToken": customer["SyncToken"],
            "sparse": True,
            "PrimaryPhone": {"FreeFormNumber": "111-QB"},
        },
    )
    sync_env.sf().update("Account", [{"Id": account["Id"], "Phone": "222-SF"}])

    summary = synced(sync_env, allow_salesforce_to_modify_quickbooks=True)
    assert qb.read("Customer", customer["Id"])["PrimaryPhone"]["FreeFormNumber"] == "111-QB"
    (after,) = sf_accounts(sync_env, where=soql.eq("Id", account["Id"]))
    assert after["Phone"] == "111-QB"
    assert report_of(summary, "customers")["skipped"] >= 1


def test_given_a_name_quickbooks_rejects_when_synced_then_it_is_a_warning_and_the_others_sync(
    sync_env,
):
    """R-GEN-5: one record's failure is a WARNING naming it; the rest goes through."""
    bad = new_won_account(sync_env, "Colon: Trading")
    good = new_won_account(sync_env, "Plain Trading")
    summary = synced(sync_env)
    accounts = {a["Id"]: a for a in sf_accounts(sync_env)}
    assert accounts[bad]["External_Account_ID__c"] is None
    assert accounts[good]["External_Account_ID__c"]
    assert any(bad in w and "':'" in w for w in report_of(summary, "customers")["warnings"])


def test_given_quickbooks_fails_mid_load_when_synced_again_then_nothing_is_lost_or_duplicated(
    sync_env,
):
    """R-GEN-2, R-GEN-3, R-GEN-5: a batch refused by a failing QuickBooks leaves its records
    for the next run (retry list), which syncs them; no customer is created twice."""
    ids = [new_won_account(sync_env, f"Retry Works {n}") for n in range(3)]
    # Every /batch call fails for longer than the hook's retries: the load fails.
    sync_env.sandbox.add_fault("quickbooks", kind="http_503", path="/batch", times=50)
    sync_env.set_preferences(sync_start=SINCE_SEED)
    _, states, _ = sync_env.run(task_retries=0)
    assert states["customers.load_customers"] == "failed"
    sync_env.sandbox.clear_faults()

    synced(sync_env)
    accounts = {a["Id"]: a for a in sf_accounts(sync_env)}
    assert all(accounts[i]["External_Account_ID__c"] for i in ids)
    names = Counter(c["DisplayName"] for c in qb_customers(sync_env))
    assert all(names[f"Retry Works {n}"] == 1 for n in range(3))


def test_given_a_load_killed_after_quickbooks_created_customers_when_retried_then_no_duplicates(
    sync_env,
):
    """R-GEN-3: QuickBooks created the customers, then the load died before Salesforce recorded
    the links (every Salesforce write refused). The next run finds the customers it made (by
    their exact names, unlinked) and links them: one customer per Account, in both systems.
    R-GEN-11: the summary counts them as recovered, not created."""
    synced(sync_env)
    ids = [new_won_account(sync_env, f"Crash Safe {n}") for n in range(2)]
    sync_env.sandbox.add_fault(
        "salesforce", kind="http_500", path="/composite/sobjects", method="PATCH", times=200
    )
    _, states, _ = sync_env.run(task_retries=0)
    assert states["customers.load_customers"] == "failed"
    assert {c["DisplayName"] for c in qb_customers(sync_env)} >= {"Crash Safe 0", "Crash Safe 1"}
    sync_env.sandbox.clear_faults()

    summary = synced(sync_env)
    customers_report = report_of(summary, "customers")
    assert (
        customers_report["records"]["QuickBooks Customer"]["recovered"] == 2
    )  # R-GEN-11: not "created"
    assert customers_report["records"]["QuickBooks Customer"]["created"] == 0
    accounts = {a["Id"]: a for a in sf_accounts(sync_env)}
    customers = qb_customers(sync_env)
    by_name = Counter(c["DisplayName"] for c in customers)
    assert by_name["Crash Safe 0"] == by_name["Crash Safe 1"] == 1
    qb_ids = {c["DisplayName"]: c["Id"] for c in customers}
    assert [accounts[i]["External_Account_ID__c"] for i in ids] == [
        qb_ids["Crash Safe 0"],
        qb_ids["Crash Safe 1"],
    ]
