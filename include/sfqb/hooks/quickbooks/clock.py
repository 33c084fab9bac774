"""Intuit's clock as QuickBooks' answers show it (``ServerClock``, the hook's ``hook.clock``).

The worker's clock is read here alone, through ``dt.datetime.now``: the simulation's worker
clock (``sfqb_sim.worker_clock``) shifts it by replacing this module's ``dt``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable


class ServerClock:
    """Intuit's clock, as QuickBooks' answers show it: every response envelope carries the
    server's ``time`` (api-notes 2.2, milliseconds). ``now()`` is the worker's clock corrected by
    the largest offset seen, a lower bound of Intuit's time (an answer is stamped before it
    arrives), so a time from it never runs ahead of a QuickBooks edit that follows it."""

    def __init__(
        self, worker_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    ) -> None:
        self._worker_now = worker_now
        self._offset: dt.timedelta | None = None
        self.seen: list[dt.datetime] = []
        self._lock = threading.Lock()

    def observe(self, value: object) -> None:
        """Note an answer's ``time`` (ignored when absent or not a time)."""
        if not isinstance(value, str):
            return
        try:
            server = dt.datetime.fromisoformat(value)
        except ValueError:
            return
        if server.tzinfo is None:
            return
        offset = server - self._worker_now()
        with self._lock:
            self.seen.append(server)
            if self._offset is None or offset > self._offset:
                self._offset = offset

    def first_since(self, mark: int) -> dt.datetime | None:
        """The ``time`` of the first answer after ``mark`` (``len(clock.seen)`` taken before)."""
        return self.seen[mark] if len(self.seen) > mark else None

    def now(self) -> dt.datetime:
        """Intuit's time now (UTC); the worker's clock until an answer has been seen."""
        now = self._worker_now()
        return (now + self._offset if self._offset is not None else now).astimezone(dt.UTC)
