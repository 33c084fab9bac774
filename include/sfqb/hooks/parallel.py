"""Work a task hands to pool threads: one piece beside it, or the calls of one operation.

A load of 4,000 Salesforce records is 20 collection calls and a read of 10,000 QuickBooks
customers 10 pages: one after the other, the task mostly waits on round trips. ``ordered``
sends up to ``workers`` of them at once and gives the answers back in the order of the inputs,
so the caller's results do not depend on which call came back first; ``on_second_thread``
runs one piece of work beside the task (the customers extract's and the reconciliation's
Salesforce reads while the QuickBooks pages come in).

Both connect the hooks given in ``connect`` on the task's thread first and run the work in a
copy of the task's context variables. Under Airflow 3's task runner a hook's connection look-up
from a bare pool thread finds nothing when the connection lives in the metadata database
(``airflow dags test``, deployments; environment-variable connections, as in the test suite's
``dag.test()`` runs, resolve anywhere): "The conn_id `salesforce_default` isn't defined".
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def on_second_thread(pool: Executor, fn, *args, connect=()) -> Future:
    """``pool.submit(fn, *args)`` from a task, safely: each hook in ``connect`` looks its
    connection up and logs in here, and ``fn`` runs in a copy of this thread's context."""
    for hook in connect:
        hook.connect()
    return pool.submit(contextvars.copy_context().run, fn, *args)


def ordered(fn: Callable[[T], R], items: Iterable[T], workers: int, *, connect=()) -> Iterator[R]:
    """``fn(item)`` for each item, up to ``workers`` at once, yielded in the items' order.
    With one worker or one item, on the caller's thread (and nothing to connect first). When a
    call raises, the calls in flight finish, those not started are cancelled, and the first
    error in order is raised."""
    items = list(items)
    workers = min(workers, len(items))
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="sfqb-call") as pool:
        futures = [
            on_second_thread(pool, fn, item, connect=connect if i == 0 else ())
            for i, item in enumerate(items)
        ]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
