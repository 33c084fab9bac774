"""The pure SOQL builder: exact strings, escapes, literals, windows and IN-list chunking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import quote_plus

import pytest

from sfqb import soql

pytestmark = pytest.mark.unit

UTC = dt.UTC


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", r"'O\'Brien'"),
        ("back\\slash", r"'back\\slash'"),
        ("a\\'b", r"'a\\\'b'"),
        ("line\nbreak\r\ttab", r"'line\nbreak\r\ttab'"),
        ('say "hi"', "'say \"hi\"'"),
        ("100% _sure_", "'100% _sure_'"),
        ("Café Zürich – 東京", "'Café Zürich – 東京'"),
        ("", "''"),
    ],
)
def test_given_awkward_text_when_quoted_then_soql_escapes_are_exact(raw, expected):
    """api-notes 3.3: string literals escape \\ and ' (and control characters); % and _ are
    plain characters outside LIKE; unicode passes through unchanged."""
    assert soql.quote(raw) == expected


def test_given_like_text_when_quoted_for_like_then_wildcards_are_escaped():
    """api-notes 3.3: inside LIKE, \\% and \\_ match a literal percent sign and underscore."""
    assert soql.quote("50%_off\\", like=True) == r"'50\%\_off\\'"
    assert soql.contains("Name", "a%b") == r"Name LIKE '%a\%b%'"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        (Decimal("1234.50"), "1234.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("0.000001"), "0.000001"),
        (dt.date(2025, 3, 1), "2025-03-01"),
        (dt.datetime(2025, 3, 1, 12, 30, 5, tzinfo=UTC), "2025-03-01T12:30:05Z"),
        (
            dt.datetime(2025, 3, 1, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
            "2025-03-01T12:30:05Z",
        ),
        ("x'y", r"'x\'y'"),
    ],
)
def test_given_python_values_when_rendered_then_literals_are_soql(value, expected):
    """api-notes 3.3: datetimes are unquoted UTC, dates YYYY-MM-DD, numbers never in exponent
    notation, booleans and null as keywords."""
    assert soql.literal(value) == expected


def test_given_unsafe_values_when_rendered_then_they_are_refused():
    """api-notes 3.9 pitfall: naive datetimes are ambiguous; floats are not exact money."""
    with pytest.raises(ValueError, match="naive"):
        soql.literal(dt.datetime(2025, 1, 1))
    with pytest.raises(TypeError):
        soql.literal(1.5)
    with pytest.raises(ValueError):
        soql.literal(Decimal("NaN"))
    with pytest.raises(ValueError):
        soql.select("Account", ["Name; DELETE"])
    with pytest.raises(ValueError):
        soql.select("Account", ["Id"], order_by="Name; DROP")


def test_given_a_window_when_built_then_it_is_half_open_on_systemmodstamp():
    """R-GEN-2, api-notes 3.3: [start, end) on SystemModstamp; sub-second ends round outward
    so no record between two windows is missed."""
    start = dt.datetime(2025, 1, 1, 0, 0, 0, tzinfo=UTC)
    end = dt.datetime(2025, 1, 2, 0, 0, 0, tzinfo=UTC)
    assert soql.window(start, end) == (
        "SystemModstamp >= 2025-01-01T00:00:00Z AND SystemModstamp < 2025-01-02T00:00:00Z"
    )
    fuzzy = soql.window(
        start.replace(microsecond=900_000),
        end.replace(microsecond=1),
        field_name="LastModifiedDate",
    )
    assert fuzzy == (
        "LastModifiedDate >= 2025-01-01T00:00:00Z AND LastModifiedDate < 2025-01-02T00:00:01Z"
    )
    with pytest.raises(ValueError):
        soql.window(end, start)


def test_given_fields_and_conditions_when_selecting_then_the_query_is_exact():
    """api-notes 3.3: conditions joined by AND; an OR condition is parenthesised (mixing AND
    and OR at one level is MALFORMED_QUERY)."""
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    end = dt.datetime(2025, 1, 1, 1, tzinfo=UTC)
    query = soql.select(
        "Account",
        ["Id", "Name", "Owner.Name"],
        where=[
            soql.window(start, end),
            soql.eq("Name", "Smith & O'Neil 100%"),
            f"{soql.eq('Type', 'A')} OR {soql.eq('Type', None)}",
        ],
        order_by=["SystemModstamp", "Id DESC NULLS LAST"],
        limit=10,
    )
    assert query == (
        "SELECT Id, Name, Owner.Name FROM Account WHERE SystemModstamp >= 2025-01-01T00:00:00Z "
        "AND SystemModstamp < 2025-01-01T01:00:00Z AND Name = 'Smith & O\\'Neil 100%' "
        "AND (Type = 'A' OR Type = null) ORDER BY SystemModstamp, Id DESC NULLS LAST LIMIT 10"
    )
    assert soql.count("Pricebook2", soql.eq("IsStandard", True)) == (
        "SELECT COUNT() FROM Pricebook2 WHERE IsStandard = true"
    )
    assert soql.in_list("Id", ["a", "b"]) == "Id IN ('a', 'b')"


def test_given_thousands_of_ids_when_chunking_then_every_id_is_queried_once_within_budget():
    """api-notes 3.3/3.4: long IN lists are split so each query's URL-encoded SOQL stays under
    the budget (and SOQL's 100k limit); every id appears in exactly one query."""
    ids = [f"001{n:015d}" for n in range(5000)] + ["001000000000000000"]  # one duplicate
    queries = list(
        soql.select_in_chunks(
            "Account", ["Id", "Name"], "Id", ids, where=soql.eq("IsDeleted", False)
        )
    )
    assert len(queries) > 1
    seen = []
    for q in queries:
        assert len(quote_plus(q)) <= soql.MAX_QUERY_URL_LENGTH
        assert q.startswith("SELECT Id, Name FROM Account WHERE IsDeleted = false AND Id IN ('")
        seen += [part.strip(" ')") for part in q.split("IN (", 1)[1].split(",")]
    assert sorted(seen) == sorted(set(ids))
    assert list(soql.select_in_chunks("Account", ["Id"], "Id", [])) == []


def test_given_a_small_budget_when_chunking_then_queries_are_split_exactly():
    """The chunker packs greedily: exact output for a tiny budget."""
    head = len(quote_plus("SELECT Id FROM Account WHERE Id IN (")) + len(quote_plus(")"))
    budget = head + len(quote_plus("'a', 'b'"))
    assert list(
        soql.select_in_chunks("Account", ["Id"], "Id", ["a", "b", "c"], max_url_length=budget)
    ) == [
        "SELECT Id FROM Account WHERE Id IN ('a', 'b')",
        "SELECT Id FROM Account WHERE Id IN ('c')",
    ]
    with pytest.raises(ValueError):
        list(soql.select_in_chunks("Account", ["Id"], "Id", ["x" * 100], max_url_length=budget))


def test_given_a_semi_join_when_built_then_the_inner_select_is_in_parentheses():
    """R-ACC-1: the first run reads the Accounts that have a won Opportunity in one query."""
    assert soql.select(
        "Account",
        ["Id"],
        [soql.in_select("Id", "Opportunity", "AccountId", soql.eq("IsWon", True))],
    ) == (
        "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Opportunity WHERE IsWon = true)"
    )


def test_given_many_like_conditions_when_chunked_then_each_query_fits_and_every_condition_is_asked_once():
    """R-ACC-11: names compared up to case and spaces are searched with LIKE, OR-ed in queries
    that each fit a REST query URL."""
    conditions = [soql.contains("Name", f"Company {n:04d} Holdings") for n in range(400)]
    queries = list(
        soql.select_any_of_chunks(
            "Account", ["Id", "Name"], conditions, where=soql.eq("X__c", None), max_url_length=4000
        )
    )
    assert len(queries) > 1
    assert all(len(quote_plus(q)) <= 4000 for q in queries)
    assert all(
        q.startswith("SELECT Id, Name FROM Account WHERE X__c = null AND (Name LIKE ")
        for q in queries
    )
    assert sum(q.count(" LIKE ") for q in queries) == 400
    assert list(soql.select_any_of_chunks("Account", ["Id"], [])) == []


def test_given_an_aware_datetime_when_written_to_a_record_then_it_is_utc_with_milliseconds():
    """R-ACC-5: the sync stamps (Last_Sync_Date__c) Salesforce compares with SystemModstamp are
    UTC with milliseconds and ``Z``, whatever zone the value came in; a naive one is refused."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    value = dt.datetime(2026, 12, 6, 12, 0, 5, 123456, tzinfo=plus_two)
    assert soql.sf_datetime(value) == "2026-12-06T10:00:05.123Z"
    with pytest.raises(ValueError, match="naive"):
        soql.sf_datetime(dt.datetime(2026, 12, 6, 12, 0))
