"""Client-side rate and concurrency limits, so a big load slows down instead of failing.

QBO allows 500 requests a minute and 10 concurrent requests per realm and app, and 40 batch
calls a minute (api-spec 2.4); every item of a batch counts toward the 500 (a batch of 30
costs 30 units), so batch loads are bounded by ~450 records a minute, not 40 x 30. Going over costs a 429 and a back-off of up to a minute, so
the hook waits here first. The defaults leave headroom (450/min) for other clients of the
same realm. Thread-safe; the clock and sleep are injectable so unit tests run instantly.

Reusable: ``RateLimiter(limits={"all": (450, 60.0), "batch": (40, 60.0)}, concurrency=10)``;
``with limiter.slot("batch", units=30): ...`` counts 30 units against "all" and one call
against "batch".
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

ALL = "all"

QBO_LIMITS: dict[str, tuple[int, float]] = {ALL: (450, 60.0), "batch": (40, 60.0)}
QBO_CONCURRENCY = 10


class SlidingWindow:
    """At most ``limit`` events in any ``period`` seconds (exact sliding log, not buckets)."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.events: deque[float] = deque()

    def wait_time(self, now: float, units: int = 1) -> float:
        """Seconds until ``units`` more events fit (0 when they fit now)."""
        if units > self.limit:
            raise ValueError(f"{units} units can never fit a limit of {self.limit}")
        while self.events and self.events[0] <= now - self.period:
            self.events.popleft()
        excess = len(self.events) + units - self.limit
        if excess <= 0:
            return 0.0
        return self.events[excess - 1] + self.period - now

    def record(self, now: float, units: int = 1) -> None:
        self.events.extend([now] * units)


class RateLimiter:
    """Sliding-window limits per key (each call counts against ``all`` and its own key) plus
    a concurrency semaphore."""

    def __init__(
        self,
        limits: Mapping[str, tuple[int, float]] = QBO_LIMITS,
        concurrency: int = QBO_CONCURRENCY,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.windows = {key: SlidingWindow(limit, period) for key, (limit, period) in limits.items()}
        self.concurrency = concurrency
        self._semaphore = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep
        self.waited = 0.0  # total seconds spent waiting for the rate windows (for logs)

    def acquire_rate(self, key: str | None = None, units: int = 1) -> float:
        """Block until one call of ``key`` fits every window it counts against; record it.
        ``units`` (batch items) count against ``all``; the call counts once against ``key``.
        Returns the seconds waited."""
        cost = {ALL: units}
        if key is not None and key != ALL:
            cost[key] = 1
        cost = {k: n for k, n in cost.items() if k in self.windows}
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = max((self.windows[k].wait_time(now, n) for k, n in cost.items()),
                           default=0.0)
                if wait <= 0:
                    for k, n in cost.items():
                        self.windows[k].record(now, n)
                    self.waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    @contextmanager
    def slot(self, key: str | None = None, units: int = 1) -> Iterator[None]:
        """One call: a place in the rate windows, and one of the concurrent slots while it runs."""
        self._semaphore.acquire()
        try:
            self.acquire_rate(key, units)
            yield
        finally:
            self._semaphore.release()
