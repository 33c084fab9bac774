"""The seed: deterministic, related to the QuickBooks seed by name, and kept across restarts."""

from __future__ import annotations

import pytest

from sfqb_sandbox.common import names

pytestmark = pytest.mark.sandbox
N = names.SEED_SIZES["tiny"]


def test_given_the_tiny_seed_when_listing_accounts_then_names_relate_to_quickbooks(sf):
    """Seed relation (brief; R-PRE-1): Accounts are company_name(i) for i in N//2..N//2+N-1,
    plus one case/trailing-space variant of a QB customer and a second account sharing a
    name (ambiguous)."""
    rows = sf.query_all("SELECT Name FROM Account")["records"]
    account_names = [r["Name"] for r in rows]
    expected = {names.company_name(i) for i in range(N // 2, N // 2 + N)}
    assert expected <= set(account_names)
    qb = {names.company_name(i) for i in range(N)}
    exact = [n for n in account_names if n in qb]
    assert len(set(exact)) == N - N // 2
    assert account_names.count(names.company_name(N - 1)) == 2
    variant = names.company_name(0).upper() + " "
    assert variant in account_names and variant not in qb
    assert len(account_names) == N + 2


def test_given_the_tiny_seed_when_reading_the_catalogue_then_codes_and_prices_match(sf):
    """Seed: Product2.ProductCode = item_fqn(i) for most catalogue items, a few SF-only
    products, standard price book entries at item_price(i), an active standard book."""
    entries = sf.query_all(
        "SELECT UnitPrice, Product2.ProductCode, Product2.Name, "
        "Pricebook2.IsStandard, Pricebook2.IsActive FROM PricebookEntry"
    )
    by_code = {r["Product2"]["ProductCode"]: r for r in entries["records"]}
    matched = [i for i in range(50) if names.item_fqn(i) in by_code]
    assert len(matched) >= 5
    for i in matched:
        assert f"{by_code[names.item_fqn(i)]['UnitPrice']:.2f}" == names.item_price(i)
        assert by_code[names.item_fqn(i)]["Pricebook2"]["IsStandard"] is True
        assert by_code[names.item_fqn(i)]["Pricebook2"]["IsActive"] is True
    assert any(code and code.startswith("SF-ONLY-") for code in by_code)


def test_given_the_tiny_seed_when_reading_opportunities_then_the_mix_is_realistic(sf):
    """Seed: open and Closed Won opportunities, some with and some without products,
    Transaction_Type__c set to Invoice / Sales Receipt / None or unset, billing contacts and
    primary contact roles."""
    opps = sf.query_all(
        "SELECT StageName, IsWon, IsClosed, Transaction_Type__c, "
        "HasOpportunityLineItem FROM Opportunity"
    )["records"]
    assert any(o["IsWon"] for o in opps) and any(not o["IsClosed"] for o in opps)
    assert {o["HasOpportunityLineItem"] for o in opps} == {True, False}
    assert {"Invoice", "Sales Receipt", "None", None} <= {o["Transaction_Type__c"] for o in opps}
    billing = sf.query(
        "SELECT COUNT() FROM Contact WHERE Is_Billing_Contact__c = true AND MailingCity != null"
    )
    assert billing["totalSize"] > 0
    primaries = sf.query("SELECT COUNT() FROM OpportunityContactRole WHERE IsPrimary = true")
    assert primaries["totalSize"] > 0


def test_given_a_restart_when_the_data_dir_is_kept_then_records_and_token_survive(
    tmp_path, monkeypatch
):
    """Data directory: records are written through to SQLite and the long-lived token stays
    valid after a restart without --seed; reseeding is deterministic."""
    from simple_salesforce import Salesforce

    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(tmp_path / "sf", seed="tiny", extra_args=["--only", "salesforce"])
    admin = process.start()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", admin.connections["ca_bundle"])
    try:
        info = admin.connections["salesforce"]
        sf = Salesforce(instance_url=info["instance_url"], session_id=info["access_token"])
        new_id = sf.Account.create({"Name": "Survivor Ltd"})["id"]
        first_ids = [r["Id"] for r in sf.query("SELECT Id FROM Contact ORDER BY Id")["records"]]
        sf.session.close()
    finally:
        process.stop()
    restarted = SandboxProcess(tmp_path / "sf", extra_args=["--only", "salesforce"])
    admin = restarted.start()
    try:
        info2 = admin.connections["salesforce"]
        assert info2["access_token"] == info["access_token"]
        sf = Salesforce(instance_url=info2["instance_url"], session_id=info2["access_token"])
        assert sf.Account.get(new_id)["Name"] == "Survivor Ltd"
        admin.reset("salesforce", "tiny")
        again = [r["Id"] for r in sf.query("SELECT Id FROM Contact ORDER BY Id")["records"]]
        assert again == first_ids
        assert sf.query("SELECT COUNT() FROM Account WHERE Name = 'Survivor Ltd'")["totalSize"] == 0
        sf.session.close()
    finally:
        restarted.stop()
