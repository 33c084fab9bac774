"""The Web Connector's schedule: one session now, or one every N minutes/seconds until stopped.

QBWC runs an application's update on its Scheduler interval (RunEveryNMinutes or
RunEveryNSeconds, the first one in the .qwc), counting from the start of the last run; the
service can postpone the next run (authenticate's third element: next run = last run + that
many seconds) and raise the interval's floor (the fourth element). Only one update runs at a
time (api-notes 9.2, 9.3).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .session import SessionRecord, WebConnector


class Scheduler:
    """Runs ``connector``'s sessions on the .qwc's interval, or on ``every_seconds``."""

    def __init__(self, connector: WebConnector, every_seconds: float | None = None) -> None:
        self.connector = connector
        interval = every_seconds if every_seconds is not None else connector.qwc.run_every_seconds
        self.interval: float | None = float(interval) if interval is not None else None

    def run_once(self, stop: threading.Event | None = None) -> SessionRecord:
        return self.connector.run_session(stop)

    def run(
        self,
        stop: threading.Event | None = None,
        max_sessions: int | None = None,
        on_session: Callable[[SessionRecord], None] | None = None,
    ) -> list[SessionRecord]:
        """Sessions on the schedule until ``stop`` is set or ``max_sessions`` have run;
        ``on_session`` sees each record as its session ends."""
        if self.interval is None:
            raise ValueError(
                f"{self.connector.qwc.app_name}: the .qwc has no Scheduler; run once, or give "
                "an interval"
            )
        stop = stop or threading.Event()
        interval = self.interval
        records: list[SessionRecord] = []
        while not stop.is_set():
            started = time.monotonic()
            record = self.connector.run_session(stop)
            records.append(record)
            if on_session is not None:
                on_session(record)
            if max_sessions is not None and len(records) >= max_sessions:
                break
            if record.min_run_seconds:
                interval = max(interval, float(record.min_run_seconds))
            wait = float(record.postpone_seconds) if record.postpone_seconds else interval
            stop.wait(max(0.0, wait - (time.monotonic() - started)))
        return records
