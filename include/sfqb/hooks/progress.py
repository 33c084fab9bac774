"""Progress of a long write or read (R-OPS-2): "batch n of m, records done/total, rate, time
so far, time left" in the task log, at a sane frequency: the first batch, then at most once
every ``every`` seconds, and the last batch (without a time left). A job of one batch logs
nothing here (its summary line says it all)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def duration(seconds: float) -> str:
    """``"45 s"``, ``"12 min"``, ``"2 h 05 min"``: a time for a person, to the unit that
    matters."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes // 60} h {minutes % 60:02d} min"


class Progress:
    """Counts the batches of one write (or read) and logs its progress now and then, with
    the rate and, until the last batch, about how long the rest takes at that rate.

    Args:
        what: what is written, e.g. ``"Salesforce collections.update Account"``.
        batches: how many batches the write has (m).
        records: how many records in all.
        every: the least number of seconds between two progress lines.
    """

    def __init__(
        self,
        what: str,
        *,
        batches: int,
        records: int,
        every: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.what, self.batches, self.records, self.every = what, batches, records, every
        self.clock, self.logger = clock, logger
        self.started = clock()
        self.last_logged: float | None = None
        self.batch = 0
        self.done = 0

    def step(self, records: int) -> None:
        """One more batch of ``records`` records is done."""
        self.batch += 1
        self.done += records
        if self.batches <= 1:
            return
        now = self.clock()
        last = self.batch >= self.batches
        if self.last_logged is not None and not last and now - self.last_logged < self.every:
            return
        self.last_logged = now
        elapsed = now - self.started
        per_second = self.done / elapsed if elapsed > 0 else 0.0
        rate = f"{per_second:.0f} records/s" if elapsed > 0 else "-"
        left = max(0, self.records - self.done)
        eta = f", about {duration(left / per_second)} left" if per_second and left else ""
        self.logger.info(
            "%s: batch %d of %d, %d of %d records, %s, %s%s",
            self.what,
            self.batch,
            self.batches,
            self.done,
            self.records,
            rate,
            duration(elapsed),
            eta,
        )
