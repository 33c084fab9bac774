"""What every area's steps share: hooks, state, windows, commit."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Collection, Iterable, Mapping, Set
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, cast

from sfqb.hooks.interface import QuickBooks
from sfqb.preferences import Preferences, parse_preferences
from sfqb.run_params import RunContext
from sfqb.state import SyncState, TaskVariables, VariableBackend
from sfqb.windows import Window, plan_window

if TYPE_CHECKING:  # sfqb.outcomes imports pandas; tasks import this module when they run
    from sfqb.outcomes import AreaReport

log = logging.getLogger(__name__)

Report = TypeVar("Report", bound=Mapping[str, Any])
"""An area report (``sfqb.outcomes.AreaReport``) or one shaped like it (reconcile, migration)."""


class AreaExtract(TypedDict):
    """What every area's extract hands on (by XCom, to its plan and its commit); each area's
    ``Extract`` adds its frames. Frames cross XCom as frames (``sfqb.frames``)."""

    windows: dict[str, dict | None]
    """Stream -> this run's window (``Window.to_xcom()``), None when the stream reads nothing;
    empty when the area is switched off. The commit moves the watermarks to their ends."""


def names_of(
    frame,
    name_column: str,
    *,
    key_column: str = "Id",
    prefix: str = "",
    label: str = "",
    keys: Collection[str] | None = None,
) -> dict[str, str]:
    """Record key -> the name a person knows it by, from an extracted frame: ``prefix`` + the
    key column (``"QB:"`` + a customer's Id) -> ``label`` + the name column (``"invoice "`` +
    DocNumber). Records without a name are left out; with ``keys``, so are records whose key is
    not one of them (``plan_names`` asks for the few it needs of a million)."""
    import numpy as np

    from sfqb.frames import isin, present_values

    if frame is None or name_column not in frame.columns or key_column not in frame.columns:
        return {}
    ids = frame[key_column].astype(str)
    wanted = None if keys is None else keys if isinstance(keys, Set) else set(keys)
    if wanted is not None and len(wanted) * 2 < len(frame):  # a few of many: those rows only
        kept = np.asarray(isin(ids, {k[len(prefix) :] for k in wanted if k.startswith(prefix)}))
        frame, ids = frame[kept], ids[kept]
    # Whole columns first: iterating an Arrow-backed column boxes one cell per step (slow).
    out = {}
    for key, name in zip(ids.tolist(), present_values(frame[name_column]).tolist(), strict=True):
        if name is None:
            continue
        # A missing key (NaN after astype) reads "nan".
        full = key if not prefix and type(key) is str else f"{prefix}{key}"
        if wanted is not None and full not in wanted:
            continue
        text = (name if type(name) is str else str(name)).strip()
        if text:
            out[full] = label + text
    return out


def plan_names(
    plan: Mapping[str, Any],
    known: Mapping[str, str] | Callable[[Collection[str]], Mapping[str, str]],
) -> dict[str, str]:
    """The names (``known``: key -> name, or a function giving them for the keys asked, as
    ``names_of(..., keys=)`` does) of the records a load may log: those the plan skips or
    writes (any write may fail), found by their ``key`` in the plan's frames and lists of
    entries. A key with a suffix (``QB:7 contact``, ``QB:Invoice:61 line 2``) is named by its
    record. Kept small: the plan crosses XCom."""
    import pandas as pd

    # In the order the plan holds them (a dict, not a set: the same plan gives the same names in
    # the same order on every run); whole columns, not Series iteration (slow on Arrow text).
    keys: dict[str, None] = {}
    for value in plan.values():
        if isinstance(value, pd.DataFrame) and "key" in value.columns:
            keys.update(dict.fromkeys(value["key"].dropna().astype(str).tolist()))
        elif isinstance(value, list):
            keys.update((str(v["key"]), None) for v in value if isinstance(v, dict) and "key" in v)
    bases = {key: key.split(" ", 1)[0] for key in keys if " " in key}
    if callable(known):
        known = known(keys.keys() | bases.values() if bases else keys.keys())
    out = {k: name for k in keys if (name := known.get(k, _UNNAMED)) is not _UNNAMED}
    for base in bases.values():  # a suffixed key's record
        if base in known:
            out.setdefault(base, known[base])
    return out


_UNNAMED: Any = object()  # no name (a name may be anything the mapping holds)


def preferences(run: RunContext) -> Preferences:
    """The run's preferences, as ``begin_run`` validated them (one value for the whole run)."""
    return parse_preferences(run["preferences"])


def sync_state(backend: VariableBackend | None = None) -> SyncState:
    return SyncState(backend or TaskVariables())


def retry_policy():
    """The hooks' retry policy, with the first pause taken from ``SFQB_RETRY_BASE_DELAY``
    (seconds) when set: tests and simulations shorten it; production keeps the default."""
    from sfqb.hooks.retry import RetryPolicy

    base = os.environ.get("SFQB_RETRY_BASE_DELAY")
    return RetryPolicy(base_delay=float(base)) if base else RetryPolicy()


def salesforce_hook():
    """The Salesforce hook of a step: its calls keep the run lease alive and every write call
    checks it first (R-GEN-10, ``sfqb.lease.before_call``)."""
    from sfqb.hooks.salesforce import SfqbSalesforceHook
    from sfqb.lease import before_call

    return SfqbSalesforceHook(retry_policy=retry_policy(), before_call=before_call)


def quickbooks_hook(run: RunContext | None = None) -> QuickBooks:
    """The QuickBooks company of a step, behind the one interface both editions implement
    (``sfqb.hooks.interface``): the Online hook, or the Desktop adapter over the Web Connector
    service's queue when the run's ``quickbooks_edition`` is ``desktop`` (its connection,
    ``quickbooks_desktop_default``, read now: a bad one fails the step naming the key). Its
    calls keep the run lease alive and every write call checks it first (R-GEN-10,
    ``sfqb.lease.before_call``). Without a run: the Online hook."""
    from sfqb.lease import before_call

    if run is not None and preferences(run).quickbooks_edition == "desktop":
        from sfqb.hooks.desktop import DesktopQuickBooks

        return DesktopQuickBooks.from_connection(before_call=before_call)
    from sfqb.hooks.quickbooks import QuickBooksHook

    return QuickBooksHook(retry_policy=retry_policy(), before_call=before_call)


def _instant(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def run_context(
    *,
    run_id: str,
    upper_bound: dt.datetime,
    install_date: dt.datetime,
    preferences_json: dict,
    run_type: str = "manual",
    data_interval: tuple[dt.datetime | None, dt.datetime | None] = (None, None),
) -> RunContext:
    """The run every step receives (XCom JSON): what ``begin_run`` makes from the DAG run, and
    what benchmarks and tests build to drive an area's steps outside Airflow."""
    start, end = data_interval
    return {
        "run_id": run_id,
        "run_type": run_type,
        "backfill": run_type == "backfill",
        "upper_bound": upper_bound.isoformat(),
        "data_interval_start": start.isoformat() if start else None,
        "data_interval_end": end.isoformat() if end else None,
        "install_date": install_date.isoformat(),
        "preferences": preferences_json,
    }


def due_retries(run: RunContext, stream: str, state: SyncState) -> list[str]:
    """The stream's records to read again in this run (their retry is due at its upper bound)."""
    return state.retries(stream, at=_instant(run["upper_bound"]))


def waiting_retries(run: RunContext, stream: str, state: SyncState) -> set[str]:
    """The stream's records that failed several runs in a row and whose next retry is not due
    at this run's upper bound: a record ticked Sync Me among them waits too (R-GEN-9), unless it
    changed (its window reads it)."""
    return set(state.retries(stream)) - set(due_retries(run, stream, state))


def run_windows(run: RunContext, streams: list[str], state: SyncState) -> dict[str, dict | None]:
    """The window of each stream for this run (``Window.to_xcom()``, or None: nothing to read).

    Scheduled and manual runs read from each stream's watermark; a backfill run re-reads its
    data interval and never commits; ``run["resync_from"]`` (a manual full resync) reads from
    that date without committing.
    """
    prefs = preferences(run)
    upper = dt.datetime.fromisoformat(run["upper_bound"])
    install = dt.datetime.fromisoformat(run["install_date"])
    backfill = None
    start, end = run.get("data_interval_start"), run.get("data_interval_end")
    if run.get("backfill") and start and end:
        backfill = (dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end))
    windows = {}
    for stream in streams:
        window = plan_window(
            upper_bound=upper,
            install_date=install,
            watermark=state.watermark(stream),
            lookback=dt.timedelta(minutes=prefs.lookback_minutes),
            backfill_interval=backfill,
            resync_from=_instant(run.get("resync_from")),
        )
        log.info("%s: window %s", stream, window or "empty (nothing to read)")
        windows[stream] = window.to_xcom() if window else None
    return windows


QB_READ_AT = "qb_read_at"
"""A QuickBooks stream's window key: QuickBooks' time when it answered the area's first read."""


def read_on_quickbooks_clock(
    windows: dict[str, dict | None], streams: Iterable[str], read_at: dt.datetime | None
) -> dict[str, dict | None]:
    """The windows, each of ``streams`` (QuickBooks streams) noting ``read_at``: QuickBooks'
    time at the first answer of the area's reads (``qb.clock.first_since``), None when unknown.

    QuickBooks stamps its edits on its own clock (on Desktop the company PC's), and a window's
    end is the run's upper bound on the scheduler's. Were the watermark moved to the end while
    QuickBooks' clock is behind by more than the lookback, an edit made after the read but
    stamped before the end would fall before the next window: lost. So ``commit_windows``
    moves it no later than ``read_at`` (R-GEN-2), and not at all when that is unknown."""
    chosen = set(streams)
    stamp = read_at.isoformat() if read_at else None
    return {
        stream: {**value, QB_READ_AT: stamp} if value and stream in chosen else value
        for stream, value in windows.items()
    }


def commit_windows(
    run: RunContext, windows: dict[str, dict | None], state: SyncState | None = None
) -> dict[str, str]:
    """Move each stream's watermark to its window's end, for incremental windows only; a
    QuickBooks stream's no later than QuickBooks' time of the read
    (``read_on_quickbooks_clock``). Returns stream -> the new watermark (ISO)."""
    state = state or sync_state()
    now = dt.datetime.now(dt.UTC)
    committed = {}
    for stream, value in windows.items():
        if value is None:
            continue
        window = Window.from_xcom(value)
        if not window.commits:
            log.info("%s: %s window: watermark not moved", stream, window.mode)
            continue
        end = window.end
        if QB_READ_AT in value:
            read_at = _instant(value[QB_READ_AT])
            if read_at is None:
                log.info("%s: QuickBooks' time of the read unknown: watermark not moved", stream)
                continue
            if read_at < end:
                log.info(
                    "%s: watermark at QuickBooks' time of the read, %s (before the window's end)",
                    stream,
                    read_at.isoformat(),
                )
                end = read_at
        committed[stream] = state.commit_watermark(
            stream, end, run_id=run["run_id"], now=now
        ).isoformat()
    return committed


def commit_area(
    run: RunContext, extracted: AreaExtract, report: AreaReport, state: SyncState | None = None
) -> dict[str, str]:
    """An area's commit, after its load succeeded: save the records to retry (the report's
    ``retry``: stream -> ids), then move the watermarks of its windows (R-GEN-2, R-GEN-5)."""
    state = state or sync_state()
    for stream, ids in report.get("retry", {}).items():
        state.save_retries(stream, ids, run_id=run["run_id"], at=_instant(run["upper_bound"]))
    return commit_windows(run, extracted["windows"], state)


def track_warnings(
    run: RunContext,
    report: Report,
    state: SyncState | None = None,
    *,
    complete: bool = False,
    save: bool = True,
) -> Report:
    """Give an area report's warnings their identity and state (R-OPS-3, ``sfqb.warning_state``):
    save the area's open warnings and return the report as the summary carries it (warnings
    classified new / standing / resolved, each list capped). ``complete``: the area looked at
    everything this run; ``save`` False (a dry run) classifies without saving. A backfill or
    resync run tracks like any other: what it found is true."""
    from sfqb import warning_state

    state = state or sync_state()
    area = report["area"]
    considered = report.get("considered")
    saved, listed = warning_state.track(
        report.get("warnings") or [],
        state.warnings(area),
        run_id=run["run_id"],
        now=dt.datetime.now(dt.UTC),
        considered=set(considered or ()),
        complete=complete or bool(report.get("complete")),
    )
    if save:
        state.save_warnings(area, saved)
    out = cast(Report, warning_state.apply_to_report(dict(report), listed))
    counts = out["warning_counts"]
    log.info(
        "%s: warnings: %d new, %d standing, %d resolved",
        area,
        counts[warning_state.NEW],
        counts[warning_state.STANDING],
        counts[warning_state.RESOLVED],
    )
    return out
