"""Whose Account an invoice takes (R-INV-1, R-INV-7): a project's invoices are billed
through its nearest ancestor that has an Account, and an invoice left without one says why and
waits on the customers that could give it one."""

from __future__ import annotations

import pytest

from sfqb.areas.invoices import EXT_INVOICE, billing, plan_invoices
from sfqb.frames import records_frame
from sfqb.hooks.quickbooks import ServerClock
from sfqb.state import InMemoryVariables, SyncState
from tests.unit.areas.test_invoices import inputs as invoice_inputs
from tests.unit.areas.test_invoices import qb_invoice

pytestmark = pytest.mark.unit


def customer(id_, name, *, parent=None, project=False, active=True) -> dict:
    record = {
        "Id": id_,
        "DisplayName": name,
        "Active": active,
        "IsProject": project,
        "Job": parent is not None,
    }
    if parent:
        record["ParentRef"] = {"value": parent}
    return record


TOP = customer("1", "Top Co")
SITE = customer("2", "Top Co - Warehouse", parent="1")
ROLLOUT = customer("3", "Top Co - Rollout", parent="1", project=True)
SITE_ROLLOUT = customer("4", "Warehouse Rollout", parent="2", project=True)
OLD = customer("5", "Old Co", active=False)
OLD_ROLLOUT = customer("6", "Old Co - Rollout", parent="5", project=True)
SHARED = customer("7", "River Foods Inc")
SHARED_ROLLOUT = customer("8", "River Foods - Rollout", parent="7", project=True)
CUSTOMERS = [TOP, SITE, ROLLOUT, SITE_ROLLOUT, OLD, OLD_ROLLOUT, SHARED, SHARED_ROLLOUT]


def plan_for(customer_id: str, accounts: dict[str, str], customers=CUSTOMERS):
    """The plan of one invoice (Id 130) of ``customer_id``; ``accounts``: customer Id ->
    Account Id (the Accounts whose External Account ID is a customer's Id)."""
    return plan_invoices(
        invoice_inputs(
            [qb_invoice(CustomerRef={"value": customer_id})],
            accounts=[{"Id": a, "External_Account_ID__c": c} for c, a in accounts.items()],
            customers=customers,
        )
    )


def account_of(plan) -> str | None:
    (invoice,) = plan.invoices
    return invoice["Account__c"]


def account_warnings(plan) -> list[str]:
    return list(plan.notes.loc[plan.notes["key"] == "QB:Invoice:130", "reason"])


def test_given_a_project_under_a_customer_with_an_account_when_planned_then_its_invoice_takes_that_account():
    """R-INV-7, R-ACC-3: the project has no Account (jobs are not synced); its invoice belongs to
    its parent's Account, with no warning and nothing to wait for."""
    plan = plan_for("3", {"1": "001TOP"})
    assert account_of(plan) == "001TOP"
    assert account_warnings(plan) == [] and plan.waiting == {} and plan.retry == []


def test_given_a_project_under_a_sub_customer_when_planned_then_the_nearest_account_wins():
    """R-INV-7, R-ACC-3: a sub-customer is synced; a project under it takes the sub-customer's
    Account, not the top-level customer's."""
    assert account_of(plan_for("4", {"1": "001TOP", "2": "001SITE"})) == "001SITE"


def test_given_a_project_whose_parent_has_no_account_when_planned_then_the_next_ancestor_with_one_wins():
    """R-INV-7: nested: the project's parent (a sub-customer, inactive) has no Account; the
    nearest synced ancestor above it does."""
    site = {**SITE, "Active": False}
    plan = plan_for("4", {"1": "001TOP"}, [TOP, site, SITE_ROLLOUT])
    assert account_of(plan) == "001TOP"
    assert account_warnings(plan) == [] and plan.waiting == {}


def test_given_a_project_with_its_own_account_when_planned_then_that_account_is_kept():
    """R-INV-1: an Account a person linked to the project itself is the invoice's Account."""
    assert account_of(plan_for("3", {"1": "001TOP", "3": "001PROJECT"})) == "001PROJECT"


def test_given_a_project_under_an_inactive_customer_when_planned_then_one_warning_says_so_and_it_waits():
    """R-INV-7, R-ACC-2, R-GEN-5: no ancestor has an Account because the parent is inactive in
    QuickBooks: the warning names the project, the parent and why; the invoice is not retried
    every run, it waits on the customers that could give it an Account."""
    plan = plan_for("6", {"1": "001TOP"})
    assert account_of(plan) is None
    (reason,) = account_warnings(plan)
    assert 'project 6 "Old Co - Rollout"' in reason and "R-INV-7" in reason
    assert 'customer 5 "Old Co" is inactive in QuickBooks' in reason and "R-ACC-2" in reason
    assert "until the customer is synced" not in reason
    assert plan.retry == [] and plan.waiting == {"5": ["130"], "6": ["130"]}


def test_given_a_project_under_a_customer_not_linked_yet_when_planned_then_the_warning_points_at_the_customers_area():
    """R-INV-7: the parent is active but no Account is linked to it (a name two Accounts share,
    say): the warning names it by Id and name and points at the customers area's warning."""
    plan = plan_for("8", {"1": "001TOP"})
    (reason,) = account_warnings(plan)
    assert 'customer 7 "River Foods Inc" is active in QuickBooks but no Account is linked' in reason
    assert "(External Account ID 7): see the customers and matching warnings" in reason
    assert plan.waiting == {"7": ["130"], "8": ["130"]}


def test_given_a_project_nested_under_customers_without_accounts_when_planned_then_the_warning_names_them_all():
    """R-INV-7: neither the project's sub-customer nor the top-level customer has an Account:
    the warning explains the nearest and lists those above; the invoice waits on each."""
    plan = plan_for("4", {})
    (reason,) = account_warnings(plan)
    assert 'customer 2 "Top Co - Warehouse" is active' in reason
    assert "nor has any customer above it an Account (1)" in reason
    assert plan.waiting == {"1": ["130"], "2": ["130"], "4": ["130"]}


def test_given_a_sub_customer_without_an_account_when_planned_then_it_is_not_billed_through_its_parent():
    """R-ACC-3, R-INV-7: only a project is billed through its parent; a sub-customer is synced
    itself, so its invoice waits for the sub-customer's own Account."""
    plan = plan_for("2", {"1": "001TOP"})
    assert account_of(plan) is None
    (reason,) = account_warnings(plan)
    assert (
        'customer 2 "Top Co - Warehouse" is active' in reason and "External Account ID 2" in reason
    )
    assert plan.waiting == {"2": ["130"]}


def test_given_an_inactive_customer_when_planned_then_the_warning_says_it_is_inactive():
    """R-ACC-2, R-INV-7: a customer that is not a project and inactive: the warning says so."""
    (reason,) = account_warnings(plan_for("5", {}))
    assert 'customer 5 "Old Co" is inactive in QuickBooks' in reason


def test_given_customers_sharing_an_ancestor_when_billed_then_each_is_resolved_once():
    """R-INV-7: ``billing`` answers once per distinct customer that no Account has (one that
    has an Account and missing Ids are left out); a project whose parent QuickBooks did not
    return says so."""
    frame = records_frame([TOP, ROLLOUT, customer("9", "Lost Rollout", parent="99", project=True)])
    billed = billing(["3", "3", "1", None, "9"], frame, {"1"})
    assert {c: b.customer for c, b in billed.items()} == {"3": "1", "9": None}
    assert "QuickBooks has no customer 99" in billed["9"].reason
    assert billed["9"].waits_on == ("9", "99")


class Salesforce:
    """``query_in`` of Accounts by External Account ID over a given set; records the calls."""

    def __init__(self, linked=(), ticked=()):
        self.linked, self.ticked, self.calls = set(linked), list(ticked), []

    def query_in(self, sobject, fields, in_field, values):
        values = sorted(values)
        if sobject != "Account" or not values:
            return []  # the rest of the Salesforce side: nothing there
        self.calls.append((sobject, in_field, values))
        assert in_field == "External_Account_ID__c"
        return [{"Id": f"001{v}", "External_Account_ID__c": v} for v in values if v in self.linked]

    def query(self, text):
        assert "Sync_Me__c" in text
        return [{EXT_INVOICE: i} for i in self.ticked]


class QuickBooks:
    """Customers by Id (``query_in``), CDC answering nothing; records the calls."""

    def __init__(self, customers=(), invoices=()):
        self.customers = {c["Id"]: c for c in customers}
        self.invoices = {i["Id"]: i for i in invoices}
        self.calls = []
        self.clock = ServerClock()  # no answer carries a time here

    def changes(self, entities, since):
        return {e: [] for e in entities}

    def query_in(self, entity, prop, values, include_inactive=False):
        values = sorted(values)
        self.calls.append((entity, values))
        found = self.customers if entity == "Customer" else self.invoices
        assert entity != "Customer" or include_inactive  # an inactive ancestor explains the warning
        return [found[v] for v in values if v in found]


def test_given_invoices_without_account_when_extracted_then_only_a_projects_chain_is_read():
    """R-INV-7: for the invoices whose customer no Account has, the extract reads those
    customers, climbs only from a project (one query per level, to the top), and asks Salesforce
    once for the ancestors' Accounts; an invoice whose customer has an Account reads nothing."""
    from sfqb.steps.invoices import read_billing

    deep = customer("10", "Dock", parent="2")
    deep_rollout = customer("11", "Dock Rollout", parent="10", project=True)
    qb = QuickBooks([TOP, SITE, deep, deep_rollout, OLD])
    sf = Salesforce(linked={"1"})
    records = [
        qb_invoice("130", CustomerRef={"value": "11"}),
        qb_invoice("131", CustomerRef={"value": "5"}),
        qb_invoice("132", CustomerRef={"value": "1"}),
    ]
    extracted = {
        **invoice_inputs(
            records, accounts=[{"Id": "001TOP", "External_Account_ID__c": "1"}]
        ).__dict__
    }
    extracted.pop("customers")
    out = read_billing(qb, sf, extracted)
    # Customer 1 already has an Account (invoice 132's): the climb stops below it.
    assert qb.calls == [("Customer", ["11", "5"]), ("Customer", ["10"]), ("Customer", ["2"])]
    assert sf.calls == [("Account", "External_Account_ID__c", ["10", "2"])]
    assert sorted(out["customers"]["Id"]) == ["10", "11", "2", "5"]
    plan = plan_invoices(
        invoice_inputs(
            records,
            accounts=list(out["accounts"][["Id", "External_Account_ID__c"]].to_dict("records")),
            customers=list(qb.customers.values()),
        )
    )
    assert {i[EXT_INVOICE]: i["Account__c"] for i in plan.invoices} == {
        "130": "001TOP",
        "131": None,
        "132": "001TOP",
    }

    qb.calls.clear()
    sf.calls.clear()
    read_billing(
        qb,
        sf,
        {**extracted, "invoices": extracted["invoices"][extracted["invoices"]["Id"] == "132"]},
    )
    assert qb.calls == [] and sf.calls == []


def test_given_invoices_waiting_when_read_then_one_query_finds_the_customers_with_an_account_now():
    """R-INV-7: each run asks Salesforce once whether a customer waited on has an Account now
    and re-reads only its invoices; nothing waiting, no query."""
    from sfqb.steps.invoices import read_quickbooks

    stream = "quickbooks.Invoice@invoices"
    window = {
        "start": "2026-01-15T00:00:00+00:00",
        "end": "2026-01-15T01:00:00+00:00",
        "mode": "incremental",
    }
    windows = {stream: window, "quickbooks.Payment@invoices": window}
    state = SyncState(InMemoryVariables())
    qb, sf = QuickBooks(invoices=[qb_invoice("61"), qb_invoice("64")]), Salesforce()
    assert read_quickbooks(qb, sf, state, windows) == []
    assert sf.calls == [] and qb.calls == []

    state.save_waiting(stream, {"5": ["61", "284"], "6": ["61"], "7": ["64"]}, read=[], run_id="r1")
    assert read_quickbooks(qb, sf, state, windows) == []  # no customer has an Account yet
    assert sf.calls == [("Account", "External_Account_ID__c", ["5", "6", "7"])] and qb.calls == []

    sf.linked = {"7"}
    assert [r["Id"] for r in read_quickbooks(qb, sf, state, windows)] == ["64"]
    assert qb.calls == [("Invoice", ["64"])]


def test_given_a_waiting_invoice_gone_from_quickbooks_when_its_customer_gets_an_account_then_it_waits_no_more():
    """R-INV-7, R-GEN-5: an invoice waiting on a customer that now has an Account is read again;
    when QuickBooks no longer has it (deleted while Change Data Capture could not say so), the
    commit drops it from the waiting list instead of asking for it every run."""
    import datetime as dt

    from sfqb.preferences import Preferences
    from sfqb.steps import invoices as steps
    from sfqb.steps.common import run_context

    stream = "quickbooks.Invoice@invoices"
    state = SyncState(InMemoryVariables())
    state.save_waiting(stream, {"7": ["64"], "5": ["61"]}, read=[], run_id="r1")
    upper = dt.datetime(2026, 1, 15, 1, tzinfo=dt.UTC)
    run = run_context(
        run_id="r2",
        upper_bound=upper,
        install_date=upper - dt.timedelta(hours=1),
        preferences_json=Preferences().as_json(),
    )
    qb, sf = QuickBooks(), Salesforce(linked={"7"})
    extracted = steps.extract(run, sf=sf, qb=qb, state=state)
    assert extracted["waited"] == ["64"] and extracted["invoices"].empty
    assert ("Invoice", ["64"]) in qb.calls
    report = steps.load(run, steps.plan(run, extracted), sf=sf)
    steps.commit(run, extracted, report, state=state)
    assert state.waiting(stream) == {"5": ["61"]}
