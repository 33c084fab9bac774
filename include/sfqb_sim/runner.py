"""The simulation loop: business, faults, the sandbox clock, ``sfqb_sync``, the invariants.

Time: both sandbox servers share one clock (``/_sandbox/clock``). The simulation sets it to its
start (in the past, so nothing it stamps is in the real future) and moves it on one hour after
each simulated hour of business. A run's upper bound is its ``run_after`` (``begin_run``); every
extract window ends there. So each run is started with ``run_after`` = ``logical_date`` = the
sandbox clock's *now*, read after the last change of the interval: every change the generator
made is stamped before the upper bound, and everything the run itself writes is stamped after
it (the next run re-reads those writes inside its window and writes nothing back, R-GEN-4).
The install date is the first run's upper bound (the seed predates it).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import faults as fault_plan
from .business import Business
from .ledger import Ledger, Violation
from .observe import check, stopped_run_violations, watermark_violations, watermarks
from .worker_clock import DESKTOP_MODULES, WorkerClock

ROOT = Path(__file__).resolve().parents[2]
HOUR = dt.timedelta(hours=1)
AREAS = ("preflight", "items", "customers", "opportunities", "transactions", "invoices")


@dataclass
class Config:
    days: float = 30
    seed: int = 1
    runs_per_day: int = 24
    fault_rate: float = 0.1
    actions_per_hour: float = 2.0
    start: dt.datetime | None = None  # default: days + 2 days ago, on the hour
    keep_going: bool = False  # go on after a run with violations
    settle_runs: int = 2  # quiet runs at the end (no business, no faults): every deadline passes
    edition: str = "online"  # or "desktop": QuickBooks Desktop through sfqb's Web Connector service

    @property
    def desktop(self) -> bool:
        return self.edition == "desktop"

    @property
    def hours_per_run(self) -> int:
        if 24 % self.runs_per_day:
            raise ValueError("--runs-per-day must divide 24")
        return 24 // self.runs_per_day

    @property
    def runs(self) -> int:
        return round(self.days * self.runs_per_day)

    def replay(self) -> str:
        return (
            f"python -m sfqb_sim --seed {self.seed} --days {self.days:g} --runs-per-day "
            f"{self.runs_per_day} --fault-rate {self.fault_rate:g} --actions-per-hour "
            f"{self.actions_per_hour:g} --settle-runs {self.settle_runs}"
            + (" --edition desktop" if self.desktop else "")
        )

    def start_at(self) -> dt.datetime:
        if self.start is not None:
            return self.start
        now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
        return now - dt.timedelta(days=self.days + 2)


@dataclass
class Result:
    config: dict
    runs: int = 0
    failed_runs: int = 0
    made: dict = field(default_factory=dict)
    tried: int = 0
    records: dict = field(default_factory=dict)
    faults_injected: int = 0
    faults_fired: dict = field(default_factory=dict)
    violations: list = field(default_factory=list)
    first_broken_run: int | None = None
    late: int = 0
    on_time: int = 0
    wall_seconds: float = 0.0
    seconds_per_day: float = 0.0
    run_seconds: list = field(default_factory=list)
    reconciliation: dict | None = None
    recon_pending: list = field(default_factory=list)  # differences right after a fault
    history: dict = field(default_factory=dict)  # what the simulation did to each broken record


def dag_runner(task_retries: int = 1):
    """``run(moment)``: one dag.test() run of a freshly parsed sfqb_sync at ``moment``. Task
    retries happen at once (a task retry after a crash is part of what is simulated; the DAG's
    minutes of retry delay are not)."""
    from airflow.dag_processing.dagbag import DagBag

    def run(moment):
        bag = DagBag(dag_folder=str(ROOT / "dags"))
        if bag.import_errors:
            raise RuntimeError(f"DAG import errors: {bag.import_errors}")
        dag = bag.dags["sfqb_sync"]
        for task in dag.tasks:
            task.retries = task_retries
            task.retry_delay = dt.timedelta(0)
            task.retry_exponential_backoff = False
        dag_run = dag.test(logical_date=moment, run_after=moment)
        tis = {ti.task_id: ti for ti in dag_run.get_task_instances()}
        states = {task_id: ti.state for task_id, ti in tis.items()}
        summary = (
            tis["summarize_run"].xcom_pull(task_ids="summarize_run")
            if states.get("summarize_run") == "success"
            else None
        )
        return dag_run, states, summary

    return run


def hooks():
    from sfqb.steps.common import quickbooks_hook, salesforce_hook

    return salesforce_hook(), quickbooks_hook()


def prepare(admin, start: dt.datetime, worker: WorkerClock, qb_service: str = "quickbooks") -> None:
    """Both servers seeded "tiny", stamped an hour before the simulation starts; the clock at
    the start (running). ``qb_service``: ``quickbooks`` or ``quickbooks_desktop``."""
    admin.set_clock(qb_service, now=(start - HOUR).isoformat())
    for service in (qb_service, "salesforce"):
        admin.reset(service, seed="tiny")
    worker.follow(admin.set_clock(qb_service, now=start.isoformat()))


def clock_now(admin, qb_service: str = "quickbooks") -> dt.datetime:
    return dt.datetime.fromisoformat(admin.call(qb_service, "GET", "clock")["now"])


def failed_areas(states: dict) -> set[str]:
    bad = {"failed", "upstream_failed"}
    return {task_id.split(".")[0] for task_id, state in states.items() if str(state) in bad}


class Simulation:
    """One simulation: the generator, the faults, the runs and the checks, in order."""

    def __init__(
        self,
        config: Config,
        admin,
        run_dag: Callable,
        hooks: Callable,
        variables,
        echo: Callable[[str], None] = print,
        site=None,
    ) -> None:
        self.config, self.admin, self.run_dag, self.hooks = config, admin, run_dag, hooks
        self.variables, self.echo, self.site = variables, echo, site
        self.qb_service = "quickbooks_desktop" if site else "quickbooks"
        self.rng = random.Random(config.seed)
        self.fault_rng = random.Random(config.seed * 7919 + 1)
        self.ledger = Ledger()
        self.worker = WorkerClock(DESKTOP_MODULES if site else ())
        self.result = Result(config={**asdict(config), "start": config.start_at().isoformat()})

    def play(self) -> Result:
        config, ledger, result = self.config, self.ledger, self.result
        started = time.perf_counter()
        with self.worker.installed():
            prepare(self.admin, config.start_at(), self.worker, self.qb_service)
            sf, qb = self.hooks()
            self.seed_invoices = {i["Id"] for i in qb.query_all("Invoice")}
            self.business = self.business_class()(self.rng, ledger, sf, qb, tag=f"{config.seed}")
            for run in range(0, config.runs + config.settle_runs + 1):
                busy = (
                    0 < run <= config.runs
                )  # run 0 installs; the settle runs at the end are quiet
                if run:
                    self.interval(run, busy)
                if not self.sync(run, busy) and not config.keep_going:
                    break
        result.made = dict(sorted(ledger.made.items()))
        result.tried = sum(ledger.tried.values())
        kinds = ["qb_customer", "sf_account", "opportunity", "qb_invoice", "qb_item"]
        result.records = {
            kind: len(ledger.of(kind)) for kind in kinds + (["qb_stock"] if self.site else [])
        }
        result.wall_seconds = round(time.perf_counter() - started, 1)
        simulated_days = max(result.runs - 1, 1) / config.runs_per_day  # settle runs included
        result.seconds_per_day = round(result.wall_seconds / simulated_days, 1)
        return result

    def business_class(self) -> type[Business]:
        if self.site is None:
            return Business
        from .desktop import DesktopBusiness

        return DesktopBusiness

    def interval(self, run: int, busy: bool) -> None:
        """The business of the hours before ``run``, the clock moving on an hour after each."""
        self.business.sf, self.business.qb = self.hooks()
        self.business.refresh()
        for _ in range(self.config.hours_per_run):
            actions = self.rng.randint(0, round(2 * self.config.actions_per_hour)) if busy else 0
            self.business.hour(run, clock_now(self.admin, self.qb_service), actions)
            self.worker.follow(
                self.admin.set_clock(self.qb_service, advance_seconds=HOUR.total_seconds())
            )

    def sync(self, run: int, busy: bool) -> bool:
        """Run ``run`` of sfqb_sync with its faults, then every check. False on a violation."""
        config, ledger, result = self.config, self.ledger, self.result
        catalogue = fault_plan.DESKTOP_CATALOGUE if self.site else fault_plan.CATALOGUE
        rules = fault_plan.plan(self.fault_rng, config.fault_rate, catalogue) if busy else []
        before = watermarks(self.variables)
        fault_plan.inject(self.admin, rules)
        stopped = self.site.before_run(rules) if self.site else False
        writes = self.admin.counters(self.qb_service)["writes"]
        upper = clock_now(self.admin, self.qb_service)
        begun = time.perf_counter()
        last_poll, logged = self.site.rig.queue.last_poll() if stopped else None, [""]
        try:
            if stopped:  # its log must name the last poll
                from .desktop import captured_output

                with captured_output() as logged:
                    dag_run, states, _ = self.run_dag(upper)
            else:
                dag_run, states, _ = self.run_dag(upper)
        finally:
            fired = fault_plan.collect(self.admin)
            if self.site:
                fired += self.site.after_run(stopped)
        writes = self.admin.counters(self.qb_service)["writes"] - writes
        result.run_seconds.append(round(time.perf_counter() - begun, 1))
        result.runs += 1
        result.faults_injected += len(rules)
        hit = [f for f in fired if f["fired"]]
        for f in hit:
            name = f"{f['service']} {f['kind']}"
            result.faults_fired[name] = result.faults_fired.get(name, 0) + f["fired"]
        if hit:
            ledger.faulted_runs.add(run)
        violations: list[Violation] = []
        if str(dag_run.state) != "success":
            result.failed_runs += 1
            if not hit:
                violations.append(
                    Violation(
                        run,
                        "run failed without a fault",
                        dag_run.run_id,
                        json.dumps({k: str(v) for k, v in states.items() if str(v) != "success"}),
                    )
                )
        if stopped:  # R-QBD-2: fails at once, nothing written; the next run catches up
            violations += stopped_run_violations(
                run, str(dag_run.state), states, writes, "".join(logged), last_poll
            )
        violations += watermark_violations(
            run, before, watermarks(self.variables), upper, failed_areas(states)
        )
        found, stats = check(
            run, ledger, *self.hooks(), self.seed_invoices, upper, desktop=self.site is not None
        )
        violations += found
        result.on_time += stats["on_time"]
        result.late += stats["late"]
        result.reconciliation = stats["reconciliation"]
        result.recon_pending += [str(v) for v in stats["recon_pending"]]
        self.echo(
            f"sim: run {run}/{config.runs + config.settle_runs} at {upper:%Y-%m-%d %H:%M} "
            f"{dag_run.state}: {result.run_seconds[-1]} s, faults "
            f"{[f['kind'] for f in hit] or '-'}, pending {stats['pending']}, late {stats['late']}, "
            f"violations {len(violations)}"
        )
        for violation in violations[:10]:
            self.echo(f"sim:   {violation}")
        if not violations:
            return True
        result.violations += [str(v) for v in violations]
        if result.first_broken_run is None:
            result.first_broken_run = run
        result.history |= {
            v.key: ledger.history_of(v.key) for v in violations if v.key in ledger.known_keys()
        }
        return False


def simulate(
    config: Config,
    admin,
    run_dag: Callable,
    hooks: Callable,
    variables,
    echo: Callable[[str], None] = print,
    site=None,
) -> Result:
    """Play ``config`` against the sandbox behind ``admin``.

    Args:
        run_dag: ``run_dag(moment) -> (dag_run, states, summary)``, one dag.test() run of
            sfqb_sync with logical date and run_after ``moment`` (``dag_runner()``).
        hooks: ``hooks() -> (sf, qb)``, a fresh pair of the project's hooks.
        variables: the metadata DB's Variables (``sfqb.state.MetadataDbVariables``).
        site: on QuickBooks Desktop, the ``sfqb_sim.desktop.DesktopSite`` (its Web Connector
            runs for the sync runs only); ``hooks`` then answers its ``Company`` for QuickBooks.
    """
    return Simulation(config, admin, run_dag, hooks, variables, echo, site).play()


def report(result: Result, config: Config) -> str:
    """The summary printed at the end (and the replay command on a violation)."""
    lines = [
        f"sim: QuickBooks {config.edition.title()}, seed {config.seed}, {config.days:g} day(s), "
        f"{config.runs_per_day} run(s) a day, fault rate {config.fault_rate:g}",
        f"  runs: {result.runs} ({result.failed_runs} failed), wall time {result.wall_seconds:g} s "
        f"({result.seconds_per_day:g} s per simulated day; mean run "
        f"{_mean(result.run_seconds):.1f} s)",
        f"  records made: {', '.join(f'{k} {v}' for k, v in result.records.items())}",
        f"  actions: {sum(result.made.values())} done of {result.tried} chosen: "
        f"{', '.join(f'{k} {v}' for k, v in result.made.items()) or '-'}",
        f"  faults injected: {result.faults_injected}, fired: "
        f"{', '.join(f'{k} x{v}' for k, v in sorted(result.faults_fired.items())) or '-'}",
        f"  synced on time: {result.on_time}, late (a run later, within the deadline): "
        f"{result.late}",
        f"  reconciliation (last run): {_counts(result.reconciliation)}; differences within two "
        f"runs of a fault (not judged): {len(result.recon_pending)}",
        f"  invariant violations: {len(result.violations)}",
    ]
    if result.violations:
        lines.append(
            f"  FIRST BROKEN RUN: {result.first_broken_run} (seed {config.seed}); replay: "
            f"{config.replay()}"
        )
        lines += [f"    {v}" for v in result.violations[:30]]
        for key, events in result.history.items():
            lines.append(f"  what the simulation did to {key}: " + "; ".join(events))
    return "\n".join(lines)


def _counts(counts: dict | None) -> str:
    if counts is None:
        return "not available (no sfqb.steps.reconcile)"
    found = {k: v for k, v in counts.items() if not k.endswith("_compared") and v}
    return ", ".join(f"{k} {v}" for k, v in found.items()) or "no differences"


def _mean(values: list) -> float:
    return sum(values) / len(values) if values else 0.0


def write(result: Result, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    edition = "-desktop" if result.config.get("edition") == "desktop" else ""
    path = out / f"soak{edition}-seed{result.config['seed']}-{result.config['days']:g}d.json"
    path.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    return path
