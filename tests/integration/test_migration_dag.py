"""The historical invoice migration in dag.test() runs of `sfqb_invoice_migration` against both
sandbox servers (docs/rules.md section 6, R-MIG-1..4). The seed's invoices are the history: dated
over the last 300 days, stamped an hour before the test."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest

from sfqb import qbo_queries as q
from sfqb import soql
from sfqb.areas.invoices import EXT_INVOICE, EXT_ITEM, EXT_TXN, SALES_LINE
from sfqb.state import MetadataDbVariables, SyncState
from tests.integration.conftest import report_of

pytestmark = [pytest.mark.integration, pytest.mark.sandbox]

DAG = "sfqb_invoice_migration"
SINCE = (dt.date.today() - dt.timedelta(days=40)).isoformat()  # 14 of the 24 seeded


def history(env, since: str = SINCE) -> dict[str, dict]:
    """The QuickBooks invoices dated on or after ``since``: Id -> record."""
    rows = env.qb().query_all(
        "Invoice", [q.condition("TxnDate", ">=", dt.date.fromisoformat(since))]
    )
    return {r["Id"]: r for r in rows}


def migrated(env) -> tuple[Counter, Counter, list[dict]]:
    """(Invoice__c per External Invoice ID, Invoice_Item__c per External Line ID, placeholders)."""
    sf = env.sf()
    invoices = Counter(r[EXT_INVOICE] for r in sf.query(soql.select("Invoice__c", [EXT_INVOICE])))
    items = Counter(r[EXT_ITEM] for r in sf.query(soql.select("Invoice_Item__c", [EXT_ITEM])))
    placeholders = list(
        sf.query(
            soql.select(
                "Opportunity", ["Id", EXT_TXN, "StageName"], where=soql.eq("StageName", "Migrated")
            )
        )
    )
    return invoices, items, placeholders


def sales_line_ids(records: dict[str, dict]) -> Counter:
    return Counter(
        f"Invoice:{i}:{line['Id']}"
        for i, r in records.items()
        for line in r["Line"]
        if line["DetailType"] == SALES_LINE
    )


def migrate(env, task_retries: int | None = None, **conf) -> tuple[dict, dict]:
    """One run of the migration DAG; returns (task states, the migration's report)."""
    _, states, summary = env.run(
        DAG, run_conf={"migration_date": SINCE, **conf}, task_retries=task_retries
    )
    return states, report_of(summary, "migration") if summary else {}


def test_given_seeded_history_when_migrated_then_each_invoice_once_unlinked_and_a_second_trigger_does_nothing(
    sync_env,
):
    """R-MIG-1, R-MIG-2, R-MIG-3, R-MIG-4: every invoice dated on or after the migration date
    becomes one Invoice__c with its items, none older; no Opportunity is made or linked with the
    option off; an Invoice__c already in Salesforce (as the ongoing sync would have made it) is
    skipped, not overwritten; items without a Product are one warning per item; the completion
    is recorded and a second trigger writes nothing and says it already ran. R-INV-7: the
    invoices of the seed's project take its parent customer's Account (the project has none)."""
    wanted = history(sync_env)
    assert 3 <= len(wanted) < len(history(sync_env, "2000-01-01"))
    first = min(wanted, key=int)
    sync_env.sf().upsert(
        "Invoice__c",
        [{EXT_INVOICE: first, "Name": "Made by the ongoing sync"}],
        ext_id_field=EXT_INVOICE,
    )
    project = next(c for c in sync_env.qb().query_all("Customer") if c.get("IsProject"))
    of_project = [
        i for i, r in wanted.items() if r["CustomerRef"]["value"] == project["Id"] and i != first
    ]
    assert of_project, "the seed has no invoice of its project in the history"
    (parent,) = sync_env.sf().create(
        "Account",
        [
            {
                "Name": "Parent of the project",
                "External_Account_ID__c": project["ParentRef"]["value"],
            }
        ],
    )

    states, report = migrate(sync_env)

    assert set(states.values()) == {"success"}, states
    invoices, items, placeholders = migrated(sync_env)
    assert invoices == Counter(dict.fromkeys(wanted, 1))
    (kept,) = sync_env.sf().query(
        soql.select("Invoice__c", ["Name"], where=soql.eq(EXT_INVOICE, first))
    )
    assert kept["Name"] == "Made by the ongoing sync"
    others = {i: r for i, r in wanted.items() if i != first}
    assert items == sales_line_ids(others)
    assert placeholders == []
    billed = sync_env.sf().query(
        soql.select(
            "Invoice__c", [EXT_INVOICE, "Account__c"], where=soql.in_list(EXT_INVOICE, of_project)
        )
    )
    assert {r[EXT_INVOICE]: r["Account__c"] for r in billed} == dict.fromkeys(of_project, parent.id)
    assert (report["invoices_written"], report["already_in_salesforce"]) == (len(others), 1)
    product_warnings = [w for w in report["warnings"] if "has no Product" in w]
    assert product_warnings and len(product_warnings) == len(
        {w.split(" has no Product")[0] for w in product_warnings}
    )
    saved = SyncState(MetadataDbVariables()).migration()
    assert (saved["status"], saved["migrated"], saved["failed"]) == ("done", len(others), [])

    sync_env.sandbox.clear_counters()
    states, report = migrate(sync_env)
    assert set(states.values()) == {"success"}, states
    assert report["action"] == "skip" and "already ran" in report["message"]
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}


def test_given_a_dry_run_when_triggered_then_counts_are_planned_and_nothing_is_written(
    sync_env, caplog
):
    """R-MIG-1, R-MIG-3: a dry run reads and plans every chunk and reports what it would write
    per Salesforce record type (``dry_run``, ``would_write``: what the sync log shows), its
    summary and progress lines say planned, not written; both sandboxes' write counters stay 0
    and no migration state is recorded."""
    from sfqb.report import format_summary

    wanted = history(sync_env)
    items = sum(sales_line_ids(wanted).values())
    _, states, summary = sync_env.run(
        DAG,
        run_conf={
            "migration_date": SINCE,
            "dry_run": True,
            "chunk_size": 4,
            "create_missing_opportunities": "yes",
        },
    )
    assert set(states.values()) == {"success"}, states
    report = report_of(summary, "migration")
    assert report["dry_run"] is True
    assert report["would_write"] == {
        "Salesforce Invoice": len(wanted),
        "Salesforce Invoice Item": items,
        "Salesforce Opportunity": len(wanted),
        "Salesforce Invoice-Opportunity Link": len(wanted),
    }
    assert (
        f"  migration: dry run: nothing written; would write {len(wanted)} invoices, {items} "
        f"items, {len(wanted)} placeholder opportunities, {len(wanted)} invoice-opportunity links"
    ) in format_summary(summary).splitlines()
    progress = [r.getMessage() for r in caplog.records if "migration: chunk" in r.getMessage()]
    assert progress and all(" planned, " in p and " written" not in p for p in progress)
    assert sync_env.writes() == {"quickbooks": 0, "salesforce": 0}
    assert SyncState(MetadataDbVariables()).migration() is None


def test_given_a_migration_interrupted_mid_chunk_when_triggered_again_then_every_invoice_once_with_its_items_and_placeholder(
    sync_env,
):
    """R-MIG-2, R-MIG-3, R-MIG-4: with placeholders on and chunks of 3, the Salesforce API fails
    for good after the first chunk's writes (the task dies mid-chunk, after the second chunk's
    placeholders and invoices but before its items); the next trigger resumes there and ends
    with every invoice once, every item, and one "Migrated" Opportunity linked per invoice."""
    wanted = history(sync_env)
    assert len(wanted) > 6
    # Chunk 1: placeholders, invoices, items, links (4 collection calls); chunk 2: placeholders
    # and invoices pass, its items fail (with every retry) and the task fails.
    sync_env.sandbox.add_fault(
        "salesforce", kind="http_503", path="composite/sobjects", skip=6, times=None
    )
    states, _ = migrate(sync_env, task_retries=0, chunk_size=3, create_missing_opportunities="yes")
    assert states["migrate_invoices"] == "failed", states
    saved = SyncState(MetadataDbVariables()).migration()
    assert (saved["status"], saved["next_position"]) == ("running", 4)
    sync_env.sandbox.clear_faults("salesforce")

    states, report = migrate(sync_env, chunk_size=3, create_missing_opportunities="yes")

    assert set(states.values()) == {"success"}, states
    invoices, items, placeholders = migrated(sync_env)
    assert invoices == Counter(dict.fromkeys(wanted, 1))
    assert items == sales_line_ids(wanted)
    assert Counter(p[EXT_TXN] for p in placeholders) == Counter(dict.fromkeys(wanted, 1))
    links = Counter(
        r["Invoice__r"][EXT_INVOICE]
        for r in sync_env.sf().query(
            soql.select("Invoice_Opportunity_Link__c", ["Invoice__r.External_Invoice_ID__c"])
        )
    )
    assert links == Counter(dict.fromkeys(wanted, 1))
    assert SyncState(MetadataDbVariables()).migration()["status"] == "done"
    assert report["failed"] == 0


def test_given_the_migration_preference_on_when_the_sync_runs_then_it_triggers_the_migration_once(
    sync_env,
):
    """R-MIG-3, preferences (`migrate_historical_invoices`): "the migration runs the next time the
    sync runs": sfqb_sync's start_migration triggers sfqb_invoice_migration (its params from
    the preferences) while the migration has not run (when not: unit-tested)."""
    from airflow.models.dagrun import DagRun

    migrate(sync_env, dry_run=True)  # the migration DAG is known to Airflow (as once parsed)
    sync_env.set_preferences(migrate_historical_invoices=True, migration_date=SINCE)
    dag_run, states, _ = sync_env.run()
    assert set(states.values()) == {"success"}, states
    (triggered,) = [
        r for r in DagRun.find(dag_id=DAG) if r.run_id == f"migration_from__{dag_run.run_id}"
    ]
    assert triggered.conf == {"migration_date": SINCE}  # the form's required date
