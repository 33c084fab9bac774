"""Token-state rules of the QuickBooks hook, with in-memory stores and a strict fake Intuit.

Strict rotation (every refresh rotates, the old refresh token dies at once, invalid_grant);
python-quickbooks never refreshes by itself; R-OPS-4 (the rotated token is saved back whenever
it changes, durably: no failed save, crash or concurrent refresh leaves no valid token; no
token in a log line). The same rules against the sandbox's real token endpoint, with real
processes: tests/sandbox/hooks/test_quickbooks_token_durability.py.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import pytest

from sfqb.hooks.errors import AuthError, TransientError
from sfqb.hooks.token_store import (
    Claim,
    EncryptedFileTokenStore,
    FileLock,
    FileTokenStore,
    InMemoryTokenStore,
    InvalidGrant,
    TokenManager,
    Tokens,
    TokenState,
    refresh_token_warning,
    variable_key,
)

pytestmark = pytest.mark.unit


class FakeIntuit:
    """Rotates on every refresh and kills the previous refresh token immediately."""

    def __init__(self, valid: str = "RT0", refresh_expires_in: float | None = None) -> None:
        self.valid = {valid}
        self.used: list[str] = []
        self.n = 0
        self.lock = threading.Lock()
        self.refresh_expires_in = refresh_expires_in

    def refresh(self, refresh_token: str) -> Tokens:
        with self.lock:
            self.used.append(refresh_token)
            if refresh_token not in self.valid:
                raise InvalidGrant("invalid_grant")
            self.valid.discard(refresh_token)
            self.n += 1
            new = f"RT{self.n}"
            self.valid.add(new)
            n = self.n
        time.sleep(0.01)  # widen the race window for the concurrency tests
        return Tokens(f"AT{n}", new, 3600, refresh_expires_in=self.refresh_expires_in)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def manager(store, intuit, clock=None, bootstrap="RT0", **kwargs) -> TokenManager:
    kwargs.setdefault("sleep", lambda s: None)
    return TokenManager(store, bootstrap, intuit.refresh, clock=clock or Clock(), **kwargs)


class FailingSaves(InMemoryTokenStore):
    """A Variable whose writes fail: ``fail_claims`` claims (a state with ``refreshing``), then
    ``fail_saves`` saves of a rotated state."""

    def __init__(self, state=None, *, fail_claims: int = 0, fail_saves: int = 0) -> None:
        super().__init__(state)
        self.fail_claims, self.fail_saves = fail_claims, fail_saves

    def save(self, state):
        if state.refreshing is not None and self.fail_claims:
            self.fail_claims -= 1
            raise OSError("database is locked")
        if state.refreshing is None and self.fail_saves:
            self.fail_saves -= 1
            raise ConnectionError("execution API unreachable")
        super().save(state)


def test_given_no_stored_state_when_token_asked_then_bootstrap_refreshed_and_rotation_saved():
    """R-OPS-4: the first refresh uses the connection's token; the rotated one is stored with
    the bootstrap it came from, as refresh 1, with the claim taken back."""
    store, intuit = InMemoryTokenStore(), FakeIntuit()
    assert manager(store, intuit).access_token() == "AT1"
    assert store.state == TokenState("RT1", "AT1", 1_000_000.0 + 3600, "RT0", generation=1)
    assert intuit.used == ["RT0"]


def test_given_a_fresh_stored_access_token_when_token_asked_then_no_refresh():
    """Parallel tasks share a stored access token with more than 5 minutes left."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT5", "AT5", clock.now + 301, "RT0"))
    intuit = FakeIntuit("RT5")
    assert manager(store, intuit, clock).access_token() == "AT5"
    assert intuit.used == []


def test_given_an_access_token_with_under_5_minutes_left_when_asked_then_refreshed():
    """A token that may expire mid-call is refreshed first."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT5", "AT5", clock.now + 299, "RT0"))
    intuit = FakeIntuit("RT5")
    assert manager(store, intuit, clock).access_token() == "AT1"
    assert intuit.used == ["RT5"] and store.state.refresh_token == "RT1"


def test_given_a_restart_when_a_new_manager_starts_then_it_uses_the_rotated_token():
    """R-OPS-4: the next run (a new process) uses the saved token, not the connection's."""
    store, intuit, clock = InMemoryTokenStore(), FakeIntuit(), Clock()
    manager(store, intuit, clock).access_token()
    clock.now += 7200  # the access token expired meanwhile
    assert manager(store, intuit, clock).access_token() == "AT2"
    assert intuit.used == ["RT0", "RT1"]


def test_given_a_new_refresh_token_in_the_connection_when_asked_then_it_wins():
    """Re-authorisation: a connection token different from the recorded bootstrap resets."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT-dead", "AT-old", clock.now - 10, "RT-old"))
    intuit = FakeIntuit("RT-new")
    assert manager(store, intuit, clock, bootstrap="RT-new").access_token() == "AT1"
    assert intuit.used == ["RT-new"]
    assert store.state.bootstrap_refresh_token == "RT-new"


def test_given_a_401_after_another_task_rotated_when_refresh_then_its_token_is_used():
    """Re-read before refreshing: another task already refreshed, so no second refresh."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT1", "AT-new", clock.now + 3000, "RT0"))
    intuit = FakeIntuit("RT1")
    assert manager(store, intuit, clock).refresh(failed_access_token="AT-old") == "AT-new"
    assert intuit.used == []


def test_given_a_401_on_the_stored_token_when_refresh_then_a_new_one_is_fetched():
    """A token the server refused is never handed out again, even if it looks fresh."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT1", "AT-bad", clock.now + 3000, "RT0"))
    intuit = FakeIntuit("RT1")
    assert manager(store, intuit, clock).refresh(failed_access_token="AT-bad") == "AT1"


def test_given_another_machine_rotates_meanwhile_when_invalid_grant_then_retry_with_newer():
    """Across machines: invalid_grant -> re-read the store -> retry with the newer token."""
    clock = Clock()
    store = InMemoryTokenStore(TokenState("RT0", None, None, "RT0"))
    intuit = FakeIntuit("RT0")
    other = manager(InMemoryTokenStore(), intuit, clock)  # stands in for the other machine

    stale_first = True

    def racing_refresh(token):
        nonlocal stale_first
        if stale_first:  # the other machine rotates RT0 just before our call lands
            stale_first = False
            other.access_token()
            store.save(other.store.state)  # ...and saves it to the shared store
        return intuit.refresh(token)

    mine = TokenManager(store, "RT0", racing_refresh, clock=clock, sleep=lambda s: None)
    # The other machine's access token is fresh: it is used without another refresh.
    assert mine.refresh(failed_access_token="AT-x") == "AT1"
    assert intuit.used == ["RT0", "RT0"]  # the other machine's success, then our refusal


def test_given_a_revoked_token_when_refresh_then_auth_error_without_reusing_old_tokens():
    """No newer token appears: give up with an AuthError that says to re-authorise; the
    refused token is sent once, never again."""
    store, intuit = InMemoryTokenStore(), FakeIntuit("RT-other")
    slept: list[float] = []
    mgr = TokenManager(
        store, "RT0", intuit.refresh, clock=Clock(), sleep=slept.append, settle=(0.0, 0.0)
    )
    with pytest.raises(AuthError, match="reconnect the app") as caught:
        mgr.access_token()
    assert caught.value.code == "invalid_grant"
    assert intuit.used == ["RT0"]
    assert len([s for s in slept if s > 0]) == 3  # it waited for another machine's newer token
    assert store.state.refreshing is None  # the claim was taken back


@pytest.mark.parametrize("lock_kind", ["thread", "file"])
def test_given_parallel_tasks_when_all_refresh_then_one_refresh_and_nobody_locked_out(
    lock_kind, tmp_path
):
    """Two (here: six) tasks refreshing at once must not lock each other out: the lock plus
    the re-read make exactly one refresh; every task ends with the same access token."""
    store, intuit, clock = InMemoryTokenStore(), FakeIntuit(), Clock()
    lock = (
        FileLock("quickbooks_default", "9130", directory=str(tmp_path))
        if lock_kind == "file"
        else None
    )
    managers = [manager(store, intuit, clock, lock=lock) for _ in range(6)]
    if lock is None:  # threads of one process share one lock object, as hooks in a worker do
        for m in managers[1:]:
            m.lock = managers[0].lock
    got: list[str] = []
    errors: list[Exception] = []

    def run(m):
        try:
            got.append(m.access_token())
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(m,)) for m in managers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert got == ["AT1"] * 6
    assert intuit.used == ["RT0"]


def test_given_a_transient_token_endpoint_failure_when_refresh_then_it_propagates():
    """A 5xx from the token endpoint is the caller's retry, not an AuthError."""

    def failing(token):
        raise TransientError("HTTP 503")

    mgr = TokenManager(InMemoryTokenStore(), "RT0", failing, sleep=lambda s: None)
    with pytest.raises(TransientError):
        mgr.access_token()


def test_given_a_failing_store_when_rotated_then_saving_is_retried():
    """The old refresh token is dead after a refresh: saving the new one is retried."""
    store = FailingSaves(fail_saves=2)
    assert manager(store, FakeIntuit()).access_token() == "AT1"
    assert store.state.refresh_token == "RT1" and store.state.refreshing is None


def test_given_no_refresh_token_anywhere_when_asked_then_auth_error():
    """A connection without a refresh token and an empty store cannot work."""
    with pytest.raises(AuthError, match="no refresh token"):
        manager(InMemoryTokenStore(), FakeIntuit(), bootstrap=None).access_token()


def test_given_every_token_when_seen_then_registered_for_masking():
    """R-OPS-4: the bootstrap, access and rotated refresh tokens all go to the masker."""
    seen: list[str] = []
    manager(InMemoryTokenStore(), FakeIntuit(), on_tokens=seen.append).access_token()
    assert {"RT0", "AT1", "RT1"} <= set(seen)


def test_given_a_state_when_stored_in_a_file_then_round_trips_with_iso_expiry(tmp_path):
    """The JSON form (Variable and file) carries the four fields, the expiry as ISO time."""
    store = FileTokenStore(tmp_path / "tokens.json")
    assert store.load() is None
    state = TokenState(
        "RT1",
        "AT1",
        1_700_000_000.0,
        "RT0",
        refresh_expires_at=1_708_640_000.0,
        generation=7,
        refreshing=Claim("host:12:ab", 1_700_000_001.0),
    )
    store.save(state)
    assert store.load() == state
    text = (tmp_path / "tokens.json").read_text()
    assert '"access_expires_at": "2023-11-14T22:13:20+00:00"' in text
    assert '"refreshing": {"by": "host:12:ab", "since": "2023-11-14T22:13:21+00:00"}' in text
    assert os.stat(tmp_path / "tokens.json").st_mode & 0o777 == 0o600
    assert variable_key("quickbooks_default") == "sfqb.quickbooks_default.token_state"
    old = json.dumps(
        {
            "refresh_token": "RT1",
            "access_token": "AT1",
            "access_expires_at": "2023-11-14T22:13:20+00:00",
            "bootstrap_refresh_token": "RT0",
        }
    )
    assert TokenState.from_json(old) == TokenState("RT1", "AT1", 1_700_000_000.0, "RT0")


def test_given_a_usable_token_when_asked_many_times_then_the_store_is_read_once():
    """Inside a task a Variable read is an API round trip: a usable token is kept in memory,
    and the store is read again only when it nears expiry."""

    class Counting(InMemoryTokenStore):
        loads = 0

        def load(self):
            self.loads += 1
            return super().load()

    clock = Clock()
    store = Counting(TokenState("RT5", "AT5", clock.now + 1000, "RT0"))
    mgr = manager(store, FakeIntuit("RT5"), clock)
    assert [mgr.access_token() for _ in range(50)] == ["AT5"] * 50
    assert store.loads == 1
    clock.now += 800  # under 5 minutes left: re-read, then refresh
    assert mgr.access_token() == "AT1"
    assert store.loads >= 2 and store.state.refresh_token == "RT1"


def test_given_a_state_when_sealed_then_no_token_is_readable_and_only_its_secret_opens_it():
    """R-OPS-4: the sealed form carries no token (a supervisor printing the Variable write at
    DEBUG prints ciphertext); the connection's secret opens it, another secret does not (the
    app was re-authorised), and a plain JSON state from before sealing still reads."""
    from sfqb.hooks.token_store import SEALED, seal, unseal

    text = TokenState(
        "RT1-rotated-refresh-token", "eyJ-access-token", 1_700_000_000.0, "RT0-boot"
    ).to_json()
    sealed = seal(text, "RT0-boot")
    assert sealed.startswith(SEALED)
    assert not any(token in sealed for token in ("RT1-rotated", "eyJ-access", "RT0-boot"))
    assert seal(text, "RT0-boot") != sealed  # a fresh IV each time
    assert unseal(sealed, "RT0-boot") == text
    assert unseal(sealed, "RT9-reauthorised") is None
    assert unseal(sealed, None) is None
    assert unseal(text, "RT0-boot") == text


def test_given_the_variable_store_with_a_secret_when_saved_then_the_variable_is_sealed(airflow_db):
    """R-OPS-4: the Variable the hook writes holds the sealed state; a store with the same
    connection secret loads it, one with a new refresh token (re-authorised) finds nothing."""
    from airflow.models.variable import Variable

    from sfqb.hooks.token_store import SEALED, AirflowVariableTokenStore

    state = TokenState("RT1-rotated-refresh-token", "eyJ-access-token", 1_700_000_000.0, "RT0-boot")
    store = AirflowVariableTokenStore("qb_sealed_test", seal_with="RT0-boot")
    try:
        store.save(state)
        raw = Variable.get(variable_key("qb_sealed_test"))
        assert raw.startswith(SEALED) and "RT1-rotated" not in raw and "eyJ-access" not in raw
        assert store.load() == state
        assert AirflowVariableTokenStore("qb_sealed_test", seal_with="RT9-new").load() is None
        Variable.set(variable_key("qb_sealed_test"), state.to_json())  # written before sealing
        assert store.load() == state
    finally:
        Variable.delete(variable_key("qb_sealed_test"))


# -- durability: a failed save, a crash, a concurrent refresh (R-OPS-4) ---------------------


def test_given_a_variable_that_fails_for_longer_than_the_patience_when_rotated_then_the_task_goes_on(
    caplog,
):
    """R-OPS-4: the save is retried with back-off for at least ``save_patience`` (5 minutes,
    not three tries in 1.5 s); when the Variable still fails the task keeps the new token (the
    old one is dead) instead of failing, the local copy holds it, the ERROR says so, and a
    later token request saves it once the Variable works again."""
    clock, slept = Clock(), []

    def sleep(seconds):
        slept.append(seconds)
        clock.now += seconds

    store, journal = FailingSaves(fail_saves=10_000), InMemoryTokenStore()
    mgr = manager(store, FakeIntuit(), clock, journal=journal, sleep=sleep, settle=(0.0, 0.0))
    with caplog.at_level(logging.WARNING):
        assert mgr.access_token() == "AT1"
    assert sum(slept) >= 300
    assert journal.state.refresh_token == "RT1" and mgr.unsaved == journal.state
    assert store.state.refresh_token == "RT0"  # the claim: the Variable missed the answer
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "local token copy on this machine keeps it" in errors[0]
    assert "keeps using it" not in errors[0]
    store.fail_saves = 0
    assert mgr.access_token() == "AT1"  # within the minute: not tried again yet
    assert store.state.refresh_token == "RT0"
    clock.now += 61
    assert mgr.access_token() == "AT1"
    assert store.state.refresh_token == "RT1" and store.state.generation == 1
    assert mgr.unsaved is None


def test_given_a_variable_that_cannot_be_written_when_a_refresh_is_due_then_nothing_is_refreshed():
    """Never refresh without first securing the place for the answer: the claim cannot be
    written, so the refresh token is not spent (still valid for the retry)."""
    store, intuit = FailingSaves(fail_claims=1), FakeIntuit()
    with pytest.raises(TransientError, match="not refreshing"):
        manager(store, intuit).access_token()
    assert intuit.used == []
    assert manager(store, intuit).access_token() == "AT1"  # the retry finds RT0 still good


def test_given_a_crash_after_the_local_copy_when_the_next_task_starts_then_it_restores_the_newest():
    """A process killed between the local copy and the Variable leaves the Variable with the
    spent token (and the dead process's claim); the next task on the machine uses the local
    copy (higher generation), without waiting for the claim, and writes it back."""
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState("RT0", None, None, "RT0", refreshing=Claim("dead:1:aa", clock.now))
    )
    journal = InMemoryTokenStore(TokenState("RT1", "AT1", clock.now + 3600, "RT0", generation=1))
    intuit = FakeIntuit("RT1")
    mgr = manager(store, intuit, clock, journal=journal)
    assert mgr.access_token() == "AT1"
    assert intuit.used == []
    assert store.state == journal.state


def test_given_a_local_copy_of_an_older_authorisation_when_read_then_the_connection_wins():
    """A local copy made from another bootstrap (before a re-authorisation) is ignored."""
    clock = Clock()
    journal = InMemoryTokenStore(TokenState("RT9", "AT9", clock.now + 3600, "RT-old", generation=9))
    intuit = FakeIntuit("RT-new")
    mgr = manager(InMemoryTokenStore(), intuit, clock, bootstrap="RT-new", journal=journal)
    assert mgr.access_token() == "AT1"
    assert intuit.used == ["RT-new"] and journal.state.bootstrap_refresh_token == "RT-new"


def test_given_another_workers_fresh_claim_when_refreshing_then_it_waits_for_that_answer():
    """Across machines (no shared lock): a claim younger than the lease means another worker
    is sending this refresh token; waiting for its answer beats sending the same token."""
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState("RT0", None, None, "RT0", refreshing=Claim("other:2:bb", clock.now - 5))
    )
    intuit = FakeIntuit("RT0")
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        clock.now += seconds
        if len(polls) == 3:  # the other worker's answer lands
            store.save(TokenState("RT1", "AT-other", clock.now + 3600, "RT0", generation=1))

    assert manager(store, intuit, clock, sleep=sleep).access_token() == "AT-other"
    assert intuit.used == []


def test_given_a_stale_claim_when_refreshing_then_it_is_taken_over():
    """A claim older than the lease (its worker died) does not block refreshes."""
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState("RT0", None, None, "RT0", refreshing=Claim("dead:3:cc", clock.now - 121))
    )
    intuit = FakeIntuit("RT0")
    assert manager(store, intuit, clock).access_token() == "AT1"
    assert store.state.refreshing is None and store.state.generation == 1


def test_given_the_claim_of_a_dead_process_on_this_machine_when_refreshing_then_no_wait():
    """A claim whose process ran on this machine and is gone (killed) is not waited for."""
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState(
            "RT0",
            None,
            None,
            "RT0",
            refreshing=Claim(f"{socket.gethostname()}:{gone.pid}:aa", clock.now - 1),
        )
    )
    slept: list[float] = []
    mgr = manager(store, FakeIntuit("RT0"), clock, sleep=slept.append, settle=(0.0, 0.0))
    assert mgr.access_token() == "AT1"
    assert [s for s in slept if s > 0] == []


def test_given_two_claims_at_once_when_read_back_then_only_the_last_writer_refreshes():
    """Two machines claim within the settle time: the one whose claim was overwritten sees
    the other's on reading back, does not refresh, and takes the other's answer."""
    clock = Clock()
    store, intuit = InMemoryTokenStore(), FakeIntuit()
    other = manager(store, intuit, clock, owner="other:4:dd")
    mine_sleeps = []

    def sleep(seconds):
        mine_sleeps.append(seconds)
        clock.now += seconds
        if len(mine_sleeps) == 1:  # during my settle: the other machine claims and refreshes
            assert other.access_token() == "AT1"

    mine = manager(store, intuit, clock, owner="mine:5:ee", sleep=sleep)
    assert mine.access_token() == "AT1"
    assert intuit.used == ["RT0"]


def test_given_invalid_grant_after_a_dead_workers_claim_then_the_error_names_it_and_how_to_reconnect():
    """The message says which worker spent the token without saving it, and how to go on."""
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState("RT0", None, None, "RT0", refreshing=Claim("worker-b:77:ff", clock.now - 500))
    )
    with pytest.raises(AuthError) as caught:
        manager(store, FakeIntuit("RT-other"), clock).access_token()
    text = str(caught.value)
    assert "worker-b:77:ff was refreshing it" in text and "local token copy" in text
    assert "put the new refresh token into the connection" in text


# -- the refresh token's own expiry -----------------------------------------------------------


def test_given_a_refresh_token_lapsing_within_30_days_when_refreshed_then_a_warning_says_how_to_reconnect(
    caplog,
):
    """Intuit's 5-year cap: the answer's x_refresh_token_expires_in is kept in the state; a
    refresh that sees less than 30 days left logs a WARNING (the task's log) with the date and
    the way to reconnect; the same text comes from ``expiry_warning`` (for the run summary)."""
    clock = Clock()
    store = InMemoryTokenStore()
    mgr = manager(store, FakeIntuit(refresh_expires_in=20 * 86400), clock)
    with caplog.at_level(logging.WARNING):
        mgr.access_token()
    assert store.state.refresh_expires_at == clock.now + 20 * 86400
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "lapses on 1970-02-01 13:46 UTC" in warnings[0] and "in 20 days" in warnings[0]
    assert "put the new refresh token into the connection" in warnings[0]
    assert mgr.expiry_warning() == warnings[0]
    assert "RT1" not in warnings[0] and "AT1" not in warnings[0]


def test_given_expiries_when_checked_then_warned_only_inside_the_window_or_after_it():
    """None when unknown or further than 30 days; a lapsed token says it lapsed."""
    now = 1_000_000.0
    assert refresh_token_warning(None, now) is None
    assert refresh_token_warning(TokenState("RT"), now) is None
    assert refresh_token_warning(TokenState("RT", refresh_expires_at=now + 31 * 86400), now) is None
    assert "in 30 days" in refresh_token_warning(
        TokenState("RT", refresh_expires_at=now + 30 * 86400), now
    )
    assert "lapsed on" in refresh_token_warning(TokenState("RT", refresh_expires_at=now - 1), now)


def test_given_no_expiry_in_the_answer_when_refreshed_then_the_known_expiry_is_kept():
    """An answer without x_refresh_token_expires_in keeps the last known expiry."""
    clock = Clock()
    store = InMemoryTokenStore(
        TokenState("RT0", None, None, "RT0", refresh_expires_at=clock.now + 90 * 86400)
    )
    manager(store, FakeIntuit("RT0"), clock).access_token()
    assert store.state.refresh_expires_at == clock.now + 90 * 86400


# -- the local copy ------------------------------------------------------------------------------


def test_given_the_local_copy_when_written_then_encrypted_private_and_unreadable_with_another_secret(
    tmp_path, caplog
):
    """R-OPS-4 (never unencrypted at rest): the file holds no token in clear, is mode 0600,
    round-trips with the connection's client secret and reads as empty with another."""
    state = TokenState(
        "RT-secret-value", "AT-secret-value", 1_700_000_000.0, "RT-boot", generation=3
    )
    store = EncryptedFileTokenStore.for_connection(
        "quickbooks_default", "9130", "client-secret", directory=tmp_path
    )
    store.save(state)
    (path,) = tmp_path.glob("sfqb-qbo-token-*.bin")
    raw = path.read_bytes()
    for secret in (b"RT-secret-value", b"AT-secret-value", b"RT-boot", b"refresh_token"):
        assert secret not in raw
    assert path.stat().st_mode & 0o777 == 0o600
    assert store.load() == state
    other = EncryptedFileTokenStore(path, "another-secret")
    with caplog.at_level(logging.WARNING):
        assert other.load() is None
    assert "cannot be read with this connection's client secret" in caplog.text


def test_given_every_failure_path_when_logged_at_debug_then_no_token_appears(caplog):
    """R-OPS-4: failed saves, a restore, a refused token and the expiry warning log no token."""
    clock = Clock()
    caplog.set_level(logging.DEBUG)
    store, journal = FailingSaves(fail_saves=10_000), InMemoryTokenStore()
    intuit = FakeIntuit(refresh_expires_in=86400)
    mgr = manager(store, intuit, clock, journal=journal, settle=(0.0, 0.0))
    mgr.access_token()
    store.fail_saves = 0
    manager(store, intuit, clock, journal=journal).access_token()
    with pytest.raises(AuthError) as caught:
        manager(InMemoryTokenStore(), intuit, clock).access_token()  # RT0 is long dead
    text = "\n".join(r.getMessage() for r in caplog.records) + str(caught.value)
    assert "lapses on" in text and "could not be saved" in text and "restoring" in text
    for token in ("RT0", "RT1", "AT1"):
        assert token not in text
