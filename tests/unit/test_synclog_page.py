"""The sync log page (R-OPS-2, R-OPS-3, R-GEN-6): what ``sfqb.synclog`` renders of a run, read
back from the HTML's structure (its ``data-testid`` elements), not from the exact text."""

from __future__ import annotations

import datetime as dt
from html.parser import HTMLParser

import pytest

from sfqb.synclog import render_not_sfqb, render_page, run_view
from sfqb.synclog.reader import error_lines
from sfqb.synclog.view import quickbooks_base, record_url, salesforce_base

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 12, 6, 10, 3, 30, tzinfo=dt.UTC)
LINKS = {
    "salesforce": "https://acme.my.salesforce.com",
    "quickbooks": "https://app.qbo.intuit.com/app",
}
RUN_ID = "scheduled__2026-12-06T10:00:00+00:00"


# --- a small DOM over html.parser ---------------------------------------------------------------

VOID = {"meta", "br", "input", "img", "link", "hr", "col", "source", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: Node | None = None):
        self.tag, self.attrs, self.parent, self.children = tag, attrs, parent, []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def words(self) -> str:
        return " ".join(self.text().split())

    def all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Descendants with ``tag`` and these attributes (``testid`` for ``data-testid``)."""
        wanted = {
            ("data-testid" if k == "testid" else k.replace("_", "-")): v for k, v in attrs.items()
        }
        found = []
        for child in self.children:
            if isinstance(child, Node):
                if (tag is None or child.tag == tag) and all(
                    child.attrs.get(k) == v for k, v in wanted.items()
                ):
                    found.append(child)
                found += child.all(tag, **attrs)
        return found

    def kids(self, tag: str) -> list[Node]:
        """The direct children with ``tag``."""
        return [c for c in self.children if isinstance(c, Node) and c.tag == tag]

    def one(self, tag: str | None = None, **attrs: str) -> Node:
        (found,) = self.all(tag, **attrs)
        return found


class Tree(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.at = Node("#document", {})

    def handle_starttag(self, tag, attrs):
        node = Node(tag, dict(attrs), self.at)
        self.at.children.append(node)
        if tag == "br":
            self.at.children.append("\n")
        if tag not in VOID:
            self.at = node

    def handle_endtag(self, tag):
        at = self.at
        while at is not None and at.tag != tag:
            at = at.parent
        if at is not None and at.parent is not None:
            self.at = at.parent

    def handle_data(self, data):
        self.at.children.append(data)


def parse(page: str) -> Node:
    tree = Tree()
    tree.feed(page)
    tree.close()
    return tree.root


def view(run: dict, **kwargs) -> dict:
    return run_view(run, links=kwargs.pop("links", LINKS), now=kwargs.pop("now", NOW), **kwargs)


def page_of(*runs: dict, **kwargs) -> Node:
    return parse(render_page([view(r) for r in runs], **kwargs))


def warning_entry(key, reason, state, *, area="customers", kind="skipped", **more):
    return {
        "area": area,
        "key": key,
        "reason": reason,
        "kind": kind,
        "state": state,
        "since": "2026-12-05T14:00:00+00:00",
        "first_run": RUN_ID if state == "new" else "scheduled__2026-12-05T14:00:00+00:00",
        **more,
    }


def a_run(summary=None, **more) -> dict:
    return {
        "dag_id": "sfqb_sync",
        "run_id": RUN_ID,
        "state": "success",
        "run_type": "scheduled",
        "start_date": "2026-12-06T10:00:01.734512+00:00",
        "end_date": "2026-12-06T10:03:12.000123+00:00",
        "summary": summary,
        "task_instances": [],
        **more,
    }


SUMMARY = {
    "run_id": RUN_ID,
    "upper_bound": "2026-12-06T10:00:00+00:00",
    "install_date": "2026-11-01T00:00:00+00:00",
    "run_type": "scheduled",
    "scope": "all areas",
    "warning_counts": {"new": 2, "standing": 1, "resolved": 1},
    "areas": [
        {
            "area": "customers",
            "records": {
                "Salesforce Account": {"created": 100, "updated": 11, "skipped": 1, "failed": 10},
                "QuickBooks Customer": {"created": 2, "updated": 0, "skipped": 0, "failed": 0},
            },
            "warnings": [
                warning_entry("0015g00000AbCdEAAZ", "name 'A:B' has a colon (R-GEN-5)", "new"),
                warning_entry(
                    "QB:9 contact",
                    "a Contact without a name",
                    "standing",
                    kind="failed",
                    checked=False,
                ),
                warning_entry("QB:4", "name too long", "resolved"),
            ],
        },
        {
            "area": "invoices",
            "records": {
                "Salesforce Invoice": {"created": 1, "updated": 0, "skipped": 0, "failed": 0}
            },
            "warnings": [
                warning_entry("QB:Invoice:61 line 2", "no Product", "new", area="invoices")
            ],
        },
        {
            "area": "reconcile",
            "counts": {"invoice_balances": 0, "invoice_balances_compared": 7},
        },
    ],
}


# --- the run header, the window -------------------------------------------------------------------


def test_given_a_finished_run_when_rendered_then_its_header_is_one_line_with_readable_times_and_the_run_id_once():
    """R-OPS-2: DAG, run type, state (with its colour class), start without microseconds, the
    duration, and the run id once in the run's text."""
    page = page_of(a_run(SUMMARY))
    run = page.one(testid="run")
    header = run.one(testid="run-header")
    assert run.attrs["data-state"] == "success"
    assert [
        p.text() for p in header.all("span") if "pill-state-success" in p.attrs.get("class", "")
    ] == ["success"]
    (start,) = header.all("time")
    assert start.attrs["datetime"] == "2026-12-06T10:00:01+00:00"
    assert start.text() == "2026-12-06 10:00 UTC"
    assert "took 3 min" in header.words()
    assert "scheduled" in header.words() and "sfqb_sync" in header.words()
    assert run.text().count(RUN_ID) == 1


def test_given_a_scheduled_run_when_rendered_then_it_names_its_upper_bound_and_the_install_date():
    """R-OPS-2, R-GEN-6: what time the run covered, and from when sfqb syncs."""
    window = page_of(a_run(SUMMARY)).one(testid="run-window")
    assert [t.attrs["datetime"] for t in window.all("time")] == [
        "2026-12-06T10:00:00+00:00",
        "2026-11-01T00:00:00+00:00",
    ]
    assert "all areas" in window.words()
    assert page_of(a_run(SUMMARY)).all(testid="install-date-notice") == []


def test_given_a_backfill_before_the_install_date_when_rendered_then_the_page_says_nothing_before_it_is_synced():
    """R-GEN-6, R-OPS-2: a backfill of an interval before the install date reads nothing; the
    page says so instead of showing a run that seems to have done nothing."""
    summary = {
        **SUMMARY,
        "backfill": True,
        "data_interval_start": "2026-10-01T10:00:00+00:00",
        "data_interval_end": "2026-10-01T11:00:00+00:00",
        "areas": [],
    }
    page = page_of(a_run(summary, run_type="backfill"))
    window = page.one(testid="run-window")
    assert [t.attrs["datetime"] for t in window.all("time")] == [
        "2026-10-01T10:00:00+00:00",
        "2026-10-01T11:00:00+00:00",
        "2026-11-01T00:00:00+00:00",
    ]
    notice = page.one(testid="install-date-notice")
    assert "nothing before the install date is synced" in notice.words()
    assert "read nothing" in notice.words()

    straddling = {**summary, "data_interval_end": "2026-11-01T01:00:00+00:00"}
    straddling["data_interval_start"] = "2026-10-31T23:00:00+00:00"
    notice = page_of(a_run(straddling, run_type="backfill")).one(testid="install-date-notice")
    assert "only the rest was read" in notice.words()


def test_given_a_run_without_a_summary_when_rendered_then_its_window_comes_from_its_run_context():
    """R-OPS-2: a failed run still says which time it covered (``begin_run``'s context)."""
    run = a_run(
        None,
        state="failed",
        context={
            "upper_bound": "2026-12-06T10:00:00+00:00",
            "install_date": "2026-11-01T00:00:00+00:00",
        },
    )
    window = page_of(run).one(testid="run-window")
    assert len(window.all("time")) == 2


def test_given_a_summary_with_area_windows_when_rendered_then_each_stream_window_is_listed():
    """R-OPS-2: an area report that carries its windows shows them (an empty one as such)."""
    summary = {
        **SUMMARY,
        "areas": [
            {
                **SUMMARY["areas"][0],
                "windows": {
                    "qb_customers": {
                        "start": "2026-12-06T08:55:00+00:00",
                        "end": "2026-12-06T10:00:00+00:00",
                        "mode": "incremental",
                    },
                    "sf_accounts": None,
                },
            }
        ],
    }
    streams = page_of(a_run(summary)).one(testid="run-window").one("ul", **{"class": "streams"})
    lines = [li.words() for li in streams.all("li")]
    assert lines[0].startswith("customers qb_customers: 2026-12-06 08:55 UTC to")
    assert lines[1] == "customers sf_accounts: nothing to read"


# --- counts -----------------------------------------------------------------------------------------


def test_given_counts_per_record_type_when_rendered_then_the_table_has_numeric_right_aligned_sort_keys():
    """R-OPS-2, R-GEN-11: one row per area and record type; the numbers are right-aligned and
    sort as numbers (1, 10, 11, 100, not 1, 10, 100, 11); the reconciliation is a line."""
    page = page_of(a_run(SUMMARY))
    table = page.one(testid="counts-table")
    heads = table.one("thead").all("th")
    assert [h.words() for h in heads] == [
        "area",
        "record",
        "created",
        "updated",
        "skipped",
        "failed",
    ]
    assert [h.one("button").attrs["data-sort"] for h in heads[2:]] == ["number"] * 4
    rows = table.one("tbody").all("tr")
    assert [[c.words() for c in r.all("td")[:2]] for r in rows] == [
        ["customers", "Salesforce Account"],
        ["customers", "QuickBooks Customer"],
        ["invoices", "Salesforce Invoice"],
    ]
    first = rows[0].all("td")[2:]
    assert [c.attrs["data-sort"] for c in first] == ["100", "11", "1", "10"]
    assert all("num" in c.attrs["class"] for c in first)
    keys = sorted((c.attrs["data-sort"] for c in first), key=float)
    assert keys == ["1", "10", "11", "100"]
    assert page.one(testid="checks").words() == (
        "reconcile: both systems agree (1 checks, 7 records compared)"
    )


def test_given_a_run_that_recovered_records_when_rendered_then_the_recovered_column_shows():
    """R-GEN-11, R-OPS-2: recovered and deleted are columns only when a run has any."""
    summary = {
        **SUMMARY,
        "areas": [
            {
                "area": "opportunities",
                "records": {"QuickBooks Invoice": {"created": 1, "recovered": 2, "deleted": 0}},
            }
        ],
    }
    heads = page_of(a_run(summary)).one(testid="counts-table").one("thead").all("th")
    assert [h.words() for h in heads][2:] == [
        "created",
        "updated",
        "recovered",
        "skipped",
        "failed",
    ]


# --- warnings ---------------------------------------------------------------------------------------


def rows_by_key(page: Node) -> dict[str, list[Node]]:
    table = page.one(testid="warnings-table")
    return {r.all("td")[1].words(): r.all("td") for r in table.all("tr", testid="warning-row")}


def test_given_warnings_in_each_state_when_rendered_then_each_is_a_row_with_rule_reason_level_and_state():
    """R-OPS-3, R-OPS-2, R-GEN-5: a row per listed warning naming its record and reason: area,
    record, rule, reason, level (ERROR for a failed record), and new / standing since an
    earlier run (linked) / resolved."""
    page = page_of(a_run(SUMMARY))
    rows = rows_by_key(page)
    assert list(rows) == ["0015g00000AbCdEAAZ", "QB:9 contact", "QB:4", "QB:Invoice:61 line 2"]
    area, _, rule, reason, level, state = rows["0015g00000AbCdEAAZ"]
    assert (area.words(), rule.words(), reason.words()) == (
        "customers",
        "R-GEN-5",
        "name 'A:B' has a colon (R-GEN-5)",
    )
    assert (level.words(), state.words()) == ("WARNING", "new")
    standing = rows["QB:9 contact"]
    assert standing[4].words() == "ERROR"
    assert standing[5].words() == (
        "standing since 2026-12-05 14:00 UTC not looked at again in this run"
    )
    (earlier,) = standing[5].all("a")
    assert earlier.attrs["title"] == "first found by run scheduled__2026-12-05T14:00:00+00:00"
    assert earlier.attrs["href"] == (
        "/dags/sfqb_sync/runs/scheduled__2026-12-05T14%3A00%3A00%2B00%3A00/plugin/sfqb-run-sync-log"
    )
    assert earlier.attrs["target"] == "_top"
    assert rows["QB:4"][5].words().startswith("resolved open since")
    assert [r.attrs["data-state"] for r in page.all("tr", testid="warning-row")] == [
        "new",
        "standing",
        "resolved",
        "new",
    ]
    assert [r.attrs["data-level"] for r in page.all("tr", testid="warning-row")] == [
        "WARNING",
        "ERROR",
        "WARNING",
        "WARNING",
    ]


def test_given_warnings_when_rendered_then_their_records_link_to_salesforce_and_quickbooks():
    """R-OPS-2: a key that names a record links to it: a Salesforce Id to its Lightning page, a
    QuickBooks customer or invoice to the QuickBooks Online app; they open in a new tab."""
    rows = rows_by_key(page_of(a_run(SUMMARY)))
    hrefs = {key: [a.attrs["href"] for a in cells[1].all("a")] for key, cells in rows.items()}
    assert hrefs == {
        "0015g00000AbCdEAAZ": [
            "https://acme.my.salesforce.com/lightning/r/0015g00000AbCdEAAZ/view"
        ],
        "QB:9 contact": ["https://app.qbo.intuit.com/app/customerdetail?nameId=9"],
        "QB:4": ["https://app.qbo.intuit.com/app/customerdetail?nameId=4"],
        "QB:Invoice:61 line 2": ["https://app.qbo.intuit.com/app/invoice?txnId=61"],
    }
    assert {a.attrs["target"] for cells in rows.values() for a in cells[1].all("a")} == {"_blank"}


@pytest.mark.parametrize(
    ("area", "key", "url"),
    [
        ("opportunities", "0065g00000000BcAAI", "SF/lightning/r/0065g00000000BcAAI/view"),
        ("customers", "001A00000012345", "SF/lightning/r/001A00000012345/view"),
        ("customers", "QB:12", "QBO/customerdetail?nameId=12"),
        ("matching", "QB:Customer:7", "QBO/customerdetail?nameId=7"),
        ("transactions", "QB:SalesReceipt:5 line 2", "QBO/salesreceipt?txnId=5"),
        ("items", "QB:12 price", None),  # items have no page of their own
        ("matching", "QB:Item:7", None),
        ("opportunities", "QB:12", None),  # a bare QuickBooks Id outside its area names nothing
        ("reconcile", "QuickBooks customer 7: Accounts 001A, 001B", None),
        ("migration", "", None),
        ("customers", "SalesforceAccnt", None),  # 15 characters but no digit: a word
    ],
)
def test_given_a_warning_key_when_linked_then_only_a_key_that_names_a_record_gets_its_page(
    area, key, url
):
    """R-OPS-2: the record of ``sfqb.outcomes``' keys (the first word), by system and area."""
    links = {"salesforce": "SF", "quickbooks": "QBO"}
    assert record_url(area, key, links) == url


def test_given_connections_when_read_for_links_then_the_org_url_and_the_quickbooks_app_follow_them():
    """R-OPS-2: the Salesforce org's URL from the connection (instance_url, host, My Domain);
    QuickBooks production or sandbox from the connection's environment; none for the local
    sandboxes or a login server."""
    assert salesforce_base(None, {"instance_url": "https://acme.my.salesforce.com/"}) == (
        "https://acme.my.salesforce.com"
    )
    assert salesforce_base("acme.my.salesforce.com", {}) == "https://acme.my.salesforce.com"
    assert salesforce_base(None, {"domain": "acme--uat.sandbox.my"}) == (
        "https://acme--uat.sandbox.my.salesforce.com"
    )
    assert salesforce_base(None, {"extra__salesforce__domain": "acme.my"}) == (
        "https://acme.my.salesforce.com"
    )
    assert salesforce_base(None, {"domain": "login"}) is None
    assert salesforce_base(None, {"domain": "test"}) is None
    assert salesforce_base(None, {"instance_url": "http://127.0.0.1:8443"}) is None
    assert quickbooks_base({}) == "https://app.qbo.intuit.com/app"
    assert quickbooks_base({"environment": "sandbox"}) == "https://app.sandbox.qbo.intuit.com/app"
    assert quickbooks_base({"environment": "https://127.0.0.1:8444/.well-known/openid"}) is None


def test_given_no_connections_when_rendered_then_records_are_shown_without_links():
    """R-OPS-2: without a connection's URL the key is shown as text."""
    no_links = {"salesforce": None, "quickbooks": None}
    page = parse(render_page([view(a_run(SUMMARY), links=no_links)]))
    assert page.one(testid="warnings-table").all("a", target="_blank") == []


def test_given_a_reason_with_markup_when_rendered_then_it_is_shown_as_text_never_run():
    """R-OPS-2: record keys and reasons are escaped: a reason holding ``<script>`` is text."""
    hostile = warning_entry(
        '001<img src=x onerror="alert(1)">', "<script>alert('x')</script> & <b>bold</b>", "new"
    )
    summary = {**SUMMARY, "areas": [{**SUMMARY["areas"][0], "warnings": [hostile]}]}
    html_text = render_page([view(a_run(summary))])
    page = parse(html_text)
    (row,) = page.all("tr", testid="warning-row")
    cells = row.all("td")
    assert cells[1].words() == '001<img src=x onerror="alert(1)">'
    assert cells[3].words() == "<script>alert('x')</script> & <b>bold</b>"
    assert row.all("script") == [] and row.all("img") == [] and row.all("b") == []
    assert len(page.all("script")) == 2  # the page's own theme and behaviour scripts


def test_given_many_warnings_when_rendered_then_the_filters_offer_their_areas_levels_and_states():
    """R-OPS-3: the warnings can be narrowed by area, level, state and text, client-side."""
    filters = page_of(a_run(SUMMARY)).one(testid="warning-filters")
    options = {
        s.attrs["name"]: [o.attrs["value"] for o in s.all("option")] for s in filters.all("select")
    }
    assert options == {
        "area": ["", "customers", "invoices"],
        "level": ["", "ERROR", "WARNING"],
        "state": ["", "new", "standing", "resolved"],
    }
    assert filters.one("input").attrs["name"] == "q"
    assert filters.one(testid="warning-shown").words() == "4 of 4 shown"
    table_id = filters.attrs["data-for"]
    assert (
        page_of(a_run(SUMMARY)).one("table", id=table_id).attrs["data-testid"] == "warnings-table"
    )


def test_given_capped_lists_when_rendered_then_the_true_totals_and_the_listed_numbers_show():
    """R-OPS-3: the summary lists at most 200 warnings per state and area; the page says how
    many there are and how many are listed."""
    summary = {**SUMMARY, "warning_counts": {"new": 2, "standing": 250, "resolved": 1}}
    heading = page_of(a_run(summary)).one("section", **{"class": "warnings-block"}).one("h3")
    assert heading.words() == "Warnings 2 new, 250 standing (1 listed), 1 resolved"


def test_given_a_summary_from_before_warning_states_when_rendered_then_its_lines_are_rows():
    """R-OPS-2: the sync log shows old runs too."""
    old = {
        "run_id": "r",
        "upper_bound": "2026-01-01T00:00:00+00:00",
        "areas": [
            {
                "area": "items",
                "created": 2,
                "updated": 0,
                "skipped": 1,
                "failed": 0,
                "warning_count": 1,
                "warnings": ["items: QB:7: no price"],
            },
        ],
    }
    page = page_of(a_run(old))
    assert [c.words() for c in page.one(testid="counts-table").one("tbody").all("td")] == [
        "items",
        "records",
        "2",
        "0",
        "1",
        "0",
    ]
    (row,) = page.all("tr", testid="warning-row")
    assert row.all("td")[3].words() == "items: QB:7: no price"


# --- failed, running, migration ---------------------------------------------------------------------


def test_given_a_failed_run_when_rendered_then_the_failed_task_its_try_log_link_and_errors_show():
    """R-OPS-2: a run that failed before its summary names the failed task, its try, a link to
    its log in the Airflow UI and the last ERROR lines of the log; the upstream failures are a
    count."""
    run = a_run(
        None,
        state="failed",
        task_instances=[
            {"task_id": "begin_run", "map_index": -1, "state": "success", "try_number": 1},
            {
                "task_id": "customers.load_customers",
                "map_index": -1,
                "state": "failed",
                "try_number": 2,
                "end_date": "2026-12-06T10:02:00+00:00",
                "errors": [
                    "Task failed with exception: QuotaExceededError: REQUEST_LIMIT_EXCEEDED <daily>"
                ],
            },
            {
                "task_id": "summarize_run",
                "map_index": -1,
                "state": "upstream_failed",
                "try_number": 0,
            },
        ],
    )
    page = parse(render_page([view(run, ui_base="/airflow")]))
    block = page.one(testid="failed-tasks")
    (task,) = block.kids("ul")[0].kids("li")
    assert task.one("code").words() == "customers.load_customers"
    assert "failed on try 2" in task.words()
    (log_link,) = task.all("a")
    assert log_link.attrs["href"] == (
        "/airflow/dags/sfqb_sync/runs/scheduled__2026-12-06T10%3A00%3A00%2B00%3A00"
        "/tasks/customers.load_customers?try_number=2"
    )
    assert log_link.attrs["target"] == "_top"
    assert [li.words() for li in task.one("ul").all("li")] == [
        "Task failed with exception: QuotaExceededError: REQUEST_LIMIT_EXCEEDED <daily>"
    ]
    assert "1 task did not run (upstream failed)" in block.words()
    assert "failed before summarize_run" in page.one(testid="no-summary").words()
    assert page.all(testid="counts-table") == [] and page.all(testid="run-progress") == []


def test_given_a_running_run_when_rendered_then_its_progress_and_running_task_show():
    """R-OPS-2: a running run says for how long, how many tasks are done of how many, and which
    run now; no end, no "None"."""
    tis = [
        {"task_id": f"t{i}", "map_index": -1, "state": "success", "try_number": 1}
        for i in range(12)
    ]
    tis += [
        {
            "task_id": "customers.load_customers",
            "map_index": -1,
            "state": "running",
            "try_number": 1,
        },
        {"task_id": "items.load_items", "map_index": -1, "state": "up_for_retry", "try_number": 1},
    ]
    tis += [
        {"task_id": f"later{i}", "map_index": -1, "state": None, "try_number": 0} for i in range(26)
    ]
    run = a_run(None, state="running", end_date=None, task_instances=tis)
    page = page_of(run)
    header = page.one(testid="run-header")
    (running,) = [s for s in header.all("span") if "data-running-since" in s.attrs]
    assert running.words() == "running for 3 min"
    assert "None" not in page.text()
    progress = page.one(testid="run-progress")
    assert progress.one("progress").attrs == {"max": "40", "value": "12"}
    assert "12 of 40 tasks done" in progress.words()
    assert (
        progress.one("code").words() == "customers.load_customers, items.load_items (up for retry)"
    )
    assert "not reached summarize_run" in page.one(testid="no-summary").words()


def test_given_a_migration_dry_run_when_rendered_then_it_says_nothing_was_written_and_what_would_be():
    """R-OPS-2, R-MIG-1: a dry run says plainly that nothing was written, with the counts per
    record type a real run would write (the summary's ``dry_run`` and ``would_write``)."""
    summary = {
        "run_id": "manual__m",
        "upper_bound": "2026-12-06T10:00:00+00:00",
        "dry_run": True,
        "would_write": {"Salesforce Invoice": 1200, "Salesforce Invoice Item": 3400},
        "areas": [
            {
                "area": "migration",
                "records": {"Salesforce Invoice": {"skipped": 9}},
                "dry_run": True,
                "invoices_read": 1209,
                "already_in_salesforce": 9,
                "invoices_written": 0,
                "warnings": [],
            }
        ],
    }
    page = page_of(a_run(summary, dag_id="sfqb_invoice_migration", run_id="manual__m"))
    notice = page.one(testid="dry-run-notice")
    assert notice.one("strong").words() == "Dry run: nothing was written."
    assert [[c.words() for c in r.all("td")] for r in notice.one("tbody").all("tr")] == [
        ["Salesforce Invoice", "1,200"],
        ["Salesforce Invoice Item", "3,400"],
    ]
    facts = page.one("p", **{"class": "facts"}).words()
    assert facts == "migration: 1,209 invoices read, 9 already in Salesforce"


def test_given_a_dry_run_report_without_would_write_when_rendered_then_its_plan_is_the_would_write():
    """R-OPS-2, R-MIG-1: the migration report's own ``plan`` when the summary has no
    ``would_write``."""
    summary = {
        "run_id": "manual__m",
        "areas": [
            {
                "area": "migration",
                "records": {},
                "dry_run": True,
                "plan": {"invoices": 4, "items": 9, "placeholders": 0},
                "warnings": [],
            }
        ],
    }
    notice = page_of(a_run(summary, dag_id="sfqb_invoice_migration")).one(testid="dry-run-notice")
    assert [[c.words() for c in r.all("td")] for r in notice.one("tbody").all("tr")] == [
        ["Salesforce Invoice", "4"],
        ["Salesforce Invoice Item", "9"],
        ["Salesforce Opportunity (placeholder)", "0"],
    ]


def test_given_a_migration_that_wrote_when_rendered_then_there_is_no_dry_run_notice():
    """R-OPS-2: only a dry run gets the notice."""
    summary = {"run_id": "m", "areas": [{"area": "migration", "records": {}, "dry_run": False}]}
    assert page_of(a_run(summary)).all(testid="dry-run-notice") == []


# --- the runs list, the other DAGs' tab --------------------------------------------------------------


def test_given_twelve_runs_when_the_list_is_rendered_then_the_newest_is_open_the_rest_folded_and_paged():
    """R-OPS-2: the runs list shows the newest run unfolded and the older ones as their header
    line, ten a page, with a link to the older ones."""
    runs = [a_run(SUMMARY, run_id=f"scheduled__{i:02d}") for i in range(10)]
    page = page_of(*runs, total=12, offset=0, limit=10)
    sections = page.all("details", testid="run")
    assert [s.attrs.get("open", "closed") for s in sections] == [None] + ["closed"] * 9
    assert [s.one(testid="run-header").tag for s in sections] == ["summary"] * 10
    nav = page.one(testid="pagination")
    assert "runs 1–10 of 12" in nav.words()
    assert [a.attrs["href"] for a in nav.all("a")] == ["/sfqb/runs?limit=10&offset=10"]
    last = page_of(*runs[:2], total=12, offset=10, limit=10).one(testid="pagination")
    assert [a.attrs["href"] for a in last.all("a")] == ["/sfqb/runs?limit=10&offset=0"]


def test_given_a_run_of_another_dag_when_its_tab_is_rendered_then_one_line_says_it_is_sfqbs():
    """R-OPS-2: Airflow 3.3 shows the "Sync log" tab on every DAG's runs; on another DAG's run
    it says whose tab it is and links sfqb's runs."""
    page = parse(render_not_sfqb("etl_<daily>", ui_base="/airflow"))
    notice = page.one(testid="not-sfqb-notice")
    assert "etl_<daily> is not an sfqb DAG" in notice.words()
    (link,) = notice.all("a")
    assert link.attrs["href"] == "/airflow/plugin/sfqb-sync-log"
    assert page.all(testid="run") == []


def test_given_the_page_when_rendered_then_it_loads_nothing_from_another_host():
    """R-OPS-2: the page works offline (no CDN): style and script are inline, no external
    stylesheet, script or font."""
    page = page_of(a_run(SUMMARY))
    assert [s for s in page.all("script") if "src" in s.attrs] == []
    assert page.all("link") == []
    style = page.one("style").text()
    assert "url(" not in style and "@import" not in style


# --- task log lines ----------------------------------------------------------------------------------


def test_given_a_task_log_when_its_error_lines_are_picked_then_the_last_errors_with_their_exception_remain():
    """R-OPS-2: the failed task's block shows the last ERROR lines of its log, with the
    exception's type and message from the structured log."""
    messages = [
        {"event": "::group::Log message source details"},
        {"event": "starting", "level": "info"},
        *({"event": f"record {i} failed", "level": "error"} for i in range(6)),
        {"event": "plain line with ERROR in it"},
        {
            "event": "Task failed with exception",
            "level": "error",
            "error_detail": [
                {"exc_type": "QuotaExceededError", "exc_value": "REQUEST_LIMIT_EXCEEDED"},
                {"exc_type": "HTTPError", "exc_value": "403 (its cause)"},
            ],
        },
        {"event": "x" * 3000, "level": "critical"},
    ]
    lines = error_lines(messages)
    assert lines == [
        "record 4 failed",
        "record 5 failed",
        "plain line with ERROR in it",
        "Task failed with exception: QuotaExceededError: REQUEST_LIMIT_EXCEEDED",
        "x" * 1000,
    ]
    assert error_lines([{"event": "starting", "level": "info"}, {"event": "no error here"}]) == []


def test_given_a_desktop_run_when_rendered_then_the_web_connector_poll_and_errors_show():
    """R-QBD-8: a Desktop run's page says when the Web Connector last polled, how many
    sessions with work it ran during the run and how many polls found nothing queued, and the
    newest session error (flagged); an Online run shows no such line."""
    desktop = {
        **SUMMARY,
        "web_connector": {
            "last_poll": "2026-12-06T10:02:10.123456+00:00",
            "sessions": 4,
            "idle_polls": 3,
            "errors": [
                {
                    "at": "2026-12-06T10:01:00+00:00",
                    "error": "wrong company: the connection names edition 'pro'",
                    "company_file": "C:\\\\Acme.QBW",
                }
            ],
        },
    }
    line = page_of(a_run(desktop)).one(testid="web-connector")
    assert "last polled 2026-12-06 10:02:10 UTC" in line.words()
    assert "4 sessions with work during the run (3 idle polls), 1 ended on an error" in line.words()
    assert "edition 'pro'" in line.words() and "error" in line.attrs["class"].split()
    assert page_of(a_run(SUMMARY)).all(testid="web-connector") == []
