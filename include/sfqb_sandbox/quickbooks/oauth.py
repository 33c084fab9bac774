"""Intuit OAuth 2.0 as the sandbox plays it: codes, access tokens, rotating refresh tokens.

Two readings of how a rotated refresh token dies (docs/sandbox-quickbooks.md, "Refresh tokens"),
chosen by the setting ``refresh_token_mode``:

- ``strict`` (the default): every refresh rotates the refresh token and the previous one dies
  at once (``grace_seconds`` can keep it alive a little);
- ``lenient``: the value changes only once it is ``rotation_seconds`` old (a day), and a
  superseded token keeps working until its own rolling expiry, answering with the newest
  token of its chain.

Every refresh token lives 100 days from its last use (rolling), never past the 5-year cap of
the authorisation it descends from; ``x_refresh_token_expires_in`` reports the earlier of the
two, ``x_refresh_token_hard_expires_in`` the cap (only when the request asks for it with the
``x-include-refresh-token-hard-expires-in: true`` header). The client authenticates with HTTP
Basic or with ``client_id``/``client_secret`` in the form (client_secret_post). Access tokens
live ``access_token_ttl_seconds`` (3600) and are bound to the realm. All records are persisted,
so a restart keeps issued tokens valid.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

REFRESH_TTL = 100 * 24 * 3600  # rolling 100 days (x_refresh_token_expires_in)
HARD_TTL = 5 * 365 * 24 * 3600  # the 5-year maximum since the November 2025 policy
CODE_TTL = 300


class OAuthError(Exception):
    def __init__(self, status: int, error: str, description: str = "") -> None:
        self.status = status
        self.error = error
        self.description = description
        super().__init__(f"{error}: {description}")

    def body(self) -> dict:
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        return body


REFRESH_TOKEN_MODES = ("strict", "lenient")
HARD_EXPIRES_HEADER = "x-include-refresh-token-hard-expires-in"


@dataclass
class OAuthSettings:
    access_token_ttl_seconds: int = 3600
    refresh_token_mode: str = "strict"
    rotation_seconds: int = 24 * 3600  # lenient: the age at which a refresh token's value changes
    rotate_refresh_token: bool = True  # False: the value never changes (either mode)
    grace_seconds: int = 0  # strict: how long a superseded token keeps working

    def update(self, body: dict) -> None:
        """Apply a partial update; a bad value raises ValueError and changes nothing."""
        mode = body.get("refresh_token_mode", self.refresh_token_mode)
        if mode not in REFRESH_TOKEN_MODES:
            raise ValueError(
                f"refresh_token_mode must be one of {list(REFRESH_TOKEN_MODES)}, not {mode!r}"
            )
        numbers = {
            key: int(body[key])
            for key in ("access_token_ttl_seconds", "grace_seconds", "rotation_seconds")
            if key in body
        }
        if any(value < 0 for value in numbers.values()):
            raise ValueError(f"settings in seconds cannot be negative: {numbers}")
        self.refresh_token_mode = mode
        for key, value in numbers.items():
            setattr(self, key, value)
        if "rotate_refresh_token" in body:
            self.rotate_refresh_token = bool(body["rotate_refresh_token"])


class OAuth:
    """Token bookkeeping; ``now`` is a clock timestamp (seconds)."""

    def __init__(
        self, store, realm_id: str, client_id: str, client_secret: str, redirect_uri: str
    ) -> None:
        self.store = store
        self.realm_id = realm_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.settings = OAuthSettings(**store.settings.get("oauth_settings", {}))
        self.tokens: dict[str, dict] = store.tokens()

    def save_settings(self) -> None:
        self.store.set_setting("oauth_settings", self.settings.__dict__)

    def _put(self, token: str, record: dict) -> None:
        self.tokens[token] = record
        self.store.put_token(token, record)

    def check_client(self, authorization: str | None, form: dict | None = None) -> None:
        """The two client authentication methods the discovery document lists: HTTP Basic
        (``client_secret_basic``) or ``client_id`` and ``client_secret`` in the form
        (``client_secret_post``). Basic may come with the form's ``client_id`` (the same one);
        a secret sent both ways is two methods at once (RFC 6749 2.3), refused."""
        form = form or {}
        if authorization and authorization.startswith("Basic "):
            try:
                client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise OAuthError(401, "invalid_client") from None
            if "client_secret" in form:
                raise OAuthError(
                    400,
                    "invalid_request",
                    "Use one client authentication method: "
                    "HTTP Basic or client_secret_post, not both",
                )
            if form.get("client_id", client_id) != client_id:
                raise OAuthError(401, "invalid_client")
        elif "client_id" in form or "client_secret" in form:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        else:
            raise OAuthError(
                401,
                "invalid_client",
                "Client authentication is required: HTTP "
                "Basic, or client_id and client_secret in the form",
            )
        if client_id != self.client_id or secret != self.client_secret:
            raise OAuthError(401, "invalid_client")

    def new_code(self, now: float, redirect_uri: str) -> str:
        code = "AB" + secrets.token_urlsafe(30)
        self._put(
            code,
            {
                "kind": "code",
                "realm": self.realm_id,
                "expires": now + CODE_TTL,
                "redirect_uri": redirect_uri,
                "used": False,
            },
        )
        return code

    def mint_refresh_token(self, now: float, hard_expires: float | None = None) -> str:
        """A new refresh token: an authorisation's first (its 5-year cap starts now, or at
        ``hard_expires``) or a rotation's successor (the cap it inherits)."""
        token = "RT1-" + secrets.token_urlsafe(36)
        hard = hard_expires or now + HARD_TTL
        self._put(
            token,
            {
                "kind": "refresh",
                "realm": self.realm_id,
                "issued": now,
                "expires": min(now + REFRESH_TTL, hard),
                "hard_expires": hard,
                "superseded": None,
                "successor": None,
                "revoked": False,
            },
        )
        return token

    def _issue(self, now: float, refresh_token: str, *, hard_expiry: bool = False) -> dict:
        access = "eyJ" + secrets.token_urlsafe(48)
        self._put(
            access,
            {
                "kind": "access",
                "realm": self.realm_id,
                "expires": now + self.settings.access_token_ttl_seconds,
                "refresh": refresh_token,
                "revoked": False,
            },
        )
        record = self.tokens[refresh_token]
        answer = {
            "token_type": "bearer",
            "expires_in": self.settings.access_token_ttl_seconds,
            "access_token": access,
            "refresh_token": refresh_token,
            "x_refresh_token_expires_in": int(min(record["expires"], record["hard_expires"]) - now),
        }
        if hard_expiry:
            answer["x_refresh_token_hard_expires_in"] = int(record["hard_expires"] - now)
        return answer

    def _extend(self, token: str, now: float) -> None:
        """A use of a refresh token extends its rolling expiry (never past its cap)."""
        record = self.tokens[token]
        record["expires"] = min(now + REFRESH_TTL, record["hard_expires"])
        self._put(token, record)

    def _newest(self, token: str) -> str:
        """The last token of the rotation chain ``token`` belongs to."""
        while (successor := self.tokens[token].get("successor")) in self.tokens:
            token = successor
        return token

    def _rotate(self, token: str, now: float) -> str:
        record = self.tokens[token]
        successor = self.mint_refresh_token(now, hard_expires=record["hard_expires"])
        record["superseded"] = now
        record["successor"] = successor
        self._put(token, record)
        return successor

    def _refresh_lenient(self, token: str, now: float) -> str:
        """Lenient: the chain's newest token answers; its value changes once it is
        ``rotation_seconds`` old. A superseded token is not refused."""
        newest = self._newest(token)
        record = self.tokens[newest]
        issued = record.get("issued", record["expires"] - REFRESH_TTL)
        if now - issued >= self.settings.rotation_seconds:
            return self._rotate(newest, now)
        self._extend(newest, now)
        return newest

    def token(self, form: dict, now: float, *, hard_expiry: bool = False) -> dict:
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = form.get("code") or ""
            record = self.tokens.get(code)
            if not record or record["kind"] != "code" or record["used"] or now > record["expires"]:
                raise OAuthError(
                    400, "invalid_grant", "The authorization code is invalid or expired"
                )
            if form.get("redirect_uri") != record["redirect_uri"]:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match")
            record["used"] = True
            self._put(code, record)
            return self._issue(now, self.mint_refresh_token(now), hard_expiry=hard_expiry)
        if grant == "refresh_token":
            token = form.get("refresh_token") or ""
            record = self.tokens.get(token)
            if not record or record["kind"] != "refresh" or record["revoked"]:
                raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
            if now > record["expires"] or now > record["hard_expires"]:
                raise OAuthError(400, "invalid_grant", "The refresh token has expired")
            if not self.settings.rotate_refresh_token:
                self._extend(token, now)
                return self._issue(now, token, hard_expiry=hard_expiry)
            if self.settings.refresh_token_mode == "lenient":
                self._extend(token, now)
                return self._issue(now, self._refresh_lenient(token, now), hard_expiry=hard_expiry)
            if (
                record["superseded"] is not None
                and now > record["superseded"] + self.settings.grace_seconds
            ):
                raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
            if record["successor"] and record["successor"] in self.tokens:
                # A retry inside the grace window gets the token it was already given.
                return self._issue(now, record["successor"], hard_expiry=hard_expiry)
            return self._issue(now, self._rotate(token, now), hard_expiry=hard_expiry)
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def revoke(self, token: str) -> None:
        """Revoke the authorisation: every refresh token of the chain ``token`` belongs to
        and every access token issued from them."""
        record = self.tokens.get(token)
        if record is None or record["kind"] == "code":
            raise OAuthError(400, "invalid_request", "Unknown token")
        refresh = token if record["kind"] == "refresh" else record.get("refresh")
        chain = {refresh}
        if refresh in self.tokens:
            newest = self._newest(refresh)
            chain = {
                value
                for value, other in self.tokens.items()
                if other["kind"] == "refresh" and self._newest(value) == newest
            }
        for value, other in self.tokens.items():
            if value == token or value in chain or other.get("refresh") in chain:
                other["revoked"] = True
                self.store.put_token(value, other)

    def check_access(self, authorization: str | None, realm_id: str, now: float) -> str:
        """Return the token or raise LookupError with the detail for the 401 body."""
        if not authorization or not authorization.startswith("Bearer "):
            raise LookupError("Authorization header is missing or not a Bearer token")
        token = authorization[7:].strip()
        record = self.tokens.get(token)
        if record is None or record["kind"] != "access" or record["revoked"]:
            raise LookupError("Token invalid")
        if now >= record["expires"]:
            raise LookupError("Token expired: " + token[:12] + "...")
        if realm_id != record["realm"]:
            raise LookupError("Token not valid for realm " + realm_id)
        return token

    def expire_access_tokens(self, now: float) -> int:
        count = 0
        for value, record in self.tokens.items():
            if record["kind"] == "access" and record["expires"] > now:
                record["expires"] = now
                self.store.put_token(value, record)
                count += 1
        return count
