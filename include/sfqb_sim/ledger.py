"""The simulator's ground truth: every record it made or changed, and when it must be synced.

Pure (no I/O): the generator writes here what it did; ``checks`` compares it with snapshots of
both systems (``sfqb_sim.observe``) after each run.

A change made before run ``k`` (between runs ``k-1`` and ``k``) is *due* at run ``k + 1``: run
``k`` should sync it (R-GEN-8: a later area works with what the earlier areas of the same run
wrote), one more run is allowed. When a fault fired in a run from ``k`` to the deadline, the
deadline moves to two runs after that fault. A record that is right after run ``k`` is counted
*on time*; one that is right only later is counted *late* (not a violation before its deadline).
"""

from __future__ import annotations

from dataclasses import dataclass, field

GRACE_RUNS = 1
FAULT_RUNS = 2


@dataclass
class Record:
    """One record the simulator made, on the side it made it."""

    kind: str  # qb_customer, sf_account, opportunity, qb_invoice, qb_item, qb_stock (Desktop)
    key: str  # the id on the side that made it
    changed_before: int  # the first run after its latest change
    attrs: dict = field(default_factory=dict)
    synced_at: int | None = None  # the run after which it was first found right


@dataclass(frozen=True)
class Violation:
    run: int
    check: str
    key: str
    detail: str

    def __str__(self) -> str:
        return f"run {self.run}: {self.check}: {self.key}: {self.detail}"


@dataclass
class Ledger:
    records: dict[tuple[str, str], Record] = field(default_factory=dict)
    faulted_runs: set[int] = field(default_factory=set)
    made: dict[str, int] = field(default_factory=dict)  # actions done, by name
    tried: dict[str, int] = field(default_factory=dict)  # actions chosen (some find nothing to do)
    events: list[tuple[int, str, str, dict]] = field(
        default_factory=list
    )  # (before run, what, key, attrs)
    seen_transactions: set[str] = field(default_factory=set)  # Desktop: the sync's, adopted

    def note(self, action: str) -> None:
        self.made[action] = self.made.get(action, 0) + 1

    def add(self, kind: str, key: str, before_run: int, **attrs) -> Record:
        record = Record(kind, key, before_run, attrs)
        self.records[(kind, key)] = record
        self.events.append((before_run, f"made {kind}", key, dict(attrs)))
        return record

    def get(self, kind: str, key: str) -> Record | None:
        return self.records.get((kind, key))

    def touch(self, kind: str, key: str, before_run: int, **attrs) -> Record:
        """A later change to a known record: due again from ``before_run``."""
        record = self.records[(kind, key)]
        self.events.append((before_run, f"changed {kind}", key, dict(attrs)))
        record.changed_before = before_run
        record.attrs.update(attrs)
        record.synced_at = None
        return record

    def known_keys(self) -> set[str]:
        return {key for _, key in self.records}

    def history_of(self, key: str) -> list[str]:
        return [
            f"{what} before run {run} {attrs or ''}".strip()
            for run, what, k, attrs in self.events
            if k == key
        ]

    def of(self, kind: str) -> list[Record]:
        return [r for (k, _), r in self.records.items() if k == kind]

    def deadline(self, changed_before: int, now: int) -> int:
        """The last run after which a change made before run ``changed_before`` must be
        synced, given the faults that fired up to run ``now``."""
        end = changed_before + GRACE_RUNS
        for run in sorted(self.faulted_runs):
            if changed_before <= run <= end and run <= now:
                end = max(end, run + FAULT_RUNS)
        return end

    def due(self, record: Record, now: int) -> bool:
        return record.changed_before <= now and self.deadline(record.changed_before, now) <= now


def judge(
    ledger: Ledger, run: int, problems: dict[tuple[str, str], str]
) -> tuple[list[Violation], dict]:
    """Turn this run's per-record problems (``(kind, key) -> detail`` for the records checked
    and found wrong) into violations for the records past their deadline, and mark the others
    synced. Returns (violations, {"on_time", "late", "pending"} counted this run)."""
    violations, counts = [], {"on_time": 0, "late": 0, "pending": 0}
    for ident, record in ledger.records.items():
        if record.changed_before > run:
            continue  # made after this run started
        problem = problems.get(ident)
        if problem is None:
            if record.synced_at is None:
                record.synced_at = run
                counts["on_time" if run == record.changed_before else "late"] += 1
            continue
        if ledger.due(record, run):
            violations.append(Violation(run, f"{record.kind} not synced", record.key, problem))
        else:
            counts["pending"] += 1
    return violations, counts


def duplicates(run: int, check: str, keys: list[str]) -> list[Violation]:
    """Keys that occur more than once (e.g. External IDs over every Salesforce Account)."""
    seen: dict[str, int] = {}
    for key in keys:
        if key:
            seen[key] = seen.get(key, 0) + 1
    return [Violation(run, check, key, f"{n} records") for key, n in sorted(seen.items()) if n > 1]
