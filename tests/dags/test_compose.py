"""The multi-machine path: docker-compose.yaml, the Dockerfile and the sandbox's advertised host.

No Docker engine runs here. What can be checked without one is checked: the compose file's
topology (the official Airflow 3 CeleryExecutor shape plus the sandbox profile), the image's
recipe and pins, Debian's `docker-compose config` when that binary is installed, and the
sandbox's `--advertise-host` (connections.json URLs and the TLS certificate's names) for real.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import yaml
from cryptography import x509

from tests.conftest import ROOT

COMPOSE_FILE = ROOT / "docker-compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"

AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-worker": "celery worker",
    "airflow-triggerer": "triggerer",
}
# Every container that runs Airflow code (tasks, parsing, CLI): they must agree on config.
AIRFLOW_CONTAINERS = (
    *AIRFLOW_SERVICES,
    "airflow-init",
    "airflow-cli",
    "flower",
    "airflow-init-sandbox",
)


def _compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


_VOLUME = re.compile(r"^(?P<source>.+?):(?P<target>/[^:]*)(?::(?P<mode>ro|rw))?$")


def _mounts(service: dict) -> dict[str, tuple[str, str]]:
    """{container path: (source, mode)} of a service's short-syntax volumes."""
    out = {}
    for volume in service.get("volumes", []):
        match = _VOLUME.match(volume)
        assert match, volume
        out[match["target"]] = (match["source"], match["mode"] or "rw")
    return out


def _mount_targets(service: dict) -> dict[str, str]:
    return {target: source for target, (source, _) in _mounts(service).items()}


def _mount_modes(service: dict) -> dict[str, str]:
    return {target: mode for target, (_, mode) in _mounts(service).items()}


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _requirement_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)", line.strip())
        if match:
            pins[match.group(1).lower()] = match.group(3)
    return pins


# --- compose topology ------------------------------------------------------------------------


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_official_airflow3_services_and_sandbox_are_present():
    """The official Airflow 3 topology (postgres, redis, api-server, scheduler,
    dag-processor, celery worker, triggerer, init, flower) plus the sandbox service."""
    services = _compose()["services"]
    expected = {
        "postgres",
        "redis",
        *AIRFLOW_SERVICES,
        "airflow-init",
        "flower",
        "sandbox",
        "airflow-init-sandbox",
    }
    assert expected <= set(services)
    assert (
        services["postgres"]["image"] == "postgres:15"
    )  # the major version make test-distributed runs
    assert services["redis"]["image"].startswith("redis:")
    for name, command in AIRFLOW_SERVICES.items():
        assert services[name]["command"] == command, name
    assert services["flower"]["command"] == "celery flower"
    assert services["flower"]["profiles"] == ["flower"]


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_every_airflow_container_runs_celery_on_postgres_and_redis():
    """CeleryExecutor everywhere, metadata DB and results in PostgreSQL, broker in Redis,
    one execution API URL (the api-server service), and the same image for all."""
    services = _compose()["services"]
    images = set()
    for name in AIRFLOW_CONTAINERS:
        env = services[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert "postgresql+psycopg2://" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        assert "db+postgresql://" in env["AIRFLOW__CELERY__RESULT_BACKEND"], name
        assert (
            env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://")
            and "@redis:6379" in env["AIRFLOW__CELERY__BROKER_URL"]
        )
        assert (
            env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
            == "http://airflow-apiserver:8080/execution/"
        )
        assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "false"
        images.add(services[name]["image"])
        assert services[name]["build"] == ".", name
    images.add(services["sandbox"]["image"])
    assert len(images) == 1, images


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_secrets_are_shared_through_one_anchor():
    """R-OPS-4: the JWT secret and the Fernet key must be identical in every container
    (task tokens are signed by one and checked by another; connections are encrypted by any):
    every container reads them from the files airflow-init writes (``*_CMD``), in the config
    folder each one mounts; none sets them directly (that would win over the files) and the
    file holds no default for them."""
    services = _compose()["services"]
    for key in (
        "AIRFLOW__API_AUTH__JWT_SECRET_CMD",
        "AIRFLOW__CORE__FERNET_KEY_CMD",
        "AIRFLOW__CORE__AUTH_MANAGER",
    ):
        values = {services[name]["environment"][key] for name in AIRFLOW_CONTAINERS}
        assert len(values) == 1, (key, values)
    env = services["airflow-worker"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY_CMD"] == "cat /opt/airflow/config/secrets/fernet_key"
    assert env["AIRFLOW__API_AUTH__JWT_SECRET_CMD"] == "cat /opt/airflow/config/secrets/jwt_secret"
    for name in AIRFLOW_CONTAINERS:
        assert not {"AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET"} & set(
            services[name]["environment"]
        )
        assert (
            _mount_targets(services[name])["/opt/airflow/config"] == "${AIRFLOW_PROJ_DIR:-.}/config"
        ), name
    values = [
        str(v) for service in services.values() for v in (service.get("environment") or {}).values()
    ]
    assert not [
        v for v in values if "change-me" in v or v == "${_AIRFLOW_WWW_USER_PASSWORD:-airflow}"
    ]


def _init_secrets_script() -> str:
    """The standard-library python airflow-init runs first: the secrets."""
    script = _compose()["services"]["airflow-init"]["command"][1]
    return script.split("python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]


def _first_start(sources: Path, **env: str) -> subprocess.CompletedProcess:
    script = _init_secrets_script().replace("/sources/", f"{sources}/")
    base = {"_AIRFLOW_WWW_USER_USERNAME": "airflow", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", script],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.unit
def test_given_no_secret_in_env_when_airflow_init_runs_then_it_generates_them_once_and_keeps_them(
    tmp_path,
):
    """R-OPS-4: the shipped deployment never runs with a default secret nor without a Fernet key:
    the first start generates a Fernet key, a JWT secret and the UI password (files readable by
    their owner only); a later start keeps them; nothing secret is printed."""
    from cryptography.fernet import Fernet

    (tmp_path / "config").mkdir()
    first = _first_start(tmp_path)
    assert first.returncode == 0, first.stderr
    secrets_dir = tmp_path / "config" / "secrets"
    fernet_key = (secrets_dir / "fernet_key").read_text()
    jwt_secret = (secrets_dir / "jwt_secret").read_text()
    passwords = tmp_path / "config" / "simple_auth_manager_passwords.json"
    password = json.loads(passwords.read_text())["airflow"]
    Fernet(fernet_key.encode())  # a valid key
    assert len(jwt_secret) >= 32 and len(password) >= 16
    for path in (secrets_dir / "fernet_key", secrets_dir / "jwt_secret", passwords):
        assert path.stat().st_mode & 0o077 == 0, path
    assert "generated" in first.stdout
    assert not {fernet_key, jwt_secret, password} & set(
        re.findall(r"[\w=-]{16,}", first.stdout + first.stderr)
    )
    again = _first_start(tmp_path)
    assert again.returncode == 0, again.stderr
    assert (secrets_dir / "fernet_key").read_text() == fernet_key
    assert (secrets_dir / "jwt_secret").read_text() == jwt_secret
    assert json.loads(passwords.read_text())["airflow"] == password
    passwords.write_text(json.dumps({"airflow": "airflow"}))  # what the earlier file shipped
    assert _first_start(tmp_path).returncode == 0
    assert json.loads(passwords.read_text())["airflow"] not in ("airflow", password)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (
            "AIRFLOW_JWT_SECRET",
            "change-me-to-a-long-random-string-please-now",
            "AIRFLOW_JWT_SECRET",
        ),
        ("AIRFLOW_JWT_SECRET", "short", "AIRFLOW_JWT_SECRET"),
        ("AIRFLOW_FERNET_KEY", "not-a-key", "AIRFLOW_FERNET_KEY"),
        ("_AIRFLOW_WWW_USER_PASSWORD", "airflow", "_AIRFLOW_WWW_USER_PASSWORD"),
    ],
)
def test_given_a_default_or_malformed_secret_in_env_when_airflow_init_runs_then_it_refuses_to_start(
    tmp_path, variable, value, says
):
    """R-OPS-4: a placeholder or malformed secret in .env stops the start (every service waits
    for airflow-init), with a message naming the variable, never its value."""
    (tmp_path / "config").mkdir()
    done = _first_start(tmp_path, **{variable: value})
    assert done.returncode != 0 and says in done.stderr, done.stderr
    assert len(value) < 8 or value not in done.stderr


@pytest.mark.unit
def test_given_a_fernet_key_in_env_when_it_rotates_then_only_a_key_sharing_one_with_the_stored_is_taken(
    tmp_path,
):
    """R-OPS-4 (rotation, docs/multi-machine.md): the stored data stays readable: a .env key
    list that shares a key with the one in use is taken (``new,old``, then ``new``); one that
    shares none stops the start. A new JWT secret from .env is taken as it is."""
    from cryptography.fernet import Fernet

    old, new, stranger = (Fernet.generate_key().decode() for _ in range(3))
    (tmp_path / "config").mkdir()
    assert _first_start(tmp_path, AIRFLOW_FERNET_KEY=old).returncode == 0
    stored = tmp_path / "config" / "secrets" / "fernet_key"
    assert stored.read_text() == old
    refused = _first_start(tmp_path, AIRFLOW_FERNET_KEY=stranger)
    assert refused.returncode != 0 and "shares no key" in refused.stderr
    assert stored.read_text() == old
    assert _first_start(tmp_path, AIRFLOW_FERNET_KEY=f"{new},{old}").returncode == 0
    assert stored.read_text() == f"{new},{old}"
    assert _first_start(tmp_path, AIRFLOW_FERNET_KEY=new).returncode == 0
    assert stored.read_text() == new
    rotated_jwt = "j" * 40
    assert _first_start(tmp_path, AIRFLOW_JWT_SECRET=rotated_jwt).returncode == 0
    assert (tmp_path / "config" / "secrets" / "jwt_secret").read_text() == rotated_jwt


@pytest.mark.unit
def test_given_secrets_stored_before_a_fernet_key_when_airflow_init_runs_then_they_are_encrypted(
    tmp_path,
):
    """R-OPS-4: a deployment upgraded from one without a Fernet key had its connections and
    Variables in plain text; airflow-init's last step encrypts them with the key now in use."""
    from cryptography.fernet import Fernet

    script = _compose()["services"]["airflow-init"]["command"][1]
    encrypt = script.split("/entrypoint python - <<'PY'\n")[2].split("\nPY\n", 1)[0]
    key = Fernet.generate_key().decode()
    db = f"sqlite:///{tmp_path / 'airflow.db'}"
    base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__CORE__FERNET")}
    env = {**base, "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db, "AIRFLOW_HOME": str(tmp_path)}
    setup = """
from airflow.utils.db import initdb
initdb()
from airflow.models import Connection, Variable
from airflow.utils.session import create_session
with create_session() as session:
    session.add(Connection(conn_id="qb", conn_type="generic", password="client-secret-1234",
                           extra='{"refresh_token": "RT1-plain-refresh-token"}'))
Variable.set("sfqb.quickbooks_default.token_state", "plain-token-state-value")
"""
    plain = subprocess.run(
        [sys.executable, "-c", setup],
        env={**env, "AIRFLOW__CORE__FERNET_KEY": ""},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert plain.returncode == 0, plain.stderr[-2000:]
    done = subprocess.run(
        [sys.executable, "-c", encrypt],
        env={**env, "AIRFLOW__CORE__FERNET_KEY": key},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "airflow.db")) as conn:
        password, extra, is_enc, is_extra_enc = conn.execute(
            "SELECT password, extra, is_encrypted, is_extra_encrypted FROM connection WHERE conn_id='qb'"
        ).fetchone()
        val, val_enc = conn.execute("SELECT val, is_encrypted FROM variable").fetchone()
    assert is_enc and is_extra_enc and val_enc
    fernet = Fernet(key.encode())
    assert fernet.decrypt(password.encode()) == b"client-secret-1234"
    assert b"RT1-plain-refresh-token" in fernet.decrypt(extra.encode())
    assert fernet.decrypt(val.encode()) == b"plain-token-state-value"


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_dags_plugins_include_and_shared_volumes_are_mounted():
    """Services are wired to dags/, plugins/ and include/ (the editable package in the
    image), share the XCom volume and the QuickBooks limiter's (every worker counts against the
    same 500 a minute: SFQB_QBO_LIMITER_DIR), and see the sandbox's data read-only."""
    services = _compose()["services"]
    for name in (*AIRFLOW_SERVICES, "airflow-cli", "flower", "airflow-init-sandbox"):
        mounts = _mount_targets(services[name])
        assert mounts["/opt/airflow/dags"] == "${AIRFLOW_PROJ_DIR:-.}/dags", name
        assert mounts["/opt/airflow/plugins"] == "${AIRFLOW_PROJ_DIR:-.}/plugins", name
        assert mounts["/opt/airflow/logs"] == "${AIRFLOW_PROJ_DIR:-.}/logs", name
        assert mounts["/opt/sfqb/include"] == "${AIRFLOW_PROJ_DIR:-.}/include", name
        assert mounts["/opt/airflow/xcom"] == "xcom-data", name
        assert mounts["/opt/airflow/qbo-limits"] == "qbo-limits", name
        assert services[name]["environment"]["SFQB_QBO_LIMITER_DIR"] == "/opt/airflow/qbo-limits", (
            name
        )
        assert mounts["/opt/sandbox"] == "sandbox-data", name
        assert _mount_modes(services[name])["/opt/sandbox"] == "ro", name
    assert _mount_targets(services["sandbox"]) == {"/opt/sandbox": "sandbox-data"}
    assert {"postgres-db-volume", "xcom-data", "qbo-limits", "sandbox-data"} <= set(
        _compose()["volumes"]
    )
    init = _mount_targets(services["airflow-init"])
    assert init["/opt/airflow/qbo-limits"] == "qbo-limits"  # chowned there for the airflow user
    assert "/opt/airflow/qbo-limits" in " ".join(services["airflow-init"]["command"])
    for folder in ("dags", "include"):
        assert (ROOT / folder).is_dir()


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_xcom_goes_to_object_storage_on_the_shared_volume():
    """The XCom plan: the common-io object storage backend, its path on the shared volume
    by default, a threshold; the backend class exists in the pinned provider."""
    env = _compose()["services"]["airflow-worker"]["environment"]
    backend = env["AIRFLOW__CORE__XCOM_BACKEND"]
    assert backend == "airflow.providers.common.io.xcom.backend.XComObjectStorageBackend"
    assert env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"].endswith(
        ":-file:///opt/airflow/xcom}"
    )
    assert re.fullmatch(r"\$\{\w+:-\d+\}", env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD"])
    module, _, cls = backend.rpartition(".")
    assert hasattr(__import__(module, fromlist=[cls]), cls)
    assert "apache-airflow-providers-common-io" in _requirement_pins()


@pytest.mark.unit
def test_given_xcom_env_names_when_airflow_reads_them_then_the_common_io_section_takes_them(
    monkeypatch,
):
    """`[common.io]` has a dot; the compose file's AIRFLOW__COMMON_IO__* names must be
    the ones Airflow's config looks up, or the backend would silently keep XCom in the DB."""
    from airflow.configuration import conf

    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH", "file:///opt/airflow/xcom")
    monkeypatch.setenv("AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_THRESHOLD", "65536")
    assert conf.get("common.io", "xcom_objectstorage_path") == "file:///opt/airflow/xcom"
    assert conf.getint("common.io", "xcom_objectstorage_threshold") == 65536


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_services_have_healthchecks_and_wait_for_init():
    """Healthchecks and depends_on conditions as the official file has them: every
    long-running service is checked, Airflow waits for healthy postgres/redis and a completed
    init, the worker also for a healthy api-server."""
    services = _compose()["services"]
    for name in ("postgres", "redis", *AIRFLOW_SERVICES, "flower", "sandbox"):
        assert services[name]["healthcheck"]["test"], name
    for name in (*AIRFLOW_SERVICES, "flower"):
        depends = services[name]["depends_on"]
        assert depends["airflow-init"] == {"condition": "service_completed_successfully"}, name
        assert depends["postgres"] == {"condition": "service_healthy"}, name
        assert depends["redis"] == {"condition": "service_healthy"}, name
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"] == {
        "condition": "service_healthy"
    }
    assert services["airflow-worker"]["environment"]["DUMB_INIT_SETSID"] == "0"
    assert "airflow-init" not in services["airflow-init"].get("depends_on", {})


@pytest.mark.unit
def test_given_init_service_when_parsed_then_it_migrates_and_creates_the_pools_the_tasks_use(
    tmp_path,
):
    """Deployment: airflow-init migrates the DB and imports sfqb's pools. The embedded pool
    script runs here against airflow_settings.yaml and yields `airflow pools import` JSON that
    names every pool a task asks for."""
    init = _compose()["services"]["airflow-init"]
    assert init["environment"]["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["user"] == "0:0"
    script = init["command"][1]
    assert "/entrypoint airflow version" in script
    assert "airflow pools import /tmp/pools.json" in script
    pool_script = script.split("/entrypoint python - <<'PY'\n", 1)[1].split("\nPY\n", 1)[0]
    out = tmp_path / "pools.json"
    pool_script = pool_script.replace(
        "/opt/sfqb/airflow_settings.yaml", str(ROOT / "airflow_settings.yaml")
    )
    pool_script = pool_script.replace("/tmp/pools.json", str(out))
    subprocess.run([sys.executable, "-c", pool_script], check=True, timeout=60)
    pools = json.loads(out.read_text())
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    used = {task.pool for dag in bag.dags.values() for task in dag.tasks} - {"default_pool"}
    named = set(
        re.findall(
            r"pool=\"(\w+)\"",
            "".join(path.read_text() for path in (ROOT / "include" / "sfqb").rglob("*.py")),
        )
    )
    assert named, "no sfqb task names a pool any more: revisit this test"
    assert used | named <= set(pools)
    for spec in pools.values():
        assert set(spec) == {"slots", "description", "include_deferred"} and spec["slots"] > 0


@pytest.mark.unit
def test_given_sandbox_profile_when_parsed_then_sandbox_advertises_its_service_name_and_connections_are_imported():
    """The sandbox runs from the same image in profile `sandbox`, listens on every
    interface, advertises https://sandbox:PORT on fixed ports; a profile-only one-shot imports
    its connections with `airflow connections import --overwrite` after init; without the
    profile nothing depends on it."""
    services = _compose()["services"]
    sandbox = services["sandbox"]
    assert sandbox["profiles"] == ["sandbox"]
    script = sandbox["command"][-1]
    assert "python -m sfqb_sandbox serve --data-dir /opt/sandbox" in script
    assert "--host 0.0.0.0 --advertise-host sandbox" in script
    assert "--salesforce-port 8443 --quickbooks-port 8444" in script
    assert "--seed" in script
    importer = services["airflow-init-sandbox"]
    assert importer["profiles"] == ["sandbox"]
    assert importer["depends_on"]["sandbox"] == {"condition": "service_healthy"}
    assert importer["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    script = importer["command"][-1]
    assert (
        "python -m sfqb_sandbox airflow-connections --data-dir /opt/sandbox \\\n"
        "  --desktop-password-file /opt/airflow/config/secrets/qbwc_sandbox_password > /tmp/c.json"
        in script
    )
    assert "airflow connections import --overwrite /tmp/c.json" in script
    for name, service in services.items():
        if "sandbox" not in service.get("profiles", []):
            assert "sandbox" not in service.get("depends_on", {}), name


# --- QuickBooks Desktop: the qbwc service, its queue, the Web Connector emulator -------------


@pytest.mark.unit
def test_given_compose_file_when_parsed_then_every_container_names_the_desktop_queue_on_its_own_database(
    monkeypatch,
):
    """R-QBD-1: every Airflow container, the qbwc service and the emulator name one queue
    connection (sfqb_qbwc_queue, in the common environment): the compose PostgreSQL, a database
    of its own (never the metadata DB), which sfqb opens with psycopg 3
    (``postgresql+psycopg://``); airflow-init creates and migrates it after the pools, and a
    failure there only warns (QuickBooks Online never opens the queue)."""
    from sqlalchemy.engine import make_url

    from sfqb.qbwc.settings import queue_url
    from tests.distributed.cluster import compose_environment

    services = _compose()["services"]
    named = {
        services[name]["environment"]["AIRFLOW_CONN_SFQB_QBWC_QUEUE"]
        for name in (*AIRFLOW_CONTAINERS, "qbwc", "webconnector")
    }
    assert named == {"${SFQB_QBWC_QUEUE_CONN:-postgres://airflow:airflow@postgres/sfqb_qbwc}"}
    env = compose_environment()
    monkeypatch.setenv("AIRFLOW_CONN_SFQB_QBWC_QUEUE", env["AIRFLOW_CONN_SFQB_QBWC_QUEUE"])
    queue, metadata = make_url(queue_url()), make_url(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert queue.drivername == "postgresql+psycopg"
    assert (queue.host, queue.username) == (metadata.host, metadata.username)
    assert queue.database == "sfqb_qbwc" != metadata.database
    script = services["airflow-init"]["command"][1]
    migrate = script.index("/entrypoint python -m sfqb qbwc migrate")
    assert migrate > script.index("/entrypoint airflow pools import")
    assert script[migrate:].split("\n")[1].strip().startswith("|| echo"), script[migrate:]


@pytest.mark.unit
def test_given_desktop_profile_when_parsed_then_qbwc_serves_the_web_connector_beside_airflow():
    """R-QBD-1, R-QBD-2: profile ``desktop`` adds the qbwc service: the sfqb image with the
    whole common Airflow environment (the metadata DB and Fernet key its connection is read
    with), ``python -m sfqb qbwc serve`` on 0.0.0.0:8765, published; TLS from config/qbwc/
    unless SFQB_QBWC_TLS=off (plain HTTP, behind a proxy); a healthcheck on GET /qbwc; it waits
    for airflow-init. The triggerer a Desktop run defers to runs in every profile, and no
    other service depends on qbwc (Online deployments run without it)."""
    compose = _compose()
    services = compose["services"]
    qbwc = services["qbwc"]
    assert qbwc["profiles"] == ["desktop"]
    assert (qbwc["image"], qbwc["build"]) == (services["airflow-worker"]["image"], ".")
    common = compose["x-airflow-common"]["environment"]
    assert {k: qbwc["environment"][k] for k in common} == common
    assert qbwc["environment"]["SFQB_QBWC_TLS"] == "${SFQB_QBWC_TLS:-on}"
    script = qbwc["command"][-1]
    assert "exec python -m sfqb qbwc serve --host 0.0.0.0 --port 8765" in script
    assert (
        "--certfile /opt/airflow/config/qbwc/tls.crt --keyfile /opt/airflow/config/qbwc/tls.key"
        in script
    )
    assert 'if [[ "$${SFQB_QBWC_TLS}" == "off" ]]; then tls=(--allow-plain-http); fi' in script
    assert _mount_targets(qbwc)["/opt/airflow/config"] == "${AIRFLOW_PROJ_DIR:-.}/config"
    assert qbwc["ports"] == ["${SFQB_QBWC_PUBLISH:-8765}:8765"]
    assert "localhost:8765/qbwc" in qbwc["healthcheck"]["test"][1]
    assert qbwc["depends_on"]["airflow-init"] == {"condition": "service_completed_successfully"}
    assert qbwc["depends_on"]["postgres"] == {"condition": "service_healthy"}
    triggerer = services["airflow-triggerer"]
    assert triggerer["command"] == "triggerer" and "profiles" not in triggerer
    for name, service in services.items():
        if name != "webconnector":
            assert "qbwc" not in service.get("depends_on", {}), name


@pytest.mark.sandbox
def test_given_tls_files_in_config_when_the_qbwc_command_runs_then_it_serves_https_and_passes_its_healthcheck(
    tmp_path,
):
    """R-QBD-1: the qbwc service's command as compose runs it (bash, its script, the default
    SFQB_QBWC_TLS=on) with config/qbwc/tls.crt and tls.key (issued here by a test CA for
    localhost), bound to loopback on a free port, the queue on a SQLite file: it answers
    HTTPS verified against that CA, not plain HTTP, and the compose healthcheck's command
    passes."""
    import signal

    from sfqb_sandbox.common.tls import ensure_tls
    from tests.distributed.cluster import BIN, Cluster, compose_environment, free_port

    tls = ensure_tls(tmp_path / "ca")
    (tmp_path / "config" / "qbwc").mkdir(parents=True)
    shutil.copy(tls.server_cert, tmp_path / "config" / "qbwc" / "tls.crt")
    shutil.copy(tls.server_key, tmp_path / "config" / "qbwc" / "tls.key")
    port = free_port()
    cmd = Cluster(tmp_path)._compose_script(
        "qbwc",
        {
            "--host 0.0.0.0": "--host 127.0.0.1",
            "--port 8765": f"--port {port}",
            "/opt/airflow/config/": f"{tmp_path / 'config'}/",
        },
    )
    common = compose_environment()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({k: v for k, v in compose_environment("qbwc").items() if k not in common})
    queue = {"conn_type": "generic", "extra": json.dumps({"url": f"sqlite:///{tmp_path / 'q'}"})}
    env.update(
        {
            "AIRFLOW_HOME": str(tmp_path / "airflow"),
            "AIRFLOW_CONN_SFQB_QBWC_QUEUE": json.dumps(queue),
            "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        }
    )
    assert env["SFQB_QBWC_TLS"] == "on"
    url = f"https://localhost:{port}/qbwc"
    with open(tmp_path / "qbwc.log", "wb") as log:
        proc = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(requests.ConnectionError):
                answer = requests.get(url, verify=str(tls.bundle), timeout=5)
                break
            assert proc.poll() is None, (tmp_path / "qbwc.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "qbwc.log").read_text()
            time.sleep(0.3)
        assert answer.status_code == 200 and answer.text.startswith("sfqb QBWC service")
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://localhost:{port}/qbwc", timeout=5)
        health = _compose()["services"]["qbwc"]["healthcheck"]["test"][1]
        checked = subprocess.run(
            ["sh", "-c", health.replace("8765", str(port))], capture_output=True, timeout=60
        )
        assert checked.returncode == 0, checked
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.unit
def test_given_the_desktop_sandbox_profile_when_parsed_then_the_emulator_reaches_qbwc_as_localhost():
    """R-QBD-1: the Web Connector emulator (profile ``desktop-sandbox``) shares qbwc's network
    namespace and puts http://localhost:8765/qbwc into its .qwc, the one plain-HTTP AppURL the
    Web Connector accepts (the service's name over HTTP is refused: QBWC1010, and
    ``python -m sfqb qbwc qwc`` does not write it); it runs the
    sandbox's Desktop company (served by default beside Online) with the Web Connector password
    airflow-init-sandbox keeps in config/secrets/ and imports into quickbooks_desktop_default."""
    from sfqb.qbwc.qwc import qwc_text
    from sfqb_sandbox.webconnector import QwcError, parse_qwc

    services = _compose()["services"]
    emulator = services["webconnector"]
    assert emulator["profiles"] == ["desktop-sandbox"]
    assert emulator["network_mode"] == "service:qbwc"
    assert emulator["depends_on"] == {
        "qbwc": {"condition": "service_healthy"},
        "airflow-init-sandbox": {"condition": "service_completed_successfully"},
    }
    script = emulator["command"][-1]
    (url,) = re.findall(r"qbwc qwc --url (\S+)", script)
    assert url == "http://localhost:8765/qbwc"
    ids = ("{6C3B5E4A-1F1E-4C55-9B44-3D0E7A2B9C11}", "{0F7E2D8C-5A4B-4E3F-8D21-7C6B5A4E3D2F}")
    qwc = qwc_text(url, "sfqb", *ids)
    assert parse_qwc(qwc).app_url == url
    with pytest.raises(QwcError, match="QBWC1010"):
        parse_qwc(qwc.replace("localhost", "qbwc"))
    with pytest.raises(ValueError, match="only for localhost"):
        qwc_text("http://qbwc:8765/qbwc", "sfqb", *ids)
    password = "/opt/airflow/config/secrets/qbwc_sandbox_password"
    assert f"cat {password}" in script
    assert f"--desktop-password-file {password}" in services["airflow-init-sandbox"]["command"][-1]
    assert "--company-ca-bundle /opt/sandbox/tls/ca-bundle.pem" in script
    sandbox = services["sandbox"]
    assert sandbox["environment"]["SANDBOX_QUICKBOOKS"] == "${SANDBOX_QUICKBOOKS:-both}"
    assert '--quickbooks "$${SANDBOX_QUICKBOOKS}"' in sandbox["command"][-1]
    assert "--quickbooks-desktop-port 8445" in sandbox["command"][-1]


@pytest.mark.unit
def test_given_a_desktop_company_when_airflow_init_sandbox_imports_then_its_password_is_kept_owner_only(
    tmp_path, capsys
):
    """R-OPS-4: airflow-init-sandbox's ``airflow-connections --desktop-password-file`` adds
    quickbooks_desktop_default for the sandbox's Desktop company (its file, edition, time zone)
    with a generated Web Connector password, written owner-only the first time and the same on
    every later start (the emulator and a running Web Connector keep working)."""
    import stat

    import sfqb_sandbox.__main__ as cli

    info = {"company_file": r"C:\Company\Widgets.QBW", "edition": "Enterprise", "time_zone": "UTC"}
    (tmp_path / "connections.json").write_text(json.dumps({"quickbooks_desktop": info}))
    kept = tmp_path / "secrets" / "qbwc_sandbox_password"
    kept.parent.mkdir()
    argv = [
        "airflow-connections",
        "--data-dir",
        str(tmp_path),
        "--desktop-password-file",
        str(kept),
    ]

    assert cli.main(argv) == 0
    first = json.loads(capsys.readouterr().out)["quickbooks_desktop_default"]
    assert cli.main(argv) == 0
    second = json.loads(capsys.readouterr().out)["quickbooks_desktop_default"]

    assert first == second and first["login"] == "sfqb"
    assert first["password"] == kept.read_text() and len(first["password"]) >= 20
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(first["extra"]) == {**info, "edition": "enterprise"}
    assert cli.main(argv[:3]) == 0  # without the option: no Desktop connection
    assert "quickbooks_desktop_default" not in json.loads(capsys.readouterr().out)


@pytest.mark.unit
def test_given_env_example_when_read_then_it_defines_what_compose_needs_and_the_sandbox_trust():
    """Every variable the compose file uses without a default is in .env.example; the
    example turns the sandbox profile on and points REQUESTS_CA_BUNDLE at the sandbox bundle
    (system CAs + sandbox CA), never at disabled verification."""
    text = COMPOSE_FILE.read_text().replace("$$", "")
    variables = re.findall(r"\$\{(\w+)(:?-[^}]*)?\}", text)
    env = _env_example()
    missing = sorted({name for name, default in variables if not default} - set(env))
    assert not missing, missing
    assert env["COMPOSE_PROFILES"] == "sandbox"
    assert env["SFQB_CA_BUNDLE"] == "/opt/sandbox/tls/ca-bundle.pem"
    worker_env = _compose()["services"]["airflow-worker"]["environment"]
    assert worker_env["REQUESTS_CA_BUNDLE"] == "${SFQB_CA_BUNDLE:-}"
    assert (
        "CURL_CA_BUNDLE" not in worker_env and "PYTHONHTTPSVERIFY" not in COMPOSE_FILE.read_text()
    )
    assert ".env" in (ROOT / ".gitignore").read_text().split()


@pytest.mark.unit
def test_given_no_sandbox_when_ca_bundle_variable_is_empty_then_requests_keeps_its_default_trust(
    monkeypatch,
):
    """Without the sandbox profile REQUESTS_CA_BUNDLE is set but empty; requests must
    then verify against its usual CAs (an unset-looking value, not a missing file)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    settings = requests.Session().merge_environment_settings(
        "https://example.invalid", {}, None, None, None
    )
    assert settings["verify"] is True
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/opt/sandbox/tls/ca-bundle.pem")
    settings = requests.Session().merge_environment_settings(
        "https://example.invalid", {}, None, None, None
    )
    assert settings["verify"] == "/opt/sandbox/tls/ca-bundle.pem"


# --- the image --------------------------------------------------------------------------------


@pytest.mark.unit
def test_given_dockerfile_when_read_then_it_builds_on_airflow_332_python311_with_the_project_pins():
    """Compose and the distributed path: FROM the official apache/airflow 3.3.2 image (python3.11,
    like .venv), installs requirements.txt with constraints.txt (which pin the celery and postgres
    providers and psycopg2, as make test-distributed runs them), keeps Airflow's version fixed,
    installs the package from include/, and bakes in dags/ and plugins/ (the Sync log page)."""
    text = DOCKERFILE.read_text()
    froms = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert froms == ["apache/airflow:3.3.2-python3.11"]
    pins = _requirement_pins()
    assert pins["apache-airflow"] == "3.3.2"
    assert {
        "apache-airflow-providers-celery",
        "apache-airflow-providers-postgres",
        "psycopg2-binary",
    } <= set(pins)
    assert sys.version_info[:2] == (3, 11)
    assert re.search(
        r"-r /opt/sfqb/requirements\.txt --constraint /opt/sfqb/constraints\.txt", text
    )
    assert all(
        '"apache-airflow==${AIRFLOW_VERSION}"' in line
        for line in text.splitlines()
        if line.startswith("RUN pip install") and "--no-deps" not in line
    )
    assert "COPY --chown=airflow:0 include /opt/sfqb/include" in text
    assert "pip install --no-cache-dir --no-deps -e /opt/sfqb" in text
    assert "COPY --chown=airflow:0 dags /opt/airflow/dags" in text
    assert "COPY --chown=airflow:0 plugins /opt/airflow/plugins" in text
    assert re.findall(r"^USER\s+(\S+)", text, flags=re.M)[-1] == "airflow"  # never runs as root


@pytest.mark.unit
def test_given_compose_environment_when_mapped_for_local_processes_then_the_distributed_test_runs_it(
    tmp_path,
):
    """The distributed path: tests/distributed runs docker-compose.yaml's x-airflow-common
    environment itself, with only the services' addresses and container paths mapped to local ones;
    every one of them is mapped, and the executor, broker, result backend and XCom settings
    survive."""
    from types import SimpleNamespace

    from tests.distributed.cluster import Cluster, compose_environment

    compose = compose_environment()
    cluster = Cluster(tmp_path)
    cluster.ports = {
        "postgres": 5001,
        "redis": 5002,
        "api": 5003,
        "scheduler_health": 5004,
        "triggerer": 5005,
    }
    cluster.xcom_dir = tmp_path / "xcom"
    cluster.admin = SimpleNamespace(connections={"ca_bundle": str(tmp_path / "ca.pem")})
    env = cluster._airflow_env()
    assert env["AIRFLOW__CORE__EXECUTOR"] == compose["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert (
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        == "postgresql+psycopg2://airflow:airflow@127.0.0.1:5001/airflow"
    )
    assert (
        env["AIRFLOW__CELERY__RESULT_BACKEND"]
        == "db+postgresql://airflow:airflow@127.0.0.1:5001/airflow"
    )
    assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@127.0.0.1:5002/0"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:5003/execution/"
    assert env["AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH"] == f"file://{tmp_path / 'xcom'}"
    assert env["SFQB_QBO_LIMITER_DIR"] == str(tmp_path / "qbo-limits")
    assert (
        env["AIRFLOW_CONN_SFQB_QBWC_QUEUE"] == "postgres://airflow:airflow@127.0.0.1:5001/sfqb_qbwc"
    )
    unchanged = set(compose) - {
        "SFQB_QBO_LIMITER_DIR",
        "AIRFLOW_CONN_SFQB_QBWC_QUEUE",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        "AIRFLOW__CELERY__RESULT_BACKEND",
        "AIRFLOW__CELERY__BROKER_URL",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
        "AIRFLOW__COMMON_IO__XCOM_OBJECTSTORAGE_PATH",
        "AIRFLOW_CONFIG",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE",
        "AIRFLOW__CORE__FERNET_KEY_CMD",
        "AIRFLOW__API_AUTH__JWT_SECRET_CMD",
        "REQUESTS_CA_BUNDLE",
    }
    assert {k: env[k] for k in unchanged} == {k: compose[k] for k in unchanged}
    assert {"AIRFLOW__CELERY__WORKER_CONCURRENCY", "AIRFLOW__CORE__XCOM_BACKEND"} <= unchanged
    assert (
        env["AIRFLOW__CORE__FERNET_KEY_CMD"]
        == f"cat {tmp_path / 'config' / 'secrets' / 'fernet_key'}"
    )
    assert (tmp_path / "config" / "secrets" / "fernet_key").read_text() == cluster.fernet_key
    assert (tmp_path / "config" / "secrets" / "jwt_secret").read_text() == cluster.jwt_secret


@pytest.mark.unit
def test_given_requirements_when_compared_with_constraints_then_every_pin_appears_in_both():
    """The image installs the same pins as `make install`: each requirements.txt pin is
    the version constraints.txt holds (else the build's pip resolve fails), and the installed
    .venv has it too (what the tests ran)."""
    from importlib.metadata import version

    constraints = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        name, sep, pinned = line.partition("==")
        if sep and not line.startswith("#"):
            constraints[name.strip().lower().replace("_", "-")] = pinned.strip()
    pins = _requirement_pins()
    assert len(pins) >= 10
    for name, pinned in pins.items():
        assert constraints.get(name.replace("_", "-")) == pinned, name
        assert version(name) == pinned, name


@pytest.mark.unit
def test_given_dockerfile_copies_when_checked_then_sources_are_tracked_and_not_docker_ignored():
    """Every COPY source is in git (a fresh clone can build) and not excluded by
    .dockerignore; the heavy local folders are excluded from the build context."""
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    sources = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
            parts = [p for p in line.split()[1:] if not p.startswith("--")]
            sources += parts[:-1]
    assert {"requirements.txt", "constraints.txt", "include", "dags", "pyproject.toml"} <= set(
        sources
    )
    for source in sources:
        assert source not in ignored, source
        assert any(path == source or path.startswith(source + "/") for path in tracked), source
    assert {".venv", ".git", ".airflow", ".sandbox", ".env"} <= ignored
    assert (ROOT / "include" / "salesforce" / "sfdx-project.json").exists()


@pytest.mark.unit
def test_given_docker_compose_binary_when_config_runs_then_the_file_is_valid():
    """Debian's docker-compose (v1.29) validates the file without an
    engine, with the example .env and with the sandbox profile's values resolved."""
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed (apt-get install docker-compose); "
            "the structural checks above still ran"
        )
    base = [binary, "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE_FILE)]
    quiet = subprocess.run(
        [*base, "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert quiet.returncode == 0, quiet.stderr
    full = subprocess.run([*base, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert full.returncode == 0, full.stderr
    resolved = yaml.safe_load(full.stdout)["services"]
    assert (
        resolved["airflow-worker"]["environment"]["REQUESTS_CA_BUNDLE"]
        == "/opt/sandbox/tls/ca-bundle.pem"
    )
    assert resolved["airflow-worker"]["user"] == "50000:0"
    assert resolved["sandbox"]["ports"][0]["published"] in (8443, "8443")


# --- the sandbox's advertised host -------------------------------------------------------------


def _sans(path: Path) -> set[str]:
    from sfqb_sandbox.common.tls import certificate_names

    return {str(name.value) for name in certificate_names(path)}


@pytest.mark.unit
def test_given_extra_names_when_tls_is_ensured_then_the_server_certificate_names_them(tmp_path):
    """``--advertise-host``: ensure_tls adds the extra host names and IP addresses to the
    server certificate's SANs, next to localhost/127.0.0.1/::1; wildcards are not names."""
    from sfqb_sandbox.common.tls import ensure_tls

    files = ensure_tls(tmp_path, extra_names=["sandbox", "10.1.2.3", "0.0.0.0"])
    assert _sans(files.server_cert) == {"localhost", "127.0.0.1", "::1", "sandbox", "10.1.2.3"}
    cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
    ip_names = cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.IPAddress)
    assert {str(ip) for ip in ip_names} == {"127.0.0.1", "::1", "10.1.2.3"}
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    cert.verify_directly_issued_by(ca)
    assert files.ca_cert.read_bytes() in files.bundle.read_bytes()


@pytest.mark.unit
def test_given_existing_tls_when_names_change_then_only_the_server_certificate_is_reissued(
    tmp_path,
):
    """A data directory made by the old code (or another advertised host) gets a new
    server certificate by the SAME CA, so clients holding the bundle keep trusting it; with
    unchanged names nothing is rewritten."""
    from sfqb_sandbox.common.tls import ensure_tls

    first = ensure_tls(tmp_path)
    ca_before = first.ca_cert.read_bytes()
    cert_before = first.server_cert.read_bytes()
    assert _sans(first.server_cert) == {"localhost", "127.0.0.1", "::1"}
    again = ensure_tls(tmp_path, extra_names=["localhost"])
    assert again.server_cert.read_bytes() == cert_before
    moved = ensure_tls(tmp_path, extra_names=["sandbox"])
    assert moved.ca_cert.read_bytes() == ca_before
    assert moved.server_cert.read_bytes() != cert_before
    assert "sandbox" in _sans(moved.server_cert)
    x509.load_pem_x509_certificate(moved.server_cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(ca_before)
    )


@pytest.mark.unit
def test_given_serve_arguments_when_parsed_then_advertise_host_reaches_the_runner(
    monkeypatch, tmp_path
):
    """`serve --host 0.0.0.0 --advertise-host sandbox --salesforce-port 8443
    --quickbooks-port 8444` reaches serve() as given; without it the default stays the bound
    host (127.0.0.1 for a wildcard bind), as before."""
    import sfqb_sandbox.__main__ as cli
    from sfqb_sandbox.server import advertised_host

    calls = []

    async def fake_serve(data_dir, **kwargs):
        calls.append((data_dir, kwargs))

    monkeypatch.setattr(cli, "serve", fake_serve)
    argv = [
        "serve",
        "--data-dir",
        str(tmp_path),
        "--host",
        "0.0.0.0",
        "--advertise-host",
        "sandbox",
        "--salesforce-port",
        "8443",
        "--quickbooks-port",
        "8444",
    ]
    assert cli.main(argv) == 0
    data_dir, kwargs = calls[0]
    assert data_dir == tmp_path
    assert kwargs["host"] == "0.0.0.0" and kwargs["advertise_host"] == "sandbox"
    # (the Desktop company's port, unused unless --quickbooks desktop: any free one)
    assert kwargs["ports"] == {"quickbooks": 8444, "salesforce": 8443, "quickbooks_desktop": 0}
    defaults = cli.build_parser().parse_args(["serve", "--data-dir", str(tmp_path)])
    assert defaults.host == "127.0.0.1" and defaults.advertise_host is None
    assert advertised_host("127.0.0.1") == "127.0.0.1"
    assert advertised_host("0.0.0.0") == "127.0.0.1"
    assert advertised_host("0.0.0.0", "sandbox") == "sandbox"


@pytest.mark.sandbox
def test_given_sandbox_bound_to_all_interfaces_when_started_with_advertise_host_then_clients_verify_tls_by_that_name(
    tmp_path,
):
    """What compose does, on loopback: bind 0.0.0.0, advertise 127.0.0.2 (not in the
    default SANs; Linux routes all of 127/8 to loopback). connections.json names it and a client
    verifying TLS with the sandbox bundle reaches the admin surface through it."""
    from sfqb_sandbox.admin_client import SandboxProcess

    process = SandboxProcess(
        tmp_path / "sb",
        extra_args=["--only", "quickbooks", "--host", "0.0.0.0", "--advertise-host", "127.0.0.2"],
    )
    admin = process.start()
    try:
        info = admin.connections["quickbooks"]
        assert info["base_url"].startswith("https://127.0.0.2:")
        assert info["admin_url"].startswith("https://127.0.0.2:")
        assert "127.0.0.2" in _sans(tmp_path / "sb" / "tls" / "server.pem")
        session = requests.Session()
        session.trust_env = False
        response = session.get(
            f"{info['admin_url']}/health", verify=admin.connections["ca_bundle"], timeout=30
        )
        assert response.status_code == 200
    finally:
        process.stop()
