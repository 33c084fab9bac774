"""Plans and outcomes: what an area means to do, and what happened to each record (R-GEN-1/5).

A transform returns a ``Plan``: frames of records to create, to update, and to skip (each skip
with a reason and a level: INFO for "not eligible yet", WARNING for "needs a person"). A load
returns one outcome row per record it tried. ``area_report`` turns both into the counts and
warnings the run summary shows (R-OPS-2), and ``log_problems`` writes every failure and warning
as a WARNING line that names the record, so Airflow's log filter finds them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

CREATED, UPDATED, SKIPPED, FAILED = "created", "updated", "skipped", "failed"
OUTCOME_COLUMNS = ["key", "action", "target_id", "reason"]
SKIP_COLUMNS = ["key", "reason", "level"]
INFO, WARNING = "INFO", "WARNING"
# Warnings listed in a summary per area; the rest are counted (the task log has them all).
MAX_LISTED_WARNINGS = 200


def empty_skips() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="string") for c in SKIP_COLUMNS})


def skips(keys, reason: str | pd.Series, level: str = INFO) -> pd.DataFrame:
    """Skip rows for ``keys``, all with one reason (or a reason per key) and level."""
    keys = pd.Series(list(keys), dtype="string")
    reasons = reason if isinstance(reason, pd.Series) else pd.Series([reason] * len(keys))
    return pd.DataFrame(
        {"key": keys, "reason": reasons.astype("string").to_numpy(), "level": level}
    ).astype("string")


@dataclass
class Plan:
    """What one area (or one direction of an area) will write."""

    area: str
    creates: pd.DataFrame = field(default_factory=pd.DataFrame)
    updates: pd.DataFrame = field(default_factory=pd.DataFrame)
    skips: pd.DataFrame = field(default_factory=empty_skips)

    def add_skips(self, more: pd.DataFrame) -> None:
        if len(more):
            self.skips = more if self.skips.empty else pd.concat([self.skips, more], ignore_index=True)

    @property
    def is_empty(self) -> bool:
        return self.creates.empty and self.updates.empty

    def counts(self) -> dict[str, int]:
        return {"creates": len(self.creates), "updates": len(self.updates), "skips": len(self.skips)}


def outcomes(rows: list[dict]) -> pd.DataFrame:
    """An outcome frame from dicts with OUTCOME_COLUMNS keys."""
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    return frame.astype("string")


def area_report(area: str, skipped: pd.DataFrame, done: pd.DataFrame) -> dict:
    """Counts and warnings of one area: JSON-ready for XCom and the run summary."""
    failed = done[done["action"] == FAILED]
    warn_skips = skipped[skipped["level"] == WARNING]
    warnings = [f"{area}: {k}: {r}" for k, r in zip(failed["key"], failed["reason"], strict=True)]
    warnings += [f"{area}: {k}: {r}" for k, r in zip(warn_skips["key"], warn_skips["reason"], strict=True)]
    return {
        "area": area,
        CREATED: int((done["action"] == CREATED).sum()),
        UPDATED: int((done["action"] == UPDATED).sum()),
        SKIPPED: int(len(skipped) + (done["action"] == SKIPPED).sum()),
        FAILED: int(len(failed)),
        "warning_count": len(warnings),
        "warnings": warnings[:MAX_LISTED_WARNINGS],
    }


def add_warnings(report: dict, lines: list[str]) -> dict:
    """Add area-level warnings (already logged) to an area report."""
    report["warnings"] = (report["warnings"] + list(lines))[:MAX_LISTED_WARNINGS]
    report["warning_count"] += len(lines)
    return report


def log_problems(log: logging.Logger, area: str, skipped: pd.DataFrame, done: pd.DataFrame) -> None:
    """One log line per skipped record (at its level) and per failed record (WARNING)."""
    for key, reason, level in skipped[["key", "reason", "level"]].itertuples(index=False):
        log.log(logging.WARNING if level == WARNING else logging.INFO, "%s: skipped %s: %s", area, key, reason)
    failed = done[done["action"] == FAILED]
    for key, reason in failed[["key", "reason"]].itertuples(index=False):
        log.warning("%s: failed %s: %s (it will be retried on the next run)", area, key, reason)
