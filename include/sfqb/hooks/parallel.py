"""Calls of one hook operation in flight at once, results in order.

A load of 4,000 Salesforce records is 20 collection calls and a read of 10,000 QuickBooks
customers 10 pages: one after the other, the task mostly waits on round trips. ``ordered``
sends up to ``workers`` of them at once on pool threads and gives the answers back in the
order of the inputs, so the caller's results do not depend on which call came back first.

Each call runs in a copy of the caller's context variables: Airflow 3 keeps a task's
connections (and variables) in context variables when they come from the metadata database
(``airflow dags test``, and ``dag.test()``), and a bare pool thread would not find them
(``steps.common.on_second_thread``). Build a hook's client on the caller's thread first, so
the connection is looked up and logged in once.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``fn(item)`` for each item, up to ``workers`` at once, yielded in the items' order.
    With one worker or one item, on the caller's thread. When a call raises, the calls in
    flight finish, those not started are cancelled, and the first error in order is raised."""
    items = list(items)
    workers = min(workers, len(items))
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="sfqb-call") as pool:
        futures = [pool.submit(contextvars.copy_context().run, fn, item) for item in items]
        try:
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()
