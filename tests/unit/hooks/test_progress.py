"""Progress lines of long writes (R-OPS-2): batch n of m, records, rate, at a sane
frequency."""

from __future__ import annotations

import logging

import pytest

from sfqb.hooks.limiter import RateLimiter
from sfqb.hooks.progress import Progress
from sfqb.hooks.quickbooks import BatchOp, BatchResult, QuickBooksHook  # configures logging first

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_given_a_long_write_when_batches_finish_then_progress_is_logged_first_every_interval_and_last(
    caplog,
):
    """R-OPS-2: 100 batches of 200 records, 1 s each, logged every 15 s: the first batch,
    then one line per 15 s, and the last; each line says batch n of m, records, rate and time
    so far, and each but the last how long the rest takes at that rate."""
    clock = Clock()
    progress = Progress(
        "Salesforce collections.update Account",
        batches=100,
        records=20_000,
        every=15.0,
        clock=clock,
    )
    with caplog.at_level(logging.INFO, logger="sfqb.hooks.progress"):
        for _ in range(100):
            clock.now += 1.0
            progress.step(200)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[0] == "Salesforce collections.update Account: batch 1 of 100, 200 of 20000 records, "
        "200 records/s, 1 s, about 99 s left"
    )
    assert lines[1] == (
        "Salesforce collections.update Account: batch 16 of 100, 3200 of 20000 records, "
        "200 records/s, 16 s, about 84 s left"
    )
    assert lines[-1] == (
        "Salesforce collections.update Account: batch 100 of 100, 20000 of 20000 records, "
        "200 records/s, 100 s"
    )
    assert len(lines) == 8  # batches 1, 16, 31, 46, 61, 76, 91 and 100


def test_given_a_write_of_one_batch_when_it_finishes_then_no_progress_line_is_logged(caplog):
    """R-OPS-2: a one-call write has no progress to report (its summary line says it all)."""
    with caplog.at_level(logging.INFO, logger="sfqb.hooks.progress"):
        Progress("QuickBooks batch", batches=1, records=30, clock=Clock()).step(30)
    assert caplog.records == []


def test_given_a_quickbooks_batch_of_90_writes_when_sent_then_its_calls_are_logged_as_progress(
    caplog,
):
    """The hook's batch path: 90 writes go as 3 calls of 30; progress names them (the calls
    themselves are replaced here: a pure unit test of the loop)."""

    class NoNetwork(QuickBooksHook):
        def _batch_call(self, chunk, request_id):
            return [BatchResult(key=op.key, ok=True, entity={}) for op in chunk]

    ops = [
        BatchOp(key=str(i), operation="create", entity="Customer", payload={}) for i in range(90)
    ]
    with caplog.at_level(logging.INFO, logger="sfqb.hooks.progress"):
        results = NoNetwork(limiter=RateLimiter()).batch(ops)  # no realm to look up
    assert len(results) == 90
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0].startswith("QuickBooks batch: batch 1 of 3, 30 of 90 records")
    assert lines[-1].startswith("QuickBooks batch: batch 3 of 3, 90 of 90 records")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.4, "0 s"),
        (45, "45 s"),
        (119, "119 s"),
        (150, "2 min"),
        (3599, "60 min"),
        (7500, "2 h 05 min"),
    ],
)
def test_given_a_time_when_written_for_a_person_then_it_takes_the_unit_that_matters(seconds, text):
    """R-OPS-2: progress lines give times a person reads at a glance."""
    from sfqb.hooks.progress import duration

    assert duration(seconds) == text
