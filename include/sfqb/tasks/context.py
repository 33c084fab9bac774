"""The run every task works in: what ``begin_run`` returned, read from its XCom by each task.

Passing the run as an argument (``extract(run)``) makes Airflow draw an edge from
``begin_run`` to every task that takes it: 25 edges in ``sfqb_sync``, fanning across the
whole graph and hiding the order that matters. A task body that takes the run first instead
gets it here, from ``begin_run``'s XCom, still typed as a ``RunContext``, and the graph keeps
only the edges of the run's order.

The data dependency holds without the edges: only ``take_lease`` (the setup) follows
``begin_run`` directly, and every other task comes after ``take_lease`` (the preflight after it,
each area after the one before, ``reconcile`` and ``summarize_run`` after every area,
``give_back_lease`` as its teardown). ``tests/dags/test_dag_integrity.py`` checks that every task
that reads the run is downstream of ``begin_run``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar, cast

from sfqb.run_params import RunContext

BEGIN_RUN = "begin_run"

P = ParamSpec("P")
R = TypeVar("R")


def current_run() -> RunContext:
    """This DAG run's ``RunContext``: ``begin_run``'s return value."""
    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    run = get_current_context()["ti"].xcom_pull(task_ids=BEGIN_RUN)
    if not isinstance(run, dict) or "run_id" not in run:
        raise AirflowFailException(
            f"{BEGIN_RUN} left no run context for this run: clear {BEGIN_RUN} and the tasks "
            "after it to run them again"
        )
    return cast(RunContext, run)


def without_run(fn: Callable) -> inspect.Signature:
    """``fn``'s signature without its first parameter (the run): what TaskFlow binds the
    task's arguments to."""
    signature = inspect.signature(fn)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


def with_run(fn: Callable[Concatenate[RunContext, P], R]) -> Callable[P, R]:
    """A task body ``fn(run, ...)`` whose run is read from ``begin_run``'s XCom: the task is
    called without it, so no edge from ``begin_run`` is drawn."""

    @functools.wraps(fn)
    def body(*args: P.args, **kwargs: P.kwargs) -> R:
        return fn(current_run(), *args, **kwargs)

    body.__signature__ = without_run(fn)  # type: ignore[attr-defined]  # read by inspect
    body.sfqb_run_from_xcom = True  # type: ignore[attr-defined]  # a marker the DAG tests read
    return body
