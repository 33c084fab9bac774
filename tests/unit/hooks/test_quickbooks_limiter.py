"""The client-side rate limiter with a fake clock: sliding windows and concurrency.

api-notes 2.4: 500 requests/min (counted over 61 s), 10 concurrent, 40 batch calls/min per realm;
the windows shared between processes through a file.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from sfqb.hooks.limiter import (
    LIMITER_DIR_ENV,
    QBO_ALLOWANCE,
    QBO_LIMITS,
    RateLimiter,
    SharedLog,
    SlidingWindow,
    shared_log_for,
)

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


def test_given_qbo_defaults_when_501_calls_made_then_the_last_waits_61_seconds_from_the_send():
    """api-notes 2.4: 500 a minute; a call counts for 61 s from its send, so one that takes
    up to a second to arrive still makes at most 500 in any minute of Intuit's. These calls,
    sent side by side, are answered two seconds later: too late to tell when they arrived
    within that second, so each still counts from its send."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, allowance=QBO_ALLOWANCE)
    for _ in range(500):
        with limiter.slot():
            clock.now = 1002.0  # its answer
        clock.now = 1000.0  # the next call is sent beside it
    assert clock.slept == []
    with limiter.slot():
        pass
    assert clock.slept == [pytest.approx(61.0)]
    assert QBO_LIMITS["all"] == (500, 61.0)


def test_given_calls_answered_at_once_when_the_minute_is_full_then_they_count_from_the_answer():
    """api-notes 2.4: Intuit counts a request on arrival, and an answered request arrived
    before its answer: a call answered 0.2 s after its send counts until 60 s after the answer
    (61 s less the second allowed for the way there), so the window frees 0.8 s sooner. A call
    still in flight keeps its whole 61 s from the send."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep, allowance=QBO_ALLOWANCE)
    assert limiter.acquire_rate() == 0  # in flight: never answered
    for _ in range(499):
        with limiter.slot():
            clock.now = 1000.2
        clock.now = 1000.0
    with limiter.slot():
        pass
    assert clock.slept == [pytest.approx(60.2)]
    times = sorted(e[0] for e in limiter.windows["all"].events)
    assert times[-2:] == [pytest.approx(1000.0), pytest.approx(1059.2)]


def test_given_a_window_when_a_call_is_settled_then_its_event_moves_earlier_never_later():
    """api-notes 2.4: settling moves a call's event back to its answer less the allowance,
    and never forward (a late answer says nothing earlier than the send); other calls' events
    stay; an unknown call changes nothing."""
    window = SlidingWindow(10, 61.0)
    window.record(100.0, 3, "a")
    window.record(100.5, 1, "b")
    window.settle("a", 99.4)
    window.settle("b", 101.0)
    window.settle("c", 0.0)
    assert list(window.events) == [(99.4, 3, "a"), (100.5, 1, "b")]
    window.expire(160.45)  # 99.4 + 61 passed, 100.5 + 61 not yet
    assert list(window.events) == [(100.5, 1, "b")]


def test_given_many_threads_when_they_take_slots_at_once_then_each_call_is_counted_and_settled():
    """api-notes 2.4 (10 at once): a hook reads pages and IN lists four at a time, from pool
    threads sharing one limiter: every call gets its own event name (a shared generator of
    names raised "generator already executing" under this load), each is counted once, and
    each is settled (moved back before its send: answered at once)."""
    limiter = RateLimiter({"all": (10_000, 61.0)}, concurrency=10, allowance=QBO_ALLOWANCE)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def calls() -> None:
        try:
            start.wait()
            for _ in range(200):
                with limiter.slot():
                    pass
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=calls) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    events = list(limiter.windows["all"].events)
    assert len(events) == 1600 and len({name for *_, name in events}) == 1600
    assert all(at < time.monotonic() - 0.5 for at, *_ in events)


def test_given_batch_calls_when_41_made_then_the_batch_window_throttles_and_counts_in_all():
    """api-notes 2.4: 40 batch calls a minute; each also counts against the overall limit."""
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
    assert sum(clock.slept) == pytest.approx(61.0)


def test_given_a_concurrency_of_two_when_four_threads_call_then_at_most_two_run_at_once():
    """api-notes 2.4: at most N requests in flight (10 for QBO)."""
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
    """api-notes 2.4: batch items count toward the 500/min; 16 batches of 30 and one of 20 fill
    500, the next waits until the first batch's units are 61 s old."""
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, sleep=clock.sleep)
    for i in range(16):
        clock.now = 1000.0 + i
        limiter.acquire_rate("batch", units=30)
    limiter.acquire_rate("batch", units=20)
    assert clock.slept == []
    limiter.acquire_rate("batch", units=30)
    assert clock.now == pytest.approx(1061.0)
    with pytest.raises(ValueError):
        limiter.acquire_rate("batch", units=501)


def test_given_two_processes_sharing_a_log_when_one_fills_the_minute_then_the_other_waits(tmp_path):
    """api-notes 2.4 counts per realm, not per process: a task starting right after another
    (each Airflow task is its own process) sees the other's last minute in the shared log and
    waits for it, where a limiter of its own would send at once and meet 429s."""
    clock = FakeClock()
    log_file = tmp_path / "limits.json"
    first = RateLimiter(shared=SharedLog(log_file), clock=clock, sleep=clock.sleep)
    for _ in range(16):
        first.acquire_rate("batch", units=30)  # 480 units at t=1000
    clock.now += 30.0
    second = RateLimiter(shared=SharedLog(log_file), clock=clock, sleep=clock.sleep)
    assert second.acquire_rate("batch", units=30) == pytest.approx(31.0)  # 510 > 500 until 1061
    alone = RateLimiter(clock=clock, sleep=clock.sleep)
    assert alone.acquire_rate("batch", units=30) == 0
    assert first.acquire_rate("query") == 0  # the second's 30 units are in the log: 31 in use
    assert sum(e[1] for e in first.windows["all"].events) == 31


def test_given_an_unreadable_shared_log_when_a_call_is_made_then_it_starts_afresh(tmp_path, caplog):
    """A damaged log must not stop the sync: it counts as empty, with a WARNING, and is rewritten."""
    log_file = tmp_path / "limits.json"
    log_file.write_text("{not json", encoding="utf-8")
    clock = FakeClock()
    limiter = RateLimiter(shared=SharedLog(log_file), clock=clock, sleep=clock.sleep)
    assert limiter.acquire_rate("batch", units=30) == 0
    assert "not readable" in caplog.text
    stored = json.loads(log_file.read_text(encoding="utf-8"))
    assert [e[:2] for e in stored["all"]] == [[1000.0, 30]]
    assert [e[:2] for e in stored["batch"]] == [[1000.0, 1]]


def test_given_no_directory_configured_when_the_realm_log_is_placed_then_the_env_names_it(
    tmp_path, monkeypatch
):
    """SFQB_QBO_LIMITER_DIR (docker-compose: a volume every worker shares) holds one log per
    realm, its name safe for any realm id."""
    monkeypatch.setenv(LIMITER_DIR_ENV, str(tmp_path))
    assert shared_log_for("9130 355/x").path == tmp_path / "sfqb-qbo-limits-9130_355_x.json"
    assert shared_log_for("1", str(tmp_path / "elsewhere")).path.parent == tmp_path / "elsewhere"


def test_given_a_log_shared_with_an_older_sfqb_when_either_reads_it_then_both_count_every_call(
    tmp_path,
):
    """api-notes 2.4 (one count per realm): workers upgraded one at a time share the log. A
    log an older sfqb wrote ([time, units] per event, no names) is read and its events count;
    the log written now keeps [time, units] per event where the older reads them (its names
    apart), so the older one counts the new calls too instead of failing."""
    clock = FakeClock()
    log_file = tmp_path / "limits.json"
    log_file.write_text(json.dumps({"all": [[1000.0, 30]], "batch": [[1000.0, 1]]}))
    limiter = RateLimiter(
        shared=SharedLog(log_file), clock=clock, sleep=clock.sleep, allowance=QBO_ALLOWANCE
    )
    with limiter.slot("batch", units=30):
        pass
    assert [e[1] for e in limiter.windows["all"].events] == [30, 30]
    stored = json.loads(log_file.read_text())
    as_older = {k: [(float(at), int(n)) for at, n in stored[k]] for k in ("all", "batch")}
    assert as_older == {"all": [(1000.0, 30), (999.0, 30)], "batch": [(1000.0, 1), (999.0, 1)]}
