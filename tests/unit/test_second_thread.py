"""steps.common.on_second_thread: the one way a task hands work to a pool thread (the customers
extract's and the reconciliation's Salesforce reads, issue 14)."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from sfqb.steps.common import on_second_thread

TASK = contextvars.ContextVar("task")


class _Hook:
    def __init__(self) -> None:
        self.connected_on = None

    def connect(self) -> None:
        self.connected_on = threading.current_thread()


def test_given_a_hook_and_task_context_when_work_goes_to_a_second_thread_then_the_hook_connects_here_and_the_work_sees_the_context():
    """R-GEN-2's window reads, overlapped (issue 14): Airflow 3's task runner keeps a task's state in context variables, which a new thread
    does not inherit, and cannot give a pool thread a connection kept in the metadata database:
    the hook connects on the task's thread, and the work runs on the pool thread in a copy of
    the task's context."""
    TASK.set("customers.extract")
    hook = _Hook()
    with ThreadPoolExecutor(1) as pool:
        seen = on_second_thread(pool, lambda suffix: (TASK.get(), threading.current_thread(), suffix), "!",
                                connect=(hook,)).result()
        bare = pool.submit(lambda: TASK.get(None)).result()

    assert hook.connected_on is threading.current_thread()
    assert seen[0] == "customers.extract" and seen[1] is not threading.current_thread() and seen[2] == "!"
    assert bare is None  # what a plain submit sees
