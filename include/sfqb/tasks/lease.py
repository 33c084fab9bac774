"""The run lease in a DAG (R-GEN-10, rules and protocol in ``sfqb.lease``).

- ``take_lease`` (the DAG's setup task, right after ``begin_run``): waits for the lease up to
  the ``lease_wait_seconds`` preference. The first task that reads the systems comes after it,
  and every later one after that, so nothing reads or writes before the run holds the lease.
  When another run held it for the whole wait, the task fails, naming the holder, and the run
  ends failed without having written anything.
- ``leased``: wraps the body of every task that reads or writes the two systems (the area
  chain, preflight, reconcile, the migration): the task resumes the lease (fails when it was
  lost), heartbeats while it runs, and every write call through the hooks checks it first. A
  retried task is the same run: it passes its own check.
- ``give_back_lease`` (its teardown): deletes the run's entry when the run ends, also after a
  failed task, so a failed run does not block the next one until the lease expires. As a
  teardown it does not decide the run's state. Clearing a task clears both with it, so a
  cleared task runs holding the lease again.

The DAG wires them with Airflow's setup/teardown (``take_lease(run).as_setup()``,
``give_back_lease(run).as_teardown(setups=...)``, the tasks between in a ``with`` block); the
tasks right after a setup must trigger on ``all_success`` (Airflow checks it), so the setup
hands on no XCom: its direct downstream is the first preflight task.

Why failed, not skipped, for a run that did not get the lease: it did not do what it was started
for. A green run would hide that (a backfill interval or a manual resync is not done again by
itself), Airflow has no skipped state for a whole run, and the failure alert carries the
message naming the holder. The next scheduled run syncs what a skipped scheduled run missed.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from airflow.sdk import task

from sfqb.run_params import RunContext
from sfqb.tasks.context import current_run, with_run, without_run

P = ParamSpec("P")
R = TypeVar("R")

log = logging.getLogger(__name__)


def run_lease(run: RunContext, dag_id: str | None = None):
    """This run's side of the lease (its DAG from the running task's context)."""
    from sfqb.lease import RunLease
    from sfqb.state import TaskVariables
    from sfqb.steps.common import preferences

    if dag_id is None:
        from airflow.sdk import get_current_context

        dag_id = get_current_context()["dag_run"].dag_id
    return RunLease(
        TaskVariables(),
        dag_id=dag_id,
        run_id=run["run_id"],
        expiry=preferences(run).lease_expiry_seconds,
    )


@task(task_id="take_lease", multiple_outputs=False)
def take_lease(run: RunContext) -> str:
    """Wait for the run lease (preference ``lease_wait_seconds``) and take it; returns the key
    of this run's entry."""
    from airflow.sdk.exceptions import AirflowFailException

    from sfqb.lease import LeaseUnavailable
    from sfqb.steps.common import preferences

    lease = run_lease(run)
    try:
        lease.acquire(wait=preferences(run).lease_wait_seconds)
    except LeaseUnavailable as exc:
        # Waiting again is not what the wait preference means: no retries.
        raise AirflowFailException(str(exc)) from None
    return lease.key


@task(task_id="give_back_lease", multiple_outputs=False)
@with_run
def give_back_lease(run: RunContext) -> bool:
    """Delete this run's lease entry (whatever state its tasks ended in)."""
    return run_lease(run).release()


def lease_scope(run):
    """``(taken, released)``: this run's ``take_lease`` as the DAG's setup task and
    ``give_back_lease`` as its teardown; ``with released:`` around the tasks they enclose."""
    taken = take_lease(run).as_setup()
    return taken, give_back_lease().as_teardown(setups=taken)  # type: ignore[arg-type]  # the SDK takes an XComArg (it checks for one) but annotates only operators


def _threads_may_call_airflow() -> bool:
    """Whether a second thread may use the Task SDK (Variables): yes under Airflow's task
    supervisor, whose channel takes a lock per message; no in ``airflow dags test`` and
    ``dag.test()``, whose in-process channel swaps a module global for each message."""
    try:
        from airflow.sdk.execution_time import task_runner
        from airflow.sdk.execution_time.supervisor import InProcessSupervisorComms
    except ImportError:  # pragma: no cover - another Task SDK: be safe
        return False
    comms = getattr(task_runner, "SUPERVISOR_COMMS", None)
    return comms is not None and not isinstance(comms, InProcessSupervisorComms)


def leased(fn: Callable[Concatenate[RunContext, P], R]) -> Callable[P, R]:
    """Run a task body (``fn(run, ...)``) holding this run's lease (``sfqb.lease.holding``);
    a lost lease fails the task without retries: the run cannot know what was written since.
    The task is called without the run: it reads it from ``begin_run``'s XCom
    (``sfqb.tasks.context``), so the graph has no edge from ``begin_run`` to it."""

    @functools.wraps(fn)
    def body(*args: P.args, **kwargs: P.kwargs) -> R:
        from airflow.sdk.exceptions import AirflowFailException

        from sfqb.lease import LeaseLost, holding

        run = current_run()
        try:
            with holding(run_lease(run), background=_threads_may_call_airflow()):
                return fn(run, *args, **kwargs)
        except LeaseLost as exc:
            raise AirflowFailException(str(exc)) from None

    body.__signature__ = without_run(fn)  # type: ignore[attr-defined]  # read by inspect
    body.sfqb_leased = True  # type: ignore[attr-defined]  # a marker on the wrapper function
    body.sfqb_run_from_xcom = True  # type: ignore[attr-defined]  # likewise
    return body
