"""hooks.parallel: the one way a task hands work to pool threads (the customers extract's and
the reconciliation's Salesforce reads, the calls of one hook operation, for speed)."""

from __future__ import annotations

import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

from sfqb.hooks.parallel import on_second_thread, ordered

TASK = contextvars.ContextVar("task")


class _Hook:
    def __init__(self) -> None:
        self.connected_on = None

    def connect(self) -> None:
        self.connected_on = threading.current_thread()


def test_given_a_hook_and_task_context_when_work_goes_to_a_second_thread_then_the_hook_connects_here_and_the_work_sees_the_context():
    """R-GEN-2's window reads, overlapped for speed: Airflow 3's task runner keeps a task's state in
    context variables, which a new thread does not inherit, and cannot give a pool thread a
    connection kept in the metadata database: the hook connects on the task's thread, and the work
    runs on the pool thread in a copy of the task's context."""
    TASK.set("customers.extract")
    hook = _Hook()
    with ThreadPoolExecutor(1) as pool:
        seen = on_second_thread(
            pool,
            lambda suffix: (TASK.get(), threading.current_thread(), suffix),
            "!",
            connect=(hook,),
        ).result()
        bare = pool.submit(lambda: TASK.get(None)).result()

    assert hook.connected_on is threading.current_thread()
    assert (
        seen[0] == "customers.extract"
        and seen[1] is not threading.current_thread()
        and seen[2] == "!"
    )
    assert bare is None  # what a plain submit sees


def test_given_a_hook_operation_of_several_calls_when_fanned_out_then_the_hook_connects_here_once_and_answers_keep_order():
    """R-GEN-2's reads and R-GEN-3's repeatable writes, several calls at once (for speed): the hook
    connects on the task's thread before any call (a read by ids may be a fresh hook's first
    call: four pool threads must not each look the connection up and log in), every call sees
    the task's context, and the answers come back in the order of the inputs. One call needs no
    pool and no early connect."""
    import time

    TASK.set("opportunities.extract")
    hook, calls = _Hook(), []

    def call(n):
        time.sleep(0.01 * (5 - n))  # the later inputs answer first
        calls.append(threading.current_thread())
        return n, TASK.get()

    connects = []
    hook.connect = lambda: connects.append(threading.current_thread())
    answers = list(ordered(call, range(5), 4, connect=(hook,)))

    assert answers == [(n, "opportunities.extract") for n in range(5)]
    assert connects == [threading.current_thread()]
    assert threading.current_thread() not in calls
    assert list(ordered(call, [0], 4, connect=(hook,))) == [(0, "opportunities.extract")]
    assert len(connects) == 1 and calls[-1] is threading.current_thread()
