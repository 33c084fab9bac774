"""How the QuickBooks hook cuts a load into ``/batch`` calls (``chunk_sizes``) and names them.

api-notes 2.4/2.8: at most 30 items per batch call, every item counting toward 500 requests a
minute; R-GEN-3: the cut is a pure function of the load, so a retried task repeats it, and each
retry round inside a task has requestids of its own (QuickBooks replays a repeated one).
"""

from __future__ import annotations

import math

import pytest

from sfqb.hooks.limiter import RateLimiter
from sfqb.hooks.quickbooks import BATCH_SIZE, chunk_sizes

pytestmark = pytest.mark.unit


def test_given_fewer_writes_than_a_minute_holds_when_cut_then_calls_of_30_and_the_rest():
    """api-notes 2.8: 30 items per call; a load that fits one minute is cut as before."""
    assert chunk_sizes(65, BATCH_SIZE, 500) == [30, 30, 5]
    assert chunk_sizes(0, BATCH_SIZE, 500) == []
    assert chunk_sizes(480, BATCH_SIZE, 500) == [30] * 16


def test_given_a_window_not_a_multiple_of_30_when_cut_then_every_17th_call_takes_the_remainder():
    """api-notes 2.4: 16 calls of 30 and one of 20 add up to the 500 units of a minute, and so do
    any 17 consecutive calls of the cut; every item is in exactly one call."""
    sizes = chunk_sizes(2000, BATCH_SIZE, 500)
    assert sizes[:17] == [30] * 16 + [20]
    assert sum(sizes) == 2000
    assert max(sizes) <= BATCH_SIZE
    assert all(sum(sizes[i : i + 17]) == 500 for i in range(len(sizes) - 17))
    # the calls stay within 1.1x of the floor (the benchmark target: 2% more calls)
    assert len(sizes) <= 1.1 * math.ceil(2000 / BATCH_SIZE)


def test_given_no_window_or_a_multiple_of_the_batch_when_cut_then_calls_of_30():
    """api-notes 2.8: without a rate window to fill, every call but the last carries 30."""
    assert chunk_sizes(100, BATCH_SIZE, None) == [30, 30, 30, 10]
    assert chunk_sizes(100, BATCH_SIZE, 600) == [30, 30, 30, 10]
    assert chunk_sizes(100, 25, 500) == [25, 25, 25, 25]


def test_given_bad_arguments_when_cut_then_refused():
    """A batch of no items could never carry the load."""
    with pytest.raises(ValueError):
        chunk_sizes(10, 0, 500)
    with pytest.raises(ValueError):
        chunk_sizes(-1, 30, 500)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _last_send(sizes: list[int]) -> float:
    clock = _Clock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for size in sizes:
        limiter.acquire_rate("batch", units=size)
    return clock.now


def test_given_a_throttled_load_when_sent_through_the_limiter_then_it_finishes_a_minute_sooner():
    """api-notes 2.4, for speed: 2,500 creates under 500 units per 61 s. Cut by ``chunk_sizes`` the
    calls fill every window, so the last goes after four windows (244 s); calls of 30 alone
    carry 480 a window and need a fifth (305 s)."""
    assert _last_send(chunk_sizes(2500, BATCH_SIZE, 500)) == pytest.approx(4 * 61.0)
    assert _last_send(chunk_sizes(2500, BATCH_SIZE, None)) == pytest.approx(5 * 61.0)


def test_given_a_retried_task_when_it_batches_the_same_writes_then_it_sends_the_same_calls():
    """R-GEN-3: a task retried after a crash sends the same calls with the same requestids (so
    QuickBooks replays them), whatever the limiter's window holds when it starts: the cut
    depends on the writes and the limit only."""
    from sfqb.hooks.quickbooks import BatchOp, BatchResult, QuickBooksHook

    class Recording(QuickBooksHook):
        sent: list

        def _batch_call(self, chunk, request_id):
            self.sent.append((request_id, [op.key for op in chunk]))
            return [BatchResult(key=op.key, ok=True, entity={}) for op in chunk]

    ops = [
        BatchOp(key=f"SF:{i}", operation="create", entity="Customer", payload={})
        for i in range(1200)
    ]
    first, retried = Recording(limiter=RateLimiter()), Recording(limiter=RateLimiter())
    first.sent, retried.sent = [], []
    retried.limiter.acquire_rate("batch", units=450)  # the crashed attempt's calls, still counted
    first.batch(ops, request_id="run-1")
    retried.batch(ops, request_id="run-1")
    assert first.sent == retried.sent
    assert [len(keys) for _, keys in first.sent] == chunk_sizes(1200, BATCH_SIZE, 500)


class _ReplayingQuickBooks:
    """QuickBooks' side of ``/batch`` as api-notes 2.8/2.10 describe it: a 200 answer whose items
    may each carry a fault, stored under the call's requestid and replayed for a repeat of that
    requestid (nothing applied twice). The first ``throttled_calls`` new calls answer every
    item with a throttle fault (3001) inside the 200."""

    def __init__(self, throttled_calls: int) -> None:
        self.throttled_calls = throttled_calls
        self.answers: dict[str, list] = {}
        self.created: list[str] = []
        self.sent: list[tuple[str, list[str]]] = []

    def answer(self, chunk, request_id: str) -> list:
        from sfqb.hooks.errors import ThrottledError
        from sfqb.hooks.quickbooks import BatchResult

        self.sent.append((request_id, [op.key for op in chunk]))
        if request_id not in self.answers:
            if self.throttled_calls > 0:
                self.throttled_calls -= 1
                self.answers[request_id] = [
                    BatchResult(
                        op.key,
                        False,
                        error=ThrottledError("QuickBooks throttled the request", code=3001),
                    )
                    for op in chunk
                ]
            else:
                self.created += [op.key for op in chunk]
                self.answers[request_id] = [
                    BatchResult(op.key, True, entity={"Id": op.key}) for op in chunk
                ]
        return self.answers[request_id]


def _hook_on(quickbooks: _ReplayingQuickBooks):
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.retry import RetryPolicy

    class Hook(QuickBooksHook):
        def _batch_call(self, chunk, request_id):
            return quickbooks.answer(chunk, request_id)

    return Hook(
        limiter=RateLimiter(), retry_policy=RetryPolicy(max_attempts=3), sleep=lambda _: None
    )


def test_given_every_item_throttled_inside_a_200_when_retried_in_the_task_then_each_round_has_its_own_requestid():
    """R-GEN-3, api-notes 2.8/2.10: QuickBooks stores a batch answer under its requestid, the
    throttled one too. The hook's next round re-sends the same items under a new requestid (the
    round is part of it), so the round is applied instead of replaying the stored throttles."""
    from sfqb.hooks.quickbooks import BatchOp

    quickbooks = _ReplayingQuickBooks(throttled_calls=2)
    ops = [
        BatchOp(key=f"SF:{i}", operation="create", entity="Customer", payload={}) for i in range(45)
    ]
    results = _hook_on(quickbooks).batch(ops, request_id="run-1")
    assert [r.ok for r in results] == [True] * 45
    assert sorted(quickbooks.created) == sorted(op.key for op in ops)
    calls = [[f"SF:{i}" for i in range(30)], [f"SF:{i}" for i in range(30, 45)]]
    assert [keys for _, keys in quickbooks.sent] == calls * 2  # round 1 throttled, round 2 applied
    assert len({request_id for request_id, _ in quickbooks.sent}) == 4  # the same keys, new ids


def test_given_a_task_retried_after_its_throttled_rounds_when_it_batches_again_then_quickbooks_replays_every_call():
    """R-GEN-3: a retried task sends exactly what the first attempt sent, round by round (each
    round's requestid depends on the run's id, the round and the keys only), so QuickBooks
    replays every answer and nothing is created twice."""
    from sfqb.hooks.quickbooks import BatchOp

    quickbooks = _ReplayingQuickBooks(throttled_calls=2)
    ops = [
        BatchOp(key=f"SF:{i}", operation="create", entity="Customer", payload={}) for i in range(45)
    ]
    first = _hook_on(quickbooks).batch(ops, request_id="run-1")
    sent_first, created_first = list(quickbooks.sent), list(quickbooks.created)
    quickbooks.sent.clear()
    retried = _hook_on(quickbooks).batch(ops, request_id="run-1")
    assert quickbooks.sent == sent_first
    assert quickbooks.created == created_first
    assert [(r.key, r.ok, r.entity) for r in retried] == [(r.key, r.ok, r.entity) for r in first]
