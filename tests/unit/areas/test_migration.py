"""The historical migration's pure rules (docs/rules.md section 6): settings, resume, progress,
warnings."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from sfqb.areas import migration as mig
from sfqb.areas.invoices import EXT_INVOICE, EXT_LINK, plan_invoices
from sfqb.outcomes import WARNING, skips, warning_line
from sfqb.preferences import Preferences
from sfqb.steps.invoices import invoice_frames
from tests.unit.areas.test_invoices import inputs, opp, qb_invoice

pytestmark = pytest.mark.unit

SETTINGS = mig.MigrationSettings(dt.date(2025, 1, 1), False, chunk_size=100)


def test_given_params_and_preferences_when_resolved_then_a_set_param_wins_and_empty_ones_fall_back():
    """R-MIG-1, R-MIG-2: the trigger form's params override the preferences; "from preferences"
    and an empty date take the preference."""
    prefs = Preferences(
        migration_date=dt.date(2024, 6, 1), migration_create_missing_opportunities=True
    )
    assert mig.resolve_settings(prefs, {}) == mig.MigrationSettings(dt.date(2024, 6, 1), True)
    assert (
        mig.resolve_settings(
            prefs, {"migration_date": "", "create_missing_opportunities": "from preferences"}
        ).create_missing_opportunities
        is True
    )
    chosen = mig.resolve_settings(
        prefs,
        {
            "migration_date": "2025-02-03",
            "create_missing_opportunities": "no",
            "dry_run": True,
            "chunk_size": 7,
        },
    )
    assert chosen == mig.MigrationSettings(dt.date(2025, 2, 3), False, dry_run=True, chunk_size=7)


def test_given_no_migration_date_anywhere_when_resolved_then_the_error_names_the_key():
    """R-MIG-1: a bad configuration fails at the start, one sentence per problem naming the
    param as the form shows it and what it may be; every problem at once."""
    with pytest.raises(mig.MigrationConfigError) as caught:
        mig.resolve_settings(
            Preferences(), {"create_missing_opportunities": "maybe", "chunk_size": 5000}
        )
    assert str(caught.value) == (
        "Migration date (migration_date) is not set: pick the day in the trigger form (invoices "
        "dated on or after it are migrated), or set migration_date in the preferences "
        "(Variable sfqb.preferences). Create missing opportunities (create_missing_opportunities) "
        'is "maybe": choose from preferences, yes, no. Chunk size (chunk_size) is 5000: give a '
        "whole number from 1 to 1000."
    )
    with pytest.raises(mig.MigrationConfigError) as caught:
        mig.resolve_settings(Preferences(), {"migration_date": "31/01/2025"})
    assert str(caught.value) == (
        'Migration date (migration_date) is "31/01/2025", which is not a date: give a day as '
        "YYYY-MM-DD."
    )


def test_given_saved_states_when_checked_then_only_a_clean_completion_counts_as_already_ran():
    """R-MIG-3: done with nothing failed -> already ran (with the reset command); done with
    failures, running or nothing saved -> not."""
    done = {"status": "done", "migration_date": "2025-01-01", "failed": [], "migrated": 5}
    assert "python -m sfqb state reset migration" in mig.already_ran(done)
    assert mig.already_ran({**done, "failed": ["7"]}) is None
    assert mig.already_ran({**done, "status": "running"}) is None
    assert mig.already_ran(None) is None


def test_given_an_interrupted_migration_when_resumed_then_it_steps_back_one_chunk():
    """R-MIG-3 (resumable): the same date resumes one chunk before the first unfinished chunk;
    another date or no saved run starts at the first invoice."""
    running = {"status": "running", "migration_date": "2025-01-01", "next_position": 501}
    assert mig.start_position(running, SETTINGS)[0] == 401
    assert mig.resuming(running, SETTINGS)
    assert mig.start_position({**running, "next_position": 51}, SETTINGS)[0] == 1
    assert mig.start_position({**running, "migration_date": "2024-01-01"}, SETTINGS)[0] == 1
    assert not mig.resuming({**running, "migration_date": "2024-01-01"}, SETTINGS)
    assert mig.start_position(None, SETTINGS) == (
        1,
        "starting the migration from the first invoice",
    )


def test_given_progress_when_formatted_then_the_line_has_chunk_records_elapsed_and_rate():
    """R-MIG-4: one progress line per chunk: chunk n of m, records, elapsed, rate; a dry run's
    invoices are planned, not written."""
    line = mig.progress_line(
        chunk=3,
        chunks=10,
        records=1000,
        written=990,
        skipped=10,
        done=3000,
        total=10000,
        elapsed=60.0,
    )
    assert line.startswith("migration: chunk 3 of 10: 1000 invoices read, 990 written, 10 already")
    assert "3000 of 10000 invoices in 60.0 s (50.0 invoices/s, about 140 s left)" in line
    assert mig.chunk_count(10000, 3001, 1000) == 7
    resumed = mig.progress_line(
        chunk=1,
        chunks=7,
        records=1000,
        written=1000,
        skipped=0,
        done=4000,
        total=10000,
        elapsed=10.0,
        read_here=1000,
    )
    assert "4000 of 10000 invoices in 10.0 s (100.0 invoices/s, about 60 s left)" in resumed
    planned = mig.progress_line(
        chunk=1,
        chunks=1,
        records=5,
        written=4,
        skipped=1,
        done=5,
        total=5,
        elapsed=1.0,
        dry_run=True,
    )
    assert planned.startswith("migration: chunk 1 of 1: 5 invoices read, 4 planned, 1 already")


def test_given_many_lines_missing_one_product_when_grouped_then_one_warning_per_product():
    """R-MIG-4: one warning per missing Product (and per reason), counting its records."""
    notes = pd.concat(
        [
            skips(
                [f"QB:Invoice:{i} line 1" for i in range(12)],
                "item 'Ink' has no Product",
                WARNING,
                record="Salesforce Invoice Item",
            ),
            skips(
                ["QB:Invoice:3 line 2"],
                "item 'Paper' has no Product",
                WARNING,
                record="Salesforce Invoice Item",
            ),
        ]
    )
    lines = [warning_line(w) for w in mig.grouped_warnings(notes)]
    assert lines == [
        "migration: item 'Ink' has no Product (12 records: QB:Invoice:0 line 1, QB:Invoice:1 line 1, "
        "QB:Invoice:2 line 1, QB:Invoice:3 line 1, QB:Invoice:4 line 1, ...)",
        "migration: item 'Paper' has no Product (1 record: QB:Invoice:3 line 2)",
    ]
    assert mig.grouped_warnings(None) == []


def test_given_invoices_already_in_salesforce_when_filtered_then_their_rows_are_dropped_everywhere():
    """R-MIG-3: invoices already in Salesforce are left out of the plan's inputs (header,
    lines and sales orders)."""
    invoices, lines, orders = invoice_frames([qb_invoice("130"), qb_invoice("131")])
    kept = mig.without_existing(
        {"invoices": invoices, "lines": lines, "sales_orders": orders}, {"130"}
    )
    assert list(kept["invoices"]["Id"]) == ["131"]
    assert set(kept["lines"]["TxnId"]) == {"131"}


def test_given_a_placeholder_an_interrupted_attempt_made_when_planned_then_it_is_linked_not_duplicated():
    """R-MIG-2, R-INV-3: the invoice's own "Migrated" placeholder (left unlinked by an attempt
    that stopped) is linked; no second placeholder; an existing Opportunity of another stage
    is still neither linked nor replaced."""
    own = {**opp("006P", "Invoice", "130"), "StageName": "Migrated"}
    plan = plan_invoices(
        inputs(
            [qb_invoice("130"), qb_invoice("131")],
            opportunities=[own, {**opp("006A", "Invoice", "131"), "StageName": "Closed Won"}],
        ),
        create_missing_opportunities=True,
        link_opportunities=False,
    )
    assert plan.placeholders == []
    assert [(link[EXT_LINK], link["Opportunity__c"]) for link in plan.links] == [
        ("130:006P", "006P")
    ]
    assert plan.links[0]["Invoice__r"] == {EXT_INVOICE: "130"}
    assert list(plan.skips["key"]) == ["QB:Invoice:131"]


def test_given_the_migration_preference_and_state_when_the_sync_asks_then_only_a_never_started_one_starts():
    """Preferences (`migrate_historical_invoices`), R-MIG-3: the sync starts the migration only
    with the preference on and nothing saved; interrupted or partly failed ones are named with
    how to continue, a finished one is left alone."""
    on = Preferences(migrate_historical_invoices=True, migration_date=dt.date(2025, 1, 1))
    assert mig.sync_should_start(Preferences(), None)[0] is False
    assert mig.sync_should_start(on, None)[0] is True
    start, why = mig.sync_should_start(on, {"status": "running", "run_id": "r1"})
    assert not start and "interrupted" in why and "trigger sfqb_invoice_migration" in why
    start, why = mig.sync_should_start(on, {"status": "done", "failed": ["7", "8"]})
    assert not start and "2 invoices failed" in why
    assert mig.sync_should_start(on, {"status": "done", "failed": [], "finished_at": "t"}) == (
        False,
        "the historical migration already ran (finished t)",
    )
