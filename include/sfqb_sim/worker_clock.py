"""The worker's clock in the simulated world.

In production the Airflow workers' clocks and Salesforce's and Intuit's agree (NTP). The
simulation moves the sandbox servers' clock an hour per simulated hour, so the worker's clock
must move with it, or every comparison between a worker time and a service time is off by the
simulated days. sfqb reads the worker's clock in two modules: ``sfqb.steps.load.now_stamp``
(``Last_Sync_Date__c`` of the areas whose rules never compare it with a QuickBooks time) and
``sfqb.hooks.quickbooks.clock`` (``ServerClock``: Intuit's time is the worker's corrected by the
offset the answers show; the worker's alone before the first answer). While installed,
``dt.datetime.now()`` in those modules reads the sandbox clock (real time plus the sandbox's
offset); nothing else in the process changes. ``bench.desktop_sync`` installs it too, so the
Desktop service's stamps follow the sandboxes' hourly steps as the emulated PC's do.
"""

from __future__ import annotations

import datetime
import importlib
import types
from collections.abc import Iterator
from contextlib import contextmanager

MODULES = ("sfqb.steps.load", "sfqb.hooks.quickbooks.clock")
DESKTOP_MODULES = (
    "sfqb.qbwc.queue",
    "sfqb.qbwc.service",
    "sfqb.hooks.desktop.adapter",
    "sfqb.hooks.desktop.waiting",
    "sfqb.tasks.desktop_wait",
    "sfqb.hooks.desktop.clock",
)
"""On QuickBooks Desktop the service's queue stamps every poll, session and job, and the
waits compare the worker's time with those stamps: they read the worker's (simulated) clock as
well. The adapter's ``DesktopClock`` takes QuickBooks' time from the answers' TimeModified, on
the sandbox clock already; it reads the worker's only before it has seen any."""


class WorkerClock:
    def __init__(self, extra_modules: tuple[str, ...] = ()) -> None:
        self.offset = datetime.timedelta(0)
        self.modules = MODULES + tuple(extra_modules)

    def follow(self, clock: dict) -> None:
        """Take the offset of the sandbox clock (what ``/_sandbox/clock`` answers)."""
        if clock.get("frozen"):
            raise ValueError("the simulation runs the sandbox clock, it never freezes it")
        self.offset = datetime.timedelta(seconds=float(clock["offset_seconds"]))

    def module(self) -> types.ModuleType:
        """A stand-in for the ``datetime`` module whose ``datetime.now()`` is shifted."""
        clock = self

        class ShiftedDatetime(datetime.datetime):
            @classmethod
            def now(cls, tz=None):
                return datetime.datetime.now(tz) + clock.offset

        shim = types.ModuleType("datetime")
        shim.__dict__.update({k: v for k, v in vars(datetime).items() if not k.startswith("__")})
        shim.datetime = ShiftedDatetime
        return shim

    @contextmanager
    def installed(self) -> Iterator[WorkerClock]:
        modules = [importlib.import_module(name) for name in self.modules]
        originals = [m.dt for m in modules]
        shim = self.module()
        for m in modules:
            m.dt = shim
        try:
            yield self
        finally:
            for m, original in zip(modules, originals, strict=True):
                m.dt = original
