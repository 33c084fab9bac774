"""What the sync log reads, in the api-server process (R-OPS-2): the DAG runs of the sfqb DAGs,
the XComs of their ``begin_run`` (the run context) and ``summarize_run`` (the summary) tasks,
their task instances, and for a failed task the last ERROR lines of its log; also where record
links point, from the two connections. Reads the metadata database as Airflow's own REST API
does; writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sfqb.synclog.view import (
    CONTEXT_TASK,
    DAG_IDS,
    SUMMARY_TASK,
    Links,
    iso,
    quickbooks_base,
    salesforce_base,
)

log = logging.getLogger(__name__)

# The context keys the page uses (the rest, the preferences, stays in the XCom).
CONTEXT_KEYS = (
    "upper_bound",
    "backfill",
    "data_interval_start",
    "data_interval_end",
    "install_date",
    "run_type",
)
# Reading a log can reach a worker's log server: only a few failed tasks, a few lines each.
MAX_LOGS_READ = 3
ERROR_LINES = 5
MAX_LINE = 1000


def xcom_value(row):
    """An XCom row's value through the configured XCom backend: a large summary kept in object
    storage (docs/multi-machine.md) is read from there, not shown as its path."""
    from airflow.sdk.execution_time.xcom import resolve_xcom_backend

    return resolve_xcom_backend().deserialize_value(row)


def count_runs(dag_ids: Sequence[str] = DAG_IDS) -> int:
    """How many runs the DAGs have (the runs list's pages)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    with create_session() as session:
        query = select(func.count()).select_from(DagRun).where(DagRun.dag_id.in_(list(dag_ids)))
        return int(session.scalar(query) or 0)


def recent_runs(
    dag_ids: Sequence[str] = DAG_IDS,
    limit: int = 25,
    run_id: str | None = None,
    *,
    offset: int = 0,
    with_logs: bool = False,
) -> list[dict[str, Any]]:
    """The newest runs of ``dag_ids`` (skipping ``offset``), each with its summary (None: none
    yet), its run context and its task instances; ``with_logs``: a failed task's last ERROR
    lines too (the single run's page)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        query = select(DagRun).where(DagRun.dag_id.in_(list(dag_ids)))
        if run_id is not None:
            query = query.where(DagRun.run_id == run_id)
        query = query.order_by(DagRun.id.desc()).offset(offset).limit(limit)
        runs = session.scalars(query).all()
        keys = {(r.dag_id, r.run_id) for r in runs}
        run_ids = [r.run_id for r in runs]
        xcoms = session.scalars(
            select(XComModel).where(
                XComModel.dag_id.in_(list(dag_ids)),
                XComModel.run_id.in_(run_ids),
                XComModel.task_id.in_([SUMMARY_TASK, CONTEXT_TASK]),
                XComModel.key == "return_value",
                XComModel.map_index == -1,
            )
        ).all()
        values = {
            (x.dag_id, x.run_id, x.task_id): xcom_value(x)
            for x in xcoms
            if (x.dag_id, x.run_id) in keys
        }
        tis: dict[tuple[str, str], list[dict[str, Any]]] = {k: [] for k in keys}
        rows = session.execute(
            select(
                TaskInstance.dag_id,
                TaskInstance.run_id,
                TaskInstance.task_id,
                TaskInstance.map_index,
                TaskInstance.state,
                TaskInstance.try_number,
                TaskInstance.start_date,
                TaskInstance.end_date,
            ).where(TaskInstance.dag_id.in_(list(dag_ids)), TaskInstance.run_id.in_(run_ids))
        ).all()
        for row in rows:
            if (row.dag_id, row.run_id) in keys:
                tis[(row.dag_id, row.run_id)].append(
                    {
                        "task_id": row.task_id,
                        "map_index": row.map_index,
                        "state": None if row.state is None else str(row.state),
                        "try_number": row.try_number,
                        "start_date": iso(row.start_date),
                        "end_date": iso(row.end_date),
                    }
                )
        out = []
        for r in runs:
            context = values.get((r.dag_id, r.run_id, CONTEXT_TASK)) or {}
            out.append(
                {
                    "dag_id": r.dag_id,
                    "run_id": r.run_id,
                    "state": str(r.state),
                    "run_type": str(r.run_type),
                    "logical_date": iso(r.logical_date),
                    "data_interval_start": iso(r.data_interval_start),
                    "data_interval_end": iso(r.data_interval_end),
                    "start_date": iso(r.start_date),
                    "end_date": iso(r.end_date),
                    "note": r.note,
                    "context": {k: context.get(k) for k in CONTEXT_KEYS if k in context},
                    "summary": values.get((r.dag_id, r.run_id, SUMMARY_TASK)),
                    "task_instances": sorted(tis[(r.dag_id, r.run_id)], key=_task_order),
                }
            )
    # After the session: the log handler opens (and closes) sessions of its own.
    if with_logs:
        for run in out:
            add_error_lines(run["dag_id"], run["run_id"], run["task_instances"])
    return out


def _task_order(ti: dict[str, Any]) -> tuple:
    return (ti["start_date"] or "9999", ti["task_id"], ti["map_index"])


def add_error_lines(dag_id: str, run_id: str, instances: list[dict[str, Any]]) -> None:
    """Give each failed task instance (the first ``MAX_LOGS_READ``) ``errors``: the last ERROR
    lines of its log at its try, read as the UI's log view reads them (``TaskLogReader``: the
    local file, remote logging, or the worker's log server). A log that cannot be read leaves
    the list empty: the page still names the task and links its log."""
    failed = [ti for ti in instances if ti["state"] == "failed" and ti["try_number"]]
    for ti in failed[:MAX_LOGS_READ]:
        try:
            ti["errors"] = _error_lines(dag_id, run_id, ti)
        except Exception:  # noqa: BLE001 - the page shows the task without its log lines
            log.warning("sync log: could not read the log of %s %s", run_id, ti["task_id"])
            ti["errors"] = []


def _error_lines(dag_id: str, run_id: str, ti: dict[str, Any]) -> list[str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.trigger import Trigger
    from airflow.utils.log.log_reader import TaskLogReader
    from airflow.utils.session import create_session
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    reader = TaskLogReader()
    if not reader.supports_read:
        return []
    # What the log handler reads of the task instance, loaded here (as the UI's log route
    # does): it reads the log after this session is closed.
    with create_session() as session:
        instance = session.scalar(
            select(TaskInstance)
            .where(
                TaskInstance.dag_id == dag_id,
                TaskInstance.run_id == run_id,
                TaskInstance.task_id == ti["task_id"],
                TaskInstance.map_index == ti["map_index"],
            )
            .options(
                joinedload(TaskInstance.dag_run),
                joinedload(TaskInstance.trigger).joinedload(Trigger.triggerer_job),
                joinedload(TaskInstance.dag_model),
            )
        )
    if instance is None:
        return []
    stream, _ = reader.read_log_chunks(instance, ti["try_number"], {"end_of_log": False})
    return error_lines(stream)


def error_lines(messages: Iterable[Any], keep: int = ERROR_LINES) -> list[str]:
    """The last ``keep`` ERROR (or CRITICAL) lines of a task log's messages (structured log
    messages with ``level`` and ``event``, an exception as ``error_detail``; plain text lines
    naming ERROR), each at most ``MAX_LINE`` characters."""
    found: list[str] = []
    for message in messages:
        fields = _fields(message)
        event = str(fields.get("event") or "").strip()
        level = str(fields.get("level") or "").lower()
        if level in ("error", "critical", "fatal"):
            detail = _exception(fields.get("error_detail"))
            found.append(f"{event}: {detail}" if detail and event else event or detail)
        elif not level and " ERROR " in f" {event} ":
            found.append(event)
    return [line[:MAX_LINE] for line in found if line][-keep:]


def _fields(message: Any) -> dict[str, Any]:
    if isinstance(message, dict):
        return message
    dump = getattr(message, "model_dump", None)
    return dump() if callable(dump) else {"event": str(message)}


def _exception(detail: Any) -> str:
    """``ExcType: message`` of the exception a structured log's ``error_detail`` holds: its
    first entry (structlog lists the raised exception, then its causes)."""
    if not isinstance(detail, list) or not detail:
        return ""
    first = detail[0] if isinstance(detail[0], dict) else {}
    kind, value = first.get("exc_type") or "", first.get("exc_value") or ""
    return f"{kind}: {value}" if kind and value else str(kind or value)


def links() -> Links:
    """Where warnings' records open, from the ``salesforce_default`` and
    ``quickbooks_default`` connections (only the URL they name; no credential is read into the
    page). A connection that is missing or unreadable gives no links into its system."""
    return {
        "salesforce": _connection_url(
            "salesforce_default", lambda c: salesforce_base(c.host, c.extra_dejson)
        ),
        "quickbooks": _connection_url(
            "quickbooks_default", lambda c: quickbooks_base(c.extra_dejson)
        ),
    }


def _connection_url(conn_id: str, url_of) -> str | None:
    from airflow.models.connection import Connection

    try:
        return url_of(Connection.get_connection_from_secrets(conn_id))
    except Exception:  # noqa: BLE001 - no connection (yet): the page shows keys without links
        return None
