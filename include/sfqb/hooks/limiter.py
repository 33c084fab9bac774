"""Client-side rate and concurrency limits, so a big load slows down instead of failing.

QBO allows 500 requests a minute and 10 concurrent requests per realm and app, and 40 batch
calls a minute (api-notes 2.4); every item of a batch counts toward the 500 (a batch of 30
costs 30 units). Going over costs a 429 and a back-off of up to a minute, so the hook waits
here first. Intuit counts a request when it arrives, we count it when we send it: the
defaults count each event for 61 s instead of 60, so a request that takes up to a second to
arrive cannot push Intuit's count over. When its answer comes sooner, the request arrived
before it: the event is then moved back to the answer's time less that second (``settle``,
``allowance``), so it counts 60 s from the answer, never less than from its arrival. A window's
units are free again about a second earlier for calls answered at once (500 per 61 s would be
~492 a minute, 98% of the limit; now up to 500 per 60 s and the round trip).

Each Airflow task is its own process, and a QuickBooks task starting a few seconds after the
last one ended must see that one's last minute, or its first burst would meet 429s.
``SharedLog`` keeps the windows in a small file under a lock (``fcntl.flock``), so every
process on the machine (and every container sharing the directory) paces against the same
count: ``SFQB_QBO_LIMITER_DIR`` names the directory (default: the temp directory).

Thread-safe; the clock and sleep are injectable so unit tests run instantly.
Reusable: ``RateLimiter(limits={"all": (500, 61.0), "batch": (40, 61.0)}, concurrency=10,
allowance=1.0)``;
``with limiter.slot("batch", units=30): ...`` counts 30 units against "all" and one call
against "batch".
"""

from __future__ import annotations

import fcntl
import itertools
import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path

log = logging.getLogger(__name__)

ALL = "all"

QBO_LIMITS: dict[str, tuple[int, float]] = {ALL: (500, 61.0), "batch": (40, 61.0)}
QBO_CONCURRENCY = 10
QBO_ALLOWANCE = 1.0
"""Seconds of the 61-second period that cover a request's way to Intuit (``RateLimiter``)."""
LIMITER_DIR_ENV = "SFQB_QBO_LIMITER_DIR"


class SlidingWindow:
    """At most ``limit`` units in any ``period`` seconds (an exact sliding log of
    ``(time, units, token)`` events, not buckets; ``token`` names the call for ``settle``)."""

    def __init__(self, limit: int, period: float) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.events: deque[tuple[float, int, str]] = deque()

    @property
    def used(self) -> int:
        """Units in the log (call ``expire`` first for those inside the window only)."""
        return sum(event[1] for event in self.events)

    def expire(self, now: float) -> None:
        """Drop the events a period old (settled ones can be out of order by up to a second)."""
        if any(at <= now - self.period for at, *_ in self.events):
            self.events = deque(e for e in self.events if e[0] > now - self.period)

    def wait_time(self, now: float, units: int = 1) -> float:
        """Seconds until ``units`` more fit (0 when they fit now)."""
        if units > self.limit:
            raise ValueError(f"{units} units can never fit a limit of {self.limit}")
        self.expire(now)
        excess = self.used + units - self.limit
        if excess <= 0:
            return 0.0
        for at, n, *_ in sorted(self.events):  # the oldest leave first: when enough have left
            excess -= n
            if excess <= 0:
                return min(at + self.period - now, self.period)
        return self.period  # unreachable: the log holds more than the excess

    def record(self, now: float, units: int = 1, token: str = "") -> None:
        self.events.append((now, units, token))

    def settle(self, token: str, at: float) -> None:
        """The call ``token`` was answered: its event counts from ``at`` if that is earlier."""
        for i, (when, units, name) in enumerate(self.events):
            if name == token:
                if at < when:
                    self.events[i] = (at, units, name)
                return


NAMES_KEY = "names"
"""The shared log's key of the events' call names (``settle``), per window, beside the
``[time, units]`` lists an older sfqb reads and writes back without them (a worker not yet
upgraded sharing the file: its calls' events are then never settled, only counted longer)."""


class SharedLog:
    """The windows' events in a file every process on this machine can read, under an
    exclusive ``flock`` while one process decides and records. An unreadable file counts as
    empty (it is rewritten at the next call)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    @contextmanager
    def locked(self, windows: Mapping[str, SlidingWindow]) -> Iterator[Callable[[], None]]:
        """Load the shared events into ``windows``; yields ``save`` to write them back."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+", encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            try:
                stored = json.loads(text) if text.strip() else {}
            except ValueError:
                log.warning(
                    "QuickBooks rate limiter: %s is not readable, starting it afresh", self.path
                )
                stored = {}
            if not isinstance(stored, dict):
                stored = {}
            names = stored.get(NAMES_KEY)
            for key, window in windows.items():
                events = stored.get(key) or []
                called = names.get(key) if isinstance(names, dict) else None
                if not isinstance(called, list) or len(called) != len(events):
                    called = [""] * len(events)  # written by a version without names
                window.events = deque(
                    (float(e[0]), int(e[1]), str(name))
                    for e, name in zip(events, called, strict=True)
                )

            def save() -> None:
                # [time, units] per event as every version reads them; the names apart.
                kept: dict = {k: [[at, n] for at, n, _ in w.events] for k, w in windows.items()}
                kept[NAMES_KEY] = {k: [e[2] for e in w.events] for k, w in windows.items()}
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(kept))
                handle.flush()

            yield save


def shared_log_for(realm_id: str, directory: str | None = None) -> SharedLog:
    """The realm's shared log: in ``directory``, else ``$SFQB_QBO_LIMITER_DIR``, else the
    temp directory."""
    where = directory or os.environ.get(LIMITER_DIR_ENV) or tempfile.gettempdir()
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", realm_id)
    return SharedLog(Path(where) / f"sfqb-qbo-limits-{safe}.json")


class RateLimiter:
    """Sliding-window limits per key (each call counts against ``all`` and its own key) plus
    a concurrency semaphore; with ``shared``, the windows are those of every process sharing
    that log (concurrency stays per process). ``allowance``: the seconds of each period that
    cover a request's way to the server (the QuickBooks hook's: ``QBO_ALLOWANCE``); a call
    answered sooner counts from its answer less that (``slot``). 0: every call counts for the
    whole period from its send."""

    def __init__(
        self,
        limits: Mapping[str, tuple[int, float]] = QBO_LIMITS,
        concurrency: int = QBO_CONCURRENCY,
        *,
        shared: SharedLog | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        allowance: float = 0.0,
    ) -> None:
        self.windows = {
            key: SlidingWindow(limit, period) for key, (limit, period) in limits.items()
        }
        self.concurrency = concurrency
        self.shared = shared
        self._semaphore = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        # Processes compare times through the shared log: the wall clock, not this process's.
        self._clock = clock or (time.time if shared is not None else time.monotonic)
        self._sleep = sleep
        self.allowance = allowance
        # Names for the calls' events, unique between processes sharing the log. count() is
        # safe to share between threads (a generator expression is not).
        self._prefix, self._count = secrets.token_hex(4), itertools.count()
        self.waited = 0.0  # total seconds spent waiting for the rate windows (for logs)

    def _locked(self):
        return self.shared.locked(self.windows) if self.shared else nullcontext(lambda: None)

    def acquire_rate(self, key: str | None = None, units: int = 1) -> float:
        """Block until one call of ``key`` fits every window it counts against; record it.
        ``units`` (batch items) count against ``all``; the call counts once against ``key``.
        Returns the seconds waited."""
        return self._take(key, units)[0]

    def _take(self, key: str | None, units: int) -> tuple[float, str]:
        """``acquire_rate``; also the token its events carry (``settle``)."""
        cost = {ALL: units}
        if key is not None and key != ALL:
            cost[key] = 1
        cost = {k: n for k, n in cost.items() if k in self.windows}
        token = f"{self._prefix}-{next(self._count)}"
        waited = 0.0
        while True:
            with self._lock, self._locked() as save:
                now = self._clock()
                wait = max(
                    (self.windows[k].wait_time(now, n) for k, n in cost.items()), default=0.0
                )
                if wait <= 0:
                    for k, n in cost.items():
                        self.windows[k].record(now, n, token)
                    save()
                    self.waited += waited
                    return waited, token
            self._sleep(wait)
            waited += wait

    def settle(self, token: str) -> None:
        """The call ``token`` was answered (or failed) now: it reached the server before now,
        so its events count from now less ``allowance`` when that is earlier than its send."""
        with self._lock, self._locked() as save:
            at = self._clock() - self.allowance
            for window in self.windows.values():
                window.settle(token, at)
            save()

    @contextmanager
    def slot(self, key: str | None = None, units: int = 1) -> Iterator[None]:
        """One call: a place in the rate windows, and one of the concurrent slots while it
        runs; once it ends, its events are settled (``settle``)."""
        self._semaphore.acquire()
        try:
            _, token = self._take(key, units)
            try:
                yield
            finally:
                if self.allowance > 0:
                    self.settle(token)
        finally:
            self._semaphore.release()
