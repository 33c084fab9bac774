"""The QuickBooks Online sandbox service: Intuit OAuth 2.0 plus the Accounting API v3 subset.

Plugs into the shared runner (``sfqb_sandbox.server``) through the ``SandboxService``
protocol. Handlers are ``async def`` on one event loop, so the in-memory company needs no
locks; every change is written through to SQLite in the service's data directory.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import urllib.parse
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sfqb_sandbox.common.admin import ADMIN_PREFIX, FaultRule
from sfqb_sandbox.common.service import ServiceContext, mark

from . import api
from .company import Company, public
from .faults import (
    DUPLICATE_DETAIL,
    STALE_DETAIL,
    QBOFault,
    auth_failed_response,
    json_response,
    throttle_response,
    unsupported_operation,
)
from .oauth import HARD_EXPIRES_HEADER, OAuth, OAuthError
from .schema import RESOURCES
from .seed import preferences, seed_company
from .store import Store
from .throttle import Throttle
from .values import qbo_time

log = logging.getLogger(__name__)

DEFAULT_REALM = "9341453050061234"
REDIRECT_URI = "https://localhost/sfqb/oauth/callback"
MAX_REQUEST_ID = 50
MAX_BATCH_REQUEST_ID = 36
OAUTH_POST_PATHS = ("/oauth2/v1/tokens/bearer", "/v2/oauth2/tokens/revoke")
API_PATH = re.compile(r"^/v3/company/([^/]+)/")


class QuickBooksService:
    name = "quickbooks"
    fault_kinds = frozenset(
        {
            "expired_token",
            "stale_object",
            "throttle",
            "throttle_xml",
            "server_error",
            "duplicate_name",
        }
    )

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.store = Store(ctx.data_dir / "quickbooks.sqlite3")
        settings = self.store.settings
        if "identity" not in settings:
            self.store.set_setting(
                "identity",
                {
                    "realm_id": DEFAULT_REALM,
                    "client_id": "AB" + secrets.token_hex(20),
                    "client_secret": secrets.token_hex(20),
                    "redirect_uri": REDIRECT_URI,
                },
            )
        self.identity = dict(self.store.settings["identity"])
        self.realm_id = self.identity["realm_id"]
        self.company = Company(self.store, ctx.clock, self.realm_id)
        self.oauth = OAuth(
            self.store,
            self.realm_id,
            self.identity["client_id"],
            self.identity["client_secret"],
            self.identity["redirect_uri"],
        )
        self.throttle = Throttle()
        self.start_refresh_token = self.oauth.mint_refresh_token(ctx.clock.timestamp())

    # -- SandboxService protocol -------------------------------------------------------------
    def connection_info(self) -> dict:
        base = self.ctx.base_url
        return {
            "discovery_url": f"{base}/.well-known/openid_configuration",
            "api_base": f"{base}/v3",
            "realm_id": self.realm_id,
            "client_id": self.identity["client_id"],
            "client_secret": self.identity["client_secret"],
            "redirect_uri": self.identity["redirect_uri"],
            "refresh_token": self.start_refresh_token,
        }

    def seed(self, size: str) -> dict:
        """Seed an empty company; a company that has data is left alone (use reset to replace)."""
        if not self.store.is_empty():
            return {
                "seeded": False,
                "size": size,
                "reason": "company already has data; "
                'POST /_sandbox/reset with {"seed": SIZE} to replace it',
            }
        counts = seed_company(self.store, size, self.realm_id, self.ctx.clock.now())
        return {"seeded": True, "size": size, "counts": counts}

    def reset(self, seed_size: str | None) -> None:
        self.store.wipe()
        for key in [k for k in self.store.settings if k.startswith("docnumber.")]:
            self.store.settings.pop(key)
            self.store.db.execute("DELETE FROM settings WHERE key = ?", (key,))
        self.throttle = Throttle()
        self.oauth.settings.__init__()
        self.oauth.save_settings()
        if seed_size:
            self.seed(seed_size)

    def close(self) -> None:
        self.store.close()

    def render_fault(self, rule: FaultRule, scope: dict[str, Any]) -> Response:
        now = self.ctx.clock.now()
        if rule.kind == "expired_token":
            return auth_failed_response(now, "Token expired (sandbox fault rule)")
        if rule.kind == "throttle":
            return throttle_response(now, rule.retry_after)
        if rule.kind == "throttle_xml":
            return throttle_response(now, rule.retry_after, xml=True)
        if rule.kind == "stale_object":
            return QBOFault("5010", STALE_DETAIL).response(now)
        if rule.kind == "duplicate_name":
            return QBOFault("6240", DUPLICATE_DETAIL).response(now)
        return QBOFault("10000", "sandbox fault rule: server_error").response(now)

    # -- the app -----------------------------------------------------------------------------
    def build_app(self) -> FastAPI:
        app = FastAPI(
            title="QuickBooks Online sandbox", docs_url=None, redoc_url=None, openapi_url=None
        )
        self._error_handlers(app)
        self._oauth_routes(app)
        self._api_routes(app)
        self._admin_routes(app)
        return app

    def _error_handlers(self, app: FastAPI) -> None:
        """Requests no route takes (an unknown path, a wrong method) and unexpected errors
        get Intuit's answers, not the web framework's: the API's ``Unsupported Operation``
        fault (after the usual token check), a 405 from the token and revoke endpoints, a
        ``SystemFault`` for a crash. The admin surface keeps FastAPI's answers."""

        @app.exception_handler(StarletteHTTPException)
        async def not_routed(request: Request, exc: StarletteHTTPException) -> Response:
            path = request.url.path
            if path.startswith(ADMIN_PREFIX) or exc.status_code not in (404, 405):
                return await http_exception_handler(request, exc)
            if path in OAUTH_POST_PATHS:
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "error_description": f"HTTP method {request.method} is not supported",
                    },
                    status_code=405,
                    headers={"Allow": "POST"},
                )
            now = self.ctx.clock.now()
            api = API_PATH.match(path)
            if api:
                try:
                    self.oauth.check_access(
                        request.headers.get("authorization"), api.group(1), now.timestamp()
                    )
                except LookupError as denied:
                    return auth_failed_response(now, str(denied))
            return unsupported_operation(request).response(now)

        @app.exception_handler(Exception)
        async def crashed(request: Request, exc: Exception) -> Response:
            log.exception(
                "QuickBooks sandbox: unexpected error in %s %s", request.method, request.url.path
            )
            return QBOFault("10000", f"System Failure Error: {type(exc).__name__}").response(
                self.ctx.clock.now()
            )

    def _now(self) -> float:
        return self.ctx.clock.timestamp()

    def _oauth_routes(self, app: FastAPI) -> None:
        base = self.ctx.base_url

        @app.get("/.well-known/openid_configuration")
        @app.get("/.well-known/openid_configuration/")
        async def discovery(request: Request) -> dict:
            mark(request, "oauth.discovery", write=False)
            return {
                "issuer": f"{base}/op/v1",
                "authorization_endpoint": f"{base}/connect/oauth2",
                "token_endpoint": f"{base}/oauth2/v1/tokens/bearer",
                "userinfo_endpoint": f"{base}/v1/openid_connect/userinfo",
                "revocation_endpoint": f"{base}/v2/oauth2/tokens/revoke",
                "jwks_uri": f"{base}/op/v1/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile", "address", "phone"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "client_secret_basic",
                ],
                "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            }

        @app.get("/connect/oauth2")
        async def authorize(request: Request) -> Response:
            """The consent screen, auto-approved: redirect back with a code and the realm."""
            mark(request, "oauth.authorize", write=False)
            params = request.query_params
            if params.get("client_id") != self.oauth.client_id:
                return JSONResponse({"error": "invalid_client"}, status_code=400)
            redirect = params.get("redirect_uri", "")
            if redirect != self.oauth.redirect_uri:
                return JSONResponse(
                    {
                        "error": "invalid_request",
                        "error_description": "redirect_uri is not registered",
                    },
                    status_code=400,
                )
            if (
                params.get("response_type") != "code"
                or "com.intuit.quickbooks.accounting" not in params.get("scope", "").split()
            ):
                return JSONResponse({"error": "invalid_scope"}, status_code=400)
            code = self.oauth.new_code(self._now(), redirect)
            query = urllib.parse.urlencode(
                {"code": code, "state": params.get("state", ""), "realmId": self.realm_id}
            )
            return RedirectResponse(f"{redirect}?{query}", status_code=302)

        @app.post("/oauth2/v1/tokens/bearer")
        async def token(request: Request) -> Response:
            form = dict(urllib.parse.parse_qsl((await request.body()).decode()))
            mark(request, f"token.{form.get('grant_type', 'unknown')}", write=False)
            headers = {"intuit_tid": secrets.token_hex(8)}
            hard_expiry = request.headers.get(HARD_EXPIRES_HEADER, "").lower() == "true"
            try:
                self.oauth.check_client(request.headers.get("authorization"), form)
                body = self.oauth.token(form, self._now(), hard_expiry=hard_expiry)
            except OAuthError as exc:
                return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
            return JSONResponse(body, headers={**headers, "Cache-Control": "no-store"})

        @app.post("/v2/oauth2/tokens/revoke")
        async def revoke(request: Request) -> Response:
            mark(request, "token.revoke", write=True)
            try:
                self.oauth.check_client(request.headers.get("authorization"))
                body = json.loads(await request.body() or b"{}")
                self.oauth.revoke(str(body.get("token", "")))
            except OAuthError as exc:
                return JSONResponse(exc.body(), status_code=exc.status)
            except ValueError:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            return Response(status_code=200)

        @app.get("/v1/openid_connect/userinfo")
        async def userinfo(request: Request) -> Response:
            mark(request, "oauth.userinfo", write=False)
            try:
                self.oauth.check_access(
                    request.headers.get("authorization"), self.realm_id, self._now()
                )
            except LookupError as exc:
                return auth_failed_response(self.ctx.clock.now(), str(exc))
            return JSONResponse(
                {
                    "sub": "sandbox-user-1",
                    "givenName": "Sandbox",
                    "familyName": "Owner",
                    "email": "owner@sandbox-widgets.example",
                    "emailVerified": True,
                }
            )

        @app.get("/op/v1/jwks")
        async def jwks(request: Request) -> dict:
            mark(request, "oauth.jwks", write=False)
            return {"keys": []}

    # -- v3 ----------------------------------------------------------------------------------
    async def _guarded(self, request: Request, realm: str, handler, units: int = 1) -> Response:
        """Auth, throttling, fault translation around one API call."""
        now = self.ctx.clock.now()
        try:
            self.oauth.check_access(request.headers.get("authorization"), realm, now.timestamp())
        except LookupError as exc:
            return auth_failed_response(now, str(exc))
        if realm != self.realm_id:
            return auth_failed_response(now, f"Token not valid for realm {realm}")
        minor = request.query_params.get("minorversion")
        if minor is not None and not minor.isdigit():
            return QBOFault("2010", f"Invalid minorversion {minor!r}").response(now)
        if not self.throttle.admit(now.timestamp(), units):
            return throttle_response(
                now, self.throttle.settings.retry_after, xml=self.throttle.settings.xml
            )
        try:
            if self.throttle.settings.work_ms:
                await asyncio.sleep(self.throttle.settings.work_ms / 1000)
            return await handler()
        except QBOFault as fault:
            return fault.response(self.ctx.clock.now())
        finally:
            self.throttle.release()

    def _envelope(self, payload: dict) -> Response:
        return json_response({**payload, "time": qbo_time(self.ctx.clock.now(), millis=True)})

    def _idempotent(self, request: Request, run) -> Response:
        """requestid replay (api-notes 2.10): the same id gets the stored response again."""
        request_id = request.query_params.get("requestid")
        if request_id is not None and len(request_id) > MAX_REQUEST_ID:
            raise QBOFault(
                "2050",
                f"requestid Max:{MAX_REQUEST_ID} supported. Supplied length:{len(request_id)}",
                element="requestid",
            )
        if request_id:
            stored = self.store.replay(request_id)
            if stored is not None:
                mark(request, "replay", write=False)
                return Response(stored[1], status_code=stored[0], media_type="application/json")
        try:
            response = run()
        except QBOFault as fault:
            response = fault.response(self.ctx.clock.now())
        if request_id and response.status_code in (200, 400):
            self.store.remember_request(
                request_id, response.status_code, bytes(response.body).decode(), self._now()
            )
        return response

    def _api_routes(self, app: FastAPI) -> None:
        company = self.company

        async def body_text(request: Request) -> str:
            try:
                return (await request.body()).decode("utf-8")
            except UnicodeDecodeError:
                raise QBOFault("4000", "QueryParserError: the query is not valid UTF-8") from None

        async def body_json(request: Request) -> Any:
            raw = await request.body()
            try:
                return json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise QBOFault("2010", "Request body is not valid JSON") from None

        @app.api_route("/v3/company/{realm}/query", methods=["GET", "POST"])
        async def query(realm: str, request: Request) -> Response:
            async def run() -> Response:
                text = (
                    request.query_params.get("query")
                    if request.method == "GET"
                    else await body_text(request)
                )
                found = re.search(r"\bfrom\s+(\w+)", text or "", re.IGNORECASE)
                mark(request, f"query.{found.group(1) if found else 'unknown'}", write=False)
                return self._envelope({"QueryResponse": api.run_query(company, text or "")})

            mark(request, "query", write=False)
            return await self._guarded(request, realm, run)

        @app.get("/v3/company/{realm}/cdc")
        async def cdc(realm: str, request: Request) -> Response:
            async def run() -> Response:
                params = request.query_params
                return json_response(
                    api.run_cdc(company, params.get("entities"), params.get("changedSince"))
                )

            mark(request, "cdc", write=False)
            return await self._guarded(request, realm, run)

        @app.post("/v3/company/{realm}/batch")
        async def batch(realm: str, request: Request) -> Response:
            async def run() -> Response:
                body = await body_json(request)
                items = body.get("BatchItemRequest") if isinstance(body, dict) else None
                if not isinstance(items, list) or not items:
                    raise QBOFault(
                        "2020", "Required parameter BatchItemRequest is missing in the request"
                    )
                if len(items) > api.BATCH_MAX:
                    raise QBOFault(
                        "2000",
                        f"Batch request size exceeds the limit: at most "
                        f"{api.BATCH_MAX} BatchItemRequest items, got "
                        f"{len(items)}",
                        message="Batch limit exceeded",
                    )
                request_id = request.query_params.get("requestid")
                if request_id and len(request_id) > MAX_BATCH_REQUEST_ID:
                    raise QBOFault(
                        "2050",
                        f"requestid Max:{MAX_BATCH_REQUEST_ID} supported on "
                        f"batch. Supplied length:{len(request_id)}",
                    )
                bids = [item.get("bId") if isinstance(item, dict) else None for item in items]
                if any(not bid for bid in bids) or len(set(bids)) != len(bids):
                    raise QBOFault("2020", "Every BatchItemRequest needs a unique bId")
                if request_id and any(len(str(bid)) > 10 for bid in bids):
                    raise QBOFault("2050", "bId Max:10 supported when requestid is set")
                now = self._now()
                if not self.throttle.admit_batch(now, len(items)):
                    return throttle_response(
                        self.ctx.clock.now(),
                        self.throttle.settings.retry_after,
                        xml=self.throttle.settings.xml,
                    )
                self.ctx.admin.count("batch.items", len(items))

                def execute() -> Response:
                    results, wrote = [], False
                    company.batch_created = set()
                    try:
                        for item in items:
                            try:
                                result, write = api.batch_item(company, item)
                                wrote = wrote or write
                                if item.get("operation") == "create":
                                    for entity, obj in result.items():
                                        company.batch_created.add((entity, obj["Id"]))
                            except QBOFault as fault:
                                result = {"Fault": fault.fault()}
                            except Exception as exc:  # one bad item must not sink the batch
                                result = {"Fault": QBOFault("10000", str(exc)).fault()}
                            results.append({"bId": item["bId"], **result})
                    finally:
                        company.batch_created = None
                    mark(request, "batch", write=wrote, n=1)
                    return self._envelope({"BatchItemResponse": results})

                return self._idempotent(request, execute)

            mark(request, "batch", write=False)
            return await self._guarded(request, realm, run)

        @app.get("/v3/company/{realm}/preferences")
        async def read_preferences(realm: str, request: Request) -> Response:
            async def run() -> Response:
                return self._envelope({"Preferences": public(company.get("Preferences", 1))})

            mark(request, "read.Preferences", write=False)
            return await self._guarded(request, realm, run)

        @app.get("/v3/company/{realm}/{resource}/{id_}")
        async def read(realm: str, resource: str, id_: str, request: Request) -> Response:
            entity = RESOURCES.get(resource)
            mark(request, f"read.{entity or resource}", write=False)

            async def run() -> Response:
                if entity is None:
                    raise unsupported_operation(request)
                key = "1" if entity == "CompanyInfo" and id_ == self.realm_id else id_
                return self._envelope({entity: public(company.get(entity, key))})

            return await self._guarded(request, realm, run)

        @app.get("/v3/company/{realm}/{resource}/{id_}/pdf")
        async def pdf(realm: str, resource: str, id_: str, request: Request) -> Response:
            entity = RESOURCES.get(resource)
            mark(request, f"pdf.{entity or resource}", write=False)

            async def run() -> Response:
                if entity not in ("Invoice", "SalesReceipt", "Estimate"):
                    raise unsupported_operation(request)
                obj = company.get(entity, id_)
                text = f"{entity} {obj.get('DocNumber', obj['Id'])} total {obj['TotalAmt']}"
                body = b"%PDF-1.4\n% sfqb sandbox\n" + text.encode() + b"\n%%EOF\n"
                return Response(body, media_type="application/pdf")

            return await self._guarded(request, realm, run)

        @app.post("/v3/company/{realm}/{resource}/{id_}/send")
        async def send(realm: str, resource: str, id_: str, request: Request) -> Response:
            entity = RESOURCES.get(resource)
            mark(request, f"send.{entity or resource}", write=True)

            async def run() -> Response:
                if entity not in ("Invoice", "SalesReceipt", "Estimate"):
                    raise unsupported_operation(request)
                obj = company.get(entity, id_)
                send_to = request.query_params.get("sendTo")
                if send_to:
                    if "@" not in send_to:
                        raise QBOFault(
                            "2210",
                            f"Email Address does not conform to the syntax "
                            f"rules of RFC 822: {send_to}",
                        )
                    obj["BillEmail"] = {"Address": send_to}
                elif not obj.get("BillEmail"):
                    raise QBOFault(
                        "6000",
                        "Business Validation Error: no email address to "
                        "send to (set BillEmail or sendTo)",
                    )
                obj["EmailStatus"] = "EmailSent"
                obj["DeliveryInfo"] = {
                    "DeliveryType": "Email",
                    "DeliveryTime": qbo_time(self.ctx.clock.now()),
                }
                company.bump(obj)
                self.store.put(entity, obj)
                return self._envelope({entity: public(obj)})

            return await self._guarded(request, realm, run)

        @app.post("/v3/company/{realm}/{resource}")
        async def write(realm: str, resource: str, request: Request) -> Response:
            entity = RESOURCES.get(resource)
            params = request.query_params
            operation = params.get("operation")
            if operation == "update" and params.get("include") == "void":
                operation = "void"

            async def run() -> Response:
                if entity is None:
                    raise unsupported_operation(request)
                payload = await body_json(request)
                if entity == "Preferences":
                    mark(request, "update.Preferences", write=True)
                    return self._idempotent(
                        request,
                        lambda: self._envelope({"Preferences": self._update_preferences(payload)}),
                    )
                if operation in ("delete", "void"):
                    op = operation
                    mark(request, f"{op}.{entity}", write=True)
                    method = company.delete if op == "delete" else company.void
                    return self._idempotent(
                        request, lambda: self._envelope({entity: public(method(entity, payload))})
                    )
                if operation not in (None, "update", "create"):
                    raise QBOFault("2170", f"Invalid Enumeration : operation {operation!r}")
                is_update = isinstance(payload, dict) and payload.get("Id") not in (
                    None,
                    "",
                    0,
                    "0",
                )
                mark(request, f"{'update' if is_update else 'create'}.{entity}", write=True)
                return self._idempotent(
                    request, lambda: self._envelope({entity: public(company.save(entity, payload))})
                )

            mark(request, f"write.{entity or resource}", write=True)
            return await self._guarded(request, realm, run)

    def _update_preferences(self, payload: Any) -> dict:
        current = self.company.get("Preferences", 1)
        if not isinstance(payload, dict):
            raise QBOFault("2010", "Request body must be a JSON object")
        self.company.check_sync(current, payload)
        sections = {k: v for k, v in payload.items() if k.endswith("Prefs") and isinstance(v, dict)}
        unknown = [
            k
            for k in payload
            if k not in sections and k not in ("Id", "SyncToken", "MetaData", "domain", "sparse")
        ]
        if unknown:
            raise QBOFault("2010", f'Property Name:Unrecognized field "{unknown[0]}"')
        for name, section in sections.items():
            current[name] = {**current.get(name, {}), **section}
        self.company.bump(current)
        self.store.put("Preferences", current)
        return current

    def set_custom_fields(self, fields: dict[str, str]) -> dict:
        """Define the sales-form custom fields (DefinitionId "1".."3" -> label)."""
        bad = [k for k in fields if k not in ("1", "2", "3")]
        if bad:
            raise ValueError(f"custom field slots are '1', '2' and '3', not {bad}")
        current = self.company.get("Preferences", 1)
        fresh = preferences(current["MetaData"], {k: str(v) for k, v in fields.items() if v})
        current["SalesFormsPrefs"]["CustomField"] = fresh["SalesFormsPrefs"]["CustomField"]
        self.company.bump(current)
        self.store.put("Preferences", current)
        return self.company.custom_field_definitions()

    # -- extra admin routes ------------------------------------------------------------------
    def _admin_routes(self, app: FastAPI) -> None:
        @app.post("/_sandbox/oauth/refresh-token")
        async def new_refresh_token(request: Request) -> Response:
            """A new authorisation's refresh token; ``{"hard_expires_in": seconds}`` sets how
            long before its 5-year cap (to test the warnings before it lapses)."""
            body = await request.json() if await request.body() else {}
            now = self._now()
            try:
                hard = float(body["hard_expires_in"]) if "hard_expires_in" in body else None
            except (TypeError, ValueError):
                return JSONResponse(
                    {"error": "hard_expires_in must be a number of seconds"}, status_code=400
                )
            token = self.oauth.mint_refresh_token(
                now, hard_expires=now + hard if hard is not None else None
            )
            return JSONResponse({"refresh_token": token, "realm_id": self.realm_id})

        @app.get("/_sandbox/oauth/settings")
        async def get_oauth_settings() -> dict:
            return self.oauth.settings.__dict__

        @app.post("/_sandbox/oauth/settings")
        async def set_oauth_settings(request: Request) -> Response:
            body = await request.json()
            unknown = set(body) - set(self.oauth.settings.__dict__)
            if unknown:
                return JSONResponse(
                    {"error": f"unknown settings {sorted(unknown)}"}, status_code=400
                )
            try:
                self.oauth.settings.update(body)
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
            self.oauth.save_settings()
            return JSONResponse(self.oauth.settings.__dict__)

        @app.post("/_sandbox/expire-tokens")
        async def expire_tokens() -> dict:
            return {"expired": self.oauth.expire_access_tokens(self._now())}

        @app.get("/_sandbox/throttle")
        async def get_throttle() -> dict:
            return self.throttle.describe(self._now())

        @app.post("/_sandbox/throttle")
        async def set_throttle(request: Request) -> Response:
            body = dict(await request.json())
            reset_windows = body.pop("reset_windows", False)
            try:
                self.throttle.settings.update(body)
            except (KeyError, TypeError, ValueError) as exc:
                return JSONResponse({"error": f"bad throttle setting: {exc}"}, status_code=400)
            if reset_windows:
                self.throttle.reset_windows()
            return JSONResponse(self.throttle.describe(self._now()))

        @app.delete("/_sandbox/throttle")
        async def reset_throttle() -> dict:
            self.throttle.reset_windows()
            return self.throttle.describe(self._now())

        @app.get("/_sandbox/preferences/custom-fields")
        async def get_custom_fields() -> dict:
            return self.company.custom_field_definitions()

        @app.post("/_sandbox/preferences/custom-fields")
        async def set_custom_fields(request: Request) -> Response:
            try:
                return JSONResponse(self.set_custom_fields(await request.json()))
            except (ValueError, AttributeError, QBOFault) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        @app.get("/_sandbox/info")
        async def info() -> dict:
            counts = {entity: len(table) for entity, table in self.store.objects.items()}
            return {"realm_id": self.realm_id, "counts": counts, "deleted": len(self.store.deleted)}
