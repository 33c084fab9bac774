"""Client-side rate and concurrency limits, so a big load slows down instead of failing.

QBO allows 500 requests a minute and 10 concurrent requests per realm and app, and 40 batch
calls a minute (api-spec 2.4). Going over costs a 429 and a back-off of up to a minute, so
the hook waits here first. The defaults leave headroom (450/min) for other clients of the
same realm. Thread-safe; the clock and sleep are injectable so unit tests run instantly.

Reusable: ``RateLimiter(limits={"all": (450, 60.0), "batch": (40, 60.0)}, concurrency=10)``;
``with limiter.slot("batch"): ...`` counts the call against "all" and "batch".
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

    def wait_time(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        while self.events and self.events[0] <= now - self.period:
            self.events.popleft()
        if len(self.events) < self.limit:
            return 0.0
        return self.events[0] + self.period - now

    def record(self, now: float) -> None:
        self.events.append(now)


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

    def acquire_rate(self, key: str | None = None) -> float:
        """Block until one call of ``key`` fits every window it counts against; record it.
        Returns the seconds waited."""
        keys = [k for k in (ALL, key) if k is not None and k in self.windows]
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                wait = max((self.windows[k].wait_time(now) for k in keys), default=0.0)
                if wait <= 0:
                    for k in keys:
                        self.windows[k].record(now)
                    self.waited += waited
                    return waited
            self._sleep(wait)
            waited += wait

    @contextmanager
    def slot(self, key: str | None = None) -> Iterator[None]:
        """One call: a place in the rate windows, and one of the concurrent slots while it runs."""
        self._semaphore.acquire()
        try:
            self.acquire_rate(key)
            yield
        finally:
            self._semaphore.release()
