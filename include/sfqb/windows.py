"""Extract windows: which slice of time one area reads in one run (R-GEN-2/6;
docs/architecture.md section 2).

A window is half-open, ``[start, end)``. Its end is the run's upper bound, fixed once when the
run begins; its start is the stream's watermark minus a lookback (records committed late with an
earlier timestamp are read again; loads compare values, so the overlap writes nothing), and
never before the install date. A backfill run reads its own data interval and never moves a
watermark; so does a full resync from a chosen date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

INCREMENTAL = "incremental"
BACKFILL = "backfill"
RESYNC = "resync"


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime
    mode: str = INCREMENTAL

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError(f"empty window [{self.start.isoformat()}, {self.end.isoformat()})")

    @property
    def commits(self) -> bool:
        """Only incremental windows move the watermark (to ``end``) after a successful load."""
        return self.mode == INCREMENTAL

    def to_xcom(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "mode": self.mode}

    @classmethod
    def from_xcom(cls, value: dict[str, str]) -> Window:
        return cls(
            dt.datetime.fromisoformat(value["start"]),
            dt.datetime.fromisoformat(value["end"]),
            value.get("mode", INCREMENTAL),
        )

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()}) {self.mode}"


def plan_window(
    *,
    upper_bound: dt.datetime,
    install_date: dt.datetime,
    watermark: dt.datetime | None,
    lookback: dt.timedelta,
    backfill_interval: tuple[dt.datetime, dt.datetime] | None = None,
    resync_from: dt.datetime | None = None,
) -> Window | None:
    """The window one stream reads in this run, or None when there is nothing to read (a
    backfill interval that ends before the install date).

    Args:
        upper_bound: the run's fixed end (``begin_run``).
        install_date: nothing older is read by the ongoing syncs (R-GEN-6).
        watermark: the stream's last committed watermark, None before its first commit.
        lookback: how far before the watermark to start reading again.
        backfill_interval: a backfill run's data interval; it is re-read as is.
        resync_from: an operator's full resync of this area from a date (reads to upper_bound).
    """
    if backfill_interval is not None:
        start, end = backfill_interval
        start = max(start - lookback, install_date)
        return Window(start, end, BACKFILL) if start < end else None
    if resync_from is not None:
        return Window(
            min(resync_from, upper_bound - dt.timedelta(microseconds=1)), upper_bound, RESYNC
        )
    start = install_date if watermark is None else max(watermark - lookback, install_date)
    # A watermark can only be at or before the upper bound of a later run; clamp defensively so
    # a clock step backwards never yields an empty or inverted window.
    start = min(start, upper_bound - dt.timedelta(microseconds=1))
    return Window(start, upper_bound, INCREMENTAL)
