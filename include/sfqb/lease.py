"""One writer at a time (R-GEN-10): the run lease.

Whatever starts a run (the schedule, Trigger DAG, a backfill, ``airflow dags test``, the
migration DAG), it writes to Salesforce and QuickBooks only while it holds the lease; a run
that finds another holding it waits a bounded time, then ends without writing, naming the
holder. ``max_active_runs`` cannot do this: it binds only the scheduler, and only within one DAG.

Where it lives: one Airflow Variable per run that wants the lease, ``sfqb.lease.<dag>.<hash of
the run id>``, beside the rest of the sync state (``sfqb.state``): ``{"dag_id", "run_id",
"number", "choosing", "registered_at", "acquired_at", "heartbeat_at", "expiry_seconds"}``.

Taking it without compare-and-set. Task code can only read, write (an upsert), delete and list
(by prefix) Variables through the Task SDK; each of those is atomic on its own, none is a
compare-and-set. So the lease is Lamport's bakery algorithm, which needs nothing more: every
run writes only its own Variable, and

1. registers with ``choosing: true``, lists every lease Variable and takes a number one above
   the highest it sees, then writes it with ``choosing: false``;
2. enters when no other live entry is still choosing or holds a smaller ``(number, dag_id,
   run_id)``; until then it waits, polling.

Why two runs never both enter: a run writes its number before it looks at the others, and it
enters only after it has seen the number of every other run it listed (it waits while one is
still choosing). When A enters, every run B it listed is behind it in line; a run B that
registers after A's look lists A's entry and takes a number above A's, so it waits for A as long
as A's entry lives. Then B, looking, finds A ahead of it (A's number was written before A looked,
and B's look comes after its own registration). A run that leaves (done, gave up, or expired)
deletes or loses its Variable, and whoever waited on it re-reads. The listing (``keys()``) reads
the metadata database; each ``get`` skips the Task SDK's secrets cache
(``sfqb.state.TaskVariables``), so no run acts on an old copy of another's entry.

Expiry, and the one timing assumption. A holder that dies keeps its Variable; it must not block
the sync for good. Each entry carries a heartbeat, renewed at least every ``expiry / 6`` while a
task of the holder runs, and an entry whose heartbeat is older than its ``expiry_seconds`` is
dead: others ignore and delete it. A live holder must therefore never write once others may
think it dead: before every write call (the hooks' ``before_call``) it checks that its last
heartbeat is younger than two thirds of the expiry, by its own monotonic clock, and it never
renews past that point (it has lost the lease then, for good). The last third covers the
difference between the machines' clocks (the others compare the heartbeat's wall-clock time with
theirs) and one write call in flight. So the assumption is: the clocks of the machines running
tasks agree to well within ``expiry / 3`` (NTP), and no single write call outlasts what is left
of that third. With the default expiry of 30 minutes that is 10 minutes.

Who renews: the task's own thread, whenever the heartbeat is due at one of its API calls (the
hooks call ``before_call`` before every call, reads included) and at the task's start and end;
and, under Airflow's task supervisor (LocalExecutor, Celery), a heartbeat thread as well, so a
long call or a long computation keeps it too. ``airflow dags test`` (and ``dag.test()``) run
tasks in-process, where the Task SDK's channel is not safe to use from a second thread: there
the task's calls alone renew it.

What each look reads. A task starts (``resume``) by reading every entry, the listing and then
each, as a waiting run does: its own must be there, taken, with a heartbeat younger than two
thirds of the expiry, and no live numbered entry may be ahead of it in line; then it writes a
fresh heartbeat. A heartbeat during the task reads every entry too. The heartbeat at the task's
end reads only its own entry: it must still be there with its number (a deleted entry is never
written back), and it is written. Why the end needs no more: by the argument above no other run
enters while this run's entry lives, so a run ahead of it in line can only come after its entry
was deleted (``state reset lease``, or taken as dead) and written back by one of its own
heartbeats racing that delete, between the heartbeat's read and its write. Listing the others
at a task's end would see that only after the task's writes; the next task lists them before
its first. So every write call still comes after a look at every entry made in its own task,
at its start or at a heartbeat since, and a task that makes no heartbeat on the way costs one
listing, two reads and two writes (with no other run waiting).

A run holds the lease from ``take_lease`` (before its first write, and before the reads its
writes are planned from) to ``give_back_lease`` at its end, also when it failed. Between two of
its tasks nothing renews the heartbeat, so the gaps (retry delays, a queue) must stay under
two thirds of the expiry; a task that finds the lease older than that, gone, or overtaken
fails without writing (``LeaseLost``): the run cannot know what others wrote meanwhile.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sfqb.state import LEASE_PREFIX, VariableBackend

log = logging.getLogger(__name__)

# Of the expiry: how often a holder renews its heartbeat, and how old its heartbeat may get
# before it stops writing (the rest covers clock differences and one write in flight).
HEARTBEAT_FRACTION = 1 / 6
HOLD_FRACTION = 2 / 3
# A waiting run looks again at most this often (seconds), and says it waits this often.
MAX_POLL = 5.0
WAIT_LOG_EVERY = 60.0


class LeaseError(Exception):
    """Base of the lease's errors."""


class LeaseUnavailable(LeaseError):
    """Another run held the lease for the whole wait; this run wrote nothing."""


class LeaseLost(LeaseError):
    """This run no longer holds the lease (expired, released by an operator, or overtaken)."""


# -- pure rules ------------------------------------------------------------------------------
def lease_key(dag_id: str, run_id: str) -> str:
    """The Variable of one run's lease entry (run ids carry ``:`` and ``+``: hashed)."""
    return f"{LEASE_PREFIX}{dag_id}.{hashlib.sha256(run_id.encode()).hexdigest()[:16]}"


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


def age(entry: dict, now: dt.datetime) -> float:
    """Seconds since the entry's last heartbeat."""
    return (now - _instant(entry["heartbeat_at"])).total_seconds()


def expired(entry: dict, now: dt.datetime) -> bool:
    """The entry's heartbeat is older than its expiry: its run died (or lost the lease)."""
    return age(entry, now) > float(entry["expiry_seconds"])


def place(entry: dict) -> tuple[int, str, str]:
    """The entry's place in line: its number, ties broken by DAG and run id."""
    return int(entry.get("number") or 0), entry["dag_id"], entry["run_id"]


def next_number(entries: dict[str, dict]) -> int:
    """One above every number taken (expired entries included: harmless, and simpler)."""
    return 1 + max((int(e.get("number") or 0) for e in entries.values()), default=0)


def ahead(mine: dict, others: dict[str, dict], now: dt.datetime) -> list[dict]:
    """The live entries this one must wait for: still choosing a number, or first in line."""
    return sorted(
        (
            e
            for e in others.values()
            if not expired(e, now)
            and (e.get("choosing") or (e.get("number") and place(e) < place(mine)))
        ),
        key=place,
    )


def holder(entries: dict[str, dict], now: dt.datetime) -> dict | None:
    """The live entry that holds the lease (or is next to take it): first in line."""
    live = [
        e
        for e in entries.values()
        if not expired(e, now) and e.get("number") and not e.get("choosing")
    ]
    taken = [e for e in live if e.get("acquired_at")]
    return min(taken or live, key=place, default=None)


def label(entry: dict) -> str:
    return f"{entry['dag_id']} run {entry['run_id']}"


def describe(entry: dict, now: dt.datetime) -> str:
    """``sfqb_sync run manual__... (holds it since 10:00:03 UTC, last heartbeat 42 s ago)``."""
    if entry.get("acquired_at"):
        since = f"holds it since {_instant(entry['acquired_at']):%Y-%m-%d %H:%M:%S} UTC"
    else:
        since = "waits for it"
    return f"{label(entry)} ({since}, last heartbeat {age(entry, now):.0f} s ago)"


@dataclass(frozen=True)
class Timing:
    """The lease's clock rules, from the expiry (``lease_expiry_seconds``)."""

    expiry: float

    @property
    def heartbeat(self) -> float:
        return self.expiry * HEARTBEAT_FRACTION

    @property
    def hold_limit(self) -> float:
        """A holder whose last heartbeat is older than this stops writing, for good."""
        return self.expiry * HOLD_FRACTION

    @property
    def poll(self) -> float:
        return min(MAX_POLL, self.heartbeat)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# -- the protocol ----------------------------------------------------------------------------
class RunLease:
    """One run's side of the lease, over a ``VariableBackend`` (the Task SDK in tasks)."""

    def __init__(
        self,
        backend: VariableBackend,
        *,
        dag_id: str,
        run_id: str,
        expiry: float,
        now: Callable[[], dt.datetime] = _utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if expiry <= 0:
            raise ValueError("the lease expiry must be positive")
        self.backend = backend
        self.dag_id, self.run_id = dag_id, run_id
        self.key = lease_key(dag_id, run_id)
        self.timing = Timing(float(expiry))
        self.now, self.monotonic, self.sleep = now, monotonic, sleep

    @property
    def name(self) -> str:
        return f"{self.dag_id} run {self.run_id}"

    # -- entries ---------------------------------------------------------------------------
    def _read(self, key: str) -> dict | None:
        raw = self.backend.get(key)
        if not raw:
            return None
        try:
            return json.loads(raw)
        except json.JSONDecodeError:
            log.warning("lease entry %s is not JSON (%r): ignored", key, raw[:80])
            return None

    def entries(self) -> dict[str, dict]:
        """Every lease entry now (an entry deleted between the listing and its read is gone)."""
        found = {}
        for key in self.backend.keys(LEASE_PREFIX):
            entry = self._read(key)
            if entry and {"dag_id", "run_id", "heartbeat_at", "expiry_seconds"} <= set(entry):
                found[key] = entry
        return found

    def _write(self, entry: dict) -> float:
        """Write our entry with a fresh heartbeat; returns the monotonic time of its stamp."""
        stamped = self.monotonic()
        entry = {**entry, "heartbeat_at": self.now().isoformat()}
        self.backend.set(self.key, json.dumps(entry, sort_keys=True))
        return stamped

    def _new_entry(self) -> dict:
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "number": None,
            "choosing": True,
            "registered_at": self.now().isoformat(),
            "acquired_at": None,
            "expiry_seconds": self.timing.expiry,
        }

    def _drop_expired(self, entries: dict[str, dict], now: dt.datetime) -> dict[str, dict]:
        """Delete the entries of dead runs (never ours); returns the live ones."""
        live = {}
        for key, entry in entries.items():
            if key != self.key and expired(entry, now):
                log.warning(
                    "the lease entry of %s expired (no heartbeat for %.0f s, expiry %s s): removed",
                    label(entry),
                    age(entry, now),
                    entry["expiry_seconds"],
                )
                self.backend.delete(key)
            else:
                live[key] = entry
        return live

    # -- taking it ---------------------------------------------------------------------------
    def acquire(self, wait: float) -> Holding:
        """Take the lease, waiting up to ``wait`` seconds for the runs ahead.

        A retried ``take_lease`` of the same run finds its own live entry and keeps its place.
        Raises:
            LeaseUnavailable: another run held it for the whole wait; this run's entry is gone.
        """
        deadline = self.monotonic() + max(0.0, wait)
        mine, stamped = self._register()
        next_log = self.monotonic()
        while True:
            now = self.now()
            entries = self._drop_expired(self.entries(), now)
            current = entries.pop(self.key, None)
            if (
                current is None
                or current.get("number") != mine["number"]
                or self.monotonic() - stamped > self.timing.hold_limit
            ):
                # Our entry was removed as dead, or may have looked dead to others (this process
                # stalled, before or during the reads above): start over, never enter on them.
                log.warning("this run's place in line for the lease was lost; registering again")
                mine, stamped = self._register(fresh=True)
                continue
            blocking = ahead(mine, entries, now)
            if not blocking:
                mine = {**mine, "acquired_at": now.isoformat()}
                stamped = self._write(mine)
                log.info(
                    "%s took the lease (number %s, expiry %.0f s)",
                    self.name,
                    mine["number"],
                    self.timing.expiry,
                )
                return Holding(self, mine, stamped)
            first = holder(entries, now) or blocking[0]
            if self.monotonic() >= deadline:
                self.backend.delete(self.key)
                queued = len(blocking) - 1
                raise LeaseUnavailable(
                    f"{describe(first, now)} holds the sync lease: this run ({self.name}) "
                    f"waited {wait:.0f} s (preference lease_wait_seconds) and ends without "
                    f"writing anything"
                    + (f"; {queued} other run(s) are ahead of it in line" if queued > 0 else "")
                    + ". The next scheduled run syncs what this one would have; trigger or clear "
                    "this one again once the holder is done. A holder that died loses the lease "
                    "when its heartbeat is older than its expiry "
                    f"({float(first['expiry_seconds']):.0f} s), or at once with "
                    "`python -m sfqb state reset lease`."
                )
            if self.monotonic() >= next_log:
                log.info(
                    "waiting for the lease: %s (%.0f s of %.0f s waited)",
                    describe(first, now),
                    self.monotonic() - (deadline - max(0.0, wait)),
                    wait,
                )
                next_log = self.monotonic() + WAIT_LOG_EVERY
            if self.monotonic() - stamped >= self.timing.heartbeat:
                stamped = self._write(mine)
            self.sleep(min(self.timing.poll, max(0.01, deadline - self.monotonic())))

    def _register(self, *, fresh: bool = False) -> tuple[dict, float]:
        """Our entry with a number: kept from an earlier attempt of this run when it is still
        live, else new (choosing, then numbered one above everything seen)."""
        current = None if fresh else self._read(self.key)
        if (
            current
            and current.get("number")
            and not current.get("choosing")
            and age(current, self.now()) <= self.timing.hold_limit
        ):
            # A retried take_lease: its entry was kept alive all along, so nobody took it as dead.
            log.info(
                "%s already has a place in line for the lease (number %s): kept",
                self.name,
                current["number"],
            )
            return current, self._write(current)
        mine = self._new_entry()
        self._write(mine)
        others = {k: e for k, e in self.entries().items() if k != self.key}
        mine = {**mine, "number": next_number(others), "choosing": False}
        return mine, self._write(mine)

    # -- keeping it --------------------------------------------------------------------------
    def resume(self) -> Holding:
        """The lease this run took earlier (a later task, or a retried one): every entry read
        (the listing, then each), ours checked against them, and a fresh heartbeat written.

        Raises:
            LeaseLost: it is gone, expired, or another run is first in line.
        """
        now = self.now()  # before the reads: no entry of another run looks dead too early
        others = self.entries()
        current = others.pop(self.key, None)
        if current is None or not current.get("acquired_at") or current.get("choosing"):
            raise LeaseLost(
                self._lost_message(
                    "this run does not hold the lease (its entry is "
                    "gone: released, reset, or taken as dead)",
                    others,
                )
            )
        held_for = age(current, self.now())  # after them: ours looks older, not younger
        if held_for > self.timing.hold_limit:
            raise LeaseLost(
                self._lost_message(
                    f"this run's lease heartbeat is {held_for:.0f} s old, past "
                    f"{self.timing.hold_limit:.0f} s (two thirds of the expiry): another run may "
                    "have taken it",
                    others,
                )
            )
        blocking = [e for e in ahead(current, others, now) if not e.get("choosing")]
        if blocking:
            raise LeaseLost(
                self._lost_message(f"{label(blocking[0])} is ahead of it in line", others)
            )
        holding = Holding(self, current, self.monotonic() - held_for)
        holding.renew(read="none")  # every entry was just read
        holding.check()
        return holding

    def _lost_message(self, why: str, others: dict[str, dict] | None = None) -> str:
        now = self.now()
        if others is None:
            try:
                others = {k: e for k, e in self.entries().items() if k != self.key}
            except Exception:  # noqa: BLE001 - the message must not fail on the store's trouble
                others = {}
        first = holder(others, now)
        now_held = f"; {describe(first, now)} holds it now" if first else ""
        return (
            f"{self.name} lost the sync lease: {why}{now_held}. The run stops here without "
            f"writing more; the next run syncs the rest."
        )

    def release(self) -> bool:
        """Give the lease back (delete our entry); False when there was none."""
        if self.backend.get(self.key) is None:
            return False
        self.backend.delete(self.key)
        log.info("%s gave the lease back", self.name)
        return True


class Holding:
    """The lease held by this process for one task: ``check()`` before every write, ``renew()``
    on a heartbeat, ``tick()`` before every API call (renews when due, on the task's thread)."""

    def __init__(self, lease: RunLease, entry: dict, stamped: float) -> None:
        self.lease = lease
        self.entry = entry
        self.stamped = stamped  # monotonic time of the last heartbeat written
        self.lost: str | None = None
        self.owner = threading.get_ident()  # the task's thread
        self._lock = threading.Lock()

    def _too_old(self) -> bool:
        return self.lease.monotonic() - self.stamped > self.lease.timing.hold_limit

    def check(self) -> None:
        """Raise ``LeaseLost`` unless this run may still write: a cheap, local check."""
        if self.lost is None and self._too_old():
            self.lost = self.lease._lost_message(
                f"its last heartbeat is older than {self.lease.timing.hold_limit:.0f} s (two "
                "thirds of the expiry; the metadata database unreachable, or this process stalled)"
            )
        if self.lost is not None:
            raise LeaseLost(self.lost)

    def tick(self, write: bool) -> None:
        """Before an API call: renew when the heartbeat is due (on the task's own thread only:
        see the module's notes), and for a write, check that the lease still holds."""
        if (
            threading.get_ident() == self.owner
            and self.lease.monotonic() - self.stamped >= self.lease.timing.heartbeat
        ):
            self.renew()
        if write:
            self.check()

    def renew(self, *, read: str = "all") -> bool:
        """A heartbeat: write a fresh one if we still hold the lease; False when lost. Before the
        write it reads, with ``read``: ``"all"`` every entry (the listing, then each), to see our
        own still there (a deleted entry is never written back) and no run ahead of us in line;
        ``"own"`` our own entry only (the end of a task); ``"none"`` nothing, only right after
        every entry was read and ours found holding the lease (``RunLease.resume``)."""
        if read not in ("all", "own", "none"):
            raise ValueError(f"renew: read is 'all', 'own' or 'none', not {read!r}")
        with self._lock:
            if self.lost is not None:
                return False
            try:
                self.check()
                now = self.lease.now()
                if read == "all":
                    entries = self.lease.entries()
                    mine = entries.pop(self.lease.key, None)
                else:
                    entries = {}
                    mine = self.lease._read(self.lease.key) if read == "own" else self.entry
                if mine is None or mine.get("number") != self.entry.get("number"):
                    self.lost = self.lease._lost_message(
                        "its entry is gone (released by `python -m sfqb state reset lease`, or "
                        "removed as dead)"
                    )
                    return False
                blocking = [e for e in ahead(self.entry, entries, now) if not e.get("choosing")]
                if blocking:
                    self.lost = self.lease._lost_message(
                        f"{label(blocking[0])} is ahead of it in line"
                    )
                    return False
                self.check()
                self.stamped = self.lease._write(self.entry)
                return True
            except LeaseLost:
                return False
            except Exception:  # noqa: BLE001 - a failed heartbeat is retried; check() decides
                log.warning("the lease heartbeat could not be written; trying again", exc_info=True)
                return self.lost is None

    @contextlib.contextmanager
    def heartbeat(self, background: bool = True) -> Iterator[Holding]:
        """For the block: with ``background``, renew every ``expiry / 6`` in a daemon thread
        too; at the end, renew once more (the gap to the next task starts then), reading only
        our own entry: the task has made its writes, and the next task reads every entry
        before its first."""
        stop = threading.Event()
        beats = [0]

        def beat() -> None:
            while not stop.wait(self.lease.timing.heartbeat):
                if not self.renew():
                    log.error("%s", self.lost or "the lease heartbeat failed")
                    return
                beats[0] += 1

        thread = None
        if background:
            # In a copy of the task's context, like the hooks' pool threads (hooks.parallel).
            thread = threading.Thread(
                target=contextvars.copy_context().run,
                args=(beat,),
                name="sfqb-lease-heartbeat",
                daemon=True,
            )
            thread.start()
        try:
            yield self
        finally:
            stop.set()
            if thread is not None:
                thread.join(timeout=30)
                if beats[0]:
                    log.info(
                        "the lease heartbeat thread renewed the lease %d time(s) during this task",
                        beats[0],
                    )
            if self.lost is None:
                self.renew(read="own")


# -- the holding of this process -------------------------------------------------------------
_ACTIVE: list[Holding] = []
_ACTIVE_LOCK = threading.Lock()


@contextlib.contextmanager
def holding(lease: RunLease, *, background: bool = True) -> Iterator[Holding]:
    """Resume ``lease`` for the block: it is renewed (``background``: by a thread too), and
    every call through the hooks passes ``before_call``. Raises ``LeaseLost`` at entry when it
    is lost."""
    held = lease.resume()
    with _ACTIVE_LOCK:
        _ACTIVE.append(held)
    try:
        with held.heartbeat(background):
            yield held
    finally:
        with _ACTIVE_LOCK:
            _ACTIVE.remove(held)


def before_call(write: bool) -> None:
    """The hooks' ``before_call``: the lease held in this process is renewed when due and, for
    a write, checked (``LeaseLost`` when lost). Outside a held lease (benchmarks, the
    simulation, tests driving the steps directly) nothing happens."""
    with _ACTIVE_LOCK:
        active = list(_ACTIVE)
    for held in active:
        held.tick(write)


def entry_summary(entries: dict[str, dict], now: dt.datetime) -> dict[str, Any]:
    """What ``python -m sfqb state show`` prints for the lease: holder and waiting runs."""
    first = holder(entries, now)
    return {
        key: {
            **entry,
            "state": ("expired" if expired(entry, now) else "holds" if first is entry else "waits"),
            "heartbeat_age_seconds": round(age(entry, now), 1),
        }
        for key, entry in sorted(entries.items())
    }
