"""The deferred wait in Airflow: a task of ``WaitForDesktopJobs`` defers on a write job that the
Web Connector emulator, polling sfqb's service over HTTP with the Desktop company emulator
behind it, answers a little later; dag.test() runs the trigger as the triggerer would and the
task resumes with the job's state (R-QBD-2)."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pendulum
import pytest

from sfqb.qbwc import DONE
from sfqb.tasks import desktop_wait
from sfqb.tasks.desktop_wait import WaitForDesktopJobs
from tests.sandbox.hooks.test_quickbooks_hook import _serialized
from tests.sandbox.qbwc.test_desktop_adapter import Polling, rig  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration

ADD = "<CustomerAddRq><CustomerAdd><Name>Deferred Wait</Name></CustomerAdd></CustomerAddRq>"


class WebConnectorAfterDeferral:
    """Counts the looks at the queue; from the trigger's first (the task's own look came
    before it), runs the Web Connector's sessions until the job is done."""

    def __init__(self, polled, looks) -> None:
        self.rig, self.looks, self.calls, self.thread = polled, looks, 0, None

    def __call__(self, url, job_ids):
        self.calls += 1
        if self.calls == 2:
            self.thread = threading.Thread(target=self._answer, daemon=True)
            self.thread.start()
        return self.looks(url, job_ids)

    def _answer(self) -> None:
        deadline = time.monotonic() + 60
        with Polling(self.rig):
            while self.rig.queue.count(DONE) == 0 and time.monotonic() < deadline:
                time.sleep(0.1)


def test_given_a_queued_write_when_the_task_waits_deferred_then_it_resumes_once_answered(
    rig,  # noqa: F811 - the fixture imported above
    queue_url,
    airflow_db,
    tmp_path,
    monkeypatch,
):
    """The task finds the job open, defers to ``DesktopJobsTrigger``; the Web Connector's next
    session answers it; the task resumes and hands on ``{job_id: "done"}`` (R-QBD-2)."""
    from airflow.sdk import DAG

    job = rig.queue.enqueue_writes([ADD], "deferred-wait-1")
    with DAG(
        "sfqb_test_desktop_wait",
        schedule=None,
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
    ) as dag:
        WaitForDesktopJobs(
            task_id="wait",
            job_ids=[job.id],
            queue_url=queue_url,
            poll_interval=0.2,
            wait_timeout=dt.timedelta(minutes=2),
        )
    looks = WebConnectorAfterDeferral(rig, desktop_wait.job_states)
    monkeypatch.setattr(desktop_wait, "job_states", looks)
    dag_run = _serialized(dag, tmp_path).test()
    assert looks.thread is not None, "the task did not defer"
    looks.thread.join(60)
    assert looks.calls >= 3  # the task's look, the trigger's first (open), its last (done)
    (ti,) = dag_run.get_task_instances()
    assert ti.state == "success"
    assert ti.xcom_pull(task_ids="wait") == {str(job.id): DONE}
    assert rig.queue.get(job.id).state == DONE
    assert [c.findtext("Name") for c in rig.customers("Deferred Wait")] == ["Deferred Wait"]
