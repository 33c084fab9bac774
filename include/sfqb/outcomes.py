"""Outcomes, skips and the area report: what happened to each record, counted by record type
(R-GEN-1, R-GEN-5, R-GEN-11, R-OPS-2).

A transform returns frames of skips (each with a reason, a level: INFO for "not eligible yet",
WARNING for "needs a person", and the record type it would have written). A load returns one
outcome row per record it tried. ``area_report`` turns both into the counts the run summary
shows, per system and record type (a Salesforce Account and a QuickBooks Customer are never
added up), and the area's warnings; ``log_problems`` writes every failure and warning as a
WARNING line that names the record, so Airflow's log filter finds them, and sums up the
records skipped for now (INFO) per reason.

Warnings and record types are defined in ``sfqb.records`` (no pandas there: the alert
notifier that DAG files import reads them); this module re-exports them.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pandas as pd

from sfqb.records import (  # noqa: F401 - the names the areas and steps use, in one place
    ACTIONS,
    CHECK_KIND,
    CREATED,
    DELETED,
    FAILED,
    FAILED_KIND,
    INFO,
    MAX_LISTED_WARNINGS,
    NOTE_KIND,
    OUTCOME_COLUMNS,
    QB_CUSTOMER,
    QB_TRANSACTION,
    QUICKBOOKS_RECORDS,
    RECOVERED,
    SALESFORCE_RECORDS,
    SF_ACCOUNT,
    SF_CONTACT,
    SF_INVOICE,
    SF_INVOICE_ITEM,
    SF_INVOICE_LINK,
    SF_OPPORTUNITY,
    SF_OPPORTUNITY_PRODUCT,
    SF_PRICE,
    SF_PRODUCT,
    SKIP_COLUMNS,
    SKIPPED,
    SKIPPED_KIND,
    UPDATED,
    WARNING,
    count,
    merge_counts,
    quickbooks_record,
    salesforce_record,
    warning,
    warning_line,
)


def empty_skips() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in SKIP_COLUMNS})


def skips(keys, reason: str | pd.Series, level: str = INFO, *, record: str) -> pd.DataFrame:
    """Skip rows for ``keys``, all with one reason (or a reason per key), level and record type
    (the type the run would have written)."""
    # Text columns stay text columns: a round trip through Python objects costs a second per
    # million reasons.
    if isinstance(keys, pd.Series):
        keys = keys.astype("string").reset_index(drop=True)
    else:
        keys = pd.Series(list(keys), dtype="string")
    if isinstance(reason, pd.Series):
        reasons = reason.astype("string").array
    else:
        reasons = pd.array([reason] * len(keys), dtype="string")
    return pd.DataFrame({"key": keys, "reason": reasons, "level": level, "record": record}).astype(
        "string"
    )


def outcome(key, action: str, *, record: str, target_id=None, reason: str = "") -> dict:
    """One outcome row (``outcomes`` makes a frame of them)."""
    return {
        "key": str(key),
        "action": action,
        "target_id": None if target_id is None else str(target_id),
        "reason": reason,
        "record": record,
    }


def outcomes(rows: list[dict]) -> pd.DataFrame:
    """An outcome frame from dicts with OUTCOME_COLUMNS keys."""
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    return frame.astype("string")


def warnings_of(area: str, frame: pd.DataFrame, kind: str) -> list[dict]:
    """Warnings of ``kind`` from a frame with ``key`` and ``reason`` columns."""
    return [warning(area, k, r, kind) for k, r in zip(frame["key"], frame["reason"], strict=True)]


def record_counts(skipped: pd.DataFrame, done: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Per record type (in the order they first appear), how many records each action had."""
    rows = pd.concat(
        [done[["record", "action"]], skipped[["record"]].assign(action=SKIPPED)], ignore_index=True
    )
    counts: dict[str, dict[str, int]] = {}
    for (record, action), n in rows.groupby(["record", "action"], sort=False).size().items():
        counts.setdefault(str(record), dict.fromkeys(ACTIONS, 0))[str(action)] += int(n)
    return counts


class AreaReport(TypedDict):
    """What an area's load hands on (XCom JSON): to its commit, to the run summary and to the
    sync log page. ``records``: record type -> action -> count; ``warnings``: one entry per
    warning (``sfqb.warning_state`` adds their state and caps the list)."""

    area: str
    records: dict[str, dict[str, int]]
    warning_count: int
    warnings: list[Any]
    considered: NotRequired[list[str]]
    """The keys of the records read this run: a standing warning about one of them that did
    not come back is resolved."""
    retry: NotRequired[dict[str, list[str]]]
    """Stream -> the ids to read again next run (the commit saves them)."""
    waiting: NotRequired[dict[str, Any]]
    """Stream -> records waiting for another record to exist first (R-INV-7)."""
    complete: NotRequired[bool]
    """The area looked at everything this run (its warnings not seen again are resolved)."""
    warning_counts: NotRequired[dict[str, int]]
    """New, standing and resolved warnings: set when ``track_warnings`` gave them their state."""


def area_report(
    area: str, skipped: pd.DataFrame, done: pd.DataFrame, *, considered: list[str] | None = None
) -> AreaReport:
    """Counts per record type and the warnings of one area: JSON-ready for XCom.

    Every warning is in ``warnings`` here: ``sfqb.warning_state`` gives them their state and
    caps the listed ones before the report leaves the load task. ``considered``: the keys of the
    records the area read this run (a standing warning about one of them that did not come back
    is resolved); None when the area has no record keys to offer."""
    failed = done[done["action"] == FAILED]
    warn_skips = skipped[skipped["level"] == WARNING]
    warnings = warnings_of(area, failed, FAILED_KIND) + warnings_of(area, warn_skips, SKIPPED_KIND)
    report: AreaReport = {
        "area": area,
        "records": record_counts(skipped, done),
        "warning_count": len(warnings),
        "warnings": warnings,
    }
    if considered is not None:
        report["considered"] = sorted(set(considered))
    return report


def add_warnings(report: AreaReport, entries: list[dict]) -> AreaReport:
    """Add area-level warnings (already logged) to an area report."""
    report["warnings"] = report["warnings"] + list(entries)
    report["warning_count"] += len(entries)
    return report


# INFO skips: how many records each summary line names, and how many reasons get a line.
EXAMPLES = 3
MAX_REASON_LINES = 10


def labelled(key, names: Mapping[str, str] | None) -> str:
    """A record's key with its name beside it when the plan knows one: ``QB:203 (Acme Inc)``;
    a key with a suffix (``QB:203 contact``) takes its record's name."""
    names = names or {}
    name = names.get(str(key)) or names.get(str(key).split(" ", 1)[0])
    return f"{key} ({name})" if name else str(key)


def log_problems(
    log: logging.Logger,
    area: str,
    skipped: pd.DataFrame,
    done: pd.DataFrame,
    *,
    names: Mapping[str, str] | None = None,
) -> None:
    """The load's problems in the task log (R-GEN-5, R-OPS-2): one WARNING line per record that
    failed or was skipped for a reason a person must fix, naming the record (with its name when
    ``names``, key -> name, has it) and the reason; the records skipped at INFO ("not eligible
    yet") summarised, one line per reason with its count and a few examples, the rest folded
    into one line, and every one of them at DEBUG."""
    warned = skipped[skipped["level"] == WARNING]
    for key, reason in warned[["key", "reason"]].itertuples(index=False):
        log.warning("%s: skipped %s: %s", area, labelled(key, names), reason)
    failed = done[done["action"] == FAILED]
    for key, reason in failed[["key", "reason"]].itertuples(index=False):
        log.warning(
            "%s: failed %s: %s (it will be retried on the next run)",
            area,
            labelled(key, names),
            reason,
        )
    _log_info_skips(log, area, skipped[skipped["level"] != WARNING], names)


def _log_info_skips(
    log: logging.Logger, area: str, info: pd.DataFrame, names: Mapping[str, str] | None
) -> None:
    """INFO skips, summed up per reason (``log_by_reason``); each record at DEBUG."""
    if log.isEnabledFor(logging.DEBUG):
        for key, reason in info[["key", "reason"]].itertuples(index=False):
            log.debug("%s: skipped %s: %s", area, labelled(key, names), reason)
    log_by_reason(log, area, info, "skipped", names=names)


# A record's own value in a reason (an Id, a number: "already has QuickBooks transaction 335"):
# a number, a QuickBooks key, or a 15/18-character Salesforce Id (with a digit).
OWN_VALUE = re.compile(
    r"(?<![\w-])(?:QB:)?(?:\d+(?:\.\d+)?|(?=[0-9A-Za-z]*\d)[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?)"
    r"(?![\w-])"
)


def reason_pattern(reason: str) -> str:
    """A reason with each record's own values (Ids, numbers) as "…": reasons that differ only
    there are one line of a summary."""
    return OWN_VALUE.sub("…", str(reason))


def log_by_reason(
    log: logging.Logger,
    area: str,
    rows: pd.DataFrame,
    what: str,
    *,
    names: Mapping[str, str] | None = None,
) -> None:
    """Records (``key``, ``reason``, ``record`` columns) that had ``what`` happen, at INFO:
    one line per record type and reason, largest first, with the count and ``EXAMPLES`` of
    them named; reasons that differ only in a record's own values (``reason_pattern``) share
    a line. After ``MAX_REASON_LINES`` lines, the rest is one line."""
    if rows.empty:
        return
    shaped = rows.assign(pattern=rows["reason"].astype(str).map(reason_pattern))
    groups = sorted(
        shaped.groupby(["record", "pattern"], sort=False, dropna=False),
        key=lambda item: -len(item[1]),
    )
    for (record, pattern), group in groups[:MAX_REASON_LINES]:
        keys = group["key"]
        reasons = group["reason"].astype(str).unique()
        listed = ", ".join(labelled(k, names) for k in keys.iloc[:EXAMPLES])
        if len(keys) > EXAMPLES:
            listed = f"for example {listed} and {len(keys) - EXAMPLES} more"
        log.info(
            "%s: %d %s %s: %s; %s",
            area,
            len(keys),
            _plural(str(record), len(keys)),
            what,
            reasons[0] if len(reasons) == 1 else pattern,
            listed,
        )
    rest = groups[MAX_REASON_LINES:]
    if rest:
        log.info(
            "%s: %d more records %s for %d other reasons (each record is logged at DEBUG)",
            area,
            sum(len(group) for _, group in rest),
            what,
            len(rest),
        )


def _plural(record: str, n: int) -> str:
    """``QuickBooks Customer`` -> ``QuickBooks Customers`` (record types name one record)."""
    if n == 1 or not record or record.endswith("s"):
        return record or "records"
    return record[:-1] + "ies" if record.endswith("y") else record + "s"
