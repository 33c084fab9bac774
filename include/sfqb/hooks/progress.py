"""Progress of a long write (R-OPS-2): "batch n of m, records done/total, rate" in the task
log, at a sane frequency: the first batch, then at most once every ``every`` seconds, and the
last batch. A write of one batch logs nothing here (its summary line says it all)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Progress:
    """Counts the batches of one write and logs its progress now and then.

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
        rate = f"{self.done / elapsed:.0f} records/s" if elapsed > 0 else "-"
        self.logger.info(
            "%s: batch %d of %d, %d of %d records, %s, %.0f s",
            self.what,
            self.batch,
            self.batches,
            self.done,
            self.records,
            rate,
            elapsed,
        )
