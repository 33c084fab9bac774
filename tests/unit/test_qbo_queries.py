"""The pure QBO query builder: exact strings, escapes, literals, windows, paging bounds.

api-notes 2.5 (grammar, ``\\'`` escapes, STARTPOSITION/MAXRESULTS, ``Active IN (true, false)``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sfqb import qbo_queries as q

pytestmark = pytest.mark.unit

PACIFIC = dt.timezone(dt.timedelta(hours=-8))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("O'Brien", r"'O\'Brien'"),
        ("back\\slash", r"'back\\slash'"),
        ("a\\'b", r"'a\\\'b'"),
        ('say "hi"', "'say \"hi\"'"),
        ("100% sure", "'100% sure'"),
        ("Café Zürich – 東京", "'Café Zürich – 東京'"),
        ("", "''"),
    ],
)
def test_given_awkward_names_when_quoted_then_quote_and_backslash_are_escaped(raw, expected):
    """api-notes 2.5: ``'`` becomes ``\\'`` (as python-quickbooks does), ``\\`` is doubled first
    so an escape is never doubled, and ``%``/unicode pass through."""
    assert q.quote(raw) == expected


def test_given_a_non_string_when_quoted_then_type_error():
    """quote() takes only text: a number must go through literal()."""
    with pytest.raises(TypeError):
        q.quote(5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (Decimal("12.50"), "12.50"),
        (dt.date(2025, 3, 1), "'2025-03-01'"),
        (dt.datetime(2025, 3, 1, 10, 20, 30, 999, tzinfo=PACIFIC), "'2025-03-01T10:20:30-08:00'"),
        (dt.datetime(2025, 3, 1, tzinfo=dt.UTC), "'2025-03-01T00:00:00+00:00'"),
    ],
)
def test_given_python_values_when_made_literals_then_qbo_forms(value, expected):
    """api-notes 2.5: booleans bare, dates quoted, date-times quoted with offset, whole seconds."""
    assert q.literal(value) == expected


def test_given_a_naive_datetime_when_made_a_literal_then_refused():
    """A naive time means company-local time on QBO: refuse it rather than shift a window."""
    with pytest.raises(ValueError, match="naive"):
        q.literal(dt.datetime(2025, 3, 1))


def test_given_a_float_when_made_a_literal_then_refused():
    """Money is never a float in our code."""
    with pytest.raises(TypeError):
        q.literal(1.5)


def test_given_a_window_when_conditions_built_then_half_open_on_last_updated_time():
    """api-notes 2.5: ``[start, end)`` on MetaData.LastUpdatedTime with explicit offsets."""
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    end = dt.datetime(2025, 1, 2, 8, tzinfo=PACIFIC)
    assert q.window_conditions(start, end) == [
        "MetaData.LastUpdatedTime >= '2025-01-01T00:00:00+00:00'",
        "MetaData.LastUpdatedTime < '2025-01-02T08:00:00-08:00'",
    ]
    assert q.window_conditions(None, end) == [
        "MetaData.LastUpdatedTime < '2025-01-02T08:00:00-08:00'"
    ]
    assert q.window_conditions(None, None) == []


def test_given_sub_second_bounds_when_window_built_then_start_floored_and_end_rounded_up():
    """QBO keeps whole seconds: a record changed at 12:00:04.5 reads 12:00:04. With an upper
    bound of 12:00:04.8 it must fall inside this window, not between two windows."""
    start = dt.datetime(2025, 1, 1, 12, 0, 0, 700_000, tzinfo=dt.UTC)
    end = dt.datetime(2025, 1, 1, 12, 0, 4, 800_000, tzinfo=dt.UTC)
    assert q.window_conditions(start, end) == [
        "MetaData.LastUpdatedTime >= '2025-01-01T12:00:00+00:00'",
        "MetaData.LastUpdatedTime < '2025-01-01T12:00:05+00:00'",
    ]


def test_given_everything_when_select_built_then_exact_string():
    """api-notes 2.5: WHERE ... AND ..., ORDERBY, STARTPOSITION, MAXRESULTS in that order."""
    text = q.select(
        "Customer",
        [q.equals("DisplayName", "O'Brien"), q.active_any()],
        start_position=1001,
        max_results=1000,
    )
    assert text == (
        "SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien' AND Active IN (true, false) "
        "ORDERBY Metadata.LastUpdatedTime STARTPOSITION 1001 MAXRESULTS 1000"
    )


def test_given_no_conditions_and_no_order_when_select_built_then_bare_select():
    """An unfiltered select has no dangling WHERE."""
    assert q.select("Item", order_by=None) == "SELECT * FROM Item"
    assert q.select("Item", descending=True) == (
        "SELECT * FROM Item ORDERBY Metadata.LastUpdatedTime DESC"
    )


@pytest.mark.parametrize("bad", [0, 1001])
def test_given_max_results_out_of_range_when_select_built_then_refused(bad):
    """api-notes 2.5: MAXRESULTS above 1000 is fault 4001; refuse before sending."""
    with pytest.raises(ValueError):
        q.select("Customer", max_results=bad)


def test_given_start_position_zero_when_select_built_then_refused():
    """STARTPOSITION is 1-based."""
    with pytest.raises(ValueError):
        q.select("Customer", start_position=0)


def test_given_in_values_when_condition_built_then_listed_and_escaped():
    """IN takes literals of every kind; an empty IN is refused (it would be a parse error)."""
    assert q.in_("Id", [1, 2]) == "Id IN (1, 2)"
    assert q.in_("DisplayName", ["a'b", "c"]) == "DisplayName IN ('a\\'b', 'c')"
    with pytest.raises(ValueError):
        q.in_("Id", [])
    with pytest.raises(TypeError):
        q.in_("Id", "12")


@pytest.mark.parametrize("bad", ["Customer; DROP", "1abc", "Meta Data", "", "a.'b'"])
def test_given_injected_names_when_used_then_refused(bad):
    """Entity and property names are checked, so nothing unescaped reaches the query."""
    with pytest.raises(ValueError):
        q.select(bad)
    with pytest.raises(ValueError):
        q.condition(bad, "=", "x")


def test_given_unknown_operator_when_condition_built_then_refused():
    """api-notes 2.5: QBO has no OR and no != operator."""
    with pytest.raises(ValueError):
        q.condition("Balance", "!=", 0)


def test_given_like_and_count_when_built_then_exact_strings():
    """api-notes 2.5: LIKE with % wildcard; COUNT(*) answers totalCount."""
    assert q.condition("DisplayName", "like", "Acme%") == "DisplayName LIKE 'Acme%'"
    assert q.count("Customer", [q.equals("Active", True)]) == (
        "SELECT COUNT(*) FROM Customer WHERE Active = true"
    )


def test_given_conditions_when_built_then_each_keeps_its_parts_beside_the_qbo_text():
    """R-GEN-2 (the window a read asks for) and the QuickBooks seam (docs/architecture.md
    section 7): a condition is the QBO text the Online hook sends, and it keeps the property,
    operator and value another edition's adapter translates; the two always agree."""
    start = dt.datetime(2026, 3, 1, 12, 0, 4, 500_000, tzinfo=dt.UTC)
    end = dt.datetime(2026, 3, 2, 12, 0, 4, 200_000, tzinfo=dt.UTC)
    made = [
        q.equals("Active", False),
        q.in_("FullyQualifiedName", ["O'Brien", "Acme:Job 1"]),
        q.active_any(),
        *q.window_conditions(start, end),
    ]

    parts = [(c.prop, c.op, c.value) for c in made]

    assert parts == [
        ("Active", "=", False),
        ("FullyQualifiedName", "IN", ("O'Brien", "Acme:Job 1")),
        ("Active", "IN", (True, False)),
        (q.LAST_UPDATED, ">=", start),
        (q.LAST_UPDATED, "<", dt.datetime(2026, 3, 2, 12, 0, 5, tzinfo=dt.UTC)),
    ]
    assert made[1] == r"FullyQualifiedName IN ('O\'Brien', 'Acme:Job 1')"
    assert made[2] == "Active IN (true, false)"
    assert all(c == q.condition(c.prop, c.op, c.value) for c in made)


def test_given_a_condition_when_pickled_then_its_parts_survive():
    """R-GEN-2: conditions travel to the parallel page readers and into benchmark captures;
    a copy that lost its parts would reach the Desktop adapter as bare text."""
    import copy
    import pickle

    made = q.in_("Id", ["1", "2"])

    for copied in (pickle.loads(pickle.dumps(made)), copy.deepcopy(made)):
        assert isinstance(copied, q.Condition) and copied == made
        assert (copied.prop, copied.op, copied.value) == ("Id", "IN", ("1", "2"))
