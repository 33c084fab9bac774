"""Login: OAuth 2.0 token endpoint (password, client_credentials, refresh_token) and SOAP login.

Sessions are bearer tokens with an expiry on the sandbox clock (default 2 h, settable through
``POST /_sandbox/session``). The long-lived session in connections.json is for direct use
(``Salesforce(instance_url=..., session_id=...)``); Airflow goes through the password grant.
Everything is kept in the store's meta table so sessions survive a restart.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from xml.sax.saxutils import escape

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from .ids import ORG_ID

CLIENT_ID = "3MVG9sfqbSandboxConnectedAppConsumerKey.local"
CLIENT_SECRET = "sfqb-sandbox-consumer-secret"
USERNAME = "integration@sfqb-sandbox.example.com"
PASSWORD = "sandbox-Passw0rd"
SECURITY_TOKEN = "SANDBOXSECURITYTOKEN"
DEFAULT_TTL = 7200
LONG_LIVED_TTL = 10 * 365 * 86400


class Auth:
    def __init__(self, store, clock) -> None:
        self.store = store
        self.clock = clock

    @property
    def meta(self) -> dict:
        return self.store.meta

    @property
    def ttl(self) -> int:
        return int(self.meta.get("session_ttl", DEFAULT_TTL))

    def set_ttl(self, seconds: int) -> None:
        self.meta["session_ttl"] = int(seconds)
        self.store.save_meta()

    def sessions(self) -> dict:
        return self.meta.setdefault("sessions", {})

    def issue(self, ttl: int | None = None) -> str:
        token = f"{ORG_ID[:15]}!AQ" + secrets.token_urlsafe(48)
        now = self.clock.timestamp()
        sessions = self.sessions()
        for key in [k for k, exp in sessions.items() if exp < now]:
            del sessions[key]
        sessions[token] = now + (ttl if ttl is not None else self.ttl)
        self.store.save_meta()
        return token

    def long_lived(self) -> str:
        token = self.meta.get("long_lived_token")
        if not token or token not in self.sessions():
            token = self.issue(LONG_LIVED_TTL)
            self.meta["long_lived_token"] = token
            self.store.save_meta()
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expires = self.sessions().get(token)
        return expires is not None and expires > self.clock.timestamp()

    def expire_all(self, keep_long_lived: bool = False) -> None:
        keep = self.meta.get("long_lived_token") if keep_long_lived else None
        for key in list(self.sessions()):
            if key != keep:
                del self.sessions()[key]
        self.store.save_meta()

    @staticmethod
    def bearer(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            return header[7:].strip()
        if header[:6].lower() == "oauth ":
            return header[6:].strip()
        return None

    def password_ok(self, username: str | None, password: str | None) -> bool:
        return (username or "").lower() == USERNAME and password in (
            PASSWORD,
            PASSWORD + SECURITY_TOKEN,
        )

    def refresh_tokens(self) -> dict:
        return self.meta.setdefault("refresh_tokens", {})

    async def token_endpoint(self, request: Request, base_url: str, user_id: str) -> Response:
        form = dict(await request.form())
        grant = form.get("grant_type")
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        header = request.headers.get("authorization", "")
        if header[:6].lower() == "basic ":
            try:
                client_id, _, client_secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return _oauth_error("invalid_client", "invalid client credentials")
        if grant not in ("password", "client_credentials", "refresh_token"):
            return _oauth_error("unsupported_grant_type", "grant type not supported")
        if client_id != CLIENT_ID:
            return _oauth_error("invalid_client_id", "client identifier invalid")
        if grant != "refresh_token" and client_secret != CLIENT_SECRET:
            return _oauth_error("invalid_client", "invalid client credentials")
        refresh = None
        if grant == "password":
            if not self.password_ok(form.get("username"), form.get("password")):
                return _oauth_error("invalid_grant", "authentication failure")
            refresh = "5Aep861" + secrets.token_urlsafe(40)
            self.refresh_tokens()[refresh] = True
        elif grant == "refresh_token":
            if client_secret is not None and client_secret != CLIENT_SECRET:
                return _oauth_error("invalid_client", "invalid client credentials")
            if form.get("refresh_token") not in self.refresh_tokens():
                return _oauth_error("invalid_grant", "expired access/refresh token")
        token = self.issue()
        issued = str(int(self.clock.timestamp() * 1000))
        body = {
            "access_token": token,
            "instance_url": base_url,
            "id": f"{base_url}/id/{ORG_ID}/{user_id}",
            "token_type": "Bearer",
            "issued_at": issued,
            "signature": base64.b64encode(
                hashlib.sha256(f"{token}{issued}".encode()).digest()
            ).decode(),
            "scope": "api refresh_token" if grant == "password" else "api",
        }
        if refresh:
            body["refresh_token"] = refresh
        return JSONResponse(body)

    async def soap_login(
        self, request: Request, base_url: str, version: str, user_id: str
    ) -> Response:
        from xml.dom import minidom

        try:
            doc = minidom.parseString(await request.body())
            username = _text(doc, "username")
            password = _text(doc, "password")
        except Exception:  # noqa: BLE001 - any unparsable envelope is a SOAP fault
            username = password = None
        if not self.password_ok(username, password):
            return Response(_SOAP_FAULT, status_code=500, media_type="text/xml")
        token = self.issue()
        xml = _SOAP_OK.format(
            server_url=escape(f"{base_url}/services/Soap/u/{version}/{ORG_ID[:15]}"),
            session=escape(token),
            user=user_id,
            ttl=self.ttl,
        )
        return Response(xml, media_type="text/xml")


def _text(doc, local_name: str) -> str | None:
    for node in doc.getElementsByTagName("*"):
        if node.localName == local_name and node.firstChild is not None:
            return node.firstChild.nodeValue
    return None


def _oauth_error(error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


_SOAP_OK = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns="urn:partner.soap.sforce.com"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{server_url}</metadataServerUrl><passwordExpired>false</passwordExpired>\
<sandbox>true</sandbox><serverUrl>{server_url}</serverUrl><sessionId>{session}</sessionId>\
<userId>{user}</userId><userInfo><sessionSecondsValid>{ttl}</sessionSecondsValid></userInfo>\
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" \
xmlns:sf="urn:fault.partner.soap.sforce.com"><soapenv:Body><soapenv:Fault>\
<faultcode>sf:INVALID_LOGIN</faultcode><faultstring>INVALID_LOGIN: Invalid username, password, \
security token; or user locked out.</faultstring><detail><sf:LoginFault>\
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode><sf:exceptionMessage>Invalid username, \
password, security token; or user locked out.</sf:exceptionMessage></sf:LoginFault></detail>\
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""
