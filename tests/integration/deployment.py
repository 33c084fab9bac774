"""Airflow as ``make ui`` runs it, for the tests that need real processes: api-server,
dag-processor and scheduler on the LocalExecutor, over the test worker's SQLite database.

``LocalDeployment`` starts the three processes (each in its own process group, its output in a
file), waits until the api-server answers and the DAGs are parsed, and stops every process
(the executor's workers included) on exit, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
COMMANDS = ("api-server", "dag-processor", "scheduler")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_state(run_id: str, dag_id: str = "sfqb_sync") -> str | None:
    from airflow.models.dagrun import DagRun

    runs = DagRun.find(dag_id=dag_id, run_id=run_id)
    return str(runs[0].state) if runs else None


def runs_now(dag_id: str = "sfqb_sync") -> str:
    """Every run of ``dag_id`` in the database with its unfinished tasks: why a run is not done."""
    from airflow.models.dagrun import DagRun

    lines = []
    for run in DagRun.find(dag_id=dag_id):
        waiting = sorted(
            f"{ti.task_id}={ti.state}"
            for ti in run.get_task_instances()
            if ti.state not in ("success", "skipped", "failed", "upstream_failed")
        )
        lines.append(f"\n  {run.run_id}: {run.state}; not done: {', '.join(waiting) or '-'}")
    return "".join(lines)


class LocalDeployment:
    """The three Airflow processes of a LocalExecutor deployment, started with ``env`` in
    ``folder`` (their outputs: ``<folder>/<process>.out``)."""

    def __init__(self, folder: Path, env: dict[str, str], port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            # The api-server signs the task runners' tokens: every process needs the same secret
            # (without one each makes its own, and every task fails at its first API call).
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            **env,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            # No scheduled runs: only the runs a test triggers (a scheduled one would queue
            # ahead of them: max_active_runs=1).
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "false",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "false",
        }
        self.procs: dict[str, tuple[subprocess.Popen, object]] = {}

    def __enter__(self) -> LocalDeployment:
        args = {"api-server": ["api-server", "--port", str(self.port)]}
        try:
            for name in COMMANDS:
                out = open(self.folder / f"{name}.out", "w")  # noqa: SIM115 - closed in stop()
                self.procs[name] = (
                    subprocess.Popen(
                        [str(BIN / "airflow"), *args.get(name, [name])],
                        env=self.env,
                        cwd=self.folder,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    ),
                    out,
                )
            self.wait("api-server", self.api_up, 300)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def api_up(self) -> bool:
        import requests

        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/api/v2/version", timeout=5).ok
        return False

    def wait_parsed(self, *dag_ids: str, timeout: float = 300) -> None:
        from airflow.models.serialized_dag import SerializedDagModel

        for dag_id in dag_ids:
            self.wait(f"{dag_id} parsed", lambda d=dag_id: SerializedDagModel.has_dag(d), timeout)

    def airflow(self, *args: str) -> subprocess.CompletedProcess:
        """An ``airflow`` CLI command against this deployment's database."""
        return subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            cwd=self.folder,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def wait(
        self, what: str, ready: Callable[[], bool], timeout: float, explain=lambda: ""
    ) -> None:
        """Until ``ready()``; fails naming ``what`` when a process died or time ran out."""
        deadline = time.monotonic() + timeout
        while not ready():
            dead = {n: p.returncode for n, (p, _) in self.procs.items() if p.poll() is not None}
            assert not dead, f"exited while waiting for {what}: {dead}"
            assert time.monotonic() < deadline, (
                f"{what}: not ready after {timeout:.0f} s{explain()}"
            )
            time.sleep(1)

    def outputs(self) -> dict[str, str]:
        return {
            f"{name} output": (self.folder / f"{name}.out").read_text(errors="replace")
            for name in self.procs
        }

    def stop(self) -> None:
        for proc, _ in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc, out in self.procs.values():
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)  # the executor's workers, gunicorn's
            out.close()  # type: ignore[attr-defined]
