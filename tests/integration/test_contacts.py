"""Billing Contacts are people, and names that differ only in case (R-ACC-8, R-ACC-10,
R-ACC-11): dag.test() against both sandbox servers."""

from __future__ import annotations

import pytest

from sfqb import soql
from tests.integration.conftest import SINCE_SEED, report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

CONTACT_FIELDS = [
    "Id",
    "FirstName",
    "LastName",
    "Email",
    "Is_Billing_Contact__c",
    "External_Contact_ID__c",
    "AccountId",
]


def contacts_of(env, account_id: str) -> dict[str, dict]:
    """The Account's Contacts by full name."""
    rows = env.sf().query(
        soql.select("Contact", CONTACT_FIELDS, where=soql.eq("AccountId", account_id))
    )
    return {f"{r['FirstName']} {r['LastName']}": r for r in rows}


def won_account(env, name: str) -> str:
    """A new Account with a closed/won Opportunity (the sync exports it to QuickBooks): its Id."""
    sf = env.sf()
    (account,) = sf.create("Account", [{"Name": name}])
    sf.create(
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
    return account.id


def matched_pair(env, name: str) -> tuple[str, str]:
    """A QuickBooks customer whose contact person is Keiko Nguyen, and a won Account of the same
    name whose billing Contact is Ada Diaz: first-run matching links the two."""
    customer = env.qb().create(
        "Customer",
        {
            "DisplayName": name,
            "GivenName": "Keiko",
            "FamilyName": "Nguyen",
            "PrimaryEmailAddr": {"Address": "keiko@pair.example"},
        },
        None,
    )
    account_id = won_account(env, name)
    (ada,) = env.sf().create(
        "Contact",
        [
            {
                "AccountId": account_id,
                "FirstName": "Ada",
                "LastName": "Diaz",
                "Email": "ada@pair.example",
                "Is_Billing_Contact__c": True,
            }
        ],
    )
    assert ada.ok, ada.errors
    return str(customer["Id"]), account_id


@pytest.mark.parametrize("modify", [False, True], ids=["modify off", "modify on"])
def test_given_a_matched_pair_whose_contact_persons_differ_when_synced_twice_then_no_one_is_renamed(
    sync_env, modify
):
    """R-ACC-10, R-ACC-8: on the first run of a matched pair QuickBooks' contact person wins the
    billing role, but Ada's Contact keeps her name (unticked) and Keiko gets her own Contact,
    linked to the customer; QuickBooks keeps Keiko, with modifying allowed or not (nothing read
    from QuickBooks is sent back in the same run); the second run writes nothing (no flip-flop)."""
    customer_id, account_id = matched_pair(sync_env, "Contact Pair Co")
    qb = sync_env.qb()
    before = qb.read("Customer", customer_id)
    sync_env.set_preferences(sync_start=SINCE_SEED, allow_salesforce_to_modify_quickbooks=modify)
    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states

    people = contacts_of(sync_env, account_id)
    assert set(people) == {"Ada Diaz", "Keiko Nguyen"}
    assert (
        people["Ada Diaz"]["Email"] == "ada@pair.example"
        and people["Ada Diaz"]["Is_Billing_Contact__c"] is False
    )
    keiko = people["Keiko Nguyen"]
    assert keiko["Is_Billing_Contact__c"] is True and keiko["External_Contact_ID__c"] == customer_id
    assert keiko["Email"] == "keiko@pair.example"
    after = qb.read("Customer", customer_id)
    assert (after["GivenName"], after["FamilyName"], after["SyncToken"]) == (
        "Keiko",
        "Nguyen",
        before["SyncToken"],
    )
    assert report_of(summary, "customers")["records"]["Salesforce Contact"]["created"] >= 1

    sync_env.sandbox.clear_counters()
    _, states, _ = sync_env.run()
    assert set(states.values()) == {"success"}, states
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert set(contacts_of(sync_env, account_id)) == {"Ada Diaz", "Keiko Nguyen"}


def test_given_quickbooks_changes_its_contact_person_when_synced_then_the_old_contact_is_released_not_renamed(
    sync_env,
):
    """R-ACC-10: QuickBooks' contact person changes from Keiko to Sam after the pair synced:
    Keiko's Contact keeps her name and gives up the billing role and the link; Sam's Contact is
    created as the billing Contact; the next run writes nothing."""
    customer_id, account_id = matched_pair(sync_env, "Contact Change Co")
    sync_env.set_preferences(sync_start=SINCE_SEED)
    assert set(sync_env.run()[1].values()) == {"success"}
    qb = sync_env.qb()
    current = qb.read("Customer", customer_id)
    qb.update(
        "Customer",
        {
            "Id": customer_id,
            "SyncToken": current["SyncToken"],
            "sparse": True,
            "GivenName": "Sam",
            "FamilyName": "Ortiz",
        },
    )
    assert set(sync_env.run()[1].values()) == {"success"}
    people = contacts_of(sync_env, account_id)
    assert set(people) == {"Ada Diaz", "Keiko Nguyen", "Sam Ortiz"}
    assert people["Keiko Nguyen"]["Is_Billing_Contact__c"] is False
    assert people["Keiko Nguyen"]["External_Contact_ID__c"] is None
    assert people["Sam Ortiz"]["Is_Billing_Contact__c"] is True
    assert people["Sam Ortiz"]["External_Contact_ID__c"] == customer_id

    sync_env.sandbox.clear_counters()
    assert set(sync_env.run()[1].values()) == {"success"}
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_an_account_and_a_customer_whose_names_differ_only_in_case_when_synced_then_one_link_and_a_warning(
    sync_env,
):
    """R-ACC-11: a new Account "ZETA ANALYTICS LLC" and a new customer "Zeta Analytics LLC" are one
    name to QuickBooks: the sync links them once (no duplicate on either side) and says so in a
    WARNING that names both records."""
    sync_env.set_preferences(sync_start=SINCE_SEED)
    assert set(sync_env.run()[1].values()) == {"success"}
    customer = sync_env.qb().create("Customer", {"DisplayName": "Zeta Analytics LLC"}, None)
    sf = sync_env.sf()
    account_id = won_account(sync_env, "ZETA ANALYTICS LLC")

    _, states, summary = sync_env.run()
    assert set(states.values()) == {"success"}, states
    rows = list(
        sf.query(
            soql.select(
                "Account",
                ["Id", "External_Account_ID__c"],
                where=soql.eq("External_Account_ID__c", customer["Id"]),
            )
        )
    )
    assert [r["Id"] for r in rows] == [account_id]
    names = [
        c["DisplayName"].casefold()
        for c in sync_env.qb().query_all("Customer", include_inactive=True)
    ]
    assert names.count("zeta analytics llc") == 1
    warnings = [
        w for w in report_of(summary, "customers")["warning_entries"] if "R-ACC-11" in w["reason"]
    ]
    assert len(warnings) == 1
    assert (
        account_id in warnings[0]["reason"]
        and f"customer {customer['Id']}" in warnings[0]["reason"]
    )
    assert (
        "'ZETA ANALYTICS LLC'" in warnings[0]["reason"]
        and "'Zeta Analytics LLC'" in warnings[0]["reason"]
    )


def test_given_an_org_whose_billing_contact_flow_is_off_when_an_account_has_two_then_the_latest_is_used_with_a_warning(
    sync_env,
):
    """R-ACC-6: a real org without the package's Flow active can tick two billing Contacts on
    one Account. The new customer takes the most recently modified one's person and email, the
    run warns naming the Account and the Contact left out, and the warning stands next run
    until someone unticks one."""
    sync_env.sandbox.call(
        "salesforce", "POST", "flows", {"name": "SFQB_One_Billing_Contact", "active": False}
    )
    sync_env.set_preferences(sync_start=SINCE_SEED)
    sf = sync_env.sf()
    account_id = won_account(sync_env, "Two Payers Co")
    made = [
        sf.create(
            "Contact",
            [
                {
                    "AccountId": account_id,
                    "FirstName": first,
                    "LastName": "Payer",
                    "Email": f"{first.lower()}@payers.example",
                    "Is_Billing_Contact__c": True,
                }
            ],
        )[0].id
        for first in ("Ada", "Bo")
    ]

    _, states, summary = sync_env.run()
    _, states_2, summary_2 = sync_env.run()

    assert set(states.values()) == set(states_2.values()) == {"success"}, (states, states_2)
    (row,) = sf.query(
        soql.select("Account", ["External_Account_ID__c"], where=soql.eq("Id", account_id))
    )
    customer = sync_env.qb().read("Customer", row["External_Account_ID__c"])
    assert (customer["GivenName"], customer["PrimaryEmailAddr"]["Address"]) == (
        "Bo",
        "bo@payers.example",
    )
    warned = [
        w
        for w in report_of(summary, "customers")["warning_entries"]
        if "several billing Contacts" in w["reason"]
    ]
    assert [w["key"] for w in warned] == [account_id]
    assert f"{made[1]} (the most recently modified) is used, {made[0]} not" in warned[0]["reason"]
    standing = [
        w
        for w in report_of(summary_2, "customers")["warning_entries"]
        if "several billing Contacts" in w["reason"]
    ]
    assert [w["key"] for w in standing] == [account_id]
