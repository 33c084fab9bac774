"""Where the rotating QuickBooks tokens live, and the rules for refreshing them safely.

Intuit rotates the refresh token on every refresh and (strictly) kills the previous one, so
the newest value must be saved before anything else happens, and two tasks must never refresh
with the same token at once. Airflow 3 tasks cannot write a Connection (the Task SDK's
execution API has no route for it), so the token state lives in an Airflow **Variable**
``sfqb.<conn_id>.token_state`` (its key contains "token", so the UI masks the value):

    {"refresh_token", "access_token", "access_expires_at", "bootstrap_refresh_token"}

The connection's refresh token is the *bootstrap*: when an operator re-authorises and pastes a
new refresh token into the connection, it differs from the recorded bootstrap and wins.

**Sealed** (R-OPS-4): the hook stores the state encrypted (Fernet) under a key derived from the
connection's refresh token (its client secret when it has none), so the Variable's value holds
no usable token. A task writes a Variable through a message to its supervisor, and Airflow's
supervisor prints that message, value included, at DEBUG on every executor: sealed, it prints
ciphertext. A state sealed under another refresh token (the operator re-authorised) does not
open and counts as absent, which is the bootstrap rule above. A plain JSON state (written before
sealing) is still read, and sealed on the next save.

Rules (``TokenManager``):
- use the stored access token while it has more than 5 minutes left (parallel tasks share it
  and do not refresh at all);
- refresh when it is expiring or after a 401, holding a lock (one machine: ``FileLock``), and
  re-read the store first: another task may have rotated already;
- on ``invalid_grant`` (another machine rotated under us) re-read the store and retry with the
  newer token a few times, with jitter, before giving up with an ``AuthError`` that tells the
  operator to re-authorise.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import NamedTuple, Protocol

from .errors import AuthError

log = logging.getLogger(__name__)

MIN_TTL = 300.0
"""Seconds of life an access token must have left to be used without a refresh."""


def variable_key(conn_id: str) -> str:
    return f"sfqb.{conn_id}.token_state"


SEALED = "sfqb-sealed-v1:"
"""Prefix of a sealed token state: the rest is a Fernet token."""


def _fernet(material: str):
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"sfqb token state v1\0" + material.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(text: str, material: str) -> str:
    """``text`` encrypted under a key derived from ``material`` (a secret of the connection)."""
    return SEALED + _fernet(material).encrypt(text.encode()).decode()


def unseal(text: str, material: str | None) -> str | None:
    """The text ``seal`` sealed; a value that is not sealed as it is; None when it does not open
    with ``material`` (sealed under another secret)."""
    from cryptography.fernet import InvalidToken

    if not text.startswith(SEALED):
        return text
    if not material:
        return None
    try:
        return _fernet(material).decrypt(text.removeprefix(SEALED).encode()).decode()
    except InvalidToken:
        return None


@dataclass(frozen=True)
class TokenState:
    refresh_token: str
    access_token: str | None = None
    access_expires_at: float | None = None  # epoch seconds
    bootstrap_refresh_token: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        if self.access_expires_at is not None:
            data["access_expires_at"] = dt.datetime.fromtimestamp(
                self.access_expires_at, dt.UTC).isoformat()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TokenState:
        data = json.loads(text)
        expires = data.get("access_expires_at")
        if isinstance(expires, str):
            expires = dt.datetime.fromisoformat(expires).timestamp()
        return cls(refresh_token=data["refresh_token"], access_token=data.get("access_token"),
                   access_expires_at=expires,
                   bootstrap_refresh_token=data.get("bootstrap_refresh_token"))


class TokenStore(Protocol):
    def load(self) -> TokenState | None: ...

    def save(self, state: TokenState) -> None: ...


class InMemoryTokenStore:
    """For unit tests, and for sharing one state between hook instances in one process."""

    def __init__(self, state: TokenState | None = None) -> None:
        self.state = state
        self.saves = 0

    def load(self) -> TokenState | None:
        return self.state

    def save(self, state: TokenState) -> None:
        self.state = state
        self.saves += 1


class FileTokenStore:
    """A JSON file (scripts and benchmarks outside Airflow). Written atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> TokenState | None:
        try:
            return TokenState.from_json(self.path.read_text())
        except FileNotFoundError:
            return None

    def save(self, state: TokenState) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        tmp.write_text(state.to_json())
        os.chmod(tmp, 0o600)
        tmp.replace(self.path)


def in_task() -> bool:
    """True inside a running Airflow task (the Task SDK's supervisor channel is set)."""
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


class AirflowVariableTokenStore:
    """The Variable ``sfqb.<conn_id>.token_state``, sealed under ``seal_with`` when given (the
    hook gives the connection's refresh token or client secret; see the module docstring).

    Inside a task, Variables go through the Task SDK (``airflow.sdk.Variable``: the execution
    API). Outside one (CLI, scripts), ``airflow.sdk.Variable`` cannot write (it needs the task
    supervisor) and reads only env/secrets backends, so the metadata database is used through
    ``airflow.models.Variable``."""

    def __init__(self, conn_id: str, *, seal_with: str | None = None) -> None:
        self.key = variable_key(conn_id)
        self.seal_with = seal_with

    def load(self) -> TokenState | None:
        if in_task():
            from airflow.sdk import Variable

            text = Variable.get(self.key, default=None)
        else:
            from airflow.models.variable import Variable

            text = Variable.get(self.key, default_var=None)
        if not text:
            return None
        opened = unseal(text, self.seal_with)
        if opened is None:
            log.info("%s: the stored token state was sealed under another refresh token (the app "
                     "was re-authorised): starting from the connection's", self.key)
            return None
        return TokenState.from_json(opened)

    def save(self, state: TokenState) -> None:
        text = state.to_json()
        if self.seal_with:
            text = seal(text, self.seal_with)
        if in_task():
            from airflow.sdk import Variable

            Variable.set(self.key, text,
                         description="sfqb: rotating QuickBooks tokens, sealed (see docs/connections.md)")
        else:
            from airflow.models.variable import Variable

            Variable.set(self.key, text,
                         description="sfqb: rotating QuickBooks tokens, sealed (see docs/connections.md)")


class FileLock:
    """An exclusive ``fcntl.flock`` on a file in the temp dir: serialises refreshes of one
    connection + realm across the processes (and threads) of one machine."""

    def __init__(self, *parts: str, directory: str | None = None) -> None:
        digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]
        self.path = Path(directory or tempfile.gettempdir()) / f"sfqb-qbo-refresh-{digest}.lock"

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with open(self.path, "a+") as handle:  # one open file per holder: flock excludes them
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


class ThreadLock:
    """A lock for one process (unit tests)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            yield


class Tokens(NamedTuple):
    access_token: str
    refresh_token: str
    expires_in: float


class InvalidGrant(Exception):
    """The token endpoint refused the refresh token (``invalid_grant``): used or revoked."""


class TokenManager:
    """Hands out a usable access token, refreshing it by the rules in the module docstring.

    :param refresher: refresh token -> ``Tokens``; raises ``InvalidGrant`` when the token is
        refused, ``AuthError``/``TransientError`` for other failures.
    :param on_tokens: called with every token seen (the hook registers them with the masker).
    """

    def __init__(
        self,
        store: TokenStore,
        bootstrap_refresh_token: str | None,
        refresher: Callable[[str], Tokens],
        *,
        lock: Callable[[], contextlib.AbstractContextManager] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        min_ttl: float = MIN_TTL,
        invalid_grant_attempts: int = 4,
        on_tokens: Callable[[str], None] = lambda token: None,
        name: str = "quickbooks",
    ) -> None:
        self.store = store
        self.bootstrap = bootstrap_refresh_token
        self.refresher = refresher
        self.lock = lock or ThreadLock()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.min_ttl = min_ttl
        self.invalid_grant_attempts = invalid_grant_attempts
        self.on_tokens = on_tokens
        self.name = name
        self.refreshes = 0
        self._cached: TokenState | None = None
        if bootstrap_refresh_token:
            on_tokens(bootstrap_refresh_token)

    def current(self) -> TokenState:
        """The stored state, or a fresh one from the connection's refresh token when nothing
        is stored yet or the operator put a new refresh token into the connection."""
        state = self.store.load()
        if state is not None:
            for token in (state.refresh_token, state.access_token):
                if token:
                    self.on_tokens(token)
        if state is not None and (not self.bootstrap
                                  or state.bootstrap_refresh_token == self.bootstrap):
            return state
        if not self.bootstrap:
            raise AuthError(f"{self.name}: no refresh token in the connection and none stored; "
                            "authorise the app and put its refresh token into the connection")
        if state is not None:
            log.info("%s: the connection carries a new refresh token (re-authorised): "
                     "starting from it", self.name)
        return TokenState(refresh_token=self.bootstrap, bootstrap_refresh_token=self.bootstrap)

    def _usable(self, state: TokenState) -> bool:
        return bool(state.access_token) and state.access_expires_at is not None and (
            state.access_expires_at - self.clock() > self.min_ttl)

    def access_token(self) -> str:
        """A token with more than ``min_ttl`` seconds left; refreshes only when needed. The
        store is read once and then only when the token nears expiry (a Variable read is an
        API round trip inside a task)."""
        state = self._cached
        if state is None or not self._usable(state):
            state = self._cached = self.current()
        if self._usable(state):
            return state.access_token  # type: ignore[return-value]
        return self.refresh()

    def refresh(self, failed_access_token: str | None = None) -> str:
        """Refresh under the lock, unless another task already did (then use its token).
        ``failed_access_token``: the token a 401 refused (never handed out again)."""
        with self.lock():
            tried: set[str] = set()
            for attempt in range(1, self.invalid_grant_attempts + 1):
                state = self._cached = self.current()
                if self._usable(state) and state.access_token != failed_access_token:
                    log.info("%s: another task refreshed the access token; using it", self.name)
                    return state.access_token  # type: ignore[return-value]
                if state.refresh_token not in tried:
                    tried.add(state.refresh_token)
                    try:
                        return self._rotate(state)
                    except InvalidGrant:
                        log.warning("%s: the refresh token was refused (invalid_grant), attempt "
                                    "%d of %d; re-reading the stored token", self.name, attempt,
                                    self.invalid_grant_attempts)
                if attempt < self.invalid_grant_attempts:
                    self.sleep(self.rng.uniform(0.5, 1.5) * attempt)
        raise AuthError(
            f"{self.name}: the refresh token was refused (invalid_grant) and no newer one was "
            f"stored; re-authorise the app and put the new refresh token into the connection",
            code="invalid_grant")

    def _rotate(self, state: TokenState) -> str:
        tokens = self.refresher(state.refresh_token)
        self.refreshes += 1
        self.on_tokens(tokens.access_token)
        if tokens.refresh_token:
            self.on_tokens(tokens.refresh_token)
        new = replace(state, refresh_token=tokens.refresh_token or state.refresh_token,
                      access_token=tokens.access_token,
                      access_expires_at=self.clock() + float(tokens.expires_in))
        self._cached = new
        self._save(new)
        if new.refresh_token != state.refresh_token:
            log.info("%s: refresh token rotated and saved", self.name)
        return tokens.access_token

    def _save(self, state: TokenState) -> None:
        """The old refresh token is dead now: the new one must be saved. Retry a failing store
        a few times before giving up loudly."""
        for attempt in range(1, 4):
            try:
                self.store.save(state)
                return
            except Exception as exc:  # noqa: BLE001 - any store failure is retried the same way
                if attempt == 3:
                    log.error("%s: could not save the rotated refresh token (%s); this process "
                              "keeps using it, but a restart will need re-authorisation",
                              self.name, type(exc).__name__)
                    raise
                self.sleep(0.5 * attempt)
