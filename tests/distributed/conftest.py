"""The distributed path (docs/multi-machine.md): one Celery cluster of local processes for the
package (test_celery_sync.py, then test_desktop_on_celery.py on the same cluster).

These tests run with `make test-distributed` (which sets SFQB_TEST_DISTRIBUTED=1 and installs
redis-server and the PostgreSQL server when missing); `make test` deselects them (-m "not
distributed") and a bare pytest run skips them.
"""

from __future__ import annotations

import os

import pytest

# the integration tests' LocalExecutor set-up (dag.test() on a reset sandbox), for the comparison run
from tests.integration.conftest import sync_env  # noqa: F401

GATE = "SFQB_TEST_DISTRIBUTED"


def pytest_collection_modifyitems(config, items):
    if os.environ.get(GATE) == "1":
        return
    skip = pytest.mark.skip(reason=f"distributed: run with `make test-distributed` ({GATE}=1)")
    for item in items:
        if item.get_closest_marker("distributed"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    cluster = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and cluster is not None:
        report.sections.append(("distributed cluster logs", cluster.dump_logs()))
    return report


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    """PostgreSQL, Redis, the sandbox servers and Airflow on the CeleryExecutor (api-server,
    scheduler, dag-processor, triggerer, two workers), started once for tests/distributed (every
    module reuses it) and torn down after the last, also when a start step fails (its logs are
    then part of the error)."""
    from tests.distributed.cluster import Cluster

    started = Cluster(tmp_path_factory.mktemp("distributed"))
    try:
        started.start()
    except BaseException as exc:
        logs = started.dump_logs()
        started.stop()
        raise RuntimeError(f"the distributed cluster did not start: {exc}\n{logs}") from exc
    try:
        yield started
    finally:
        started.stop()
        print(
            f"\ndistributed cluster timings (s, from its start): "
            f"{ {k: round(v, 1) for k, v in started.timings.items()} }"
        )
