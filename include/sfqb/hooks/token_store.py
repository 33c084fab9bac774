"""Where the rotating QuickBooks tokens live, and the rules that always leave a valid one.

Intuit rotates the refresh token (read strictly: on every refresh, the previous value dying at
once), so the newest value must be saved before anything else happens, and two workers must
never refresh with the same token at once. Airflow 3 tasks cannot write a Connection (the Task
SDK's execution API has no route for it), so the token state lives in an Airflow **Variable**
``sfqb.<conn_id>.token_state`` (its key contains "token", so the UI masks the value):

    {"refresh_token", "access_token", "access_expires_at", "bootstrap_refresh_token",
     "refresh_expires_at", "generation", "refreshing"}

and, on each worker machine, in a second copy: a local file, encrypted
(``EncryptedFileTokenStore``, "the local copy"). The connection's refresh token is the
*bootstrap*: when an operator re-authorises and pastes a new refresh token into the
connection, it differs from the recorded bootstrap and wins.

**Sealed** (R-OPS-4): the hook stores the state encrypted (Fernet) under a key derived from the
connection's refresh token (its client secret when it has none), so the Variable's value holds
no usable token. A task writes a Variable through a message to its supervisor, and Airflow's
supervisor prints that message, value included, at DEBUG on every executor: sealed, it prints
ciphertext. A state sealed under another refresh token (the operator re-authorised) does not
open and counts as absent, which is the bootstrap rule above. A plain JSON state (written before
sealing) is still read, and sealed on the next save.

Rules (``TokenManager``; docs/connections.md, "Refresh tokens that survive"):

- use the stored access token while it has more than 5 minutes left (parallel tasks share it
  and do not refresh at all);
- refresh when it is expiring or after a 401, holding a lock (one machine: ``FileLock``), and
  re-read both copies first: another task may have rotated already. The copy with the higher
  ``generation`` (one more per refresh) wins; a local copy newer than the Variable (a crash
  between the two writes, a Variable that could not be written) is restored into it;
- never refresh without first securing the place for the answer: a *claim* (``refreshing``:
  who, since when) is written into the Variable and read back. A Variable that cannot be
  written stops the refresh while the refresh token in hand is still valid. The claim is also
  a lease other machines honour: they wait up to ``lease_seconds`` for its answer instead of
  refreshing with the same token;
- the answer goes to the local copy first (one local write, flushed to disk), then to the
  Variable, retried with back-off for ``save_patience`` (5 minutes). If the Variable still
  fails, the task goes on with the new token (the local copy keeps it) and later token
  requests try the Variable again;
- on ``invalid_grant`` (another machine rotated under us) re-read the copies and retry with a
  newer token a few times, with jitter, before giving up with an ``AuthError`` that says how
  to reconnect;
- the refresh token's own expiry (Intuit's ``x_refresh_token_expires_in``, never past the
  5-year cap) is kept in the state; a refresh that finds it less than
  ``EXPIRY_WARNING_DAYS`` away logs a WARNING saying how to reconnect
  (``refresh_token_warning``, which the run summary can show too).
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
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple, Protocol

from .errors import AuthError, TransientError
from .limiter import LIMITER_DIR_ENV

log = logging.getLogger(__name__)

MIN_TTL = 300.0
"""Seconds of life an access token must have left to be used without a refresh."""
SAVE_PATIENCE = 300.0
"""Seconds a failing Variable save of a rotated token is retried (with back-off) before the
task goes on with the token kept in the local copy."""
LEASE_SECONDS = 120.0
"""How long another worker's refresh in flight (its claim) is waited for."""
RETRY_UNSAVED_EVERY = 60.0
"""Seconds between attempts to get a token the Variable missed into it."""
EXPIRY_WARNING_DAYS = 30
"""A refresh token that lapses within this many days is warned about at every refresh."""
TOKEN_DIR_ENV = "SFQB_QBO_TOKEN_DIR"
RECONNECT = (
    "reconnect the app: authorise it again (Intuit's OAuth 2.0 playground or your "
    "consent flow) and put the new refresh token into the connection's extra "
    'refresh_token (docs/connections.md, "Reconnecting")'
)


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


def token_dir(directory: str | os.PathLike | None = None) -> Path:
    """Where the refresh lock and the local copy live: ``directory``, else
    ``$SFQB_QBO_TOKEN_DIR``, else ``$SFQB_QBO_LIMITER_DIR`` (docker-compose: a volume every
    worker container shares), else the temp directory."""
    return Path(
        directory
        or os.environ.get(TOKEN_DIR_ENV)
        or os.environ.get(LIMITER_DIR_ENV)
        or tempfile.gettempdir()
    )


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else dt.datetime.fromtimestamp(stamp, dt.UTC).isoformat()


def _epoch(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value).timestamp()
    return float(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Claim:
    """A refresh in flight: who (``host:pid:random``) and since when (epoch seconds)."""

    by: str
    since: float


@dataclass(frozen=True)
class TokenState:
    refresh_token: str
    access_token: str | None = None
    access_expires_at: float | None = None  # epoch seconds
    bootstrap_refresh_token: str | None = None
    refresh_expires_at: float | None = None  # when the refresh token lapses (epoch seconds)
    generation: int = 0  # refreshes since the bootstrap: the newer of two copies wins
    refreshing: Claim | None = None

    def to_json(self) -> str:
        claim = self.refreshing
        return json.dumps(
            {
                "refresh_token": self.refresh_token,
                "access_token": self.access_token,
                "access_expires_at": _iso(self.access_expires_at),
                "bootstrap_refresh_token": self.bootstrap_refresh_token,
                "refresh_expires_at": _iso(self.refresh_expires_at),
                "generation": self.generation,
                "refreshing": None
                if claim is None
                else {"by": claim.by, "since": _iso(claim.since)},
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> TokenState:
        """The stored JSON; states written before a field existed read it as its default."""
        data = json.loads(text)
        claim = data.get("refreshing")
        return cls(
            refresh_token=data["refresh_token"],
            access_token=data.get("access_token"),
            access_expires_at=_epoch(data.get("access_expires_at")),
            bootstrap_refresh_token=data.get("bootstrap_refresh_token"),
            refresh_expires_at=_epoch(data.get("refresh_expires_at")),
            generation=int(data.get("generation") or 0),
            refreshing=None
            if not claim
            else Claim(str(claim["by"]), _epoch(claim["since"]) or 0.0),
        )


class TokenStore(Protocol):
    def load(self) -> TokenState | None: ...

    def save(self, state: TokenState) -> None: ...


class InMemoryTokenStore:
    """For unit tests, and for sharing one state between hook instances in one process."""

    def __init__(self, state: TokenState | None = None) -> None:
        self.state = state

    def load(self) -> TokenState | None:
        return self.state

    def save(self, state: TokenState) -> None:
        self.state = state


def _write_atomically(path: Path, data: bytes) -> None:
    """Write, flush to disk, then rename over ``path`` (mode 0600): a crash leaves the old file
    or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)
    with contextlib.suppress(OSError):  # the rename itself, on file systems that allow it
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


class FileTokenStore:
    """A JSON file (scripts and benchmarks outside Airflow). Written atomically, mode 0600."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> TokenState | None:
        try:
            return TokenState.from_json(self.path.read_text())
        except FileNotFoundError:
            return None

    def save(self, state: TokenState) -> None:
        _write_atomically(self.path, state.to_json().encode())


class EncryptedFileTokenStore:
    """The local copy of the token state on a worker machine: a file encrypted (Fernet) with a
    key derived from a secret the worker already holds, the app's client secret from the
    connection, which is never written beside it. Mode 0600, written atomically and flushed
    to disk. A file this secret cannot decrypt (the client secret changed) reads as empty."""

    def __init__(self, path: str | Path, secret: str) -> None:
        from cryptography.fernet import Fernet

        self.path = Path(path)
        key = hashlib.sha256(b"sfqb-qbo-token-state\0" + secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @classmethod
    def for_connection(
        cls, conn_id: str, realm_id: str, secret: str, directory: str | os.PathLike | None = None
    ) -> EncryptedFileTokenStore:
        """``<token dir>/sfqb-qbo-token-<hash of connection and realm>.bin``."""
        return cls(
            token_dir(directory) / f"sfqb-qbo-token-{_digest(conn_id, realm_id)}.bin", secret
        )

    def load(self) -> TokenState | None:
        from cryptography.fernet import InvalidToken

        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            return TokenState.from_json(self._fernet.decrypt(data).decode())
        except (InvalidToken, ValueError, KeyError):
            log.warning(
                "the local QuickBooks token copy %s cannot be read with this connection's "
                "client secret (changed since?); ignoring it",
                self.path.name,
            )
            return None

    def save(self, state: TokenState) -> None:
        _write_atomically(self.path, self._fernet.encrypt(state.to_json().encode()))


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
            from airflow.models.variable import Variable as MetadataVariable

            text = MetadataVariable.get(self.key, default_var=None)
        if not text:
            return None
        opened = unseal(text, self.seal_with)
        if opened is None:
            log.info(
                "%s: the stored token state was sealed under another refresh token (the app "
                "was re-authorised): starting from the connection's",
                self.key,
            )
            return None
        return TokenState.from_json(opened)

    def save(self, state: TokenState) -> None:
        text = state.to_json()
        if self.seal_with:
            text = seal(text, self.seal_with)
        if in_task():
            from airflow.sdk import Variable

            Variable.set(
                self.key,
                text,
                description="sfqb: rotating QuickBooks tokens, sealed (see docs/connections.md)",
            )
        else:
            from airflow.models.variable import Variable as MetadataVariable

            MetadataVariable.set(
                self.key,
                text,
                description="sfqb: rotating QuickBooks tokens, sealed (see docs/connections.md)",
            )


class FileLock:
    """An exclusive ``fcntl.flock`` on a file in the token directory (``token_dir``):
    serialises refreshes of one connection + realm across the processes (and threads) of one
    machine, and across containers that share the directory."""

    def __init__(self, *parts: str, directory: str | os.PathLike | None = None) -> None:
        self.path = token_dir(directory) / f"sfqb-qbo-refresh-{_digest(*parts)}.lock"

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
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
    """One answer of the token endpoint (``*_expires_in`` in seconds from now)."""

    access_token: str
    refresh_token: str
    expires_in: float
    refresh_expires_in: float | None = None  # x_refresh_token_expires_in
    refresh_hard_expires_in: float | None = None  # x_refresh_token_hard_expires_in (5-year cap)


class InvalidGrant(Exception):
    """The token endpoint refused the refresh token (``invalid_grant``): used or revoked."""


class _Contended(Exception):
    """Another worker's claim (or its finished refresh) replaced ours before we refreshed."""


def _died_here(claim: Claim) -> bool:
    """The claim's process ran on this machine and is gone (killed or crashed)."""
    host, _, rest = claim.by.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _holds(seen: TokenState | None, claimed: TokenState) -> bool:
    """``seen`` (read back from a store) is still ``claimed``: our claim on the same token."""
    return (
        seen is not None
        and seen.refreshing is not None
        and claimed.refreshing is not None
        and seen.refreshing.by == claimed.refreshing.by
        and seen.refresh_token == claimed.refresh_token
        and seen.generation == claimed.generation
    )


def refresh_expiry(now: float, tokens: Tokens) -> float | None:
    """When the refresh token of an answer lapses: the earlier of its rolling expiry and its
    5-year cap (None when the answer says neither)."""
    known = [s for s in (tokens.refresh_expires_in, tokens.refresh_hard_expires_in) if s]
    return now + min(float(s) for s in known) if known else None


def refresh_token_warning(
    state: TokenState | None,
    now: float,
    *,
    name: str = "quickbooks",
    warn_days: float = EXPIRY_WARNING_DAYS,
) -> str | None:
    """The warning to show while the refresh token of ``state`` lapses within ``warn_days``
    (or has lapsed), saying when and how to reconnect; None otherwise or when the expiry is
    not known. Never contains a token."""
    if state is None or state.refresh_expires_at is None:
        return None
    left = state.refresh_expires_at - now
    if left > warn_days * 86400:
        return None
    when = dt.datetime.fromtimestamp(state.refresh_expires_at, dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC"
    )
    if left <= 0:
        return (
            f"{name}: the QuickBooks refresh token lapsed on {when}: nothing reaches "
            f"QuickBooks until you {RECONNECT}"
        )
    return (
        f"{name}: the QuickBooks refresh token lapses on {when}, in {left / 86400:.0f} days "
        f"(Intuit ends an authorisation after 5 years, or after 100 days unused): before "
        f"then, {RECONNECT}"
    )


def _backoff(patience: float, first: float = 0.5, most: float = 30.0) -> list[float]:
    """Delays (doubling from ``first``, at most ``most``) that add up to ``patience``."""
    delays: list[float] = []
    delay = first
    while sum(delays) < patience:
        delays.append(min(delay, most, patience - sum(delays)))
        delay *= 2
    return delays


class TokenManager:
    """Hands out a usable access token, refreshing it by the rules in the module docstring.

    :param store: the shared token state (the Airflow Variable).
    :param refresher: refresh token -> ``Tokens``; raises ``InvalidGrant`` when the token is
        refused, ``AuthError``/``TransientError`` for other failures.
    :param journal: the local copy (``EncryptedFileTokenStore``), or None.
    :param on_tokens: called with every token seen (the hook registers them with the masker).
    :param owner: who this manager is in a claim (default ``host:pid:random``).
    """

    def __init__(
        self,
        store: TokenStore,
        bootstrap_refresh_token: str | None,
        refresher: Callable[[str], Tokens],
        *,
        journal: TokenStore | None = None,
        lock: Callable[[], contextlib.AbstractContextManager] | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        min_ttl: float = MIN_TTL,
        invalid_grant_attempts: int = 4,
        save_patience: float = SAVE_PATIENCE,
        lease_seconds: float = LEASE_SECONDS,
        settle: tuple[float, float] = (0.2, 0.5),
        warn_days: float = EXPIRY_WARNING_DAYS,
        owner: str | None = None,
        on_tokens: Callable[[str], None] = lambda token: None,
        name: str = "quickbooks",
    ) -> None:
        self.store = store
        self.journal = journal
        self.bootstrap = bootstrap_refresh_token
        self.refresher = refresher
        self.lock = lock or ThreadLock()
        self.clock = clock
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.min_ttl = min_ttl
        self.invalid_grant_attempts = invalid_grant_attempts
        self.save_patience = save_patience
        self.lease_seconds = lease_seconds
        self.settle = settle
        self.warn_days = warn_days
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self.on_tokens = on_tokens
        self.name = name
        self.refreshes = 0
        self.unsaved: TokenState | None = None
        """A state newer than the Variable's (only the local copy or this process has it)."""
        self._next_flush = 0.0
        self._cached: TokenState | None = None
        if bootstrap_refresh_token:
            on_tokens(bootstrap_refresh_token)

    # -- reading -----------------------------------------------------------------------------
    def _load_journal(self) -> TokenState | None:
        if self.journal is None:
            return None
        try:
            return self.journal.load()
        except Exception as exc:  # noqa: BLE001 - a local copy that cannot be read is no copy
            log.warning(
                "%s: the local token copy cannot be read (%s); using the Variable only",
                self.name,
                type(exc).__name__,
            )
            return None

    def current(self) -> TokenState:
        """The newest stored state (the Variable or the local copy, the higher generation; the
        Variable on a tie), or a fresh one from the connection's refresh token when nothing is
        stored for it or the operator put a new refresh token into the connection."""
        shared, local = self.store.load(), self._load_journal()
        for state in (shared, local):
            if state is not None:
                for token in (state.refresh_token, state.access_token):
                    if token:
                        self.on_tokens(token)
        mine = [
            s
            for s in (shared, local)
            if s is not None and (not self.bootstrap or s.bootstrap_refresh_token == self.bootstrap)
        ]
        if mine:
            best = max(mine, key=lambda s: (s.generation, s is shared))
            restore = best is local and (shared not in mine or local.generation > shared.generation)
            if restore and (self.unsaved is None or self.unsaved.generation < best.generation):
                log.warning(
                    "%s: the local token copy is newer than the Variable (refresh %d, the "
                    "Variable has %s): restoring it",
                    self.name,
                    best.generation,
                    shared.generation if shared in mine else "none",
                )
                self.unsaved = best
            return best
        if not self.bootstrap:
            raise AuthError(
                f"{self.name}: no refresh token in the connection and none stored; "
                "authorise the app and put its refresh token into the connection"
            )
        if shared is not None:
            log.info(
                "%s: the connection carries a new refresh token (re-authorised): starting from it",
                self.name,
            )
        return TokenState(refresh_token=self.bootstrap, bootstrap_refresh_token=self.bootstrap)

    def _usable(self, state: TokenState) -> bool:
        return (
            bool(state.access_token)
            and state.access_expires_at is not None
            and (state.access_expires_at - self.clock() > self.min_ttl)
        )

    def expiry_warning(self) -> str | None:
        """``refresh_token_warning`` for the stored state (reads the stores, calls nobody)."""
        return refresh_token_warning(
            self.current(), self.clock(), name=self.name, warn_days=self.warn_days
        )

    # -- handing out -------------------------------------------------------------------------
    def access_token(self) -> str:
        """A token with more than ``min_ttl`` seconds left; refreshes only when needed. The
        store is read once and then only when the token nears expiry (a Variable read is an
        API round trip inside a task)."""
        state = self._cached
        if state is None or not self._usable(state):
            state = self._cached = self.current()
        if self.unsaved is not None:
            self.flush()
        if self._usable(state):
            return state.access_token  # type: ignore[return-value]
        return self.refresh()

    def flush(self, *, force: bool = False) -> bool:
        """Try to get a state the Variable missed into it (at most once a minute unless
        ``force``); True when nothing is left unsaved."""
        if self.unsaved is None:
            return True
        if not force and self.clock() < self._next_flush:
            return False
        with self.lock():
            return self._flush_locked()

    def _flush_locked(self) -> bool:
        state = self.unsaved
        if state is None:
            return True
        self._next_flush = self.clock() + RETRY_UNSAVED_EVERY
        try:
            stored = self.store.load()
            if stored is None or (
                stored.bootstrap_refresh_token == state.bootstrap_refresh_token
                and stored.generation < state.generation
            ):
                self.store.save(replace(state, refreshing=None))
                log.info(
                    "%s: the rotated refresh token is in the Variable now (refresh %d)",
                    self.name,
                    state.generation,
                )
        except Exception as exc:  # noqa: BLE001 - any store failure: try again later
            log.warning(
                "%s: the Variable still cannot take the rotated refresh token (%s); the "
                "local copy keeps it; trying again in %.0f s",
                self.name,
                type(exc).__name__,
                RETRY_UNSAVED_EVERY,
            )
            return False
        self.unsaved = None
        return True

    def refresh(self, failed_access_token: str | None = None) -> str:
        """Refresh under the lock, unless another task already did (then use its token).
        ``failed_access_token``: the token a 401 refused (never handed out again)."""
        with self.lock():
            tried: set[str] = set()
            refused = False
            foreign: Claim | None = None  # the last other worker's claim seen
            for attempt in range(1, self.invalid_grant_attempts + 1):
                state = self._cached = self.current()
                if state.refreshing is not None and state.refreshing.by != self.owner:
                    foreign = state.refreshing
                if not self._usable(state) or state.access_token == failed_access_token:
                    state = self._cached = self._await_claim(state)
                if self._usable(state) and state.access_token != failed_access_token:
                    log.info("%s: another task refreshed the access token; using it", self.name)
                    self._flush_locked()
                    return state.access_token  # type: ignore[return-value]
                if state.refresh_token not in tried:
                    tried.add(state.refresh_token)
                    try:
                        return self._rotate(state)
                    except _Contended:
                        tried.discard(state.refresh_token)  # not sent: another worker is on it
                        continue
                    except InvalidGrant:
                        refused = True
                        log.warning(
                            "%s: the refresh token was refused (invalid_grant), attempt "
                            "%d of %d; re-reading the stored token",
                            self.name,
                            attempt,
                            self.invalid_grant_attempts,
                        )
                if attempt < self.invalid_grant_attempts:
                    self.sleep(self.rng.uniform(0.5, 1.5) * attempt)
        if not refused:
            raise TransientError(
                f"{self.name}: other workers kept claiming the refresh; trying again later"
            )
        raise AuthError(self._refused(foreign), code="invalid_grant")

    def _refused(self, claim: Claim | None) -> str:
        text = (
            f"{self.name}: the refresh token was refused (invalid_grant) and no newer one "
            f"was stored"
        )
        if claim is not None:
            text += (
                f"; {claim.by} was refreshing it at {_iso(claim.since)} and did not save the "
                f"answer: if that machine's local token copy survived, its next QuickBooks "
                f"task restores the token. Otherwise"
            )
        else:
            text += ". To go on"
        return f"{text}, {RECONNECT}"

    def _await_claim(self, state: TokenState) -> TokenState:
        """When another worker claimed a refresh with the token in hand (not long ago), wait
        for its answer rather than send the same token at once; after the lease, go on."""
        claim = state.refreshing
        if claim is None or claim.by == self.owner:
            return state
        if _died_here(claim):
            log.warning(
                "%s: %s claimed a refresh at %s and died (it ran on this machine): not "
                "waiting for it",
                self.name,
                claim.by,
                _iso(claim.since),
            )
            return state
        now = self.clock()
        wait = min(self.lease_seconds, claim.since + self.lease_seconds - now)
        if wait <= 0:
            return state
        log.info(
            "%s: %s is refreshing the token (since %s); waiting for its answer",
            self.name,
            claim.by,
            _iso(claim.since),
        )
        deadline = now + wait
        for _ in range(int(wait / 0.5) + 1):
            if self.clock() >= deadline:
                break
            self.sleep(self.rng.uniform(0.5, 1.0))
            fresh = self.current()
            if fresh.refreshing != claim or fresh.refresh_token != state.refresh_token:
                return fresh
        log.warning(
            "%s: %s did not finish its refresh within %.0f s; refreshing here",
            self.name,
            claim.by,
            self.lease_seconds,
        )
        return state

    # -- rotating ----------------------------------------------------------------------------
    def _claim(self, state: TokenState) -> TokenState:
        """Secure the place for the answer before asking for it: write our claim into the
        Variable and read it back after a moment (another machine may have claimed at the
        same time: then it goes first)."""
        claimed = replace(state, refreshing=Claim(self.owner, float(int(self.clock()))))
        try:
            self.store.save(claimed)
        except Exception as exc:  # noqa: BLE001 - any store failure stops the refresh
            raise TransientError(
                f"{self.name}: the token state cannot be written ({type(exc).__name__}); not "
                f"refreshing, so the refresh token in hand stays valid"
            ) from None
        self.sleep(self.rng.uniform(*self.settle))
        if not _holds(self.store.load(), claimed):
            raise _Contended()
        if self.unsaved is not None and self.unsaved.generation <= state.generation:
            self.unsaved = None  # the claim carried it into the Variable
        return claimed

    def _release(self, claimed: TokenState) -> None:
        """After a failed refresh: take our claim back, unless something replaced it."""
        with contextlib.suppress(Exception):
            if _holds(self.store.load(), claimed):
                self.store.save(replace(claimed, refreshing=None))

    def _rotate(self, state: TokenState) -> str:
        claimed = self._claim(state)
        try:
            tokens = self.refresher(state.refresh_token)
        except Exception:
            self._release(claimed)
            raise
        self.refreshes += 1
        self.on_tokens(tokens.access_token)
        if tokens.refresh_token:
            self.on_tokens(tokens.refresh_token)
        now = self.clock()
        lapses = refresh_expiry(now, tokens)
        new = TokenState(
            refresh_token=tokens.refresh_token or state.refresh_token,
            access_token=tokens.access_token,
            access_expires_at=float(int(now + float(tokens.expires_in))),
            bootstrap_refresh_token=state.bootstrap_refresh_token,
            refresh_expires_at=(
                float(int(lapses)) if lapses is not None else state.refresh_expires_at
            ),
            generation=state.generation + 1,
        )
        self._cached = new
        kept = self._keep_locally(new)
        saved = self._save(new, kept)
        if saved and new.refresh_token != state.refresh_token:
            log.info("%s: refresh token rotated and saved", self.name)
        warning = refresh_token_warning(new, now, name=self.name, warn_days=self.warn_days)
        if warning:
            log.warning("%s", warning)
        return tokens.access_token

    def _keep_locally(self, state: TokenState) -> bool:
        if self.journal is None:
            return False
        try:
            self.journal.save(state)
            return True
        except Exception as exc:  # noqa: BLE001 - the Variable still gets it
            log.warning(
                "%s: the local token copy cannot be written (%s); the Variable alone "
                "will hold the rotated token",
                self.name,
                type(exc).__name__,
            )
            return False

    def _save(self, state: TokenState, kept: bool) -> bool:
        """Save the rotated state to the Variable, retrying with back-off for
        ``save_patience`` seconds. When it still fails, the task goes on with the new token:
        ``unsaved`` holds the state, and later token requests try the Variable again."""
        deadline = self.clock() + self.save_patience
        delays = _backoff(self.save_patience)
        for attempt in range(1, len(delays) + 2):
            try:
                self.store.save(state)
                self.unsaved = None
                return True
            except Exception as exc:  # noqa: BLE001 - any store failure is retried the same way
                failure = type(exc).__name__
            left = deadline - self.clock()
            if attempt > len(delays) or left <= 0:
                break
            delay = min(delays[attempt - 1], left)
            log.warning(
                "%s: saving the rotated refresh token to the Variable failed (%s), "
                "attempt %d; trying again in %.1f s",
                self.name,
                failure,
                attempt,
                delay,
            )
            self.sleep(delay)
        self.unsaved = state
        self._next_flush = self.clock() + RETRY_UNSAVED_EVERY
        where = (
            "the local token copy on this machine keeps it (the next QuickBooks task here "
            "restores it too)"
            if kept
            else "only this process holds it"
        )
        log.error(
            "%s: the rotated refresh token could not be saved to the Variable for %.0f s "
            "(%s); %s; this task goes on with it and saves it to the Variable as soon as "
            "that works",
            self.name,
            self.save_patience,
            failure,
            where,
        )
        return False
