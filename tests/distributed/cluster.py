"""The multi-machine topology of docker-compose.yaml as local processes, for tests/distributed.

PostgreSQL 15 (metadata DB, Celery results, the QuickBooks Desktop queue's own database), Redis
(broker), the sandbox servers (Salesforce, QuickBooks Online and a Desktop company), and Airflow
on the CeleryExecutor: ``airflow db migrate``, api-server, scheduler, dag-processor, triggerer
and two Celery workers; on demand the compose file's ``qbwc`` service (sfqb's Web Connector
service) and the Web Connector emulator polling it. Every Airflow process has its own
AIRFLOW_HOME, working directory and TMPDIR (the QuickBooks hook's refresh lock lives there);
they share only the metadata DB, the broker and the XCom object-storage path, like containers
on several machines. The environment is the compose file's ``x-airflow-common`` block with the
services' names replaced by local ports.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.conftest import ROOT

BIN = Path(sys.executable).parent
WORKERS = ("sfqb-worker-1", "sfqb-worker-2")
CELERY_NAMES = {worker: f"worker{number}@{worker}" for number, worker in enumerate(WORKERS, 1)}
PASSWORD = "airflow-distributed-test"


def compose_file() -> dict:
    import yaml

    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text())


def compose_defaults(value: str) -> str:
    """``${VAR:-default}`` resolved to its default (no .env) and ``$$`` unescaped, as compose
    reads a value."""
    import re

    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)).replace("$$", "$")


def compose_environment(service: str | None = None) -> dict[str, str]:
    """The ``x-airflow-common`` environment of docker-compose.yaml (or ``service``'s, which
    extends it), with its defaults."""
    compose = compose_file()
    env = compose["services"][service] if service else compose["x-airflow-common"]
    return {key: compose_defaults(value) for key, value in env["environment"].items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    if not found:
        raise RuntimeError(
            "no PostgreSQL server binaries under /usr/lib/postgresql: run "
            "scripts/install-services.sh (make test-distributed does)"
        )
    return found[-1].parent


def wait_until(what: str, ready, timeout: float, procs: list | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(Exception):
            if ready():
                return
        for proc in procs or []:
            if proc.popen.poll() is not None:
                raise RuntimeError(
                    f"{proc.name} exited with {proc.popen.returncode} while waiting for {what}"
                )
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")
        time.sleep(0.5)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    service: bool = True  # False: a one-shot command (initdb, db migrate, settings)


@dataclass
class Cluster:
    base: Path
    procs: list[Proc] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pg_dir: Path | None = None
    xcom_dir: Path | None = None  # the XCom object-storage folder every process shares
    sandbox: object = None  # SandboxProcess
    admin: object = None  # SandboxAdmin
    env: dict = field(default_factory=dict)
    ports: dict = field(default_factory=dict)
    fernet_key: str = ""  # config/secrets/, as airflow-init generates them
    jwt_secret: str = ""
    _token: str | None = None

    # --- start -------------------------------------------------------------------------------

    def start(self) -> Cluster:
        began = time.monotonic()
        self.ports = {
            name: free_port()
            for name in ("postgres", "redis", "api", "scheduler_health", "triggerer", *WORKERS)
        }
        self.xcom_dir = self.base / "xcom"
        self.xcom_dir.mkdir(parents=True)
        self._start_postgres()
        self._start_redis()
        self._start_sandbox()
        self._wait_postgres()
        self.timings["services"] = time.monotonic() - began
        self.env = self._airflow_env()
        self._run("db-migrate", [str(BIN / "airflow"), "db", "migrate"], timeout=300)
        self.timings["db migrate"] = time.monotonic() - began
        # airflow-init's step after the migration: the Desktop queue's database and schema
        self._run("qbwc-migrate", [sys.executable, "-m", "sfqb", "qbwc", "migrate"], timeout=120)
        settings = self._spawn(
            "settings",
            [
                sys.executable,
                str(ROOT / "scripts" / "airflow_settings.py"),
                "--sandbox-dir",
                str(self.sandbox.data_dir),
            ],
        )
        settings.service = False
        self._spawn(
            "api-server", [str(BIN / "airflow"), "api-server", "--port", str(self.ports["api"])]
        )
        self._spawn("scheduler", [str(BIN / "airflow"), "scheduler"])
        self._spawn("dag-processor", [str(BIN / "airflow"), "dag-processor"])
        self._spawn("triggerer", [str(BIN / "airflow"), "triggerer"])
        for name in WORKERS:
            self._spawn(
                name,
                [str(BIN / "airflow"), "celery", "worker", "--celery-hostname", CELERY_NAMES[name]],
                worker=name,
            )
        running = [p for p in self.procs if p.service]
        wait_until(
            "api-server",
            lambda: requests.get(self.url("/api/v2/version"), timeout=5).ok,
            300,
            running,
        )
        self.timings["api-server"] = time.monotonic() - began
        wait_until(
            "scheduler health",
            lambda: (
                requests.get(
                    f"http://127.0.0.1:{self.ports['scheduler_health']}/health", timeout=5
                ).ok
            ),
            300,
            running,
        )
        self.timings["scheduler"] = time.monotonic() - began
        if settings.popen.wait(timeout=300) != 0:
            raise RuntimeError("scripts/airflow_settings.py failed")
        self.timings["settings"] = time.monotonic() - began
        wait_until(
            "sfqb_sync parsed", lambda: self.api("GET", "/api/v2/dags/sfqb_sync").ok, 300, running
        )
        self.timings["dag parsed"] = time.monotonic() - began
        for name in WORKERS:
            proc = self.proc(name)
            wait_until(
                f"{name} ready",
                lambda p=proc, n=CELERY_NAMES[name]: (
                    f"{n} ready." in p.log.read_text(errors="replace")
                ),
                300,
                running,
            )
        self.timings["workers"] = time.monotonic() - began
        self.timings["ready"] = time.monotonic() - began
        return self

    def _start_postgres(self) -> None:
        pg = postgres_bin()
        self.pg_dir = Path(tempfile.mkdtemp(prefix="sfqb-pg-"))
        data = self.pg_dir / "data"
        as_user: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as its own user
            owner = pwd.getpwnam("postgres")
            os.chown(self.pg_dir, owner.pw_uid, owner.pw_gid)
            as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            "initdb",
            [
                *as_user,
                str(pg / "initdb"),
                "-D",
                str(data),
                "-U",
                "airflow",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
            cwd=self.pg_dir,
            airflow=False,
        )
        self._spawn(
            "postgres",
            [
                *as_user,
                str(pg / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.ports["postgres"]),
                "-k",
                str(self.pg_dir),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            cwd=self.pg_dir,
            airflow=False,
        )
        self._pg = pg

    def _wait_postgres(self) -> None:
        port = str(self.ports["postgres"])
        wait_until(
            "postgres",
            lambda: (
                subprocess.run(
                    [
                        str(self._pg / "pg_isready"),
                        "-q",
                        "-h",
                        "127.0.0.1",
                        "-p",
                        port,
                        "-U",
                        "airflow",
                    ],
                    timeout=10,
                ).returncode
                == 0
            ),
            60,
            [self.proc("postgres")],
        )
        self._run(
            "createdb",
            [str(self._pg / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "airflow", "airflow"],
            timeout=60,
            airflow=False,
        )

    def _start_redis(self) -> None:
        redis = shutil.which("redis-server")
        if redis is None:
            raise RuntimeError("redis-server is not installed: run scripts/install-services.sh")
        folder = self.base / "redis"
        folder.mkdir()
        self._spawn(
            "redis",
            [
                redis,
                "--port",
                str(self.ports["redis"]),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(folder),
            ],
            cwd=folder,
            airflow=False,
        )

    def _start_sandbox(self) -> None:
        from sfqb_sandbox.admin_client import SandboxProcess

        # both QuickBooks: Online for the Online runs, the Desktop company for the Desktop ones
        self.sandbox = SandboxProcess(
            self.base / "sandbox", seed="tiny", extra_args=["--quickbooks", "both"]
        )
        self.admin = self.sandbox.start()
        # As the integration tests' sync_env: the seed dated an hour back, plainly older than
        # the run's install date and lookback.
        self.admin.set_clock("quickbooks", advance_seconds=-3600)
        try:
            for service in ("quickbooks", "salesforce"):
                self.admin.reset(service, seed="tiny")
        finally:
            self.admin.set_clock("quickbooks", reset=True)
        self.admin.clear_counters()

    def _airflow_env(self) -> dict[str, str]:
        """docker-compose.yaml's x-airflow-common environment with its defaults, the services'
        addresses and container paths mapped to local ones, plus the test-only settings."""
        from cryptography.fernet import Fernet

        compose = compose_environment()
        (self.base / "config").mkdir()
        user = compose["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(":")[0]
        (self.base / "config" / "simple_auth_manager_passwords.json").write_text(
            json.dumps({user: PASSWORD})
        )
        local = {
            "@postgres/": f"@127.0.0.1:{self.ports['postgres']}/",
            "@redis:6379/": f"@127.0.0.1:{self.ports['redis']}/",
            "http://airflow-apiserver:8080/": f"http://127.0.0.1:{self.ports['api']}/",
            "file:///opt/airflow/xcom": f"file://{self.xcom_dir}",
            "/opt/airflow/config/": f"{self.base / 'config'}/",
            "/opt/airflow/qbo-limits": str(self.base / "qbo-limits"),  # both workers share it
        }
        env = {}
        for key, value in compose.items():
            for service, here in local.items():
                value = value.replace(service, here)
            env[key] = value
        env.pop("AIRFLOW_CONFIG")  # each process writes airflow.cfg into its own AIRFLOW_HOME
        # what airflow-init writes at the first start; every process reads them through the
        # compose file's *_CMD settings (mapped to this folder)
        (self.base / "config" / "secrets").mkdir(mode=0o700)
        self.fernet_key, self.jwt_secret = Fernet.generate_key().decode(), secrets.token_urlsafe(48)
        (self.base / "config" / "secrets" / "fernet_key").write_text(self.fernet_key)
        (self.base / "config" / "secrets" / "jwt_secret").write_text(self.jwt_secret)
        env["REQUESTS_CA_BUNDLE"] = self.admin.connections["ca_bundle"]  # SFQB_CA_BUNDLE (sandbox)
        unmapped = {
            k: v for k, v in env.items() if "/opt/" in v or "@postgres" in v or "@redis" in v
        }
        assert not unmapped, (
            f"docker-compose.yaml names something the test does not map: {unmapped}"
        )
        keep = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("AIRFLOW", "SFQB_", "PYTEST", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
            )
        }
        return {
            **keep,
            **env,
            # compose mounts ./dags and ./plugins at the image's folders; here they are named
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            # one machine, so free ports instead of the containers' 8974 and 8794
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(
                self.ports["scheduler_health"]
            ),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(self.ports["triggerer"]),
            # test only: no scheduled (hourly) run next to the triggered ones
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "false",
            # test only: every process at DEBUG, so the secrets test searches the most it can log
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "DEBUG",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    def _own_env(self, name: str, worker: str | None) -> tuple[dict[str, str], Path]:
        """A process's own AIRFLOW_HOME, working directory and TMPDIR (and a worker's hostname
        and log-server port): what a separate machine or container would have."""
        home = self.base / name
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        env = {**self.env, "AIRFLOW_HOME": str(home / "airflow"), "TMPDIR": str(home / "tmp")}
        if worker:
            env.update(
                {
                    "SFQB_TEST_WORKER_HOSTNAME": worker,
                    "AIRFLOW__CORE__HOSTNAME_CALLABLE": "worker_hostname.hostname",
                    "PYTHONPATH": os.pathsep.join(
                        [str(Path(__file__).parent), self.env.get("PYTHONPATH", "")]
                    ),
                    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports[worker]),
                }
            )
        return env, home

    def _spawn(
        self,
        name: str,
        cmd: list[str],
        *,
        cwd: Path | None = None,
        airflow: bool = True,
        worker: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> Proc:
        log = self.base / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        if airflow:
            env, home = self._own_env(name, worker)
        else:
            env, home = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}, cwd
        env.update(extra_env or {})
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                cmd,
                cwd=cwd or home,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def _run(
        self,
        name: str,
        cmd: list[str],
        *,
        timeout: float,
        cwd: Path | None = None,
        airflow: bool = True,
    ) -> None:
        """A one-shot command, in an Airflow process's environment unless ``airflow`` is False."""
        proc = self._spawn(name, cmd, cwd=cwd, airflow=airflow)
        proc.service = False
        try:
            code = proc.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"{name} took over {timeout} s") from None
        if code != 0:
            raise RuntimeError(f"{name} failed with exit code {code}")

    def proc(self, name: str) -> Proc:
        """The process of that name started last."""
        return next(p for p in reversed(self.procs) if p.name == name)

    def stop_proc(self, name: str) -> None:
        """SIGTERM to a service's process group, and wait for it (a service may be started
        again under the same name)."""
        proc = self.proc(name)
        proc.service = False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.popen.pid, signal.SIGTERM)
        proc.popen.wait(timeout=60)

    # --- QuickBooks Desktop: the compose file's qbwc and webconnector services -----------------

    def _compose_script(self, service: str, local: dict[str, str]) -> list[str]:
        """A compose service's ``bash -c`` command with the container's addresses and paths in
        ``local`` mapped (each must occur)."""
        shell, flag, script = compose_file()["services"][service]["command"]
        script = compose_defaults(script)
        for there, here in local.items():
            assert there in script, f"docker-compose.yaml's {service} no longer has {there!r}"
            script = script.replace(there, here)
        return [shell, flag, script]

    def start_qbwc(self) -> str:
        """docker-compose.yaml's ``qbwc`` service as a process: its command and environment,
        bound to 127.0.0.1 on a free port, in plain HTTP (``SFQB_QBWC_TLS=off``, the mode compose
        offers for a TLS proxy in front or the sandbox's Web Connector emulator on localhost).
        Its SOAP URL, once the healthcheck's GET answers."""
        port = self.ports["qbwc"] = free_port()
        common = compose_environment()
        own = {k: v for k, v in compose_environment("qbwc").items() if k not in common}
        cmd = self._compose_script(
            "qbwc",
            {
                "--host 0.0.0.0": "--host 127.0.0.1",
                "--port 8765": f"--port {port}",
                "/opt/airflow/config/": f"{self.base / 'config'}/",
            },
        )
        proc = self._spawn("qbwc", cmd, extra_env={**own, "SFQB_QBWC_TLS": "off"})
        url = f"http://localhost:{port}/qbwc"
        wait_until("qbwc", lambda: requests.get(url, timeout=5).ok, 120, [proc])
        return url

    def desktop_password_file(self) -> Path:
        """Where airflow-init-sandbox keeps the sandbox's Web Connector password."""
        return self.base / "config" / "secrets" / "qbwc_sandbox_password"

    def start_webconnector(self, every_seconds: float = 2, noop_wait: float = 1) -> Proc:
        """docker-compose.yaml's ``webconnector`` service (the Web Connector emulator) as a
        process: it writes the .qwc through ``python -m sfqb qbwc qwc`` and runs the sandbox's
        Desktop company against the qbwc service on localhost; every ``every_seconds`` instead
        of compose's 60, and a NoOp pause of ``noop_wait`` instead of the Web Connector's 5 s."""
        cmd = self._compose_script(
            "webconnector",
            {
                "localhost:8765": f"localhost:{self.ports['qbwc']}",
                "/tmp/sfqb.qwc": str(self.base / "sfqb.qwc"),
                "/opt/sandbox/": f"{self.sandbox.data_dir}/",
                "/opt/airflow/config/": f"{self.base / 'config'}/",
                "--every 60": f"--every {every_seconds} --noop-wait {noop_wait}",
            },
        )
        return self._spawn("webconnector", cmd)

    # --- REST API ----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.ports['api']}{path}"

    def token(self) -> str:
        if self._token is None:
            user = self.env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(":")[0]
            answer = requests.post(
                self.url("/auth/token"), json={"username": user, "password": PASSWORD}, timeout=30
            )
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(
            method,
            self.url(path),
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=60,
            **kwargs,
        )

    def trigger(self, dag_id: str, conf: dict | None = None) -> str:
        answer = self.api(
            "POST",
            f"/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None, "conf": conf or {}},
        )
        assert answer.ok, answer.text
        return answer.json()["dag_run_id"]

    def wait_run(self, dag_id: str, run_id: str, timeout: float = 900) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                return state
            for proc in self.procs:
                if proc.service and proc.popen.poll() is not None:
                    raise RuntimeError(
                        f"{proc.name} exited with {proc.popen.returncode} during the run"
                    )
            time.sleep(1)
        raise TimeoutError(f"{dag_id} {run_id} did not finish within {timeout} s")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        answer = self.api(
            "GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000}
        )
        assert answer.ok, answer.text
        return answer.json()["task_instances"]

    def why_failed(self, dag_id: str, run_id: str, lines: int = 8) -> str:
        """Each failed task of a run with the first error lines of its log, for an assertion's
        message: at DEBUG a task log's tail (what dump_logs shows) is only the runner's noise."""
        out = []
        for ti in self.task_instances(dag_id, run_id):
            if ti["state"] not in ("failed", "upstream_failed"):
                continue
            out.append(f"{dag_id}.{ti['task_id']}: {ti['state']}")
            if ti["state"] == "upstream_failed":
                continue
            for path in self.task_logs(dag_id, run_id, ti["task_id"]):
                errors = [
                    line
                    for line in path.read_text(errors="replace").splitlines()
                    if '"level":"error"' in line or '"level":"critical"' in line
                ]
                out += ["    " + line[:600] for line in errors[:lines]]
        return "\n".join(out)

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> list[Path]:
        return sorted(
            p
            for worker in WORKERS
            for p in (self.base / worker / "airflow" / "logs").rglob("*.log")
            if f"dag_id={dag_id}" in str(p)
            and f"run_id={run_id}" in str(p)
            and f"task_id={task_id}" in str(p)
        )

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        answer = self.api(
            "GET",
            f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
        )
        assert answer.ok, answer.text
        value = answer.json()["value"]
        return json.loads(value) if isinstance(value, str) else value

    def consume_only_on(self, worker: str) -> None:
        """Every other Celery worker stops taking tasks from the default queue (Celery's
        ``cancel_consumer`` control command through the broker)."""
        from celery import Celery

        others = [CELERY_NAMES[w] for w in WORKERS if w != worker]
        app = Celery(broker=self.env["AIRFLOW__CELERY__BROKER_URL"])
        try:
            replies = app.control.cancel_consumer(
                "default", destination=others, reply=True, timeout=30
            )
        finally:
            app.close()
        assert len(replies) == len(others), replies

    def consume_on_all(self) -> None:
        """Every Celery worker takes tasks from the default queue again (after
        ``consume_only_on``)."""
        from celery import Celery

        app = Celery(broker=self.env["AIRFLOW__CELERY__BROKER_URL"])
        try:
            app.control.add_consumer(
                "default", destination=list(CELERY_NAMES.values()), reply=True, timeout=30
            )
        finally:
            app.close()

    # --- the metadata DB, read directly -------------------------------------------------------

    def sql(self, query: str, *args) -> list[tuple]:
        import psycopg2

        with (
            contextlib.closing(
                psycopg2.connect(
                    host="127.0.0.1", port=self.ports["postgres"], user="airflow", dbname="airflow"
                )
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute(query, args)
            return cur.fetchall()

    def _decrypt(self, value: str, encrypted: bool) -> str:
        from cryptography.fernet import Fernet

        if not encrypted:
            return value
        return Fernet(self.fernet_key.encode()).decrypt(value.encode()).decode()

    def variable(self, key: str) -> str | None:
        """A Variable's value as stored in the metadata DB (decrypted with the cluster's key)."""
        rows = self.sql("SELECT val, is_encrypted FROM variable WHERE key = %s", key)
        return self._decrypt(*rows[0]) if rows else None

    def connection_extra(self, conn_id: str) -> str | None:
        rows = self.sql(
            "SELECT extra, is_extra_encrypted FROM connection WHERE conn_id = %s", conn_id
        )
        return self._decrypt(*rows[0]) if rows else None

    # --- logs and teardown ---------------------------------------------------------------------

    def log_files(self) -> list[Path]:
        files = sorted((self.base / "logs").glob("*.log"))
        for name in ("api-server", "scheduler", "dag-processor", "triggerer", *WORKERS):
            files += sorted(
                p for p in (self.base / name / "airflow" / "logs").rglob("*") if p.is_file()
            )
        if self.sandbox is not None:
            files.append(self.sandbox.data_dir / "sandbox.log")
        return [f for f in files if f.exists()]

    def dump_logs(self, lines: int = 60) -> str:
        """The tail of every process log and every task log: what CI shows on a failure."""
        out = []
        for path in self.log_files():
            text = path.read_text(errors="replace").splitlines()
            out.append(
                f"===== {path.relative_to(self.base) if path.is_relative_to(self.base) else path} "
                f"(last {min(lines, len(text))} of {len(text)} lines)"
            )
            out += text[-lines:]
        return "\n".join(out)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    # postgres: SIGINT is its fast shutdown; the rest: SIGTERM to the whole group
                    os.killpg(
                        proc.popen.pid, signal.SIGINT if proc.name == "postgres" else signal.SIGTERM
                    )
        for proc in reversed(self.procs):
            try:
                proc.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.popen.pid, signal.SIGKILL)
                proc.popen.wait(timeout=10)
            # children left behind in the group (Celery pool, log servers, gunicorn workers)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.popen.pid, signal.SIGKILL)
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.pg_dir is not None:
            shutil.rmtree(self.pg_dir, ignore_errors=True)
