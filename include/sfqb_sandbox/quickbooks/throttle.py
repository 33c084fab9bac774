"""Intuit's per-realm limits (api-notes 2.4): 500 requests/min, 10 concurrent, 40 batch calls/min.

Sliding 60-second windows on the sandbox clock. Only admitted requests count; each batch item
counts toward the per-minute limit. ``work_ms`` is simulated server work done while holding a
concurrency slot, so tests can exercise the concurrency limit deterministically.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass


@dataclass
class ThrottleSettings:
    enabled: bool = True
    per_minute: int = 500
    concurrent: int = 10
    batch_per_minute: int = 40
    retry_after: float | None = 60
    work_ms: int = 0
    xml: bool = False

    def update(self, body: dict) -> None:
        for key, value in body.items():
            if key not in self.__dataclass_fields__:
                raise KeyError(key)
            if key in ("enabled", "xml"):
                value = bool(value)
            elif key == "retry_after":
                value = None if value is None else float(value)
            else:
                value = int(value)
            setattr(self, key, value)

    def public(self) -> dict:
        return asdict(self)


class Throttle:
    def __init__(self) -> None:
        self.settings = ThrottleSettings()
        self.reset_windows()

    def reset_windows(self) -> None:
        self.requests: deque[float] = deque()
        self.batches: deque[float] = deque()
        self.in_flight = 0
        self.rejected = 0

    @staticmethod
    def _prune(window: deque[float], now: float) -> None:
        while window and window[0] <= now - 60:
            window.popleft()

    def admit(self, now: float, units: int = 1) -> bool:
        """Take ``units`` from the per-minute budget and a concurrency slot, or refuse."""
        if not self.settings.enabled:
            self.in_flight += 1
            return True
        self._prune(self.requests, now)
        if (
            self.in_flight >= self.settings.concurrent
            or len(self.requests) + units > self.settings.per_minute
        ):
            self.rejected += 1
            return False
        self.requests.extend([now] * units)
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)

    def admit_batch(self, now: float, items: int) -> bool:
        """A batch call: one of ``batch_per_minute`` plus ``items - 1`` more request units."""
        if not self.settings.enabled:
            return True
        self._prune(self.batches, now)
        self._prune(self.requests, now)
        if (
            len(self.batches) >= self.settings.batch_per_minute
            or len(self.requests) + max(0, items - 1) > self.settings.per_minute
        ):
            self.rejected += 1
            return False
        self.batches.append(now)
        self.requests.extend([now] * max(0, items - 1))
        return True

    def describe(self, now: float) -> dict:
        self._prune(self.requests, now)
        self._prune(self.batches, now)
        return {
            **self.settings.public(),
            "window_requests": len(self.requests),
            "window_batches": len(self.batches),
            "in_flight": self.in_flight,
            "rejected": self.rejected,
        }
