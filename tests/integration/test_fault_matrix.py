"""The fault matrix: each fault injected through ``/_sandbox/faults`` in the middle of
an area's load, then (when records failed) a second clean run, and after each run the three
invariants of ``tests/integration/invariants.py``: no duplicates, nothing lost, no watermark
past unloaded data (R-GEN-2, R-GEN-3, R-GEN-5).

An area runs through its real steps (``sfqb.steps.<area>``: extract -> plan -> load -> commit)
with real hooks over HTTPS and the sync state in Airflow's metadata database, as the DAG's
four tasks would (the commit only after a successful load); a dag.test() of the whole sync
would cost 12-15 s per run. The SIGKILL cases run the area in a forked child process on the
same Airflow database and sandbox servers, kill its process group while a write hangs (the
earlier writes went through), and run the area again in this process.
"""

from __future__ import annotations

import datetime as dt
import inspect
import multiprocessing
import os
import signal
import time
import uuid
from decimal import Decimal
from importlib import import_module

import pytest

from sfqb import soql
from sfqb.areas.customers import ACCOUNT_EXT_ID, QB_STREAM, SF_STREAM
from sfqb.areas.opportunities import marker
from sfqb.hooks.errors import QuotaExceededError, TransientError
from sfqb.hooks.quickbooks import QuickBooksHook
from sfqb.hooks.retry import RetryPolicy
from sfqb.hooks.salesforce import OutcomeUnknownError, SfqbSalesforceHook
from sfqb.preferences import Preferences
from sfqb.state import MetadataDbVariables, SyncState
from sfqb.steps.common import run_context
from sfqb.steps.load import now_stamp
from tests.integration import invariants as inv
from tests.integration.conftest import report_view

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

PREFS = Preferences(
    sync_accounts_without_won_opportunities=True, allow_salesforce_to_modify_quickbooks=True
)
LOOKBACK = dt.timedelta(minutes=PREFS.lookback_minutes)
FAST = RetryPolicy(base_delay=0.05)
SHORT_TIMEOUT = (5.0, 1.5)  # read timeout for the hang faults (the hooks' default is 120 s)

QB_BATCH = "/batch$"
SF_WRITE = "/composite/sobjects"  # every sObject Collections write (create, update, upsert)
SF_UPSERT = "/composite/sobjects/Account/"


class Sleeps(list):
    """The hooks' pauses, recorded (and cut to 50 ms: a Retry-After of 30 s costs nothing)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(min(seconds, 0.05))


def hooks(timeout=None, sleep=None) -> tuple[SfqbSalesforceHook, QuickBooksHook]:
    extra = {"timeout": timeout} if timeout else {}
    if sleep is not None:
        extra["sleep"] = sleep
    return SfqbSalesforceHook(retry_policy=FAST, **extra), QuickBooksHook(
        retry_policy=FAST, **extra
    )


def new_run(install: dt.datetime, run_id: str | None = None) -> dict:
    upper = dt.datetime.now(dt.UTC)
    return run_context(
        run_id=run_id or f"manual__{upper.isoformat()}",
        upper_bound=upper,
        install_date=install,
        preferences_json=PREFS.as_json(),
    )


def _kwargs(fn, **given) -> dict:
    names = inspect.signature(fn).parameters
    return {k: v for k, v in given.items() if k in names}


class Area:
    """One area driven through its steps, with the sync state in the metadata database."""

    def __init__(self, env, name: str, install: dt.datetime) -> None:
        self.env, self.name, self.install = env, name, install
        self.steps = import_module(f"sfqb.steps.{name}")
        self.state = SyncState(MetadataDbVariables())

    def run(self, *, before_load=None, sf=None, qb=None, run: dict | None = None) -> dict:
        """extract -> plan -> load -> commit; a load that raises leaves the commit out (as the
        DAG does) and re-raises. ``before_load`` runs between plan and load."""
        run = run or new_run(self.install)
        default_sf, default_qb = hooks()
        sf, qb = sf or default_sf, qb or default_qb
        extracted = self.steps.extract(run, sf=default_sf, qb=default_qb, state=self.state)
        planned = self.steps.plan(run, extracted)
        if before_load is not None:
            before_load()
        report = self.steps.load(
            run, planned, **_kwargs(self.steps.load, sf=sf, qb=qb, state=self.state)
        )
        self.steps.commit(run, extracted, report, state=self.state)
        return report_view(report)


# -- test data ---------------------------------------------------------------------------------


def tag() -> str:
    return uuid.uuid4().hex[:6]


def new_accounts(env, n: int) -> list[str]:
    results = env.sf().create("Account", [{"Name": f"Fault Account {tag()} {i}"} for i in range(n)])
    assert all(r.ok for r in results), [r.errors for r in results]
    return [r.id for r in results]


def new_customers(env, n: int) -> list[str]:
    qb = env.qb()
    return [
        str(qb.create("Customer", {"DisplayName": f"Fault Customer {tag()} {i}"}, None)["Id"])
        for i in range(n)
    ]


def linked_pair(env) -> tuple[str, str]:
    """A QuickBooks customer and the Account linked to it (External Account ID)."""
    (customer,) = new_customers(env, 1)
    (account,) = env.sf().create(
        "Account",
        [{"Name": f"Linked {tag()}", ACCOUNT_EXT_ID: customer, "Last_Sync_Date__c": now_stamp()}],
    )
    assert account.ok, account.errors
    return account.id, customer


def service_item(env) -> dict:
    return env.qb().create(
        "Item",
        {
            "Name": f"Fault Service {tag()}",
            "Type": "Service",
            "IncomeAccountRef": {"value": "1"},
            "UnitPrice": Decimal("25"),
        },
        None,
    )


def priced_product(env, item: dict) -> str:
    """A Product linked to ``item`` with its standard price book entry; returns the entry."""
    sf = env.sf()
    (product,) = sf.create(
        "Product2",
        [
            {
                "Name": item["Name"],
                "ProductCode": item["FullyQualifiedName"],
                "External_Item_ID__c": str(item["Id"]),
                "IsActive": True,
            }
        ],
    )
    (entry,) = sf.create(
        "PricebookEntry",
        [
            {
                "Pricebook2Id": sf.standard_pricebook()["Id"],
                "Product2Id": product.id,
                "UnitPrice": 25,
                "IsActive": True,
            }
        ],
    )
    assert product.ok and entry.ok, (product.errors, entry.errors)
    return entry.id


def won_opportunities(env, account: str, entry: str, n: int) -> list[str]:
    sf = env.sf()
    opps = sf.create(
        "Opportunity",
        [
            {
                "Name": f"Fault deal {tag()} {i}",
                "AccountId": account,
                "StageName": "Closed Won",
                "CloseDate": "2026-11-20",
                "Transaction_Type__c": "Invoice",
            }
            for i in range(n)
        ],
    )
    assert all(o.ok for o in opps), [o.errors for o in opps]
    lines = sf.create(
        "OpportunityLineItem",
        [
            {"OpportunityId": o.id, "PricebookEntryId": entry, "Quantity": 2, "UnitPrice": 25}
            for o in opps
        ],
    )
    assert all(r.ok for r in lines), [r.errors for r in lines]
    return [o.id for o in opps]


def new_invoices(env, customer: str, item: dict, n: int) -> list[str]:
    qb = env.qb()
    return [
        str(
            qb.create(
                "Invoice",
                {
                    "CustomerRef": {"value": customer},
                    "Line": [
                        {
                            "DetailType": "SalesItemLineDetail",
                            "Amount": Decimal("50"),
                            "Description": f"line {i}",
                            "SalesItemLineDetail": {
                                "ItemRef": {"value": str(item["Id"])},
                                "Qty": 2,
                                "UnitPrice": Decimal("25"),
                            },
                        }
                    ],
                },
                None,
            )["Id"]
        )
        for i in range(n)
    ]


def untick_seed(env) -> None:
    """The seed ticks Sync Me on a few Accounts and Opportunities (R-GEN-9), some of which a
    person must fix (a name QuickBooks has in another case): leave them out of these runs."""
    sf = env.sf()
    for sobject in ("Account", "Opportunity"):
        ticked = [
            {"Id": r["Id"], "Sync_Me__c": False}
            for r in sf.query(soql.select(sobject, ["Id"], where=soql.eq("Sync_Me__c", True)))
        ]
        if ticked:
            assert all(r.ok for r in sf.update(sobject, ticked))


class Scenario:
    """Fresh records of one area made after the install date, the baseline snapshot and the
    checks."""

    def __init__(self, env, area: str) -> None:
        self.env = env
        if area in ("customers", "opportunities"):
            untick_seed(env)
            # SOQL compares whole seconds: start on the next one, after the untick.
            time.sleep(1.05 - time.time() % 1)
        self.install = dt.datetime.now(dt.UTC)
        self.expected = inv.Expected()
        self.make(area)
        self.parts = inv.PARTS[area]
        self.before = inv.snapshot(env.sf(), env.qb(), self.parts)
        self.area = Area(env, area, self.install)

    def make(self, area: str) -> None:
        env, e = self.env, self.expected
        if area == "customers":
            e.accounts.update(new_accounts(env, 3))
            e.customers.update(new_customers(env, 3))
        elif area == "items":
            e.items.update(str(service_item(env)["Id"]) for _ in range(3))
        elif area == "opportunities":
            account, _ = linked_pair(env)
            entry = priced_product(env, service_item(env))
            e.opportunities.update(won_opportunities(env, account, entry, 3))
        elif area == "invoices":
            account, customer = linked_pair(env)
            item = service_item(env)
            priced_product(env, item)
            e.invoices.update(new_invoices(env, customer, item, 3))
        else:
            raise ValueError(area)

    def check(self, *, synced: bool) -> inv.Snapshot:
        return inv.check(
            self.area.state,
            self.before,
            self.env.sf(),
            self.env.qb(),
            self.expected,
            synced=synced,
            lookback=LOOKBACK,
            parts=self.parts,
        )


# -- the matrix: faults mid-load, invariants, and a clean run when records failed --------------


def rules(*specs) -> list[tuple[str, dict]]:
    return list(specs)


QB = "quickbooks"
SF = "salesforce"
# Faults that fire in one run on different calls are grouped (one sync each, not one per
# fault); every rule must fire. (rules, every record synced by the first run?, load raises?)
MATRIX = {
    # 429 with and without Retry-After, 500 and 503: retried by the hooks, Retry-After honoured.
    "429-500-503-expired-token": (
        rules(
            (QB, {"kind": "throttle", "path": QB_BATCH, "retry_after": 30}),
            (QB, {"kind": "http_429", "path": QB_BATCH}),
            (QB, {"kind": "server_error", "path": QB_BATCH}),
            (QB, {"kind": "http_503", "path": QB_BATCH}),
            (SF, {"kind": "http_429", "path": SF_UPSERT, "retry_after": 30}),
            (SF, {"kind": "http_429", "path": SF_UPSERT}),
            (SF, {"kind": "server_error", "path": SF_WRITE}),
            (SF, {"kind": "http_503", "path": SF_WRITE}),
            # An access token expiring mid-run: QBO 401 -> refresh once; SF INVALID_SESSION_ID -> log in.
            (QB, {"kind": "expired_token", "path": QB_BATCH}),
            (SF, {"kind": "expired_session", "path": SF_WRITE, "skip": 1}),
        ),
        True,
        False,
    ),
    # Dropped connections and timeouts (the hooks' read timeout) on the writes, incl. the
    # second Salesforce write of the load, and answers lost after the write was applied
    # (drop_after): retried; QBO replays the batch by its requestid, upserts repeat safely.
    "drop-hang": (
        rules(
            (QB, {"kind": "drop", "path": QB_BATCH}),
            (QB, {"kind": "hang", "path": QB_BATCH, "delay_ms": 4000}),
            (QB, {"kind": "drop_after", "path": QB_BATCH}),
            (SF, {"kind": "drop", "path": SF_WRITE, "skip": 1}),
            (SF, {"kind": "hang", "path": SF_UPSERT, "delay_ms": 4000}),
            (SF, {"kind": "drop_after", "path": SF_UPSERT}),
        ),
        True,
        False,
    ),
    # The batch refused as a whole for a record's reason, Salesforce rows locked past the
    # retries: those records fail (WARNING), are kept to retry, and the next run syncs them.
    "stale-object-locked-rows": (
        rules(
            (QB, {"kind": "stale_object", "path": QB_BATCH}),
            (SF, {"kind": "unable_to_lock_row", "path": SF_UPSERT, "times": None}),
        ),
        False,
        False,
    ),
    "duplicate-name": (
        rules(
            (QB, {"kind": "duplicate_name", "path": QB_BATCH}),
        ),
        False,
        False,
    ),
    # QuickBooks down past the retries / Salesforce's daily API quota spent mid-load: the load
    # fails, nothing is committed, the next run syncs everything once.
    "quickbooks-down": (
        rules(
            (QB, {"kind": "http_503", "path": QB_BATCH, "times": None}),
        ),
        False,
        True,
    ),
    "request-limit": (
        rules(
            (SF, {"kind": "request_limit", "path": SF_WRITE, "skip": 1}),
        ),
        False,
        True,
    ),
}


@pytest.mark.parametrize("fault", list(MATRIX))
def test_given_faults_mid_load_when_customers_sync_then_no_duplicate_no_loss_and_the_watermark_holds(
    sync_env, fault
):
    """R-GEN-2, R-GEN-3, R-GEN-5, R-ACC-1/2: new Accounts -> QuickBooks customers and new
    QuickBooks customers -> Accounts, with faults in the middle of the load (QuickBooks faults on
    the /batch writes, Salesforce faults on the sObject Collections writes). Retryable faults
    are absorbed (everything synced in one run, a Retry-After waited); records refused fail
    alone and are kept to retry; a service down or a spent quota fails the load before the
    commit. After each run: no duplicate, nothing lost, no watermark past unloaded data; the
    next clean run syncs the rest."""
    faults, synced, raises = MATRIX[fault]
    scenario = Scenario(sync_env, "customers")
    sleeps = Sleeps()
    sf, qb = hooks(SHORT_TIMEOUT, sleeps)
    for service, rule in faults:
        sync_env.sandbox.add_fault(service, **rule)
    if raises:
        with pytest.raises((QuotaExceededError, TransientError)):
            scenario.area.run(sf=sf, qb=qb)
        assert scenario.area.state.watermark(SF_STREAM) is None
        assert scenario.area.state.watermark(QB_STREAM) is None
    else:
        report = scenario.area.run(sf=sf, qb=qb)
        assert (report["failed"] == 0) == synced, report
    for service in {service for service, _ in faults}:
        unfired = [f for f in sync_env.sandbox.call(service, "GET", "faults") if not f["fired"]]
        assert not unfired, f"never fired: {unfired}"
    if any(r["kind"] == "drop_after" for service, r in faults if service == QB):
        assert (
            sync_env.sandbox.counters(QB)["by_operation"].get("replay") == 1
        )  # the lost batch answer
    waited = [r["retry_after"] for _, r in faults if r.get("retry_after")]
    assert sleeps.count(30) == len(waited), f"Retry-After not honoured: {sleeps}"
    scenario.check(synced=synced)
    if not synced:
        sync_env.sandbox.clear_faults()
        report = scenario.area.run()
        assert report["failed"] == 0, report
        scenario.check(synced=True)
        # What waits is only what a person must fix (the seed's shared names): no fault's record.
        warned = {w["key"].split()[0] for w in report["warning_entries"]}
        assert set(scenario.area.state.retries(SF_STREAM)) <= warned
        assert {f"QB:{i}" for i in scenario.area.state.retries(QB_STREAM)} <= warned


def test_given_a_partial_collection_and_real_conflicts_when_customers_sync_then_only_those_records_wait(
    sync_env,
):
    """R-GEN-3, R-GEN-5, R-ACC-2: a Salesforce collection where one record is refused (a
    validation rule), a QuickBooks batch where one update meets a SyncToken made stale between
    plan and load (5010) and one create meets a real duplicate DisplayName: the refused ones
    fail alone (kept to retry), the duplicate is linked to the same-named unlinked customer
    instead of made twice; after the next clean run everything is synced, nothing twice."""
    account, customer = linked_pair(sync_env)  # linked before the install date
    scenario = Scenario(sync_env, "customers")
    sf, qb = sync_env.sf(), sync_env.qb()
    assert sf.update("Account", [{"Id": account, "Phone": "555-0100"}])[0].ok
    scenario.expected.accounts.add(account)
    refused = qb.read("Customer", sorted(scenario.expected.customers)[0])["DisplayName"]
    sync_env.sandbox.call(
        SF,
        "POST",
        "validation-rules",
        {
            "object": "Account",
            "when": {"Name": refused},
            "field": "Name",
            "message": "held for review",
        },
    )
    twin = next(
        a
        for a in scenario.before.accounts.values()
        if a["Id"] in scenario.expected.accounts and not a.get(ACCOUNT_EXT_ID)
    )

    def conflicts() -> None:
        current = qb.read("Customer", customer)
        qb.update(
            "Customer",
            {"Id": customer, "SyncToken": current["SyncToken"], "Notes": "edited in QuickBooks"},
        )
        qb.create("Customer", {"DisplayName": twin["Name"]}, None)

    report = scenario.area.run(before_load=conflicts)
    failed = [
        w for w in report["warnings"] if "held for review" in w or "5010" in w or "Stale" in w
    ]
    assert report["failed"] == 2 and len(failed) == 2, report["warnings"]
    scenario.check(synced=False)
    sync_env.sandbox.call(SF, "DELETE", "validation-rules")
    report = scenario.area.run()
    assert report["failed"] == 0, report
    after = scenario.check(synced=True)
    assert sum(c["DisplayName"] == twin["Name"] for c in after.customers.values()) == 1


def test_given_a_refresh_token_rotated_by_a_parallel_task_when_the_load_refreshes_then_it_uses_the_new_one(
    sync_env,
):
    """R-GEN-3, api-notes 2.1: between two tasks, every access token expires and another task
    refreshes through the same connection and token store (the refresh token rotates: the old
    one is dead); then the tokens expire again. The load's hook, which read the old state,
    first adopts the parallel task's token (dead too), then refreshes with the stored newer
    refresh token: no invalid_grant, the run succeeds, the newest token stays stored."""
    scenario = Scenario(sync_env, "customers")
    sf, qb = hooks()
    qb.company_info()  # the load's hook holds the token state of before the rotation
    stale = qb.tokens._cached.refresh_token

    def parallel_task() -> None:
        sync_env.sandbox.call(QB, "POST", "expire-tokens")
        other = QuickBooksHook(retry_policy=FAST)
        other.company_info()  # 401 -> refresh: the refresh token rotates
        assert other.tokens.current().refresh_token != stale
        sync_env.sandbox.call(QB, "POST", "expire-tokens")

    sync_env.sandbox.clear_counters(QB)
    report = scenario.area.run(before_load=parallel_task, sf=sf, qb=qb)
    assert report["failed"] == 0, report
    counters = sync_env.sandbox.counters(QB)["by_operation"]
    assert counters.get("token.refresh_token") == 2, counters  # the parallel task's and the load's
    assert qb.tokens.current().refresh_token == qb.tokens._cached.refresh_token != stale
    scenario.check(synced=True)


def test_given_a_create_whose_answer_is_lost_when_items_sync_then_the_load_stops_and_the_next_run_makes_no_second(
    sync_env,
):
    """R-GEN-2, R-GEN-3: the standard price book entries' create is applied but its answer
    lost (drop_after): a create is never repeated blindly (OutcomeUnknownError), so the load
    fails before the commit; the next run reads the entries that exist and makes none twice."""
    scenario = Scenario(sync_env, "items")
    sync_env.sandbox.add_fault(SF, kind="drop_after", path="/composite/sobjects$", method="POST")
    with pytest.raises(OutcomeUnknownError):
        scenario.area.run()
    assert scenario.area.state.watermark(inv.STREAMS["items"][0]) is None
    scenario.check(synced=False)
    report = scenario.area.run()
    assert report["failed"] == 0 and report["created"] == 0, report
    scenario.check(synced=True)


def test_given_a_customer_created_by_a_failed_load_when_its_account_is_renamed_before_the_next_run_then_no_second_customer(
    sync_env,
):
    """R-GEN-3: a load creates the QuickBooks customers, then fails before the Accounts record
    their links (the daily API quota is spent); a person renames one Account before the next
    run. The next run must link the customer made for it, not create a second one under the
    new name (the duplicate-name check that catches an interrupted create cannot, now)."""
    scenario = Scenario(sync_env, "customers")
    sync_env.sandbox.add_fault(SF, kind="request_limit", path=SF_WRITE, times=None)
    with pytest.raises(QuotaExceededError):
        scenario.area.run()
    sync_env.sandbox.clear_faults()
    renamed = sorted(scenario.expected.accounts)[0]
    (account,) = sync_env.sf().query(soql.select("Account", ["Name"], where=soql.eq("Id", renamed)))
    old_name = account["Name"]
    assert sync_env.sf().update("Account", [{"Id": renamed, "Name": old_name + " Renamed"}])[0].ok
    scenario.area.run()
    after = scenario.check(synced=True)
    made = [c for c in after.customers.values() if c["DisplayName"].startswith(old_name)]
    assert len(made) == 1, [c["DisplayName"] for c in made]


def test_given_a_worker_clock_ahead_of_intuits_when_a_customer_is_edited_after_the_sync_then_the_edit_wins(
    sync_env,
):
    """R-ACC-5, R-GEN-7 (found by the simulation, seed 3, run 4): the worker's clock runs two
    minutes ahead of Intuit's. A customer synced to Salesforce, then renamed in QuickBooks a
    moment later, is a QuickBooks change on the next run: Last_Sync_Date__c is on Intuit's clock
    (the customer's LastUpdatedTime and the extract's answers), never the worker's, so the edit
    is not hidden behind a stamp from the worker's future. Same for a customer the load itself
    wrote to QuickBooks (its stamp is that write's LastUpdatedTime)."""
    from sfqb_sim.worker_clock import WorkerClock

    (from_qb,) = new_customers(sync_env, 1)
    (from_sf,) = new_accounts(sync_env, 1)
    customers = Area(sync_env, "customers", dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
    sf, qb = sync_env.sf(), sync_env.qb()
    ahead = WorkerClock()
    ahead.offset = dt.timedelta(minutes=2)
    with ahead.installed():
        assert customers.run()["failed"] == 0
        accounts = {
            a["Id"]: a
            for a in sf.query(
                soql.select(
                    "Account",
                    ["Id", "Name", ACCOUNT_EXT_ID, "Last_Sync_Date__c"],
                    where=soql.eq(ACCOUNT_EXT_ID, from_qb) + " OR " + soql.eq("Id", from_sf),
                )
            )
        }
        assert len(accounts) == 2
        written = {a[ACCOUNT_EXT_ID]: a for a in accounts.values()}
        # LastUpdatedTime has whole seconds: an edit in the second of the sync's own write looks
        # like that write (a window the worker's clock does not widen any more).
        time.sleep(1.1)
        for qb_id in written:
            current = qb.read("Customer", qb_id)
            stamp = dt.datetime.fromisoformat(
                written[qb_id]["Last_Sync_Date__c"].replace("Z", "+00:00")
            )
            assert stamp < dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30), (
                stamp
            )  # not the worker's clock
            qb.update(
                "Customer",
                {
                    "Id": qb_id,
                    "SyncToken": current["SyncToken"],
                    "DisplayName": current["DisplayName"] + " Renamed",
                },
            )
        assert customers.run()["failed"] == 0
    after = {
        a[ACCOUNT_EXT_ID]: a["Name"]
        for a in sf.query(
            soql.select(
                "Account",
                ["Name", ACCOUNT_EXT_ID],
                where=soql.in_list(ACCOUNT_EXT_ID, list(written)),
            )
        )
    }
    assert after == {qb_id: a["Name"] + " Renamed" for qb_id, a in written.items()}


# -- a worker killed (SIGKILL) in the middle of each load --------------------------------------


def load_in_child(run: dict, area: str) -> None:
    """The child: the area's task chain, as a worker runs it, with its own hooks and database
    connections (a forked child must not share the parent's pooled SQLite connections)."""
    from airflow import settings

    os.setsid()  # its own process group, killed as a whole
    settings.engine.dispose(close=False)
    steps = import_module(f"sfqb.steps.{area}")
    state = SyncState(MetadataDbVariables())
    extracted = steps.extract(run, state=state)
    report = steps.load(run, steps.plan(run, extracted), **_kwargs(steps.load, state=state))
    steps.commit(run, extracted, report, state=state)


# area -> the write that hangs when the worker dies, after the load's earlier writes went
# through: (service, path, method). A hanging request never reaches the server's handler.
KILL_DURING = {
    # The QuickBooks customers exist (batch); the Accounts' links hang.
    "customers": (SF, "/composite/sobjects$", "PATCH"),
    # Products upserted; the standard price book entries' create hangs.
    "items": (SF, "/composite/sobjects$", "POST"),
    # The QuickBooks invoices exist (batch); the Opportunities' links hang.
    "opportunities": (SF, "/composite/sobjects$", "PATCH"),
    # The Invoice__c records are upserted; their Invoice_Item__c upsert hangs.
    "invoices": (SF, "/composite/sobjects/Invoice_Item__c/", "PATCH"),
}


def kill_mid_load(env, area: Area, run: dict) -> None:
    """Run the area in a child process (forked: same Airflow database and sandbox servers,
    no interpreter start-up), wait for its hanging write, SIGKILL its process group."""
    service, path, method = KILL_DURING[area.name]
    env.sandbox.add_fault(service, kind="hang", path=path, method=method, delay_ms=30_000)
    child = multiprocessing.get_context("fork").Process(target=load_in_child, args=(run, area.name))
    child.start()
    try:
        deadline = time.monotonic() + 120
        while not any(f["fired"] for f in env.sandbox.call(service, "GET", "faults")):
            assert child.exitcode is None, f"the child ended first ({child.exitcode})"
            assert time.monotonic() < deadline, "the load's write never started"
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGKILL)
        child.join(30)
    finally:
        if child.exitcode is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.join(30)
    assert child.exitcode == -signal.SIGKILL
    env.sandbox.clear_faults(service)


@pytest.mark.parametrize("area_name", list(KILL_DURING))
def test_given_a_worker_killed_mid_load_when_the_task_runs_again_then_no_duplicate_and_nothing_lost(
    sync_env, area_name, monkeypatch
):
    """R-GEN-2, R-GEN-3, R-GEN-5: the worker running an area's load is killed (SIGKILL) with a
    write in flight, after its earlier writes went through; Airflow retries the task in the
    same DAG run (and meets retryable faults: drops, 503s, an expired session). Nothing was
    committed; the retry syncs everything and creates nothing twice:
    customers by their DisplayName (6240, adopted), items and invoices by External ID upserts,
    and opportunities by the batch's deterministic requestid (the same run replays the first
    answer; the PrivateNote search is switched off here to prove it)."""
    scenario = Scenario(sync_env, area_name)
    area = scenario.area
    run = new_run(area.install)
    sync_env.sandbox.clear_counters()
    kill_mid_load(sync_env, area, run)
    assert all(area.state.watermark(stream) is None for stream in inv.STREAMS[area_name])
    scenario.check(synced=False)
    if area_name == "opportunities":
        made = [
            t
            for t in sync_env.qb().query_all("Invoice")
            if t.get("PrivateNote") in {marker(o) for o in scenario.expected.opportunities}
        ]
        assert len(made) == len(scenario.expected.opportunities)  # created before the kill
        monkeypatch.setattr(area.steps, "created_before", lambda *args: {})
    # The retry meets retryable faults too: a dropped connection, a 503 and an expired
    # Salesforce session on its first writes.
    service, path = (
        (QB, QB_BATCH) if area_name in ("customers", "opportunities") else (SF, SF_WRITE)
    )
    # (items' first write is a create: a 503 is retried, a dropped connection would not be)
    sync_env.sandbox.add_fault(
        service, kind="http_503" if area_name == "items" else "drop", path=path
    )
    sync_env.sandbox.add_fault(service, kind="http_503", path=path)
    sync_env.sandbox.add_fault(SF, kind="expired_session", path=SF_WRITE)
    report = area.run(run=run)
    assert report["failed"] == 0, report
    faults = {s: sync_env.sandbox.call(s, "GET", "faults") for s in (QB, SF)}
    assert all(f["fired"] for found in faults.values() for f in found), faults
    scenario.check(synced=True)
    if area_name == "opportunities":
        assert sync_env.sandbox.counters(QB)["by_operation"].get("replay") == 1
