"""Intuit OAuth 2.0 as the sandbox plays it: codes, access tokens, rotating refresh tokens.

Strictest reading of api-spec 2.1.2: every refresh rotates the refresh token and the previous
one dies immediately (``grace_seconds`` can keep it alive a little, as a setting). Access tokens
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


@dataclass
class OAuthSettings:
    access_token_ttl_seconds: int = 3600
    rotate_refresh_token: bool = True
    grace_seconds: int = 0

    def update(self, body: dict) -> None:
        for key in ("access_token_ttl_seconds", "grace_seconds"):
            if key in body:
                setattr(self, key, int(body[key]))
        if "rotate_refresh_token" in body:
            self.rotate_refresh_token = bool(body["rotate_refresh_token"])


class OAuth:
    """Token bookkeeping; ``now`` is a clock timestamp (seconds)."""

    def __init__(self, store, realm_id: str, client_id: str, client_secret: str,
                 redirect_uri: str) -> None:
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

    def check_client(self, authorization: str | None) -> None:
        if not authorization or not authorization.startswith("Basic "):
            raise OAuthError(401, "invalid_client", "Basic client authentication is required")
        try:
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            raise OAuthError(401, "invalid_client") from None
        if client_id != self.client_id or secret != self.client_secret:
            raise OAuthError(401, "invalid_client")

    def new_code(self, now: float, redirect_uri: str) -> str:
        code = "AB" + secrets.token_urlsafe(30)
        self._put(code, {"kind": "code", "realm": self.realm_id, "expires": now + CODE_TTL,
                         "redirect_uri": redirect_uri, "used": False})
        return code

    def mint_refresh_token(self, now: float, hard_expires: float | None = None) -> str:
        token = "RT1-" + secrets.token_urlsafe(36)
        self._put(token, {"kind": "refresh", "realm": self.realm_id,
                          "expires": now + REFRESH_TTL,
                          "hard_expires": hard_expires or now + HARD_TTL,
                          "superseded": None, "successor": None, "revoked": False})
        return token

    def _issue(self, now: float, refresh_token: str) -> dict:
        access = "eyJ" + secrets.token_urlsafe(48)
        self._put(access, {"kind": "access", "realm": self.realm_id,
                           "expires": now + self.settings.access_token_ttl_seconds,
                           "refresh": refresh_token, "revoked": False})
        record = self.tokens[refresh_token]
        return {
            "token_type": "bearer",
            "expires_in": self.settings.access_token_ttl_seconds,
            "access_token": access,
            "refresh_token": refresh_token,
            "x_refresh_token_expires_in": int(record["expires"] - now),
            "x_refresh_token_hard_expires_in": int(record["hard_expires"] - now),
        }

    def token(self, form: dict, now: float) -> dict:
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = form.get("code") or ""
            record = self.tokens.get(code)
            if not record or record["kind"] != "code" or record["used"] or now > record["expires"]:
                raise OAuthError(400, "invalid_grant", "The authorization code is invalid or "
                                                       "expired")
            if form.get("redirect_uri") != record["redirect_uri"]:
                raise OAuthError(400, "invalid_grant", "redirect_uri does not match")
            record["used"] = True
            self._put(code, record)
            return self._issue(now, self.mint_refresh_token(now))
        if grant == "refresh_token":
            token = form.get("refresh_token") or ""
            record = self.tokens.get(token)
            if not record or record["kind"] != "refresh" or record["revoked"]:
                raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
            if now > record["expires"] or now > record["hard_expires"]:
                raise OAuthError(400, "invalid_grant", "The refresh token has expired")
            if record["superseded"] is not None and \
                    now > record["superseded"] + self.settings.grace_seconds:
                raise OAuthError(400, "invalid_grant", "Incorrect or invalid refresh token")
            if not self.settings.rotate_refresh_token:
                record["expires"] = now + REFRESH_TTL
                self._put(token, record)
                return self._issue(now, token)
            if record["successor"] and record["successor"] in self.tokens:
                # A retry inside the grace window gets the token it was already given.
                return self._issue(now, record["successor"])
            successor = self.mint_refresh_token(now, hard_expires=record["hard_expires"])
            record["superseded"] = now
            record["successor"] = successor
            self._put(token, record)
            return self._issue(now, successor)
        raise OAuthError(400, "unsupported_grant_type", f"grant_type {grant!r} is not supported")

    def revoke(self, token: str) -> None:
        record = self.tokens.get(token)
        if record is None or record["kind"] == "code":
            raise OAuthError(400, "invalid_request", "Unknown token")
        refresh = token if record["kind"] == "refresh" else record.get("refresh")
        for value, other in self.tokens.items():
            if value in (refresh, token) or other.get("refresh") == refresh:
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
