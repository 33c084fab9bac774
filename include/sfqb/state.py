"""The sync state: per-stream watermarks, the install date, first-run and migration flags.

Each piece is a small JSON value in its own Airflow Variable under the ``sfqb.`` prefix, so two
areas committing at once never overwrite each other, and an operator can see and reset every
piece in the UI or with ``python -m sfqb state show|reset`` (R-OPS-5).

Keys:
- ``sfqb.watermark.<stream>``: ``{"value", "committed_at", "run_id"}``; a stream is one extract
  (``quickbooks.Customer``, ``salesforce.Account``, ...).
- ``sfqb.install``: ``{"sync_start", "recorded_at"}``, the install date of R-GEN-6.
- ``sfqb.first_run.<name>``: ``{"done_at", "run_id", "details"}`` (first-run matching, R-PRE-6).
- ``sfqb.migration``: the historical migration's status and progress (R-MIG-3).
- ``sfqb.retry.<stream>``: ``{"records": {id: {"attempts", "failed_at"}}, "run_id"}``, records
  that failed (or were held back by something outside them); the next run reads them again
  whatever their timestamps (R-GEN-5: nothing is lost). A record that keeps failing unchanged is
  retried less often (``retry_delay``), so a quiet run's cost does not grow with the records
  that cannot succeed; one that changes is read by its window at once anyway.
- ``sfqb.waiting.<stream>``: ``{"customers": {QuickBooks customer Id: [record ids]}, "run_id"}``,
  records loaded without an Account because none of those customers has one (an inactive
  customer, one not linked yet, a project's ancestors: R-INV-7). They are not retried: each run
  asks Salesforce once whether any of those customers now has an Account and reads only the
  records waiting on it again; a record read for another reason (it changed) leaves the list or
  re-enters it as its new plan says.
- ``sfqb.pending.<area>``: ``{"records": {Salesforce Id: QuickBooks name}, "run_id"}``, creates
  sent to QuickBooks whose link was not yet recorded in Salesforce: a later run adopts what an
  interrupted load created even after the record was renamed (R-GEN-3).
- ``sfqb.warnings.<area>``: ``{"open": {id: warning}, "resolved": {id: warning}}``, the area's
  open warnings with when each was first and last seen, and those the last run resolved
  (``sfqb.warning_state``, R-OPS-3).
- ``sfqb.alerts``: ``{"last_digest_at", "alerted": {warning id: time}}``, when the daily digest of
  standing warnings last went out and when each warning was last e-mailed (``sfqb.notify``).
- ``sfqb.lease.<dag>.<hash>``: one run's entry in the run lease (R-GEN-10, ``sfqb.lease``): the
  run holding it and the runs waiting for it, with their heartbeats.

The storage is a ``VariableBackend``: Airflow's Task SDK inside tasks, the metadata database in
the CLI, a dict in unit tests.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from typing import Any, Protocol

log = logging.getLogger(__name__)

PREFIX = "sfqb."
WATERMARK_PREFIX = "sfqb.watermark."
INSTALL_KEY = "sfqb.install"
FIRST_RUN_PREFIX = "sfqb.first_run."
MIGRATION_KEY = "sfqb.migration"
RETRY_PREFIX = "sfqb.retry."
PENDING_PREFIX = "sfqb.pending."
WARNINGS_PREFIX = "sfqb.warnings."
ALERTS_KEY = "sfqb.alerts"
LEASE_PREFIX = "sfqb.lease."
WAITING_PREFIX = "sfqb.waiting."
# After a record's n-th failure in a row, its next retry waits this long (the last value for
# every later one): the first retry is always the next run (R-GEN-5), then 2 h, 4 h, ... a day.
RETRY_DELAYS = (dt.timedelta(0), *(dt.timedelta(hours=h) for h in (2, 4, 8, 16, 24)))
# Variables under sfqb. that are configuration or credentials, not state: never reset here.
NOT_STATE = ("sfqb.preferences",)


class VariableBackend(Protocol):
    def get(self, key: str) -> str | None: ...

    def set(self, key: str, value: str) -> None: ...

    def delete(self, key: str) -> None: ...

    def keys(self, prefix: str) -> list[str]: ...


class InMemoryVariables:
    """A dict, for unit tests."""

    def __init__(self, initial: dict[str, str] | None = None) -> None:
        self.data: dict[str, str] = dict(initial or {})

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def set(self, key: str, value: str) -> None:
        self.data[key] = value

    def delete(self, key: str) -> None:
        self.data.pop(key, None)

    def keys(self, prefix: str) -> list[str]:
        return sorted(k for k in self.data if k.startswith(prefix))


class TaskVariables:
    """Airflow Variables through the Task SDK (inside a running task).

    Reads skip the Task SDK's secrets cache (``[secrets] use_cache``): state written by another
    run (a watermark, a lease entry) must be read as it is now, not as cached minutes ago."""

    def get(self, key: str) -> str | None:
        from airflow.sdk import Variable

        try:
            from airflow.sdk.execution_time.cache import SecretCache

            SecretCache.invalidate_variable(key)
        except (ImportError, AttributeError):  # pragma: no cover - another Task SDK
            pass
        return Variable.get(key, default=None)

    def set(self, key: str, value: str) -> None:
        from airflow.sdk import Variable

        Variable.set(key, value)

    def delete(self, key: str) -> None:
        from airflow.sdk import Variable

        Variable.delete(key)

    def keys(self, prefix: str) -> list[str]:
        """The keys under ``prefix`` in the metadata database (the Task SDK lists them since
        Airflow 3.3; secrets backends are not consulted)."""
        from airflow.sdk import Variable

        return sorted(Variable.keys(prefix=prefix))


# Where this repository's own Airflow keeps its database (the Makefile, scripts/demo.sh).
LOCAL_AIRFLOW_HOMES = (
    "AIRFLOW_HOME=.airflow for `make sync` and `make ui`, .demo/airflow for `make demo`"
)


def metadata_db_problem() -> str | None:
    """Why the metadata database Airflow's configuration names cannot be read here, as one
    sentence saying how to point the command at the right one; None when it can be.

    Without AIRFLOW_HOME, Airflow uses (and creates) an empty ``~/airflow``: reading a Variable
    there fails with a SQL traceback ("no such table: variable")."""
    import os

    from airflow import settings
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    engine = settings.engine
    if engine is None:  # pragma: no cover - Airflow configures it on import
        return (
            "Airflow has no metadata database configured: set AIRFLOW_HOME or "
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"
        )
    url = engine.url.render_as_string(hide_password=True)
    home = os.environ.get("AIRFLOW_HOME")
    where = (
        f"AIRFLOW_HOME={home}" if home else "no AIRFLOW_HOME set, so Airflow's default ~/airflow"
    )
    hint = (
        "point AIRFLOW_HOME at the Airflow home your DAGs run with, or "
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN at its database (in this repository: "
        f"{LOCAL_AIRFLOW_HOMES})"
    )
    try:
        with engine.connect() as connection:
            ready = inspect(connection).has_table("variable")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        return f"cannot reach the Airflow metadata database {url} ({reason}); {hint}"
    if ready:
        return None
    return f"{url} ({where}) is not an Airflow metadata database, it has no Airflow tables: {hint}"


class MetadataDbVariables:
    """Airflow Variables in the metadata database (for the CLI and scripts, not for tasks)."""

    def get(self, key: str) -> str | None:
        from airflow.models.variable import Variable

        return Variable.get(key, default_var=None)

    def set(self, key: str, value: str) -> None:
        from airflow.models.variable import Variable

        Variable.set(key, value)

    def delete(self, key: str) -> None:
        from airflow.models.variable import Variable

        Variable.delete(key)

    def keys(self, prefix: str) -> list[str]:
        from airflow.models.variable import Variable
        from airflow.utils.session import create_session

        with create_session() as session:
            rows = session.query(Variable.key).filter(Variable.key.startswith(prefix)).all()
        return sorted(row[0] for row in rows)


def _iso(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: sfqb keeps every instant in UTC")
    return value.astimezone(dt.UTC).isoformat()


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a record that failed ``attempts`` runs in a row waits for its next retry."""
    return RETRY_DELAYS[min(max(attempts, 1), len(RETRY_DELAYS)) - 1]


def _next_retry(record: dict[str, Any]) -> dt.datetime:
    failed_at = record.get("failed_at")
    if not failed_at:
        return dt.datetime.min.replace(tzinfo=dt.UTC)
    return _instant(failed_at) + retry_delay(int(record.get("attempts", 1)))


def retry_due(record: dict[str, Any], at: dt.datetime) -> bool:
    """Whether a record to retry is read by a run whose upper bound is ``at``: after one
    failure always (R-GEN-5: the next run retries it), later once its delay has passed."""
    return int(record.get("attempts", 1)) <= 1 or _next_retry(record) <= at


class SyncState:
    def __init__(self, backend: VariableBackend) -> None:
        self.backend = backend

    # -- raw JSON values -------------------------------------------------------------------
    def _load(self, key: str) -> dict[str, Any] | None:
        raw = self.backend.get(key)
        return json.loads(raw) if raw else None

    def _save(self, key: str, value: dict[str, Any]) -> None:
        self.backend.set(key, json.dumps(value, sort_keys=True))

    # -- watermarks ------------------------------------------------------------------------
    def watermark(self, stream: str) -> dt.datetime | None:
        saved = self._load(WATERMARK_PREFIX + stream)
        return _instant(saved["value"]) if saved else None

    def commit_watermark(
        self, stream: str, value: dt.datetime, *, run_id: str, now: dt.datetime
    ) -> dt.datetime:
        """Move the stream's watermark forward to ``value``; never backwards (a retried or late
        run committing an older window leaves the newer watermark in place). Returns the
        watermark in force afterwards."""
        current = self.watermark(stream)
        if current is not None and value <= current:
            log.info(
                "watermark %s stays at %s (run %s would set %s)", stream, current, run_id, value
            )
            return current
        self._save(
            WATERMARK_PREFIX + stream,
            {"value": _iso(value), "committed_at": _iso(now), "run_id": run_id},
        )
        log.info("watermark %s committed at %s (run %s)", stream, value.isoformat(), run_id)
        return value

    # -- records to retry ------------------------------------------------------------------
    def _retry_records(self, stream: str) -> dict[str, dict[str, Any]]:
        saved = self._load(RETRY_PREFIX + stream) or {}
        if "ids" in saved:  # the format before backoff: each failed once
            return {str(i): {"attempts": 1, "failed_at": None} for i in saved["ids"]}
        return dict(saved.get("records", {}))

    def retries(self, stream: str, *, at: dt.datetime | None = None) -> list[str]:
        """The stream's records to read again: all of them, or (``at``: the run's upper bound)
        those whose retry is due then; the others are logged as waiting."""
        records = self._retry_records(stream)
        if at is None:
            return sorted(records)
        due = sorted(i for i, r in records.items() if retry_due(r, at))
        waiting = [r for i, r in records.items() if not retry_due(r, at)]
        if waiting:
            soonest = min(_next_retry(r) for r in waiting)
            log.info(
                "%s: %d of %d records to retry wait for a later run (they failed several runs in "
                "a row, unchanged; the next is due at %s); a change or Sync Me reads one at once",
                stream,
                len(waiting),
                len(records),
                soonest.isoformat(),
            )
        return due

    def save_retries(
        self, stream: str, ids: list[str], *, run_id: str, at: dt.datetime | None = None
    ) -> None:
        """After a run's load: ``ids`` failed in it (one more failure each, at ``at``); the
        records that were due and are not in ``ids`` went through and are dropped; those that
        were waiting (not due at ``at``) stay. Without ``at`` the list is replaced."""
        old = self._retry_records(stream)
        records = {
            str(i): {
                "attempts": old.get(str(i), {}).get("attempts", 0) + 1,
                "failed_at": _iso(at) if at else None,
            }
            for i in ids
        }
        if at is not None:
            records |= {i: r for i, r in old.items() if i not in records and not retry_due(r, at)}
        self._write_retries(stream, records, run_id)

    def add_retries(self, stream: str, ids: list[str], *, run_id: str) -> None:
        """Read ``ids`` again on the next run, not as failures (e.g. records just linked)."""
        records = self._retry_records(stream)
        for i in ids:
            records.setdefault(str(i), {"attempts": 0, "failed_at": None})
        self._write_retries(stream, records, run_id)

    def _write_retries(self, stream: str, records: dict[str, dict[str, Any]], run_id: str) -> None:
        if records:
            self._save(
                RETRY_PREFIX + stream, {"records": dict(sorted(records.items())), "run_id": run_id}
            )
        elif self.backend.get(RETRY_PREFIX + stream) is not None:
            self.backend.delete(RETRY_PREFIX + stream)

    # -- records waiting for their customer's Account ---------------------------------------
    def waiting(self, stream: str) -> dict[str, list[str]]:
        """QuickBooks customer Id -> the stream's records waiting for it to have an Account."""
        saved = self._load(WAITING_PREFIX + stream)
        return {c: list(ids) for c, ids in (saved or {}).get("customers", {}).items()}

    def save_waiting(
        self, stream: str, waiting: dict[str, list[str]], *, read: Iterable[str], run_id: str
    ) -> None:
        """After a run's load: the records it read (``read``) wait on what their plan says
        (``waiting``: customer Id -> record ids), and on nothing else; the others keep waiting."""
        done = {str(i) for i in read}
        customers = {c: set(ids) - done for c, ids in self.waiting(stream).items()}
        for customer, ids in waiting.items():
            customers.setdefault(str(customer), set()).update(str(i) for i in ids)
        customers = {c: ids for c, ids in customers.items() if ids}
        if customers:
            self._save(
                WAITING_PREFIX + stream,
                {
                    "customers": {c: sorted(ids) for c, ids in sorted(customers.items())},
                    "run_id": run_id,
                },
            )
        elif self.backend.get(WAITING_PREFIX + stream) is not None:
            self.backend.delete(WAITING_PREFIX + stream)

    # -- creates sent, links not yet recorded ----------------------------------------------
    def pending_creates(self, area: str) -> dict[str, str]:
        saved = self._load(PENDING_PREFIX + area)
        return dict(saved["records"]) if saved else {}

    def save_pending_creates(self, area: str, records: dict[str, str], *, run_id: str) -> None:
        """Replace the area's pending creates (an empty mapping removes them)."""
        if records:
            self._save(
                PENDING_PREFIX + area, {"records": dict(sorted(records.items())), "run_id": run_id}
            )
        elif self.backend.get(PENDING_PREFIX + area) is not None:
            self.backend.delete(PENDING_PREFIX + area)

    # -- warnings and alerts (R-OPS-3) -----------------------------------------------------
    def warnings(self, area: str) -> dict[str, Any]:
        return self._load(WARNINGS_PREFIX + area) or {}

    def save_warnings(self, area: str, value: dict[str, Any]) -> None:
        """Replace the area's warning state (nothing open or resolved removes it)."""
        if value.get("open") or value.get("resolved"):
            self._save(WARNINGS_PREFIX + area, value)
        elif self.backend.get(WARNINGS_PREFIX + area) is not None:
            self.backend.delete(WARNINGS_PREFIX + area)

    def alerts(self) -> dict[str, Any]:
        return self._load(ALERTS_KEY) or {}

    def save_alerts(self, value: dict[str, Any]) -> None:
        self._save(ALERTS_KEY, value)

    # -- install date ----------------------------------------------------------------------
    def install_date(self) -> dt.datetime | None:
        saved = self._load(INSTALL_KEY)
        return _instant(saved["sync_start"]) if saved else None

    def ensure_install_date(
        self, *, configured: dt.datetime | None, first_run_start: dt.datetime
    ) -> dt.datetime:
        """The install date in force (R-GEN-6): the ``sync_start`` preference when set, else the
        date recorded at the first run (recorded now if this is the first run)."""
        recorded = self.install_date()
        wanted = configured or recorded or first_run_start
        if recorded != wanted:
            self._save(
                INSTALL_KEY, {"sync_start": _iso(wanted), "recorded_at": _iso(first_run_start)}
            )
        return wanted

    # -- first-run and migration flags -----------------------------------------------------
    def first_run_done(self, name: str) -> dict[str, Any] | None:
        return self._load(FIRST_RUN_PREFIX + name)

    def mark_first_run_done(
        self, name: str, *, run_id: str, now: dt.datetime, details: dict[str, Any] | None = None
    ) -> None:
        self._save(
            FIRST_RUN_PREFIX + name,
            {"done_at": _iso(now), "run_id": run_id, "details": details or {}},
        )

    def migration(self) -> dict[str, Any] | None:
        return self._load(MIGRATION_KEY)

    def save_migration(self, value: dict[str, Any]) -> None:
        self._save(MIGRATION_KEY, value)

    # -- inspection and reset (CLI) --------------------------------------------------------
    def state_keys(self) -> list[str]:
        return [k for k in self.backend.keys(PREFIX) if self.is_state_key(k)]

    @staticmethod
    def is_state_key(key: str) -> bool:
        return (
            key.startswith(
                (
                    WATERMARK_PREFIX,
                    FIRST_RUN_PREFIX,
                    RETRY_PREFIX,
                    WAITING_PREFIX,
                    PENDING_PREFIX,
                    WARNINGS_PREFIX,
                    ALERTS_KEY,
                    INSTALL_KEY,
                    MIGRATION_KEY,
                    LEASE_PREFIX,
                )
            )
            and key not in NOT_STATE
        )

    def show(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """Every piece of state; a lease entry also says whether it holds, waits or expired,
        and how old its heartbeat is."""
        from sfqb.lease import entry_summary

        shown = {key: self._load(key) for key in self.state_keys()}
        leases = {k: v for k, v in shown.items() if k.startswith(LEASE_PREFIX) and v}
        return shown | entry_summary(leases, now or dt.datetime.now(dt.UTC))

    def reset(self, target: str | None = None) -> list[str]:
        """Delete state. ``target``: None (everything), a stream name (its watermark, records to
        retry and records waiting for an Account), ``watermarks`` (those of every stream),
        ``install``, ``matching`` / another first-run name, ``migration``, ``warnings`` (every
        area's open warnings and the alert times: all are new again), or ``lease`` (every run's
        lease entry: for a holder that died, R-GEN-10)."""
        keys = self.state_keys()
        if target is None:
            chosen = keys
        elif target == "lease":
            chosen = [k for k in keys if k.startswith(LEASE_PREFIX)]
        elif target == "watermarks":
            chosen = [
                k for k in keys if k.startswith((WATERMARK_PREFIX, RETRY_PREFIX, WAITING_PREFIX))
            ]
        elif target == "install":
            chosen = [k for k in keys if k == INSTALL_KEY]
        elif target == "migration":
            chosen = [k for k in keys if k == MIGRATION_KEY]
        elif target == "warnings":
            chosen = [k for k in keys if k.startswith(WARNINGS_PREFIX) or k == ALERTS_KEY]
        else:
            # ``matching`` resets every kind of first-run matching (matching.customers, ...).
            chosen = [
                k
                for k in keys
                if k
                in (
                    WATERMARK_PREFIX + target,
                    RETRY_PREFIX + target,
                    WAITING_PREFIX + target,
                    FIRST_RUN_PREFIX + target,
                )
                or k.startswith(f"{FIRST_RUN_PREFIX}{target}.")
            ]
            if not chosen:
                raise KeyError(
                    f"nothing to reset for {target!r}: known state is {', '.join(keys) or 'empty'}"
                )
        for key in chosen:
            self.backend.delete(key)
        return chosen
