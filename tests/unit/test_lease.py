"""The run lease (R-GEN-10): its pure rules, the protocol over a Variable store, and mutual
exclusion between threads that share nothing but that store."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time

import pytest

from sfqb.lease import (
    LeaseLost,
    LeaseUnavailable,
    RunLease,
    Timing,
    ahead,
    before_call,
    entry_summary,
    expired,
    holder,
    holding,
    lease_key,
    next_number,
)
from sfqb.state import LEASE_PREFIX, InMemoryVariables, SyncState

pytestmark = pytest.mark.unit

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)


def entry(
    run_id: str,
    number: int | None,
    *,
    beat: dt.datetime = T0,
    dag_id: str = "sfqb_sync",
    choosing: bool = False,
    acquired: bool = False,
    expiry: float = 600,
) -> dict:
    return {
        "dag_id": dag_id,
        "run_id": run_id,
        "number": number,
        "choosing": choosing,
        "registered_at": T0.isoformat(),
        "acquired_at": T0.isoformat() if acquired else None,
        "heartbeat_at": beat.isoformat(),
        "expiry_seconds": expiry,
    }


class Clock:
    """Wall and monotonic time that move only when the protocol sleeps (or a test says so)."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.wall, self.mono = start, 1000.0

    def now(self) -> dt.datetime:
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.wall += dt.timedelta(seconds=seconds)
        self.mono += seconds


def lease_of(
    store, run_id: str, clock: Clock, *, dag_id: str = "sfqb_sync", expiry: float = 60
) -> RunLease:
    return RunLease(
        store,
        dag_id=dag_id,
        run_id=run_id,
        expiry=expiry,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=clock.sleep,
    )


def plant(store, e: dict) -> str:
    key = lease_key(e["dag_id"], e["run_id"])
    store.set(key, json.dumps(e))
    return key


# -- pure rules --------------------------------------------------------------------------------
def test_given_a_heartbeat_when_it_is_older_than_the_entrys_expiry_then_the_entry_is_expired():
    """R-GEN-10: a lease whose holder died expires; each entry by its own expiry."""
    beat = entry("a", 1, beat=T0, expiry=600)
    assert not expired(beat, T0 + dt.timedelta(seconds=600))
    assert expired(beat, T0 + dt.timedelta(seconds=601))
    assert expired(entry("b", 1, beat=T0, expiry=30), T0 + dt.timedelta(seconds=31))


def test_given_an_expiry_when_timed_then_holders_beat_six_times_and_stop_writing_at_two_thirds():
    """R-GEN-10: the heartbeat and the holder's own limit leave a third of the expiry for clock
    differences and a write in flight."""
    timing = Timing(1800)
    assert (timing.heartbeat, timing.hold_limit, timing.poll) == (300, 1200, 5.0)
    assert Timing(3).poll == 0.5


def test_given_entries_when_ordered_then_smaller_numbers_choosing_ones_and_no_expired_ones_are_ahead():
    """R-GEN-10 (bakery rule): a run waits for live entries with a smaller (number, DAG, run)
    and for runs still choosing their number; dead entries block nobody."""
    mine = entry("m", 5)
    others = {
        "low": entry("low", 3),
        "tie_before": entry("a-run", 5),  # same number, earlier run id: ahead
        "tie_after": entry("z-run", 5),
        "high": entry("high", 9),
        "choosing": entry("c", None, choosing=True),
        "dead": entry("dead", 1, beat=T0 - dt.timedelta(hours=1)),
    }
    assert [e["run_id"] for e in ahead(mine, others, T0)] == ["c", "low", "a-run"]
    assert next_number(others) == 10
    assert next_number({}) == 1


def test_given_entries_when_asked_for_the_holder_then_the_live_acquired_entry_first_in_line_is_it():
    """R-GEN-10: the run named as holder is the one that took the lease, not a dead one."""
    entries = {
        "dead": entry("dead", 1, acquired=True, beat=T0 - dt.timedelta(hours=1)),
        "holds": entry("holds", 4, acquired=True),
        "waits": entry("waits", 2),
    }
    assert holder(entries, T0)["run_id"] == "holds"
    assert holder({"waits": entry("waits", 2)}, T0)["run_id"] == "waits"
    assert holder({}, T0) is None
    shown = entry_summary(entries, T0)
    assert {e["run_id"]: e["state"] for e in shown.values()} == {
        "dead": "expired",
        "holds": "holds",
        "waits": "waits",
    }


def test_given_run_ids_with_colons_when_keyed_then_each_run_has_its_own_variable_under_the_prefix():
    """R-GEN-10: one Variable per run (its own register), named safely for any run id."""
    a = lease_key("sfqb_sync", "manual__2026-05-01T12:00:00+00:00")
    b = lease_key("sfqb_sync", "scheduled__2026-05-01T12:00:00+00:00")
    assert a != b and a.startswith(LEASE_PREFIX + "sfqb_sync.") and ":" not in a and "+" not in a


# -- the protocol --------------------------------------------------------------------------------
def test_given_no_other_run_when_acquiring_then_the_run_takes_the_lease_at_once():
    """R-GEN-10: a lone run takes the lease without waiting and its entry names it."""
    store, clock = InMemoryVariables(), Clock()
    lease = lease_of(store, "r1", clock)
    lease.acquire(wait=30)
    saved = json.loads(store.data[lease.key])
    assert (saved["run_id"], saved["number"], saved["choosing"]) == ("r1", 1, False)
    assert saved["acquired_at"] and clock.mono == 1000.0
    assert lease.release() and store.data == {}


def test_given_a_live_holder_when_another_run_waits_past_its_bound_then_it_gives_up_naming_the_holder():
    """R-GEN-10: the waiting run waits a bounded time, then ends without writing, saying which
    run of which DAG holds the lease; it leaves no entry behind, the holder's stays."""
    store, clock = InMemoryVariables(), Clock()
    holder_lease = lease_of(store, "manual__holder", clock, dag_id="sfqb_invoice_migration")
    holder_lease.acquire(wait=0)
    beat = threading.Event()  # the holder keeps beating while the other waits

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        store.set(
            holder_lease.key,
            json.dumps(
                {
                    **json.loads(store.data[holder_lease.key]),
                    "heartbeat_at": clock.now().isoformat(),
                }
            ),
        )
        beat.set()

    waiting = RunLease(
        store,
        dag_id="sfqb_sync",
        run_id="scheduled__later",
        expiry=60,
        now=clock.now,
        monotonic=clock.monotonic,
        sleep=sleep,
    )
    with pytest.raises(LeaseUnavailable) as caught:
        waiting.acquire(wait=120)
    message = str(caught.value)
    assert "sfqb_invoice_migration run manual__holder" in message
    assert "waited 120 s" in message and "without writing" in message
    assert beat.is_set() and 120 <= clock.mono - 1000 < 125
    assert list(store.data) == [holder_lease.key]


def test_given_a_holder_that_died_when_another_run_waits_then_it_takes_the_lease_after_the_expiry():
    """R-GEN-10: a killed holder's lease expires: the next run proceeds once the dead entry's
    heartbeat is older than its expiry, and removes it."""
    store, clock = InMemoryVariables(), Clock()
    dead = plant(
        store, entry("killed", 1, acquired=True, beat=T0 - dt.timedelta(seconds=50), expiry=60)
    )
    lease = lease_of(store, "next", clock)
    lease.acquire(wait=300)
    waited = clock.mono - 1000
    assert 10 < waited <= 10 + Timing(60).poll  # 60 s expiry - 50 s gone, at the poll's pace
    assert dead not in store.data and json.loads(store.data[lease.key])["acquired_at"]


def test_given_wait_zero_when_the_lease_is_held_then_the_run_gives_up_at_once():
    """R-GEN-10: lease_wait_seconds 0 means: do not wait."""
    store, clock = InMemoryVariables(), Clock()
    plant(store, entry("holds", 1, acquired=True))
    with pytest.raises(LeaseUnavailable):
        lease_of(store, "other", clock).acquire(wait=0)
    assert clock.mono == 1000.0


def test_given_a_retried_take_lease_when_it_acquires_again_then_it_keeps_its_place_in_line():
    """R-GEN-10: a retried task of a run is the same run: its live entry keeps its number."""
    store, clock = InMemoryVariables(), Clock()
    lease_of(store, "first", clock).acquire(wait=0)
    second = lease_of(store, "second", clock)
    with pytest.raises(LeaseUnavailable):
        second.acquire(wait=0)  # gave up: entry gone
    plant(store, entry("third", 7))  # a waiter with a later number
    store.set(second.key, json.dumps(entry("second", 3, beat=clock.now())))
    store.delete(lease_key("sfqb_sync", "first"))
    second.acquire(wait=0)
    assert json.loads(store.data[second.key])["number"] == 3


def test_given_a_stall_while_it_reads_the_entries_when_acquiring_then_the_run_registers_again_first(
    caplog,
):
    """R-GEN-10: a run that stalled past two thirds of the expiry since its last heartbeat may
    have looked dead to others (and been overtaken): it does not take the lease on that read."""
    store, clock = InMemoryVariables(), Clock()
    listings = []
    keys = store.keys

    def stalling_keys(prefix):
        listings.append(clock.mono)
        if len(listings) == 2:  # the wait loop's first listing (the first is the registration's)
            clock.advance(45)  # expiry 60: past the holder's 40 s
        return keys(prefix)

    store.keys = stalling_keys
    lease_of(store, "r1", clock).acquire(wait=0)
    assert "place in line for the lease was lost; registering again" in caplog.text
    assert (
        len(listings) == 4 and json.loads(store.data[lease_key("sfqb_sync", "r1")])["acquired_at"]
    )


def test_given_the_holder_when_a_later_task_or_a_retry_resumes_then_it_passes_its_own_check():
    """R-GEN-10: every task of the holder run (a retried one too) holds the lease; another run
    does not."""
    store, clock = InMemoryVariables(), Clock()
    lease_of(store, "holder", clock).acquire(wait=0)
    clock.advance(30)
    held = lease_of(store, "holder", clock).resume()  # a fresh object, as in a new task process
    held.check()
    assert (
        json.loads(store.data[lease_key("sfqb_sync", "holder")])["heartbeat_at"]
        == clock.now().isoformat()
    )
    with pytest.raises(LeaseLost, match="sfqb_sync run holder .*holds it now"):
        lease_of(store, "intruder", clock).resume()


def test_given_a_gap_longer_than_two_thirds_of_the_expiry_when_the_next_task_resumes_then_it_lost_the_lease():
    """R-GEN-10: a run whose heartbeat may look dead to others never writes again."""
    store, clock = InMemoryVariables(), Clock()
    lease_of(store, "holder", clock).acquire(wait=0)
    clock.advance(41)  # expiry 60: the holder's limit is 40 s
    with pytest.raises(LeaseLost, match="41 s old"):
        lease_of(store, "holder", clock).resume()


def test_given_an_operator_reset_when_the_holder_beats_then_it_knows_it_lost_the_lease():
    """R-GEN-10: `state reset lease` releases a lease; its holder, if alive, stops writing."""
    store, clock = InMemoryVariables(), Clock()
    held = lease_of(store, "holder", clock).acquire(wait=0)
    assert SyncState(store).reset("lease") == [lease_key("sfqb_sync", "holder")]
    assert not held.renew()
    with pytest.raises(LeaseLost, match="entry is gone"):
        held.check()


def test_given_a_holding_when_its_heartbeat_stops_then_writes_are_refused_after_two_thirds_of_the_expiry():
    """R-GEN-10: the hooks' check refuses a write once the heartbeat is too old (a stalled
    process, an unreachable database); reads are not refused."""
    store, clock = InMemoryVariables(), Clock()
    lease = lease_of(store, "holder", clock, expiry=6000)
    lease.acquire(wait=0)
    before_call(True)  # no holding in this process: nothing to check
    with holding(lease, background=False) as held:
        before_call(True)
        clock.advance(3999)
        held.owner = None  # calls from another thread: they check, they do not renew
        before_call(True)
        clock.advance(2)
        before_call(False)
        with pytest.raises(LeaseLost, match="older than 4000 s"):
            before_call(True)
    before_call(True)


def test_given_a_holding_when_the_tasks_calls_come_then_they_renew_the_heartbeat_when_it_is_due():
    """R-GEN-10: the task's own API calls keep the lease alive (every expiry / 6), with no
    thread (``airflow dags test`` runs tasks in-process)."""
    store, clock = InMemoryVariables(), Clock()
    lease = lease_of(store, "holder", clock, expiry=60)
    lease.acquire(wait=0)
    with holding(lease, background=False):
        for _ in range(10):  # 100 s of reads, past the 40 s limit
            clock.advance(10)
            before_call(False)
        before_call(True)
        assert (
            json.loads(store.data[lease.key])["heartbeat_at"]
            == (T0 + dt.timedelta(seconds=100)).isoformat()
        )


def test_given_a_holding_when_the_task_body_runs_then_the_heartbeat_thread_renews_the_entry():
    """R-GEN-10: long tasks keep the lease alive (a heartbeat every expiry / 6)."""
    store = InMemoryVariables()
    lease = RunLease(store, dag_id="sfqb_sync", run_id="holder", expiry=0.6)
    lease.acquire(wait=0)
    first = json.loads(store.data[lease.key])["heartbeat_at"]
    with holding(lease) as held:
        time.sleep(0.35)
        held.check()
    assert json.loads(store.data[lease.key])["heartbeat_at"] > first


class CountingVariables(InMemoryVariables):
    """A store that counts its operations by kind (``keys``, ``get``, ``set``, ``delete``)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[str, int] = {}

    def count(self, kind: str) -> None:
        self.calls[kind] = self.calls.get(kind, 0) + 1

    def get(self, key):
        self.count("get")
        return super().get(key)

    def set(self, key, value):
        self.count("set")
        super().set(key, value)

    def delete(self, key):
        self.count("delete")
        super().delete(key)

    def keys(self, prefix):
        self.count("keys")
        return super().keys(prefix)


def test_given_a_holder_alone_when_a_short_task_holds_the_lease_then_it_lists_once_reads_twice_writes_twice():
    """R-GEN-10: a task that makes no heartbeat on the way reads every entry once, at its start
    (the listing and its own entry), writes a fresh heartbeat, and at its end reads and writes
    only its own entry: five requests (seven before: the end listed every entry again)."""
    store, clock = CountingVariables(), Clock()
    lease = lease_of(store, "holder", clock)
    lease.acquire(wait=0)
    store.calls.clear()
    with holding(lease, background=False):
        assert store.calls == {"keys": 1, "get": 1, "set": 1}
        clock.advance(1)
    assert store.calls == {"keys": 1, "get": 2, "set": 2}
    assert (
        json.loads(store.data[lease.key])["heartbeat_at"]
        == (T0 + dt.timedelta(seconds=1)).isoformat()
    )

    plant(store, entry("waits", 9, beat=clock.now()))  # a run waiting behind: read at the start
    store.calls.clear()
    with holding(lease, background=False):
        pass
    assert store.calls == {"keys": 1, "get": 3, "set": 2}


def test_given_a_run_ahead_in_line_when_a_task_of_the_holder_resumes_then_it_lost_the_lease():
    """R-GEN-10: a task reads every entry before its first write: a live run ahead of it in line
    (possible only after its entry was deleted and written back) fails it without writing."""
    store, clock = InMemoryVariables(), Clock()
    lease = lease_of(store, "holder", clock)
    lease.acquire(wait=0)
    plant(store, entry("a-first", 1, acquired=True, beat=clock.now()))  # same number, ahead
    with pytest.raises(LeaseLost, match="sfqb_sync run a-first is ahead of it in line"):
        lease.resume()


def test_given_an_operator_reset_during_a_task_when_the_task_ends_then_its_entry_is_not_written_back():
    """R-GEN-10: the heartbeat at a task's end reads its own entry first: a lease released by
    `state reset lease` meanwhile stays released, and the run knows it lost it."""
    store, clock = InMemoryVariables(), Clock()
    lease = lease_of(store, "holder", clock)
    lease.acquire(wait=0)
    with holding(lease, background=False) as held:
        SyncState(store).reset("lease")
    assert store.data == {}
    with pytest.raises(LeaseLost, match="entry is gone"):
        held.check()


# -- mutual exclusion between threads ------------------------------------------------------------
class InterleavedVariables(InMemoryVariables):
    """A store whose operations are atomic one by one (like the metadata database's), each
    after a random pause, so that runs interleave between any two of them."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.lock = threading.Lock()
        self.random = random.Random(seed)

    def _pause(self) -> None:
        with self.lock:
            pause = self.random.random() * 0.002
        time.sleep(pause)

    def get(self, key):
        self._pause()
        with self.lock:
            return super().get(key)

    def set(self, key, value):
        self._pause()
        with self.lock:
            super().set(key, value)

    def delete(self, key):
        self._pause()
        with self.lock:
            super().delete(key)

    def keys(self, prefix):
        self._pause()
        with self.lock:
            return super().keys(prefix)


ROUNDS = 6


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_given_runs_racing_for_the_lease_when_they_interleave_then_never_two_hold_it_at_once(seed):
    """R-GEN-10: with only atomic get / set / delete / list (no compare-and-set), runs that
    start together never write at once, and each gets its turn."""
    store = InterleavedVariables(seed)
    inside, most, turns = [0], [0], []
    guard = threading.Lock()
    errors = []
    start = threading.Barrier(5)

    def run(name: str) -> None:
        try:
            for round_ in range(ROUNDS):
                start.wait(timeout=60)  # every round starts as a race of all five
                lease = RunLease(
                    store,
                    dag_id="sfqb_sync",
                    run_id=f"{name}-{round_}",
                    expiry=60,
                    sleep=lambda s: time.sleep(0.001),
                )
                lease.acquire(wait=60)
                with guard:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                time.sleep(0.003)  # the writes
                with guard:
                    inside[0] -= 1
                    turns.append(name)
                lease.release()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(f"run{i}",)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    assert most[0] == 1
    assert sorted(turns) == sorted(f"run{i}" for i in range(5) for _ in range(ROUNDS))
    assert store.data == {}
