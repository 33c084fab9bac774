"""The sandbox clock: real time plus an offset, or frozen at a chosen instant.

Everything time-dependent in the servers (timestamps, token expiry, CDC windows, throttling
windows) reads this clock, so tests and simulations can move time without sleeping. The setting
is persisted in the data directory and survives a restart.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from pathlib import Path


def parse_instant(value: str) -> dt.datetime:
    """Parse an ISO-8601 instant; a naive value is taken as UTC."""
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Clock:
    def __init__(self, state_file: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._state_file = state_file
        self._offset = 0.0
        self._frozen: float | None = None
        if state_file is not None and state_file.exists():
            saved = json.loads(state_file.read_text())
            self._offset = float(saved.get("offset_seconds", 0.0))
            self._frozen = saved.get("frozen_epoch")

    def timestamp(self) -> float:
        with self._lock:
            return self._frozen if self._frozen is not None else time.time() + self._offset

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.timestamp(), dt.UTC)

    def set(
        self,
        now: dt.datetime | None = None,
        *,
        frozen: bool = False,
        advance_seconds: float | None = None,
    ) -> dt.datetime:
        """Set the clock to ``now`` (running or frozen there), or move it by ``advance_seconds``."""
        with self._lock:
            current = self._frozen if self._frozen is not None else time.time() + self._offset
            target = now.timestamp() if now is not None else current
            if advance_seconds is not None:
                target += advance_seconds
            if frozen or (now is None and self._frozen is not None):
                self._frozen = target
                self._offset = 0.0
            else:
                self._frozen = None
                self._offset = target - time.time()
            self._save()
        return self.now()

    def reset(self) -> None:
        with self._lock:
            self._offset, self._frozen = 0.0, None
            self._save()

    def describe(self) -> dict:
        return {
            "now": self.now().isoformat(),
            "frozen": self._frozen is not None,
            "offset_seconds": self._offset,
        }

    def _save(self) -> None:
        if self._state_file is not None:
            self._state_file.write_text(
                json.dumps({"offset_seconds": self._offset, "frozen_epoch": self._frozen})
            )
