"""Sync preferences (docs/rules.md section 8): defaults in code, overrides from the Variable
``sfqb.preferences`` (JSON), validated when a run starts.

A bad preference fails the run at its first task with a message that names every offending key,
so nothing half-syncs on a typo. Changes take effect on the next run.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

VARIABLE_KEY = "sfqb.preferences"
# The project root (the directory holding dags/ and include/: the repository here, /opt/airflow
# in the Docker image). A relative custom_mappings_path is resolved against it.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
EDITIONS = ("online", "desktop")
PRODUCT_NAME_FIELDS = ("Name", "FullyQualifiedName")
ALERT_LEVELS = ("WARNING", "ERROR")


class PreferencesError(ValueError):
    """The preferences cannot be used; the message names every bad key and why."""


@dataclass(frozen=True)
class Preferences:
    # General
    allow_salesforce_to_modify_quickbooks: bool = False
    quickbooks_edition: str = "online"
    # Customers
    sync_accounts_without_won_opportunities: bool = False
    # Opportunities
    sync_won_opportunities: bool = True
    update_opportunities_from_quickbooks: bool = True
    # Items
    sync_items: bool = True
    product_name_field: str = "Name"
    sync_inventory_quantities: bool = False
    # Invoices
    sync_invoices: bool = True
    create_missing_opportunities: bool = False
    # Historical migration
    migrate_historical_invoices: bool = False
    migration_create_missing_opportunities: bool = False
    migration_date: dt.date | None = None
    # Install date: the ongoing syncs pull only what changed on or after it (R-GEN-6). Empty:
    # the first run's start is recorded in the sync state and used from then on.
    sync_start: dt.datetime | None = None
    # Operations (sfqb's own preference): how far each extract window reaches back before its
    # watermark, to catch records committed late with an earlier timestamp (Airbyte uses 10 min
    # for Salesforce's SystemModstamp). Overlap is harmless: loads compare values.
    lookback_minutes: int = 10
    # Custom field mappings (docs/rules.md section 7, docs/mapping.md): a versioned YAML file; empty
    # means the default maps only. A relative path is resolved against PROJECT_ROOT.
    custom_mappings_path: str | None = None
    # Reconciliation (docs/reconciliation.md): after the areas, compare both systems
    # on what the sync owns and warn about every difference. Off: the run skips the comparison.
    reconcile: bool = True
    # Alerts (R-OPS-3, docs/operations.md): e-mail these addresses (comma-separated; empty: no
    # alerts) when a run fails, or ends with warnings (WARNING) / failed records (ERROR),
    # through the Airflow SMTP connection alert_smtp_conn_id.
    alert_emails: str | None = None
    alert_min_level: str = "WARNING"
    alert_smtp_conn_id: str = "smtp_default"
    # One writer at a time (R-GEN-10, sfqb.lease, docs/operations.md): a run that finds another
    # holding the run lease waits up to lease_wait_seconds, then ends without writing, naming
    # the holder; a lease whose heartbeat stopped (its run died) expires after
    # lease_expiry_seconds. Keep the expiry above 1.5 times the longest pause between two tasks
    # of a run (retry delays, a full queue): a run whose lease aged past two thirds of it stops.
    lease_wait_seconds: int = 900
    lease_expiry_seconds: int = 1800

    @property
    def is_online(self) -> bool:
        return self.quickbooks_edition == "online"

    @property
    def custom_mappings_file(self) -> Path | None:
        """The custom mapping file, resolved (None: defaults only)."""
        return resolve_path(self.custom_mappings_path) if self.custom_mappings_path else None

    def as_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, dt.date | dt.datetime):
                out[key] = value.isoformat()
        return out


_FIELDS = {f.name: f for f in fields(Preferences)}


def resolve_path(value: str) -> Path:
    """A path from a preference: absolute as given, relative against PROJECT_ROOT."""
    path = Path(value).expanduser()
    return path if path.is_absolute() else PROJECT_ROOT / path


def _parse_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return dt.date.fromisoformat(str(value))


def _parse_datetime(value: Any) -> dt.datetime:
    parsed = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-01-31T00:00:00+00:00")
    return parsed.astimezone(dt.UTC)


def _coerce(name: str, value: Any) -> Any:
    kind = _FIELDS[name].type
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"must be true or false, not {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"must be a whole number >= 0, not {value!r}")
        return value
    if value is None:
        if "None" in kind:
            return None
        raise ValueError("must not be empty")
    if kind == "dt.date | None":
        return _parse_date(value)
    if kind == "dt.datetime | None":
        return _parse_datetime(value)
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {value!r}")
    return value


def parse_preferences(raw: str | dict | None) -> Preferences:
    """Validate the Variable's value (JSON text or an already parsed dict) into Preferences.

    Raises:
        PreferencesError: naming every unknown key and every key with a bad value.
    """
    if raw is None or raw == "":
        return Preferences()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise PreferencesError(
                f"Variable {VARIABLE_KEY} is not valid JSON ({exc.msg} at line {exc.lineno} "
                f"column {exc.colno})"
            ) from exc
    if not isinstance(raw, dict):
        raise PreferencesError(
            f"Variable {VARIABLE_KEY} must be a JSON object, not {type(raw).__name__}"
        )

    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _FIELDS:
            problems.append(f"{key}: unknown preference (known: {', '.join(sorted(_FIELDS))})")
            continue
        try:
            values[key] = _coerce(key, value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{key}: {exc}")
    if not problems:
        problems.extend(_check_rules(values))
    if problems:
        raise PreferencesError(
            f"Variable {VARIABLE_KEY} has {len(problems)} problem(s):\n  - "
            + "\n  - ".join(problems)
        )
    return Preferences(**values)


def _check_rules(values: dict[str, Any]) -> list[str]:
    """Rules that tie preferences together (docs/rules.md section 8 and R-ITM-4)."""
    prefs = Preferences(**values)
    problems = []
    if prefs.quickbooks_edition not in EDITIONS:
        problems.append(
            f"quickbooks_edition: must be one of {', '.join(EDITIONS)}, not "
            f"{prefs.quickbooks_edition!r}"
        )
    if prefs.product_name_field not in PRODUCT_NAME_FIELDS:
        problems.append(
            f"product_name_field: must be one of {', '.join(PRODUCT_NAME_FIELDS)}, not "
            f"{prefs.product_name_field!r}"
        )
    if prefs.sync_inventory_quantities and prefs.is_online:
        problems.append(
            "sync_inventory_quantities: inventory quantities are a QuickBooks Desktop feature "
            "(R-ITM-4); QuickBooks Online does not support it: set it to false"
        )
    if prefs.sync_inventory_quantities and not prefs.sync_items:
        problems.append("sync_inventory_quantities: requires sync_items to be true (R-ITM-4)")
    if prefs.migrate_historical_invoices and prefs.migration_date is None:
        problems.append(
            "migration_date: required when migrate_historical_invoices is true (R-MIG-1)"
        )
    if prefs.lease_expiry_seconds < 1:
        problems.append("lease_expiry_seconds: must be at least 1 (seconds; default 1800)")
    if prefs.alert_min_level not in ALERT_LEVELS:
        problems.append(
            f"alert_min_level: must be one of {', '.join(ALERT_LEVELS)}, not "
            f"{prefs.alert_min_level!r}"
        )
    mappings = prefs.custom_mappings_file
    if mappings is not None and not mappings.is_file():
        problems.append(
            f"custom_mappings_path: no file at {mappings} (a relative path is resolved against "
            f"{PROJECT_ROOT}; see docs/mapping.md)"
        )
    return problems
