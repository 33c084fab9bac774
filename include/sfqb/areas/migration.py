"""The historical invoice migration's rules (docs/rules.md section 6, R-MIG-1..4), pure.

The invoice rules themselves are the invoices area's (``sfqb.areas.invoices``): the migration
only decides what to read (invoices with TxnDate on or after the migration date, in chunks),
what to leave alone (invoices already in Salesforce), where to resume, and how to report.

The migration's state (``sfqb.migration`` in the sync state) is one JSON value::

    {"status": "running" | "done", "migration_date": "2025-01-01",
     "create_missing_opportunities": false, "chunk_size": 1000, "next_position": 3001,
     "chunks_done": 3, "total": 100000, "migrated": 2990, "already_in_salesforce": 10,
     "failed": ["123", ...], "run_id": "...", "started_at": "...", "updated_at": "...",
     "finished_at": "..."}

``next_position`` is the 1-based STARTPOSITION of the first chunk not yet loaded.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sfqb.records import NOTE_KIND, warning

if TYPE_CHECKING:  # the DAG file imports this module's constants: no pandas at parse time
    import pandas as pd

AREA = "migration"
MAX_CHUNK = 1000  # QBO's largest page (MAXRESULTS)
RUNNING, DONE = "running", "done"
FROM_PREFERENCES = "from preferences"
CHOICES = {FROM_PREFERENCES: None, "yes": True, "no": False}
RESET_HINT = "python -m sfqb state reset migration"
# How many record keys one aggregated warning lists.
SAMPLE_KEYS = 5


class MigrationConfigError(ValueError):
    """The migration cannot start; the message names the key (param or preference)."""


@dataclass(frozen=True)
class MigrationSettings:
    """What one migration run does (the trigger form's params over the preferences)."""

    migration_date: dt.date
    create_missing_opportunities: bool
    dry_run: bool = False
    chunk_size: int = MAX_CHUNK

    def as_json(self) -> dict:
        return {
            "migration_date": self.migration_date.isoformat(),
            "create_missing_opportunities": self.create_missing_opportunities,
            "dry_run": self.dry_run,
            "chunk_size": self.chunk_size,
        }

    @classmethod
    def from_json(cls, value: dict) -> MigrationSettings:
        return cls(
            migration_date=dt.date.fromisoformat(value["migration_date"]),
            create_missing_opportunities=bool(value["create_missing_opportunities"]),
            dry_run=bool(value["dry_run"]),
            chunk_size=int(value["chunk_size"]),
        )


# The trigger form's title of each param: messages name a param as the form shows it.
TITLES = {
    "migration_date": "Migration date",
    "create_missing_opportunities": "Create missing opportunities",
    "dry_run": "Dry run",
    "chunk_size": "Chunk size",
}


def _named(param: str) -> str:
    return f"{TITLES[param]} ({param})"


def resolve_settings(prefs, params: dict | None) -> MigrationSettings:
    """The run's settings: a param the trigger form set wins over its preference
    (``migration_date``, ``migration_create_missing_opportunities``).

    Raises:
        MigrationConfigError: one sentence per missing or bad setting, naming it and what it
        may be.
    """
    params = params or {}
    problems = []
    raw_date = params.get("migration_date")
    date = prefs.migration_date
    if raw_date is not None and str(raw_date).strip():
        try:
            date = dt.date.fromisoformat(str(raw_date).strip()[:10])
        except ValueError:
            problems.append(
                f"{_named('migration_date')} is {json.dumps(str(raw_date))}, which is not a "
                "date: give a day as YYYY-MM-DD."
            )
    if date is None and not problems:
        problems.append(
            f"{_named('migration_date')} is not set: pick the day in the trigger form "
            "(invoices dated on or after it are migrated), or set migration_date in the "
            "preferences (Variable sfqb.preferences)."
        )
    choice = params.get("create_missing_opportunities", FROM_PREFERENCES)
    if isinstance(choice, bool):
        create: bool | None = choice
    elif choice in CHOICES:
        create = CHOICES[choice]
        if create is None:
            create = prefs.migration_create_missing_opportunities
    else:
        problems.append(
            f"{_named('create_missing_opportunities')} is {json.dumps(choice, default=str)}: "
            f"choose {', '.join(CHOICES)}."
        )
        create = False
    dry_run = params.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append(
            f"{_named('dry_run')} is {json.dumps(dry_run, default=str)}: it is true or false."
        )
    chunk = params.get("chunk_size", MAX_CHUNK)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= MAX_CHUNK:
        problems.append(
            f"{_named('chunk_size')} is {json.dumps(chunk, default=str)}: give a whole number "
            f"from 1 to {MAX_CHUNK}."
        )
    if problems:
        raise MigrationConfigError(" ".join(problems))
    return MigrationSettings(
        migration_date=date,
        create_missing_opportunities=bool(create),
        dry_run=bool(dry_run),
        chunk_size=int(chunk),
    )


def already_ran(saved: dict | None) -> str | None:
    """The log line for a migration that has completed with nothing left to retry, else None."""
    if not saved or saved.get("status") != DONE or saved.get("failed"):
        return None
    return (
        f"the historical invoice migration already ran (invoices dated on or after "
        f"{saved.get('migration_date')}; finished {saved.get('finished_at')} in run "
        f"{saved.get('run_id')}: {saved.get('migrated', 0)} migrated, "
        f"{saved.get('already_in_salesforce', 0)} already in Salesforce). It runs once (R-MIG-3); "
        f"to run it again: `{RESET_HINT}`, then trigger it"
    )


def sync_should_start(prefs, saved: dict | None) -> tuple[bool, str]:
    """Whether ``sfqb_sync`` starts the migration now (preference ``migrate_historical_invoices``:
    "the migration runs the next time the sync runs", guide), and the log line saying why. An
    interrupted or partly failed migration is not re-triggered every hour: the line says how to
    continue it."""
    if not prefs.migrate_historical_invoices:
        return False, "migrate_historical_invoices is off: the historical migration is not started"
    if not saved:
        return True, "migrate_historical_invoices is on and the migration has not run: starting it"
    if saved.get("status") == RUNNING or saved.get("failed"):
        why = (
            "it was interrupted"
            if saved.get("status") == RUNNING
            else f"{len(saved['failed'])} invoices failed"
        )
        return False, (
            f"the historical migration (run {saved.get('run_id')}) has not finished "
            f"({why}): trigger sfqb_invoice_migration to continue it"
        )
    return False, f"the historical migration already ran (finished {saved.get('finished_at')})"


def resuming(saved: dict | None, settings: MigrationSettings) -> bool:
    """True when ``saved`` is an interrupted migration of the same date (this run resumes it)."""
    return (
        saved is not None
        and saved.get("status") == RUNNING
        and (saved.get("migration_date") == settings.migration_date.isoformat())
    )


def start_position(saved: dict | None, settings: MigrationSettings) -> tuple[int, str]:
    """Where this run starts reading (1-based) and a log line saying why.

    An interrupted migration of the same date resumes one chunk before the first chunk it had
    not finished: records deleted in QuickBooks meanwhile shift later ones to lower positions,
    and the step back keeps them from falling into a gap; what is read twice is already in
    Salesforce and skipped."""
    if not saved or saved.get("status") != RUNNING:
        return 1, "starting the migration from the first invoice"
    if not resuming(saved, settings):
        return 1, (
            f"an earlier migration from {saved.get('migration_date')} stopped before it finished; "
            f"this one is from {settings.migration_date.isoformat()}: starting from the first "
            "invoice (invoices already in Salesforce are skipped)"
        )
    resumed = int(saved.get("next_position") or 1)
    position = max(1, resumed - settings.chunk_size)
    return position, (
        f"resuming the interrupted migration (run {saved.get('run_id')}, "
        f"{saved.get('chunks_done', 0)} chunks done) at invoice {position}"
    )


def chunk_count(total: int, start: int, chunk_size: int) -> int:
    """Chunks left to read from ``start`` (1-based) of ``total`` invoices."""
    return max(1, math.ceil(max(0, total - start + 1) / chunk_size))


def progress_line(
    *,
    chunk: int,
    chunks: int,
    records: int,
    written: int,
    skipped: int,
    done: int,
    total: int,
    elapsed: float,
    read_here: int | None = None,
    dry_run: bool = False,
) -> str:
    """One progress line per chunk (R-MIG-4): chunk n of m, records, elapsed, rate. ``done``
    counts from the first invoice (a resumed run starts past it); the rate is this run's
    (``read_here`` invoices in ``elapsed`` seconds; default ``done``). A dry run's invoices
    are "planned", not "written"."""
    rate = (done if read_here is None else read_here) / elapsed if elapsed > 0 else 0.0
    left = max(0, total - done)
    eta = f", about {left / rate:.0f} s left" if rate and left else ""
    return (
        f"migration: chunk {chunk} of {chunks}: {records} invoices read, {written} "
        f"{'planned' if dry_run else 'written'}, "
        f"{skipped} already in Salesforce; {done} of {total} invoices in {elapsed:.1f} s "
        f"({rate:.1f} invoices/s{eta})"
    )


def grouped_warnings(notes: pd.DataFrame) -> list[dict]:
    """The invoice plan's per-record notes folded into one warning per distinct reason (one per
    missing Product, one per customer without an Account: R-MIG-4), with how many records and
    the first few keys. A history of 100k invoices with one item missing its Product is one
    warning, not 100k."""
    if notes is None or notes.empty:
        return []
    out = []
    for reason, group in notes.groupby("reason", sort=True):
        keys = list(group["key"].astype(str))
        listed = ", ".join(keys[:SAMPLE_KEYS]) + (", ..." if len(keys) > SAMPLE_KEYS else "")
        out.append(
            warning(
                AREA,
                "",
                f"{reason} ({len(keys)} record{'' if len(keys) == 1 else 's'}: {listed})",
                NOTE_KIND,
            )
        )
    return out


Frames = TypeVar("Frames", bound=Mapping[str, Any])
"""The invoice area's plan inputs (``sfqb.steps.invoices.Inputs``)."""


def without_existing(extracted: Frames, existing: set[str]) -> Frames:
    """The extracted invoice frames without the invoices already in Salesforce (R-MIG-3:
    skipped, never duplicated and never overwritten by the migration)."""
    from sfqb.frames import isin

    if not existing:
        return extracted
    out = dict(extracted)
    out["invoices"] = extracted["invoices"][~isin(extracted["invoices"]["Id"], existing)]
    out["lines"] = extracted["lines"][~isin(extracted["lines"]["TxnId"].astype(str), existing)]
    out["sales_orders"] = extracted["sales_orders"][
        ~isin(extracted["sales_orders"]["invoice_id"].astype(str), existing)
    ]
    return cast(Frames, out)
