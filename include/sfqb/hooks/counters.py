"""Counts of API calls a hook made, per endpoint, for logs and the benchmark."""

from __future__ import annotations

import threading
from collections import Counter


class CallCounter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Counter[str] = Counter()

    def add(self, endpoint: str, n: int = 1) -> None:
        with self._lock:
            self._calls[endpoint] += n

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._calls.items()))

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self._calls.values())
