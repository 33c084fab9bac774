"""The customer extract's name search (R-ACC-11, R-PRE-1)."""

from __future__ import annotations

import pytest

from sfqb.steps.customers_extract import NAME_SEARCH_LIMIT, unlinked_account_names

pytestmark = pytest.mark.unit


class Org:
    """Unlinked Accounts; ``query`` answers any text with all of them (the filter under test is
    sfqb's) and records the queries."""

    def __init__(self, names: list[str]) -> None:
        self.rows = [{"Id": f"001{n}", "Name": name} for n, name in enumerate(names)]
        self.queries: list[str] = []

    def query(self, text: str):
        self.queries.append(text)
        return iter(self.rows)


def test_given_accounts_named_alike_when_searched_then_only_names_equal_up_to_case_and_spaces_count():
    """R-ACC-11: "ACME ANALYTICS INC " is the customer "Acme Analytics Inc" to QuickBooks; "Acme
    Analytics Inc Europe" is not. A few names are searched with LIKE (SOQL ignores case, not
    spaces)."""
    org = Org(["ACME ANALYTICS INC ", "Acme Analytics Inc Europe", "Zeta Co"])
    assert unlinked_account_names(org, ["Acme Analytics Inc"]) == {"ACME ANALYTICS INC "}
    (query,) = org.queries
    assert "Name LIKE '%Acme Analytics Inc%'" in query and "External_Account_ID__c = null" in query
    assert unlinked_account_names(org, []) == set() and len(org.queries) == 1


def test_given_many_names_when_searched_then_every_unlinked_account_is_read_once():
    """A first run's thousands of names: one read of every unlinked Account beats searching."""
    org = Org(["ACME ANALYTICS INC ", "Zeta Co"])
    names = [f"Company {n}" for n in range(NAME_SEARCH_LIMIT)] + ["acme analytics inc"]
    assert unlinked_account_names(org, names) == {"ACME ANALYTICS INC "}
    (query,) = org.queries
    assert "LIKE" not in query
