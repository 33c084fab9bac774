"""``[core] hostname_callable`` of the test's Celery workers (tests/distributed/cluster.py).

Both workers run on one machine, so ``socket.getfqdn()`` would give every task instance the
same ``hostname``; each worker process gets its own name from its environment instead, the way
two machines would report two names.
"""

from __future__ import annotations

import os


def hostname() -> str:
    return os.environ["SFQB_TEST_WORKER_HOSTNAME"]
