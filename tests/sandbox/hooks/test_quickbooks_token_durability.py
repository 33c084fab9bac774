"""R-OPS-4 against the sandbox's real token endpoint: no failed save, crash or concurrent
refresh leaves the sync without a valid refresh token; the refresh token's expiry is kept and
warned about. Real processes where it matters: workers are separate Python processes
(``qb_token_worker.py``) that are killed with SIGKILL or start refreshing at the same moment.

A "machine" is a token directory (the refresh lock and the encrypted local copy of the token
state); the shared token store (the Airflow Variable in production) is a file every worker
reads, or an in-memory store in one process. The sandbox runs strict single-use rotation
unless a test sets ``refresh_token_mode`` to lenient. docs/connections.md, "Refresh tokens
that survive".
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sfqb.hooks.errors import AuthError
from sfqb.hooks.token_store import EncryptedFileTokenStore, FileTokenStore, InMemoryTokenStore
from sfqb.steps.preflight import quickbooks_token_warnings

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

WORKER = Path(__file__).with_name("qb_token_worker.py")
ROOT = Path(__file__).resolve().parents[3]
QB = "quickbooks"


def refreshes_seen(admin) -> int:
    """Refresh-token requests the sandbox's token endpoint answered (accepted or refused)."""
    return admin.counters(QB)["by_operation"].get("token.refresh_token", 0)


def start_worker(**args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), json.dumps(args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(worker: subprocess.Popen) -> dict:
    out, err = worker.communicate(timeout=240)
    assert worker.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def wait_for(path: Path, worker: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if worker.poll() is not None:
            pytest.fail(f"the worker ended before {path.name}: {worker.communicate()[1][-3000:]}")
        assert time.monotonic() < deadline, f"no {path.name} within {timeout} s"
        time.sleep(0.02)


def kill(worker: subprocess.Popen) -> None:
    os.kill(worker.pid, signal.SIGKILL)
    worker.communicate(timeout=30)
    assert worker.returncode == -signal.SIGKILL


class Records(logging.Handler):
    """The records of sfqb's loggers (a handler of its own: Airflow reconfigures the root
    logger's handlers the first time a hook reads a connection in a process)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def sfqb_log():
    logger, handler = logging.getLogger("sfqb"), Records()
    previous = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(previous)


class FailingVariable(InMemoryTokenStore):
    """The Variable during an outage: a refresh's answer cannot be saved (claims can)."""

    failing = True

    def save(self, state):
        if self.failing and state.refreshing is None and state.generation > 0:
            raise ConnectionError("execution API unreachable")
        super().save(state)


@pytest.fixture
def lenient(qb_hook_env):
    """The sandbox's lenient refresh-token mode for one test."""
    qb_hook_env.call(QB, "POST", "oauth/settings", {"refresh_token_mode": "lenient"})
    yield qb_hook_env
    qb_hook_env.call(QB, "POST", "oauth/settings", {"refresh_token_mode": "strict"})
    qb_hook_env.set_clock(QB, reset=True)


def test_given_a_variable_that_fails_longer_than_the_save_retries_when_rotated_then_the_sync_goes_on(
    make_qb_hook, qb_hook_env, tmp_path, sfqb_log
):
    """A save that fails for a long time (strict rotation): the task that rotated goes on with
    the new token instead of failing, and logs an ERROR that says where the token is (no "this
    process keeps using it"); another machine cannot get it meanwhile (the honest limit: it
    says who spent the token); a restart on the machine that rotated restores the token into
    the Variable without refreshing, and from then on every machine works."""
    variable = FailingVariable()
    machine_a, machine_b = str(tmp_path / "a"), str(tmp_path / "b")
    first = make_qb_hook(token_store=variable, token_dir=machine_a, sleep=lambda s: None)
    assert first.count("Customer") > 0
    errors = sfqb_log.messages(logging.ERROR)
    assert len(errors) == 1 and "local token copy on this machine keeps it" in errors[0]
    assert "keeps using it" not in errors[0]
    assert first.tokens.unsaved is not None and first.count("Item") >= 0  # still working
    assert variable.state.generation == 0 and variable.state.refreshing is not None

    elsewhere = make_qb_hook(token_store=variable, token_dir=machine_b, sleep=lambda s: None)
    with pytest.raises(AuthError, match="was refreshing it"):
        elsewhere.count("Customer")

    variable.failing = False
    restarted = make_qb_hook(token_store=variable, token_dir=machine_a, sleep=lambda s: None)
    assert restarted.count("Customer") > 0
    assert restarted.calls.snapshot().get("token.refresh", 0) == 0
    assert variable.state.generation == 1 and variable.state.refreshing is None
    qb_hook_env.call(QB, "POST", "expire-tokens")
    other_machine = make_qb_hook(token_store=variable, token_dir=machine_b, sleep=lambda s: None)
    assert other_machine.count("Customer") > 0
    assert variable.state.generation == 2


def test_given_a_worker_killed_while_saving_the_answer_when_the_next_task_starts_then_it_restores_it(
    qb_hook_env, make_qb_hook, tmp_path
):
    """A crash between the token endpoint's answer and the save: the worker process is killed
    (SIGKILL) while its Variable write is in flight, after the local copy was written. The
    next task on that machine takes the token from the local copy (encrypted, newer than the
    Variable), writes it back, and refreshes with it under strict rotation."""
    store, machine, marker = tmp_path / "variable.json", tmp_path / "machine", tmp_path / "saving"
    worker = start_worker(
        store=str(store), token_dir=str(machine), hang="on_save", marker=str(marker)
    )
    wait_for(marker, worker)
    kill(worker)
    assert refreshes_seen(qb_hook_env) == 1
    variable = FileTokenStore(store)
    assert variable.load().generation == 0  # the Variable only has the claim on the spent token

    restarted = make_qb_hook(token_store=variable, token_dir=str(machine), sleep=lambda s: None)
    assert restarted.count("Customer") > 0
    assert variable.load().generation == 1 and variable.load().refreshing is None
    qb_hook_env.call(QB, "POST", "expire-tokens")
    assert make_qb_hook(token_store=variable, token_dir=str(machine)).count("Customer") > 0
    assert variable.load().generation == 2
    assert refreshes_seen(qb_hook_env) == 2  # the dead worker's and this one: none refused


@pytest.mark.parametrize("mode", ["strict", "lenient"])
def test_given_a_worker_killed_right_after_the_answer_when_the_next_task_starts_then_as_the_mode_allows(
    qb_hook_env, make_qb_hook, tmp_path, mode
):
    """The one window no client can close: the worker is killed after the token endpoint
    answered and before anything was written. Under lenient rotation the spent token still
    answers (with the newest one) and the sync goes on; under strict single-use rotation the
    answer died with the process, and the next task stops with an AuthError that names the
    worker that spent the token and says how to reconnect (it does not wait for the dead
    worker's claim: that process ran on this machine and is gone)."""
    qb_hook_env.call(QB, "POST", "oauth/settings", {"refresh_token_mode": mode})
    try:
        store, machine = tmp_path / "variable.json", tmp_path / "machine"
        marker = tmp_path / "answered"
        worker = start_worker(
            store=str(store), token_dir=str(machine), hang="after_answer", marker=str(marker)
        )
        wait_for(marker, worker)
        kill(worker)
        next_task = make_qb_hook(token_store=FileTokenStore(store), token_dir=str(machine))
        started = time.monotonic()
        if mode == "lenient":
            assert next_task.count("Customer") > 0
            assert FileTokenStore(store).load().generation == 1
        else:
            with pytest.raises(AuthError) as caught:
                next_task.count("Customer")
            text = str(caught.value)
            assert f":{worker.pid}:" in text and "did not save the answer" in text
            assert "put the new refresh token into the connection" in text
        assert time.monotonic() - started < 60  # no lease wait for a dead local worker
    finally:
        qb_hook_env.call(QB, "POST", "oauth/settings", {"refresh_token_mode": "strict"})


def _race(qb_hook_env, tmp_path, dirs: list[Path]) -> list[dict]:
    """Start one worker per token directory, let them all refresh at the same moment."""
    store, go = tmp_path / "variable.json", tmp_path / "go"
    workers = []
    for i, machine in enumerate(dirs):
        workers.append(
            start_worker(
                store=str(store),
                token_dir=str(machine),
                ready=str(tmp_path / f"ready-{i}"),
                go=str(go),
            )
        )
    for i, worker in enumerate(workers):
        wait_for(tmp_path / f"ready-{i}", worker)
    qb_hook_env.clear_counters(QB)
    go.write_text("go")
    return [finish(worker) for worker in workers]


def test_given_worker_processes_on_one_machine_refreshing_at_once_then_one_refresh_serves_them_all(
    qb_hook_env, make_qb_hook, tmp_path
):
    """Three processes on one machine need a token at the same moment: the machine's lock and
    the re-read make one refresh; every process counts with the token it brought."""
    results = _race(qb_hook_env, tmp_path, [tmp_path / "machine"] * 3)
    assert all(r["count"] > 0 for r in results)
    assert sorted(r["refreshes"] for r in results) == [0, 0, 1]
    assert refreshes_seen(qb_hook_env) == 1
    variable = FileTokenStore(tmp_path / "variable.json")
    assert variable.load().generation == 1
    qb_hook_env.call(QB, "POST", "expire-tokens")
    assert make_qb_hook(token_store=variable, token_dir=str(tmp_path / "machine")).count("Customer")


def test_given_workers_on_three_machines_refreshing_at_once_then_every_one_succeeds(
    qb_hook_env, make_qb_hook, tmp_path
):
    """Three processes with no lock in common (three machines) sharing the Variable, under
    strict rotation, refresh at the same moment: the claims let one of them refresh and the
    others wait for its answer; all three succeed and the stored token works after."""
    machines = [tmp_path / f"machine-{i}" for i in range(3)]
    results = _race(qb_hook_env, tmp_path, machines)
    assert all(r["count"] > 0 for r in results)
    assert sum(r["refreshes"] for r in results) == refreshes_seen(qb_hook_env) >= 1
    variable = FileTokenStore(tmp_path / "variable.json")
    assert variable.load().refreshing is None
    assert variable.load().generation == refreshes_seen(qb_hook_env)  # none refused
    qb_hook_env.call(QB, "POST", "expire-tokens")
    assert make_qb_hook(token_store=variable, token_dir=str(machines[0])).count("Customer")


def test_given_lenient_rotation_when_the_hook_refreshes_across_days_then_the_stored_token_follows(
    make_qb_hook, lenient, tmp_path
):
    """Lenient mode: within a day a refresh keeps the value (the state still records each
    refresh); after a day the value changes; the stored token keeps working throughout."""
    store = InMemoryTokenStore()
    hook = make_qb_hook(token_store=store, token_dir=str(tmp_path))
    assert hook.count("Customer") > 0
    first = store.state.refresh_token
    lenient.call(QB, "POST", "expire-tokens")
    assert hook.count("Customer") > 0
    assert store.state.refresh_token == first and store.state.generation == 2
    lenient.set_clock(QB, advance_seconds=86400 + 60)
    assert hook.count("Customer") > 0
    assert store.state.refresh_token != first and store.state.generation == 3


def test_given_a_refresh_token_near_its_cap_when_the_hook_refreshes_then_a_warning_and_the_expiry_kept(
    make_qb_hook, qb_hook_env, monkeypatch, tmp_path, sfqb_log
):
    """Intuit's 5-year cap 20 days away: the hook asks for the cap
    (x-include-refresh-token-hard-expires-in), keeps the expiry in the token state, logs a
    WARNING that says when and how to reconnect, and ``refresh_token_warning()`` gives the
    same text, which the preflight report carries into the run summary; a fresh authorisation
    gives no warning. No token in it."""
    from sfqb_sandbox.connections import quickbooks_connection

    info = dict(qb_hook_env.qb_info)
    info["refresh_token"] = qb_hook_env.call(
        QB, "POST", "oauth/refresh-token", {"hard_expires_in": 20 * 86400}
    )["refresh_token"]
    monkeypatch.setenv("AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(quickbooks_connection(info)))
    store = InMemoryTokenStore()
    hook = make_qb_hook(token_store=store, token_dir=str(tmp_path))
    assert hook.count("Customer") > 0
    assert hook.auth_client.x_refresh_token_hard_expires_in is not None  # it asked for the cap
    left = store.state.refresh_expires_at - time.time()
    assert 19.9 * 86400 < left <= 20 * 86400
    warnings = [m for m in sfqb_log.messages(logging.WARNING) if "lapses on" in m]
    assert len(warnings) == 1 and "in 20 days" in warnings[0]
    assert hook.refresh_token_warning() == warnings[0]
    # the run summary: one warning keyed by the connection
    assert [(w["key"], w["reason"]) for w in quickbooks_token_warnings(hook)] == [
        ("quickbooks_default", warnings[0])
    ]
    for token in (store.state.refresh_token, store.state.access_token, info["refresh_token"]):
        assert token not in warnings[0]
    monkeypatch.setenv(
        "AIRFLOW_CONN_QUICKBOOKS_DEFAULT", json.dumps(quickbooks_connection(qb_hook_env.qb_info))
    )
    fresh = make_qb_hook(token_store=InMemoryTokenStore(), token_dir=str(tmp_path / "fresh"))
    assert fresh.count("Customer") > 0 and fresh.refresh_token_warning() is None


def test_given_the_local_copy_after_a_refresh_when_its_file_is_read_then_no_token_in_clear(
    make_qb_hook, qb_hook_env, tmp_path
):
    """R-OPS-4 (never unencrypted at rest): the local copy the hook writes holds no token in
    clear text and only the connection's client secret opens it."""
    store = InMemoryTokenStore()
    make_qb_hook(token_store=store, token_dir=str(tmp_path)).count("Customer")
    (path,) = tmp_path.glob("sfqb-qbo-token-*.bin")
    raw = path.read_bytes()
    for secret in (
        store.state.refresh_token,
        store.state.access_token,
        qb_hook_env.qb_info["refresh_token"],
        qb_hook_env.qb_info["client_secret"],
    ):
        assert secret.encode() not in raw
    assert EncryptedFileTokenStore(path, qb_hook_env.qb_info["client_secret"]).load() == store.state
