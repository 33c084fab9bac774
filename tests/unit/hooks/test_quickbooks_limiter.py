"""The client-side rate limiter with a fake clock: sliding windows and concurrency.

api-spec 2.4: 500 requests/min (we keep 450), 10 concurrent, 40 batch calls/min per realm.
"""

from __future__ import annotations

import threading
import time

import pytest

from sfqb.hooks.limiter import QBO_LIMITS, RateLimiter, SlidingWindow

pytestmark = pytest.mark.unit


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_given_a_full_window_when_time_passes_then_the_oldest_event_frees_a_place():
    """A sliding window: the (limit+1)th event waits until the first one is a period old."""
    window = SlidingWindow(3, 60.0)
    for t in (0.0, 10.0, 20.0):
        assert window.wait_time(t) == 0
        window.record(t)
    assert window.wait_time(30.0) == pytest.approx(30.0)
    assert window.wait_time(60.0) == 0


def test_given_qbo_defaults_when_451_calls_made_then_the_last_waits_a_minute():
    """api-spec 2.4: with headroom (450/min) a burst slows down instead of getting 429s."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(450):
        with limiter.slot():
            pass
    assert clock.slept == []
    with limiter.slot():
        pass
    assert sum(clock.slept) == pytest.approx(60.0)
    assert QBO_LIMITS["all"] == (450, 60.0)


def test_given_batch_calls_when_41_made_then_the_batch_window_throttles_and_counts_in_all():
    """api-spec 2.4: 40 batch calls a minute; each also counts against the overall limit."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for _ in range(40):
        limiter.acquire_rate("batch")
    assert clock.slept == []
    assert len(limiter.windows["all"].events) == 40
    limiter.acquire_rate("query")  # a key without its own window counts only against "all"
    assert len(limiter.windows["all"].events) == 41
    assert len(limiter.windows["batch"].events) == 40
    limiter.acquire_rate("batch")
    assert sum(clock.slept) == pytest.approx(60.0)


def test_given_a_concurrency_of_two_when_four_threads_call_then_at_most_two_run_at_once():
    """api-spec 2.4: at most N requests in flight (10 for QBO)."""
    limiter = RateLimiter({"all": (1000, 60.0)}, concurrency=2)
    running, peak, lock = [0], [0], threading.Lock()

    def call():
        with limiter.slot():
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 2


def test_given_a_failing_call_when_slot_exits_then_the_concurrency_slot_is_released():
    """An exception inside a call must not leak a slot (or the hook would stall)."""
    limiter = RateLimiter({"all": (1000, 60.0)}, concurrency=1)
    with pytest.raises(RuntimeError), limiter.slot():
        raise RuntimeError("boom")
    with limiter.slot():  # would block forever if the slot leaked
        pass


def test_given_bad_limits_when_window_made_then_refused():
    """A zero limit would block forever."""
    with pytest.raises(ValueError):
        SlidingWindow(0, 60.0)


def test_given_batches_of_30_when_sent_then_each_item_counts_toward_the_minute_limit():
    """api-spec 2.4: batch items count toward the 500/min; 15 batches of 30 fill 450, the
    16th waits until the first batch's units are a minute old."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for i in range(15):
        clock.now = 1000.0 + i
        limiter.acquire_rate("batch", units=30)
    assert clock.slept == []
    limiter.acquire_rate("batch", units=30)
    assert clock.now == pytest.approx(1060.0)
    with pytest.raises(ValueError):
        limiter.acquire_rate("batch", units=451)
