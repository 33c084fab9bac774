"""SOQL through simple-salesforce: the rows the query names, and Salesforce's errors."""

from __future__ import annotations

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfqb_sandbox.common import names

pytestmark = pytest.mark.sandbox
N = names.SEED_SIZES["tiny"]


def _names(result) -> list[str]:
    return [r["Name"] for r in result["records"]]


def test_given_quotes_and_unicode_when_filtering_then_the_right_rows_return(sf, fresh):
    """api-notes 3.3: escaped quotes and backslashes in string literals, unicode, and
    case-insensitive = on text."""
    sf.Account.create({"Name": "O'Brien & Zoë Ørsted Ltd"})
    sf.Account.create({"Name": "Back\\slash Co"})
    quoted = sf.query("SELECT Name FROM Account WHERE Name = 'o\\'brien & zoë ørsted ltd'")
    assert _names(quoted) == ["O'Brien & Zoë Ørsted Ltd"]
    backslash = sf.query("SELECT Name FROM Account WHERE Name = 'Back\\\\slash Co'")
    assert _names(backslash) == ["Back\\slash Co"]
    like = sf.query("SELECT Name FROM Account WHERE Name LIKE '%zoë%'")
    assert _names(like) == ["O'Brien & Zoë Ørsted Ltd"]


def test_given_parent_fields_when_selecting_then_nested_objects_or_null(sf):
    """api-notes 3.3: parent relationship fields come back as nested records with attributes;
    an empty lookup is null; relationship fields filter and sort."""
    result = sf.query(
        "SELECT Id, Name, Account.Name, Account.Owner.Name, Pricebook2.Name FROM Opportunity "
        "WHERE Account.Name != null ORDER BY Account.Name DESC, Name LIMIT 50"
    )
    rows = result["records"]
    assert rows, "the tiny seed has opportunities"
    assert rows[0]["Account"]["attributes"]["type"] == "Account"
    assert rows[0]["Account"]["Owner"]["Name"] == "Sfqb Integration"
    account_names = [r["Account"]["Name"] for r in rows]
    assert account_names == sorted(account_names, key=str.lower, reverse=True)
    assert any(r["Pricebook2"] is None for r in rows)
    assert any(r["Pricebook2"] and r["Pricebook2"]["Name"] == "Standard Price Book" for r in rows)
    one = rows[0]["Account"]["Name"]
    filtered = sf.query(f"SELECT Name FROM Opportunity WHERE Account.Name = '{one}'")
    assert filtered["totalSize"] == sum(1 for r in rows if r["Account"]["Name"] == one)


def test_given_child_subqueries_when_selecting_then_children_or_null(sf):
    """api-notes 3.3: (SELECT ... FROM OpportunityLineItems) returns a nested query result per
    parent, null when there are no rows; the subquery's WHERE and ORDER BY apply."""
    result = sf.query_all(
        "SELECT Id, Amount, (SELECT Quantity, UnitPrice, TotalPrice, PricebookEntry.Product2.Name "
        "FROM OpportunityLineItems ORDER BY SortOrder), (SELECT ContactId FROM "
        "OpportunityContactRoles WHERE IsPrimary = true) FROM Opportunity"
    )
    with_lines = [r for r in result["records"] if r["OpportunityLineItems"]]
    without = [r for r in result["records"] if r["OpportunityLineItems"] is None]
    assert with_lines and without
    for opp in with_lines:
        lines = opp["OpportunityLineItems"]
        assert lines["done"] is True and lines["totalSize"] == len(lines["records"])
        assert opp["Amount"] == pytest.approx(sum(line["TotalPrice"] for line in lines["records"]))
        assert lines["records"][0]["PricebookEntry"]["Product2"]["Name"]
    roles = [r["OpportunityContactRoles"] for r in result["records"]]
    assert all(r is None or r["totalSize"] == 1 for r in roles)
    assert any(r is None for r in roles) and any(r is not None for r in roles)


def test_given_boolean_logic_when_filtering_then_and_or_not_and_parentheses_apply(sf):
    """api-notes 3.3: AND/OR/NOT with parentheses, IN / NOT IN, comparison operators."""
    all_opps = sf.query_all("SELECT Id, StageName, Amount, IsWon FROM Opportunity")["records"]
    expected = {
        r["Id"]
        for r in all_opps
        if (r["StageName"] == "Closed Won" or r["StageName"] == "Closed Lost")
        and not r["Amount"] < 1500
    }
    got = sf.query_all(
        "SELECT Id FROM Opportunity WHERE (StageName = 'Closed Won' OR "
        "StageName = 'closed lost') AND NOT Amount < 1500"
    )["records"]
    assert {r["Id"] for r in got} == expected
    not_in = sf.query_all(
        "SELECT Id FROM Opportunity WHERE StageName NOT IN ('Closed Won', 'Closed Lost')"
    )["records"]
    assert {r["Id"] for r in not_in} == {
        r["Id"] for r in all_opps if r["StageName"] not in ("Closed Won", "Closed Lost")
    }
    won = sf.query("SELECT COUNT() FROM Opportunity WHERE IsWon = true AND Amount >= 0")
    assert won["totalSize"] == sum(1 for r in all_opps if r["IsWon"])


def test_given_null_and_in_when_filtering_then_nulls_match(sf):
    """api-notes 3.3: = null, != null, IN with an 18- or 15-character id."""
    nulls = sf.query("SELECT COUNT() FROM Account WHERE ShippingCity = null")["totalSize"]
    not_nulls = sf.query("SELECT COUNT() FROM Account WHERE ShippingCity != null")["totalSize"]
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert nulls and not_nulls and nulls + not_nulls == total
    one = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]["Id"]
    by_id = sf.query(f"SELECT Id FROM Account WHERE Id IN ('{one[:15]}', '001000000000000AAA')")
    assert [r["Id"] for r in by_id["records"]] == [one]


def test_given_dates_when_filtering_then_literals_and_functions_apply(sf, fresh):
    """api-notes 3.3: date and datetime literals unquoted, TODAY and LAST_N_DAYS:n ranges on the
    sandbox clock, quoted dates rejected with INVALID_FIELD."""
    fresh.set_clock("salesforce", now="2025-03-10T12:00:00Z", frozen=True)
    for close in ("2025-03-10", "2025-03-05", "2025-02-01"):
        sf.Opportunity.create(
            {"Name": f"Dated {close}", "StageName": "Prospecting", "CloseDate": close}
        )
    today = sf.query("SELECT Name FROM Opportunity WHERE Name LIKE 'Dated%' AND CloseDate = TODAY")
    assert _names(today) == ["Dated 2025-03-10"]
    last7 = sf.query(
        "SELECT Name FROM Opportunity WHERE Name LIKE 'Dated%' AND "
        "CloseDate = LAST_N_DAYS:7 ORDER BY CloseDate"
    )
    assert _names(last7) == ["Dated 2025-03-05", "Dated 2025-03-10"]
    before = sf.query(
        "SELECT Name FROM Opportunity WHERE Name LIKE 'Dated%' AND CloseDate < 2025-03-01"
    )
    assert _names(before) == ["Dated 2025-02-01"]
    created = sf.query(
        "SELECT COUNT() FROM Opportunity WHERE Name LIKE 'Dated%' AND "
        "CreatedDate >= 2025-03-10T11:00:00Z AND CreatedDate = TODAY"
    )
    assert created["totalSize"] == 3
    with pytest.raises(SalesforceMalformedRequest) as quoted:
        sf.query("SELECT Id FROM Opportunity WHERE CreatedDate > '2025-03-01T00:00:00Z'")
    assert quoted.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "should not be enclosed in quotes" in quoted.value.content[0]["message"]
    with pytest.raises(SalesforceMalformedRequest) as wrong_type:
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate > 2025-03-01T00:00:00Z")
    assert wrong_type.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_given_order_limit_offset_when_paging_by_hand_then_slices_are_stable(sf):
    """api-notes 3.3: ORDER BY with NULLS LAST, LIMIT and OFFSET; OFFSET above 2000 is
    NUMBER_OUTSIDE_VALID_RANGE."""
    everything = _names(sf.query("SELECT Name FROM Account ORDER BY Name"))
    assert everything == sorted(everything, key=str.lower)
    page = _names(sf.query("SELECT Name FROM Account ORDER BY Name LIMIT 3 OFFSET 2"))
    assert page == everything[2:5]
    shipping = sf.query("SELECT ShippingCity FROM Account ORDER BY ShippingCity NULLS LAST")
    cities = [r["ShippingCity"] for r in shipping["records"]]
    assert cities[0] is not None and cities[-1] is None
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Account LIMIT 1 OFFSET 2001")
    assert caught.value.content[0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


def test_given_bad_soql_when_querying_then_salesforce_error_codes(sf):
    """api-notes 3.3: MALFORMED_QUERY, INVALID_FIELD (with Salesforce's wording), INVALID_TYPE,
    and mixing AND/OR without parentheses."""
    cases = {
        "SELECT Idd FROM Account": ("INVALID_FIELD", "No such column 'Idd' on entity 'Account'"),
        "SELECT Id FROM Foo": ("INVALID_TYPE", "sObject type 'Foo' is not supported"),
        "SELECT Id FROM Account WHERE": ("MALFORMED_QUERY", "unexpected token"),
        "SELECT Id, FROM Account": ("MALFORMED_QUERY", "unexpected token"),
        "SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Name = 'c'": (
            "MALFORMED_QUERY",
            "",
        ),
        "SELECT Id, Foo.Name FROM Contact": ("INVALID_FIELD", "Didn't understand relationship"),
        "SELECT Id, (SELECT Id FROM Nope) FROM Account": ("INVALID_TYPE", "Nope"),
        "SELECT Id FROM Account WHERE Name = 5": ("INVALID_FIELD", "must be of type string"),
    }
    for soql, (code, text) in cases.items():
        with pytest.raises(SalesforceMalformedRequest) as caught:
            sf.query(soql)
        assert caught.value.status == 400
        assert caught.value.content[0]["errorCode"] == code, soql
        assert text in caught.value.content[0]["message"], soql


def test_given_deleted_rows_when_query_all_then_they_appear_with_is_deleted(sf, fresh):
    """api-notes 3.4, 3.5: delete is soft; query hides the row, queryAll returns it with
    IsDeleted = true."""
    new = sf.Account.create({"Name": "Soon Gone LLC"})["id"]
    sf.Account.delete(new)
    live = sf.query("SELECT Id FROM Account WHERE Name = 'Soon Gone LLC'")
    assert live["totalSize"] == 0
    every = sf.query_all(
        "SELECT Id, IsDeleted FROM Account WHERE Name = 'Soon Gone LLC'", include_deleted=True
    )
    assert [(r["Id"], r["IsDeleted"]) for r in every["records"]] == [(new, True)]


def test_given_more_than_2000_rows_when_query_all_then_pages_follow_next_records_url(sf, fresh):
    """api-notes 3.4: pages of 2000 with done=false and a nextRecordsUrl path; totalSize is the
    full count on every page; query_all follows the pages; Sforce-Query-Options batchSize."""
    fresh.seed("salesforce", "2100")
    first = sf.query("SELECT Id, Name FROM Account")
    assert first["done"] is False and len(first["records"]) == 2000
    assert first["totalSize"] == 2102
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True and len(second["records"]) == 102
    assert "nextRecordsUrl" not in second
    everything = sf.query_all("SELECT Id FROM Account")
    assert len({r["Id"] for r in everything["records"]}) == 2102
    small = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"})
    assert len(small["records"]) == 500


def test_given_count_when_querying_then_total_size_and_aggregate(sf):
    """api-notes 3.3: COUNT() gives totalSize with no records; COUNT(Id) an AggregateResult."""
    count = sf.query("SELECT COUNT() FROM Account WHERE Name LIKE '%Inc%'")
    names_inc = [n for n in _names(sf.query("SELECT Name FROM Account")) if "inc" in n.lower()]
    assert count["totalSize"] == len(names_inc) and count["records"] == []
    agg = sf.query("SELECT COUNT(Id) FROM Contact")
    assert agg["records"][0]["attributes"]["type"] == "AggregateResult"
    assert agg["records"][0]["expr0"] == sf.query("SELECT COUNT() FROM Contact")["totalSize"]


def test_given_a_semi_join_when_filtering_then_only_accounts_with_won_deals(sf):
    """SOQL semi-join (R-ACC-1 needs "accounts with a closed/won opportunity"):
    Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = true), and NOT IN."""
    won = sf.query_all(
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)"
    )["records"]
    expected = {
        r["AccountId"]
        for r in sf.query_all("SELECT AccountId FROM Opportunity WHERE IsWon = true")["records"]
    }
    assert won and {r["Id"] for r in won} == expected
    others = sf.query_all(
        "SELECT Id FROM Account WHERE Id NOT IN "
        "(SELECT AccountId FROM Opportunity WHERE IsWon = true)"
    )["records"]
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    assert len(others) + len(won) == total
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Account WHERE Name IN (SELECT AccountId FROM Opportunity)")
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
