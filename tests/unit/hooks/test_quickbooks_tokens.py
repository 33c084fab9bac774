"""Token-state rules of the QuickBooks hook, with an in-memory store and a strict fake Intuit.

api-spec 2.1.2 (rotation on every refresh, the old refresh token dies at once, invalid_grant),
1.2 (python-quickbooks never refreshes by itself); R-OPS-4 (the rotated token is saved back
whenever it changes, so access survives restarts).
"""

from __future__ import annotations

import threading
import time

import pytest

from sfqb.hooks.errors import AuthError, TransientError
from sfqb.hooks.token_store import (
    FileLock,
    FileTokenStore,
    InMemoryTokenStore,
    InvalidGrant,
    TokenManager,
    Tokens,
    TokenState,
    variable_key,
)

pytestmark = pytest.mark.unit


class FakeIntuit:
    """Rotates on every refresh and kills the previous refresh token immediately."""

    def __init__(self, valid: str = "RT0") -> None:
        self.valid = {valid}
        self.used: list[str] = []
        self.n = 0
        self.lock = threading.Lock()

    def refresh(self, refresh_token: str) -> Tokens:
        with self.lock:
            self.used.append(refresh_token)
            if refresh_token not in self.valid:
                raise InvalidGrant("invalid_grant")
            self.valid.discard(refresh_token)
            self.n += 1
            new = f"RT{self.n}"
            self.valid.add(new)
        time.sleep(0.01)  # widen the race window for the concurrency tests
        return Tokens(f"AT{self.n}", new, 3600)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def manager(store, intuit, clock=None, bootstrap="RT0", **kwargs) -> TokenManager:
    return TokenManager(store, bootstrap, intuit.refresh, clock=clock or Clock(),
                        sleep=lambda s: None, **kwargs)


def test_given_no_stored_state_when_token_asked_then_bootstrap_refreshed_and_rotation_saved():
    """R-OPS-4: the first refresh uses the connection's token; the rotated one is stored with
    the bootstrap it came from."""
    store, intuit = InMemoryTokenStore(), FakeIntuit()
    assert manager(store, intuit).access_token() == "AT1"
    assert store.state == TokenState("RT1", "AT1", 1_000_000.0 + 3600, "RT0")
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
    mgr = TokenManager(store, "RT0", intuit.refresh, clock=Clock(), sleep=slept.append)
    with pytest.raises(AuthError, match="re-authorise") as caught:
        mgr.access_token()
    assert caught.value.code == "invalid_grant"
    assert intuit.used == ["RT0"]
    assert len(slept) == 3  # it waited for another machine to save a newer token


@pytest.mark.parametrize("lock_kind", ["thread", "file"])
def test_given_parallel_tasks_when_all_refresh_then_one_refresh_and_nobody_locked_out(
        lock_kind, tmp_path):
    """Two (here: six) tasks refreshing at once must not lock each other out: the lock plus
    the re-read make exactly one refresh; every task ends with the same access token."""
    store, intuit, clock = InMemoryTokenStore(), FakeIntuit(), Clock()
    lock = FileLock("quickbooks_default", "9130", directory=str(tmp_path)) \
        if lock_kind == "file" else None
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
    class Flaky(InMemoryTokenStore):
        fails = 2

        def save(self, state):
            if self.fails:
                self.fails -= 1
                raise OSError("database is locked")
            super().save(state)

    store = Flaky()
    assert manager(store, FakeIntuit()).access_token() == "AT1"
    assert store.state.refresh_token == "RT1"


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
    state = TokenState("RT1", "AT1", 1_700_000_000.0, "RT0")
    store.save(state)
    assert store.load() == state
    assert '"access_expires_at": "2023-11-14T22:13:20+00:00"' in (tmp_path / "tokens.json"
                                                                  ).read_text()
    assert variable_key("quickbooks_default") == "sfqb.quickbooks_default.token_state"


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

    text = TokenState("RT1-rotated-refresh-token", "eyJ-access-token", 1_700_000_000.0, "RT0-boot").to_json()
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
