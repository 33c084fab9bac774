"""The QBO query language through python-quickbooks (api-notes 2.5)."""

from __future__ import annotations

import uuid

import pytest
from quickbooks.exceptions import ValidationException
from quickbooks.objects.customer import Customer
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from sfqb_sandbox.common import names

pytestmark = pytest.mark.sandbox


def _customer(qb, name: str, **fields) -> Customer:
    customer = Customer()
    customer.DisplayName = name
    for key, value in fields.items():
        setattr(customer, key, value)
    return customer.save(qb=qb)


@pytest.fixture(scope="module")
def tricky(qbo_sandbox):
    """Customers with quotes, unicode and LIKE-significant characters (unique per run)."""
    with pytest.MonkeyPatch.context() as patch:  # trust this sandbox's CA while seeding
        patch.setenv("REQUESTS_CA_BUNDLE", qbo_sandbox.admin.connections["ca_bundle"])
        qb = qbo_sandbox.client()
        tag = uuid.uuid4().hex[:6]
        made = {
            "quote": _customer(qb, f"O'Brien's Café {tag}"),
            "unicode": _customer(qb, f"Zoë Ørsted Müller {tag}"),
            "percent": _customer(qb, f"100% Natural {tag}"),
            "underscore": _customer(qb, f"Under_score {tag}"),
        }
    return tag, made


def test_given_quoted_name_when_filtered_then_escaped_quote_matches(qb, tricky):
    """api-notes 2.5: filter() escapes ' as \\'; the server unescapes it."""
    tag, made = tricky
    found = Customer.filter(DisplayName=f"O'Brien's Café {tag}", qb=qb)
    assert [c.Id for c in found] == [made["quote"].Id]


def test_given_unicode_name_when_queried_then_row_returned(qb, tricky):
    """Queries with unicode literals return the right rows."""
    tag, made = tricky
    found = Customer.where(f"DisplayName = 'Zoë Ørsted Müller {tag}'", qb=qb)
    assert [c.Id for c in found] == [made["unicode"].Id]


def test_given_like_patterns_when_queried_then_percent_is_the_only_wildcard(qb, tricky):
    """api-notes 2.5: LIKE supports only %; '_' is literal; matching is case-insensitive."""
    tag, made = tricky
    assert [c.Id for c in Customer.where(f"DisplayName LIKE '%natural {tag}'", qb=qb)] == [
        made["percent"].Id
    ]
    assert [c.Id for c in Customer.where(f"DisplayName LIKE 'Under_score {tag}%'", qb=qb)] == [
        made["underscore"].Id
    ]
    assert Customer.where(f"DisplayName LIKE 'Underxscore {tag}%'", qb=qb) == []
    hits = Customer.where(f"DisplayName LIKE '%{tag}'", qb=qb)
    assert {c.Id for c in hits} == {c.Id for c in made.values()}


def test_given_seeded_names_when_in_list_then_exact_rows(qb):
    """IN with quoted strings; choose() sends numeric Ids unquoted with lower-case 'in'."""
    wanted = [names.company_name(0), names.company_name(3)]
    found = Customer.choose(wanted, field="DisplayName", qb=qb)
    assert sorted(c.DisplayName for c in found) == sorted(wanted)
    by_id = Customer.choose([1, 2], qb=qb)
    assert sorted(c.Id for c in by_id) == ["1", "2"]


def test_given_count_query_when_run_then_total_count(qb, qbo):
    """COUNT(*) gives QueryResponse.totalCount; trailing spaces are accepted."""
    total = Customer.count(qb=qb)
    rows, start = [], 1
    while page := Customer.where("", start_position=start, max_results=1000, qb=qb):
        rows += page
        start += len(page)
    assert total == len(rows) == len({c.Id for c in rows})
    assert Customer.count("Id IN ('1', '2')", qb=qb) == 2
    raw = qb.query("SELECT COUNT(*) FROM Customer ")
    assert raw["QueryResponse"]["totalCount"] == total


def test_given_inactive_customer_when_default_query_then_only_active_rows(qb):
    """api-notes 2.5: name lists return only active rows unless Active is in the WHERE."""
    inactive = _customer(qb, f"Dormant {uuid.uuid4().hex[:6]}", Active=False)
    default = Customer.where(f"DisplayName = '{inactive.DisplayName}'", qb=qb)
    both = Customer.where(
        f"DisplayName = '{inactive.DisplayName}' AND Active IN (true, false)", qb=qb
    )
    only_inactive = Customer.filter(Active=False, qb=qb)
    assert default == []
    assert [c.Id for c in both] == [inactive.Id]
    assert inactive.Id in {c.Id for c in only_inactive}


def test_given_order_by_when_queried_then_sorted_both_spellings(qb):
    """Both ORDER BY and ORDERBY, ASC and DESC."""
    asc = qb.query("SELECT * FROM Customer ORDER BY DisplayName ASC MAXRESULTS 1000")
    names_asc = [c["DisplayName"].lower() for c in asc["QueryResponse"]["Customer"]]
    assert names_asc == sorted(names_asc)
    desc = Customer.where("", order_by="Id DESC", max_results=5, qb=qb)
    ids = [int(c.Id) for c in desc]
    assert ids == sorted(ids, reverse=True)


def test_given_paging_when_startposition_moves_then_pages_do_not_overlap(qb):
    """STARTPOSITION is 1-based; maxResults in the answer is the number returned."""
    first = qb.query("SELECT * FROM Customer STARTPOSITION 1 MAXRESULTS 5")["QueryResponse"]
    second = qb.query("SELECT * FROM Customer STARTPOSITION 6 MAXRESULTS 5")["QueryResponse"]
    assert first["startPosition"] == 1 and first["maxResults"] == 5
    ids = [c["Id"] for c in first["Customer"]] + [c["Id"] for c in second["Customer"]]
    assert len(set(ids)) == len(ids)
    past = qb.query("SELECT * FROM Customer STARTPOSITION 100000")
    assert past["QueryResponse"] == {}


def test_given_maxresults_over_1000_when_queried_then_4001(qb):
    """api-notes 2.5: MAXRESULTS above 1000 is QueryValidationError 4001."""
    with pytest.raises(ValidationException) as excinfo:
        qb.query("SELECT * FROM Customer MAXRESULTS 1001")
    assert excinfo.value.error_code == 4001
    assert "Max allowed value is 1000" in excinfo.value.detail


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer WHERE DisplayName = 'O'Brien'",
        "SELEC * FROM Customer",
        "SELECT * FROM Customer WHERE",
        "SELECT * FROM Customer WHERE DisplayName <> 'x'",
    ],
)
def test_given_bad_syntax_when_queried_then_query_parser_error(qb, text):
    """api-notes 2.3: syntax errors are 4000 QueryParserError."""
    with pytest.raises(ValidationException) as excinfo:
        qb.query(text)
    assert excinfo.value.error_code == 4000
    assert "QueryParserError" in excinfo.value.detail


@pytest.mark.parametrize(
    "text",
    [
        "SELECT * FROM Customer WHERE Active = true OR Active = false",
        "SELECT * FROM customer",
        "SELECT * FROM Invoice WHERE Line.Amount > '5'",
    ],
)
def test_given_unsupported_semantics_when_queried_then_4001(qb, text):
    """api-notes 2.5: OR, lower-case entity names and non-filterable properties are rejected."""
    with pytest.raises(ValidationException) as excinfo:
        qb.query(text)
    assert excinfo.value.error_code == 4001


def test_given_last_updated_filter_when_queried_then_only_newer_rows(qb):
    """Metadata.LastUpdatedTime (any case) compares as an instant with offsets."""
    fresh = _customer(qb, f"Fresh {uuid.uuid4().hex[:6]}")
    stamp = fresh.MetaData["LastUpdatedTime"]
    newer = Customer.where(f"Metadata.LastUpdatedTime >= '{stamp}'", qb=qb)
    assert fresh.Id in {c.Id for c in newer}
    assert len(newer) < Customer.count(qb=qb)
    older = Customer.where(f"MetaData.LastUpdatedTime < '{stamp}'", max_results=1000, qb=qb)
    assert fresh.Id not in {c.Id for c in older}


def test_given_items_when_all_then_select_star_sku_and_fqn_with_colons(qb):
    """Item.all() sends SELECT *, Sku FROM Item; catalogue FQNs are colon-joined paths."""
    items = Item.all(max_results=1000, qb=qb)
    fqns = {i.FullyQualifiedName for i in items}
    assert names.item_fqn(0) in fqns
    widget = next(i for i in items if i.FullyQualifiedName == names.item_fqn(0))
    assert str(widget.UnitPrice) == str(float(names.item_price(0)))
    assert widget.SubItem is True and widget.Level == 2


def test_given_invoices_when_filtered_by_customer_and_amount_then_matching_rows(qb):
    """Refs compare by id; amounts compare as numbers."""
    rows = Invoice.where("CustomerRef = '1' AND TotalAmt > '0'", max_results=1000, qb=qb)
    assert rows and all(r.CustomerRef.value == "1" for r in rows)
    big = Invoice.where("TotalAmt >= 1000", max_results=1000, qb=qb)
    assert all(float(r.TotalAmt) >= 1000 for r in big)


def test_given_get_query_param_when_called_then_same_answer_as_post(qbo, qb):
    """api-notes 2.2: query by GET ?query= (URL-encoded) or POST application/text."""
    text = "SELECT * FROM Term WHERE Name = 'Net 30'"
    answer = qbo.http(
        "GET",
        "query",
        qb.auth_client.access_token,
        params={"query": text, "minorversion": "75"},
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200
    rows = answer.json()["QueryResponse"]["Term"]
    assert [r["Name"] for r in rows] == ["Net 30"]
    assert rows == qb.query(text)["QueryResponse"]["Term"]


def test_given_order_by_last_updated_when_paging_then_stable_order_across_pages(qb):
    """sfqb pages by ORDERBY Metadata.LastUpdatedTime: pages are disjoint and in order."""
    seen = []
    for start in (1, 6, 11):
        page = qb.query(
            "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY "
            f"Metadata.LastUpdatedTime STARTPOSITION {start} MAXRESULTS 5"
        )
        seen += page["QueryResponse"].get("Customer", [])
    ids = [c["Id"] for c in seen]
    assert len(ids) == len(set(ids)) == 15
    stamps = [c["MetaData"]["LastUpdatedTime"] for c in seen]
    assert stamps == sorted(stamps)


def test_given_in_lists_of_ids_names_and_refs_when_queried_then_each_matches_as_equality_would(qb):
    """api-notes 2.5: ``IN`` is ``=`` against each listed value: Ids by number (a quoted or bare
    Id, unknown ones ignored), names without regard to case, Refs by their id; the sandbox
    answers them by set lookup, with the same rows as one ``=`` per value."""
    tag = uuid.uuid4().hex[:6]
    first, second = _customer(qb, f"In List One {tag}"), _customer(qb, f"In List Two {tag}")
    ids = Customer.where(f"Id IN ('{first.Id}', {second.Id}, '999999', 'x')", qb=qb)
    assert sorted(c.Id for c in ids) == sorted([first.Id, second.Id])
    names = Customer.where(
        f"DisplayName IN ('in list one {tag}', 'IN LIST TWO {tag}', 'nobody')", qb=qb
    )
    assert sorted(c.Id for c in names) == sorted([first.Id, second.Id])
    item = Item.where("Type = 'Service'", max_results=1, qb=qb)[0]
    invoice = Invoice.from_json(
        {
            "CustomerRef": {"value": second.Id},
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": 5,
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item.Id},
                        "Qty": 1,
                        "UnitPrice": 5,
                    },
                }
            ],
        }
    ).save(qb=qb)
    refs = Invoice.where(f"CustomerRef IN ('{first.Id}', '{second.Id}')", qb=qb)
    assert [i.Id for i in refs] == [invoice.Id]
