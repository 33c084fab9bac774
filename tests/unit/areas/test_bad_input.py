"""The bad-input corpus on the pure rules: awkward names, quantities, prices and
references give the right plan or a WARNING naming the record and the reason (R-GEN-5). The same
inputs run end to end in ``tests/integration/test_bad_input.py``; here each costs microseconds."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import quote_plus

import pytest

from sfqb import qbo_queries, soql
from sfqb.areas import customers as customer_rules
from sfqb.areas import items as item_rules
from sfqb.frames import records_frame
from sfqb.mapping.coerce import UNFIT, fit_value
from sfqb.preferences import Preferences
from tests.unit.areas.test_customers import inputs, qb_frame, sf_frame
from tests.unit.areas.test_opportunities import line, opp, plan, reasons

pytestmark = pytest.mark.unit

AWKWARD = [
    'O\'Brien & "Sons" Ltd',
    "Back\\slash \\' Trading",
    "100% Pure_Juice Co",
    "Café Ünïcode 😀 GmbH",
    "東京商事株式会社",
    "شركة الأمل للتجارة",
    "  Padded Name Inc  ",
    "Tab\tand\nnewline",
]


# --- quoting: every awkward name survives both query languages ---------------------------------


def _soql_unquote(text: str) -> str:
    """Read a SOQL string literal back as Salesforce's parser does (api-notes 3.3 escapes)."""
    assert text[0] == text[-1] == "'"
    escapes = {
        "\\": "\\",
        "'": "'",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "b": "\b",
        "f": "\f",
        "%": "\\%",
        "_": "\\_",
    }
    out, chars = [], iter(text[1:-1])
    for ch in chars:
        if ch == "'":
            raise AssertionError(f"unescaped quote in {text!r}")
        out.append(escapes[next(chars)] if ch == "\\" else ch)
    return "".join(out)


def _qbo_unquote(text: str) -> str:
    assert text[0] == text[-1] == "'"
    out, chars = [], iter(text[1:-1])
    for ch in chars:
        if ch == "'":
            raise AssertionError(f"unescaped quote in {text!r}")
        out.append(next(chars) if ch == "\\" else ch)
    return "".join(out)


@pytest.mark.parametrize("name", AWKWARD)
def test_given_an_awkward_name_when_quoted_for_soql_and_qbo_then_it_reads_back_unchanged(name):
    """R-GEN-5: quotes, backslashes, %, _, emoji, CJK, RTL, spaces and control characters are
    escaped so that the literal means exactly the name (no injection, no lost character); in an
    ``=`` comparison ``%`` and ``_`` stay plain characters."""
    assert _soql_unquote(soql.quote(name)) == name
    assert _qbo_unquote(qbo_queries.quote(name)) == name
    assert soql.eq("Name", name) == f"Name = {soql.quote(name)}"
    if "%" in name:
        assert "\\%" not in soql.eq("Name", name) and "\\%" in soql.contains("Name", name)


def test_given_multibyte_names_when_chunked_into_queries_then_each_url_fits_its_budget():
    """R-GEN-5: the URL budget of ``select_in_chunks`` counts encoded bytes, so names of CJK and
    emoji (up to 12 encoded characters each) never make a query Salesforce refuses (HTTP 414)."""
    names = [f"東京商事 😀 {n}" for n in range(400)]
    queries = list(soql.select_in_chunks("Account", ["Id"], "Name", names, max_url_length=4000))
    assert len(queries) > 1
    assert all(len(quote_plus(q)) <= 4000 for q in queries)
    assert sum(q.count("😀") for q in queries) == len(names)


# --- customers -------------------------------------------------------------------------------

PREFS = Preferences(sync_accounts_without_won_opportunities=True)


def _sf_plan(*names: str):
    accounts = sf_frame(*({"Id": f"001{n}", "Name": name} for n, name in enumerate(names)))
    return customer_rules.plan_customers(inputs(sf_changed=accounts), PREFS)


@pytest.mark.parametrize(
    ("names", "expected"),
    [
        (["Case Twins Inc", "CASE TWINS INC"], "share the name"),
        (["Spaced Twins", " spaced twins "], "share the name"),
        (["Colon: The Company"], "contains ':'"),
        (["x" * 501], "501 characters"),
    ],
)
def test_given_accounts_qb_cannot_take_when_planned_then_each_is_held_back_with_a_warning(
    names, expected
):
    """R-GEN-5, R-ACC-4: names QuickBooks would refuse (one name in other case or spacing, a
    colon, over 500 characters) create no customer; each Account gets a WARNING naming it."""
    result = _sf_plan(*names)
    assert result.customer_creates.empty
    warned = result.skips[result.skips["level"] == "WARNING"]
    assert sorted(warned["key"]) == [f"001{n}" for n in range(len(names))]
    assert all(expected in reason for reason in warned["reason"])


@pytest.mark.parametrize("name", [n for n in AWKWARD if "\t" not in n] + ["L" * 150])
def test_given_an_awkward_account_name_when_planned_then_the_customer_carries_it_whole(name):
    """R-ACC-4, R-GEN-5: an Account name QuickBooks accepts is its DisplayName as written (only
    surrounding spaces dropped); over 100 characters (QuickBooks' Company name limit) the Company
    name is left empty with a WARNING note, never cut."""
    result = _sf_plan(name)
    (payload,) = [json.loads(p) for p in result.customer_creates["payload"]]
    assert payload["DisplayName"] == name.strip()
    if len(name) > customer_rules.COMPANY_NAME_MAX:
        assert "CompanyName" not in payload
        (note,) = result.notes["reason"]
        assert "150 characters" in note and "Company name is left empty" in note
    else:
        assert payload["CompanyName"] == name.strip() and result.notes.empty


@pytest.mark.parametrize(
    "unlinked", ["ZETA EXISTING LLC", " zeta existing llc", "Zeta Existing LLC"]
)
def test_given_an_unlinked_account_named_like_a_new_customer_in_other_case_when_planned_then_no_duplicate(
    unlinked,
):
    """R-PRE-1, R-GEN-5: a new QuickBooks customer whose name an unlinked Account carries, in
    any case or spacing, creates no second Account: a WARNING names the Account to link."""
    qb = qb_frame({"Id": "22", "DisplayName": "Zeta Existing LLC"})
    result = customer_rules.plan_customers(
        customer_rules.CustomerInputs(
            qb_changed=qb,
            sf_changed=sf_frame(),
            sf_linked=sf_frame(),
            qb_linked=qb_frame(),
            terms={},
            unlinked_names=frozenset({unlinked}),
        ),
        PREFS,
    )
    assert result.accounts.empty
    (reason,) = result.skips.loc[result.skips["key"] == "QB:22", "reason"]
    assert f"already has an Account named {unlinked!r}" in reason


# --- opportunities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ([(Decimal("1.5"), Decimal("99.99"))], [("1.5", "99.99", "149.99")]),
        ([(Decimal("0.33"), Decimal("3"))], [("0.33", "3", "0.99")]),
        ([(Decimal("2"), Decimal("10.125"))], [("2", "10.125", "20.25")]),
        ([(Decimal("3"), Decimal("0.005"))], [("3", "0.005", "0.02")]),
        (
            [(Decimal("2"), Decimal("100")), (Decimal("-1"), Decimal("50"))],
            [("2", "100", "200.00"), ("-1", "50", "-50.00")],
        ),
        ([(Decimal("0"), Decimal("10"))], [("0", "10", "0.00")]),
    ],
)
def test_given_fractional_negative_or_fine_grained_lines_when_planned_then_qty_price_and_amount_are_exact(
    lines,
    expected,
):
    """R-OPP-3: quantities and prices are sent as written (no float drift); each Amount is
    Qty x UnitPrice rounded half up to the cent, as QuickBooks checks it; a negative line is
    fine while the transaction's total is not negative."""
    result = plan(
        [opp("o")],
        [line(f"l{n}", "o", item="5", qty=q, price=p, sort=n) for n, (q, p) in enumerate(lines)],
    )
    (payload,) = [json.loads(p) for p in result.creates["payload"]]
    got = [
        (
            str(Decimal(ln["SalesItemLineDetail"]["Qty"])),
            str(Decimal(ln["SalesItemLineDetail"]["UnitPrice"])),
            ln["Amount"],
        )
        for ln in payload["Line"]
    ]
    assert got == expected


@pytest.mark.parametrize(
    ("lines", "total"), [([(-2, 50)], "-100.00"), ([(1, 10), (-3, Decimal("3.335"))], "-0.01")]
)
def test_given_lines_totalling_below_zero_when_planned_then_the_opportunity_waits_with_a_warning(
    lines, total
):
    """R-GEN-5, R-OPP-3: a transaction whose lines total below zero is refused by QuickBooks;
    the plan holds it back with a WARNING giving the total and what to do, and retries it."""
    result = plan(
        [opp("o")],
        [line(f"l{n}", "o", item="5", qty=q, price=p, sort=n) for n, (q, p) in enumerate(lines)],
    )
    assert result.creates.empty and result.retry == ["o"]
    reason, level = reasons(result)["o"]
    assert (
        level == "WARNING"
        and f"its products total {total}: a QuickBooks Invoice cannot be negative" in reason
    )


@pytest.mark.parametrize(
    ("terms", "klass", "expected"),
    [
        ("net 30", None, {"SalesTermRef": {"value": "3"}}),
        (" NET 30 ", "retail", {"SalesTermRef": {"value": "3"}, "ClassRef": {"value": "1"}}),
        ("Net 99", None, "Terms 'Net 99' is not a QuickBooks term"),
        (None, "No Such Class", "Class 'No Such Class' is not a QuickBooks class"),
    ],
)
def test_given_terms_and_classes_in_any_case_when_planned_then_they_resolve_or_warn(
    terms, klass, expected
):
    """R-OPP-4: Terms and Class name QuickBooks records whose names are unique whatever their
    case: "net 30" is the term Net 30; an unknown name holds the opportunity back with a WARNING."""
    result = plan(
        [opp("o", Terms__c=terms, Class__c=klass)],
        [line("l", "o", item="5")],
        terms={"Net 30": "3"},
        classes={"Retail": "1"},
    )
    if isinstance(expected, str):
        assert expected in reasons(result)["o"][0]
    else:
        (payload,) = [json.loads(p) for p in result.creates["payload"]]
        assert {k: payload[k] for k in expected} == expected


def test_given_a_product_linked_to_an_inactive_item_when_planned_then_the_warning_says_to_reactivate_it():
    """R-OPP-3, R-GEN-5: an item made inactive in QuickBooks cannot go on a transaction; the
    warning names the product and says an inactive item counts as none."""
    result = plan([opp("o")], [line("l", "o", item="7", code="Old:Thing")])
    reason, level = reasons(result)["o"]
    assert level == "WARNING"
    assert "l (Product l, code 'Old:Thing')" in reason and "made inactive in QuickBooks" in reason


def test_given_awkward_opportunity_text_when_planned_then_it_reaches_the_payload_unchanged():
    """R-OPP-4, R-GEN-5: quotes, backslashes, emoji and RTL text in a description pass as
    written (JSON escapes them; nothing is cut under the 1000-character memo limit)."""
    text = "Ünïcode — “quotes” \\ 'x' 😀 شركة"
    result = plan([opp("o", Description=text)], [line("l", "o", item="5", Description=text)])
    (payload,) = [json.loads(p) for p in result.creates["payload"]]
    assert payload["CustomerMemo"]["value"] == text and payload["Line"][0]["Description"] == text


# --- items -----------------------------------------------------------------------------------


def _item_plan(unit_price: str, entry_price: float | None):
    items = records_frame(
        [
            {
                "Id": "9",
                "Name": "Precise Widget",
                "FullyQualifiedName": "Precise Widget",
                "Type": "Service",
                "Active": True,
                "Description": None,
                "UnitPrice": unit_price,
            }
        ],
        item_rules.ITEM_COLUMNS,
    )
    products = records_frame(
        [
            {
                "Id": "01t9",
                "External_Item_ID__c": "9",
                "Name": "Precise Widget",
                "ProductCode": "Precise Widget",
                "Description": None,
                "IsActive": True,
            }
        ]
    )
    entries = records_frame(
        []
        if entry_price is None
        else [{"Id": "01u9", "Product2Id": "01t9", "UnitPrice": entry_price, "IsActive": True}],
        ["Id", "Product2Id", "UnitPrice", "IsActive"],
    )
    return item_rules.plan_items(items, products, entries)


@pytest.mark.parametrize(
    ("unit_price", "entry_price", "written"),
    [
        ("12.34567", None, "12.35"),
        ("12.34567", 12.34, "12.35"),
        ("12.34567", 12.35, None),
        ("0.005", 0.01, None),
        ("19.99", 19.99, None),
    ],
)
def test_given_item_prices_with_more_than_two_decimals_when_planned_then_written_once_at_cents(
    unit_price,
    entry_price,
    written,
):
    """R-ITM-2, R-GEN-4: a standard price is a Salesforce currency (2 decimals, rounded half
    up): an item price of 12.34567 is written as 12.35 once, and a later run that reads the item
    again finds 12.35 equal and writes nothing."""
    prices = _item_plan(unit_price, entry_price).prices
    assert [p["UnitPrice"] for p in prices] == ([written] if written else [])


# --- coercion of custom-mapped values --------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "limit", "expected", "problem"),
    [
        ("😀" * 10, {"kind": "text", "length": 10, "label": "Account.X__c"}, "😀" * 10, None),
        (
            "東京" * 6,
            {"kind": "text", "length": 10, "label": "Account.X__c"},
            "東京" * 6,
            "12 characters",
        ),
        (" 1,200.50 ", {"kind": "number", "label": "Account.N__c"}, "1200.50", None),
        ("-0.333", {"kind": "number", "label": "Account.N__c"}, "-0.333", None),
        (
            "12%",
            {"kind": "number", "label": "Account.N__c"},
            "12%",
            "is a number and '12%' is not one",
        ),
        ("NaN", {"kind": "number", "label": "Account.N__c"}, "NaN", "is not one"),
    ],
)
def test_given_awkward_custom_values_when_fitted_then_kept_whole_or_held_back(
    value, limit, expected, problem
):
    """R-MAP-2, R-GEN-5: lengths count characters (an emoji is one, as in both systems); numbers
    keep every decimal and sign; a value that cannot be written whole is never cut: the reason
    says so."""
    got, reason = fit_value(value, limit)
    assert got == expected
    if problem:
        assert problem in reason and UNFIT in reason
    else:
        assert reason is None


def test_given_an_account_whose_customer_is_inactive_when_planned_then_its_opportunity_waits_with_a_warning():
    """R-OPP-1, R-GEN-5: QuickBooks makes no transaction for an inactive customer; the plan
    holds the opportunity back with a WARNING naming the customer (no refused API call), and
    retries it; the other opportunities go through."""
    result = plan(
        [opp("o", **{"Account.External_Account_ID__c": "25"}), opp("ok")],
        [line("l1", "o", item="5"), line("l2", "ok", item="5")],
        inactive_customers=frozenset({"25"}),
    )
    reason, level = reasons(result)["o"]
    assert level == "WARNING" and "QuickBooks customer 25 is inactive" in reason
    assert result.retry == ["o"] and list(result.creates["key"]) == ["ok"]


def test_given_a_qb_customer_name_over_255_characters_when_planned_then_no_account_and_a_warning_to_retry():
    """R-ACC-2, R-GEN-5: QuickBooks names run to 500 characters, Salesforce Account Names to
    255: the customer is not written (nothing is cut), nor its billing Contact; a WARNING gives
    both lengths and it is read again next run; a 255-character name goes through."""
    qb = qb_frame(
        {"Id": "20", "DisplayName": "y" * 300, "FamilyName": "Doe"},
        {"Id": "21", "DisplayName": "z" * 255},
    )
    result = customer_rules.plan_customers(inputs(qb_changed=qb), PREFS)
    assert list(result.accounts["External_Account_ID__c"]) == ["21"]
    assert result.contacts.empty
    (reason,) = result.skips.loc[result.skips["key"] == "QB:20", "reason"]
    assert "300 characters and a Salesforce Account Name keeps at most 255" in reason
    assert result.retry == ["QB:20"]
