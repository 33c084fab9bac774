"""Benchmark: how a task waits for the Web Connector, measured in a real Airflow deployment.

    python -m bench.desktop_wait [--answer-after 45] [--interval 10] [--out bench/results]

Starts Airflow as ``make ui`` runs it (api-server, dag-processor, scheduler on the
LocalExecutor, tests/integration/deployment.py) plus ``airflow triggerer``, over a SQLite
metadata DB in a temporary folder, with one DAG of each candidate:

- ``wait_sensor``: a reschedule-mode sensor whose poke reads the jobs' states in the queue;
- ``wait_deferred``: ``sfqb.tasks.desktop_wait.WaitForDesktopJobs`` (the triggerer polls).

Each scenario queues one write job in a SQLite queue, triggers the DAG, and after
``--answer-after`` seconds answers the job as a Web Connector session would (claim, store the
answer). Measured per scenario: the extra wall time from the answer to the task's end, the
worker-slot seconds (each task process from its start to the end of its execute), the task's
tries and reschedule rows, and the triggerer's and scheduler's resident memory. The
disruptions: the triggerer killed (SIGKILL) and started again mid-wait; the scheduler stopped
and started again mid-wait. Results as JSON and markdown in ``--out``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

DAG_FILE = """
import json, os, time
import pendulum, psutil
from airflow.sdk import DAG, BaseSensorOperator
from sfqb.tasks.desktop_wait import WaitForDesktopJobs, all_settled, job_states

URL, SPANS = os.environ["SFQB_BENCH_QUEUE_URL"], os.environ["SFQB_BENCH_SPANS"]
INTERVAL = float(os.environ["SFQB_BENCH_INTERVAL"])


def span(kind, started):
    with open(SPANS, "a") as out:
        out.write(json.dumps({"kind": kind, "process_start": psutil.Process().create_time(),
                              "execute_start": started, "end": time.time()}) + "\\n")


class Sensor(BaseSensorOperator):
    template_fields = ("job_ids",)

    def __init__(self, job_ids, **kw):
        super().__init__(**kw)
        self.job_ids = job_ids

    def poke(self, context):
        return all_settled(job_states(URL, [int(i) for i in self.job_ids]))

    def execute(self, context):
        started = time.time()
        try:
            return super().execute(context)
        finally:
            span("sensor", started)


class Deferred(WaitForDesktopJobs):
    def execute(self, context):
        started = time.time()
        try:
            return super().execute(context)
        finally:
            span("deferred", started)

    def execute_complete(self, context, event):
        started = time.time()
        try:
            return super().execute_complete(context, event)
        finally:
            span("deferred", started)


common = dict(schedule=None, start_date=pendulum.datetime(2024, 1, 1), catchup=False,
              render_template_as_native_obj=True)
with DAG("wait_sensor", **common):
    Sensor(task_id="wait", job_ids="{{ dag_run.conf['job_ids'] }}", mode="reschedule",
           poke_interval=INTERVAL, timeout=1800)
with DAG("wait_deferred", **common):
    Deferred(task_id="wait", job_ids="{{ dag_run.conf['job_ids'] }}", queue_url=URL,
             poll_interval=INTERVAL)
"""

ADD = "<CustomerAddRq><CustomerAdd><Name>Wait {n}</Name></CustomerAdd></CustomerAddRq>"


def answer(queue, job) -> float:
    """A Web Connector session takes the job and QuickBooks answers it; when (epoch s)."""
    session = queue.start_session(f"ticket-{job.id}", "sfqb", "open", ttl=60)
    claimed = queue.claim(session.id)
    assert claimed is not None and claimed.id == job.id, claimed
    queue.store_answer(
        job.id,
        session.id,
        '<?xml version="1.0"?><QBXML><QBXMLMsgsRs>'
        f'<CustomerAddRs requestID="{job.id}.0" statusCode="0" statusSeverity="Info" '
        'statusMessage="Status OK"/></QBXMLMsgsRs></QBXML>',
    )
    done = time.time()
    queue.end_session(session.id, "done")
    return done


def rss_mib(pid: int) -> float:
    import psutil

    with contextlib.suppress(psutil.NoSuchProcess):
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return round(total / 2**20, 1)
    return 0.0


class Bench:
    def __init__(self, folder: Path, interval: float) -> None:
        from tests.integration.deployment import LocalDeployment

        self.folder = folder
        (folder / "dags").mkdir()
        (folder / "dags" / "wait_bench.py").write_text(DAG_FILE)
        self.db = folder / "airflow.db"
        self.queue_url = f"sqlite:///{folder / 'queue.sqlite3'}"
        self.spans = folder / "spans.jsonl"
        env = {
            **os.environ,
            "AIRFLOW_HOME": str(folder),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.db}",
            "AIRFLOW__CORE__DAGS_FOLDER": str(folder / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(folder / "logs"),
            "PYTHONPATH": f"{ROOT / 'include'}:{ROOT}",
            "SFQB_BENCH_QUEUE_URL": self.queue_url,
            "SFQB_BENCH_SPANS": str(self.spans),
            "SFQB_BENCH_INTERVAL": str(interval),
        }
        env.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
        subprocess.run(
            [sys.executable, "-m", "airflow", "db", "migrate"],
            env=env,
            check=True,
            capture_output=True,
        )
        self.airflow = LocalDeployment(folder, env)
        self.triggerer: subprocess.Popen | None = None

    def start_triggerer(self) -> None:
        out = open(self.folder / "triggerer.out", "a")  # noqa: SIM115 - the process keeps it
        self.triggerer = subprocess.Popen(
            [sys.executable, "-m", "airflow", "triggerer"],
            env=self.airflow.env,
            cwd=self.folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop_triggerer(self, sig: int = signal.SIGTERM) -> None:
        if self.triggerer is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.triggerer.pid, sig)
            self.triggerer.wait(60)
            self.triggerer = None

    def restart_scheduler(self) -> float:
        """Stop the scheduler (SIGTERM, its process group) and start it again; the seconds down."""
        proc, out = self.airflow.procs["scheduler"]
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(120)
        self.airflow.procs["scheduler"] = (
            subprocess.Popen(
                [sys.executable, "-m", "airflow", "scheduler"],
                env=self.airflow.env,
                cwd=self.folder,
                stdout=out,  # type: ignore[arg-type]
                stderr=subprocess.STDOUT,
                start_new_session=True,
            ),
            out,
        )
        return round(time.monotonic() - started, 1)

    def sql(self, query: str, *args: object) -> list[tuple]:
        with contextlib.closing(sqlite3.connect(self.db, timeout=30)) as conn:
            return conn.execute(query, args).fetchall()

    def ti(self, dag_id: str, run_id: str) -> tuple:
        rows = self.sql(
            "select state, try_number, start_date, end_date, id from task_instance "
            "where dag_id=? and run_id=? and task_id='wait'",
            dag_id,
            run_id,
        )
        return rows[0] if rows else (None, 0, None, None, None)

    def wait_state(self, dag_id: str, run_id: str, states: tuple, timeout: float) -> tuple:
        deadline = time.monotonic() + timeout
        while True:
            row = self.ti(dag_id, run_id)
            if row[0] in states:
                return row
            assert time.monotonic() < deadline, f"{dag_id} {run_id}: {row[0]} after {timeout} s"
            time.sleep(0.25)

    def scenario(self, queue, dag_id: str, name: str, answer_after: float, disrupt: str) -> dict:
        job = queue.enqueue_writes([ADD.format(n=name)], f"bench:{name}")
        run_id = f"bench_{name}"
        self.spans.write_text("")
        triggered = time.time()
        self.airflow.airflow(
            "dags",
            "trigger",
            dag_id,
            "--run-id",
            run_id,
            "--conf",
            json.dumps({"job_ids": [job.id]}),
        )
        waiting = ("up_for_reschedule", "deferred")
        self.wait_state(dag_id, run_id, waiting, 300)
        memory = {
            "triggerer_mib": rss_mib(self.triggerer.pid) if self.triggerer else 0.0,
            "scheduler_mib": rss_mib(self.airflow.procs["scheduler"][0].pid),
        }
        down = 0.0
        if disrupt:
            time.sleep(max(0.0, triggered + answer_after / 2 - time.time()))
            if disrupt == "triggerer killed":
                self.stop_triggerer(signal.SIGKILL)
                time.sleep(5)
                self.start_triggerer()
            elif disrupt == "scheduler restarted":
                down = self.restart_scheduler()
        time.sleep(max(0.0, triggered + answer_after - time.time()))
        done_at = answer(queue, job)
        state, tries, *_ = self.wait_state(dag_id, run_id, ("success", "failed"), 600)
        ended = time.time()
        end_date = self.sql(
            "select end_date from task_instance where dag_id=? and run_id=? and task_id='wait'",
            dag_id,
            run_id,
        )[0][0]
        end_epoch = dt.datetime.fromisoformat(end_date).replace(tzinfo=dt.UTC).timestamp()
        spans = [json.loads(line) for line in self.spans.read_text().splitlines() if line]
        reschedules = self.sql(
            "select count(*) from task_reschedule r join task_instance t on r.ti_id = t.id "
            "where t.dag_id=? and t.run_id=?",
            dag_id,
            run_id,
        )[0][0]
        return {
            "mechanism": "reschedule sensor" if dag_id == "wait_sensor" else "deferrable",
            "disruption": disrupt or "-",
            "state": state,
            "answer_to_task_end_s": round(end_epoch - done_at, 1),
            "answer_to_seen_success_s": round(ended - done_at, 1),
            "task_processes": len(spans),
            "worker_slot_s": round(sum(s["end"] - s["process_start"] for s in spans), 1),
            "in_execute_s": round(sum(s["end"] - s["execute_start"] for s in spans), 2),
            "process_start_s_each": round(
                sum(s["execute_start"] - s["process_start"] for s in spans) / max(1, len(spans)), 2
            ),
            "try_number": tries,
            "reschedule_rows": reschedules,
            "scheduler_down_s": down,
            **memory,
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--answer-after", type=float, default=45.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    from sfqb.qbwc.queue import JobQueue

    folder = Path(tempfile.mkdtemp(prefix="sfqb-bench-wait-"))
    bench = Bench(folder, args.interval)
    rows = []
    with bench.airflow as airflow:
        bench.start_triggerer()
        try:
            time.sleep(1)
            airflow.wait(
                "DAGs parsed",
                lambda: len(bench.sql("select dag_id from serialized_dag")) >= 2,
                300,
            )
            for dag_id in ("wait_sensor", "wait_deferred"):
                airflow.airflow("dags", "unpause", dag_id)
            idle_triggerer = rss_mib(bench.triggerer.pid)  # type: ignore[union-attr]
            queue = JobQueue.from_url(bench.queue_url)
            plan = [
                ("wait_sensor", ""),
                ("wait_deferred", ""),
                ("wait_sensor", "scheduler restarted"),
                ("wait_deferred", "scheduler restarted"),
                ("wait_deferred", "triggerer killed"),
            ]
            for index, (dag_id, disrupt) in enumerate(plan):
                row = bench.scenario(queue, dag_id, f"s{index}", args.answer_after, disrupt)
                print(json.dumps(row), flush=True)
                rows.append(row)
            queue.close()
        finally:
            bench.stop_triggerer()
    result = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, {platform.platform()}, Python "
        f"{platform.python_version()}",
        "airflow": _airflow_version(),
        "answer_after_s": args.answer_after,
        "interval_s": args.interval,
        "idle_triggerer_mib": idle_triggerer,
        "rows": rows,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "desktop_wait.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "desktop_wait.md").write_text(markdown(result))
    print(markdown(result))


def _airflow_version() -> str:
    from importlib.metadata import version

    return version("apache-airflow")


def markdown(result: dict) -> str:
    head = (
        "| mechanism | disruption | state | answer -> task end s | task processes | "
        "worker-slot s | in execute s | start per process s | try | reschedule rows | "
        "triggerer MiB | scheduler MiB |\n" + "|---" * 12 + "|\n"
    )
    lines = [
        f"| {r['mechanism']} | {r['disruption']} | {r['state']} | {r['answer_to_task_end_s']} | "
        f"{r['task_processes']} | {r['worker_slot_s']} | {r['in_execute_s']} | "
        f"{r['process_start_s_each']} | {r['try_number']} | {r['reschedule_rows']} | "
        f"{r['triggerer_mib']} | {r['scheduler_mib']} |"
        for r in result["rows"]
    ]
    return (
        f"# Waiting for the Web Connector: reschedule sensor against deferrable\n\n"
        f"Measured {result['measured_at']} on {result['machine']} (shared: a CI run beside it), "
        f"Airflow {result['airflow']}, LocalExecutor over SQLite, api-server, dag-processor, "
        f"scheduler and triggerer on the same machine. The job is answered "
        f"{result['answer_after_s']:.0f} s after the run is triggered; both look at the queue "
        f"every {result['interval_s']:.0f} s (poke interval, trigger poll interval). The "
        f"triggerer idle: {result['idle_triggerer_mib']} MiB resident (with its children).\n\n"
        + head
        + "\n".join(lines)
        + "\n\n*answer -> task end*: from the job's answer in the queue to the task's end_date. "
        "*worker-slot s*: each task process from its start to the end of its execute (the "
        "LocalExecutor's slot is held that long); *start per process*: process start to "
        "execute, the cost every poke pays again. *reschedule rows*: task_reschedule rows "
        "written (one per poke that found the job open).\n"
    )


if __name__ == "__main__":
    main()
