"""The sandbox Salesforce org as a ``SandboxService``: app, admin extras, faults, seed, reset.

The API answers under ``/services/data/v{version}/`` (REST, SOQL, collections, Bulk API 2.0)
and ``/services/oauth2/token`` / ``/services/Soap/u/{version}`` (login). Every data call needs
a live session (else 401 INVALID_SESSION_ID), counts against the daily API limit (else 403
REQUEST_LIMIT_EXCEEDED) and carries ``Sforce-Limit-Info``.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import logging
from collections import OrderedDict
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..common.admin import FaultRule
from ..common.service import ServiceContext, mark
from . import auth as auth_mod
from . import bulk, rest
from .auth import Auth
from .errors import SFError, invalid_session
from .ids import make_id
from .org import Org
from .schema import FieldDef, load_schema
from .seed import base_org, seed_org
from .store import Store

log = logging.getLogger("sfqb_sandbox.salesforce")


API_VERSION = "59.0"
DEFAULT_DAILY_LIMIT = 100_000
MAX_CURSORS = 50
_AUTH_META = ("sessions", "refresh_tokens", "long_lived_token", "session_ttl", "api_max")


class SalesforceService:
    name = "salesforce"
    fault_kinds = frozenset(
        {"expired_session", "request_limit", "unable_to_lock_row", "server_error"}
    )

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        # A copy: admin-added custom fields (POST /_sandbox/custom-field) stay in this org.
        self.schema = copy.deepcopy(load_schema())
        self.store = Store(ctx.data_dir / "salesforce.sqlite3")
        self.org = Org(self.schema, self.store, ctx.clock, API_VERSION)
        self.auth = Auth(self.store, ctx.clock)
        self.cursors: OrderedDict[str, dict] = OrderedDict()
        self.jobs: dict[str, dict] = {}
        self._cursor_n = 0
        if self.store.empty:
            base_org(self.org)
            self.store.persist(
                (s, r) for s, table in self.store.tables.items() for r in table.values()
            )
        self.auth.long_lived()
        for spec in self.store.meta.get("custom_fields", []):
            self._add_custom_field(spec)

    def _add_custom_field(self, spec: dict) -> FieldDef:
        """A custom field as an admin adds it in Setup (``POST /_sandbox/custom-field``)."""
        obj = self.org.obj(spec["object"])
        kind = spec.get("type", "string")
        text = kind in ("string", "textarea", "phone", "url", "email", "picklist")
        formula = bool(spec.get("formula"))
        f = FieldDef(
            name=spec["name"],
            label=spec.get("label") or spec["name"],
            type=kind,
            length=int(spec.get("length", 255 if text else 0)),
            precision=18 if kind in ("double", "currency", "percent") else 0,
            scale=int(spec.get("scale", 2)) if kind in ("double", "currency", "percent") else 0,
            external_id=bool(spec.get("external_id")),
            unique=bool(spec.get("external_id")),
            calculated=formula,
            createable=not formula,
            updateable=not formula,
            custom=True,
        )
        obj.fields[f.name] = f
        return f

    def _drop_custom_fields(self) -> None:
        for spec in self.store.meta.get("custom_fields", []):
            obj = self.schema.object(spec["object"])
            if obj is not None:
                obj.fields.pop(spec["name"], None)

    # --- SandboxService --------------------------------------------------------------------
    def build_app(self) -> FastAPI:
        app = FastAPI(
            title="sfqb sandbox: Salesforce", docs_url=None, redoc_url=None, openapi_url=None
        )

        @app.exception_handler(SFError)
        async def sf_error(request: Request, exc: SFError):
            self.org.rollback()
            self.org._dirty.clear()
            return exc.response(self.limit_headers())

        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException):
            if request.url.path.startswith("/_sandbox"):  # the admin surface keeps FastAPI's form
                return await http_exception_handler(request, exc)
            if exc.status_code == 405:
                return JSONResponse(
                    [
                        {
                            "errorCode": "METHOD_NOT_ALLOWED",
                            "message": f"HTTP Method '{request.method}' not allowed",
                        }
                    ],
                    status_code=405,
                )
            if exc.status_code == 404:
                return JSONResponse(
                    [
                        {
                            "errorCode": "NOT_FOUND",
                            "message": "The requested resource does not exist",
                        }
                    ],
                    status_code=404,
                )
            return JSONResponse(
                [{"errorCode": "UNKNOWN_EXCEPTION", "message": str(exc.detail)}],
                status_code=exc.status_code,
            )

        @app.exception_handler(Exception)
        async def unexpected(request: Request, exc: Exception):  # pragma: no cover - safety net
            log.exception("unexpected error in %s %s", request.method, request.url.path)
            self.org._dirty.clear()
            return JSONResponse(
                [
                    {
                        "errorCode": "UNKNOWN_EXCEPTION",
                        "message": f"An unexpected error occurred: {exc}",
                    }
                ],
                status_code=500,
            )

        @app.middleware("http")
        async def gate(request: Request, call_next):
            if not request.url.path.startswith("/services/data/v"):
                return await call_next(request)
            if not self.auth.valid(Auth.bearer(request)):
                return invalid_session().response()
            if self.api_remaining() <= 0:
                return SFError(
                    "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403
                ).response(self.limit_headers())
            self.store.meta["api_used"] = self.api_used() + 1
            response = await call_next(request)
            response.headers.update(self.limit_headers())
            return response

        @app.post("/services/oauth2/token")
        async def token(request: Request):
            mark(request, "oauth.token", write=False)
            return await self.auth.token_endpoint(request, self.ctx.base_url, self.org.user_id)

        @app.post("/services/Soap/u/{version}")
        async def soap_login(request: Request, version: str):
            mark(request, "soap.login", write=False)
            return await self.auth.soap_login(request, self.ctx.base_url, version, self.org.user_id)

        @app.get("/id/{org_id}/{user_id}")
        async def identity(request: Request, org_id: str, user_id: str):
            if not self.auth.valid(Auth.bearer(request)):
                return invalid_session().response()
            user = self.store.get("User", user_id) or {}
            return {
                "id": f"{self.ctx.base_url}/id/{org_id}/{user_id}",
                "user_id": user_id,
                "organization_id": org_id,
                "username": user.get("Username"),
                "email": user.get("Email"),
                "display_name": user.get("Name"),
            }

        rest.install(app, self)
        bulk.install(app, self)
        self.install_admin(app)
        return app

    def render_fault(self, rule: FaultRule, scope: dict[str, Any]) -> Response:
        if rule.kind == "expired_session":
            return invalid_session().response()
        if rule.kind == "request_limit":
            return SFError(
                "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403
            ).response(self.limit_headers())
        if rule.kind == "unable_to_lock_row":
            return LockRowFault()
        return JSONResponse(
            [
                {
                    "errorCode": "UNKNOWN_EXCEPTION",
                    "message": "An unexpected error occurred. Please include this "
                    "ErrorId if you contact support: 1234567890-12345 "
                    "(-1234567890)",
                }
            ],
            status_code=500,
        )

    def reset(self, seed_size: str | None) -> None:
        gc.disable()  # hundreds of thousands of new dicts: collection passes would dominate
        try:
            self._reset(seed_size)
        finally:
            gc.enable()

    def _reset(self, seed_size: str | None) -> None:
        keep = {k: self.store.meta[k] for k in _AUTH_META if k in self.store.meta}
        self._drop_custom_fields()
        self.store.clear()
        self.store.meta.update(keep)
        self.cursors.clear()
        self.jobs.clear()
        base_org(self.org)
        if seed_size:
            seed_org(self.org, seed_size)
        self.store.persist((s, r) for s, table in self.store.tables.items() for r in table.values())

    def seed(self, size: str) -> dict:
        self.reset(size)
        return {
            "seed": size,
            "counts": {
                name: sum(1 for r in t.values() if not r.get("IsDeleted"))
                for name, t in sorted(self.store.tables.items())
            },
        }

    def connection_info(self) -> dict:
        hostport = self.ctx.base_url.split("://", 1)[1]
        return {
            "instance_url": self.ctx.base_url,
            "access_token": self.auth.long_lived(),
            "api_version": API_VERSION,
            "token_url": f"{self.ctx.base_url}/services/oauth2/token",
            "username": auth_mod.USERNAME,
            "password": auth_mod.PASSWORD,
            "security_token": auth_mod.SECURITY_TOKEN,
            "consumer_key": auth_mod.CLIENT_ID,
            "consumer_secret": auth_mod.CLIENT_SECRET,
            "airflow_login": auth_mod.USERNAME,
            "airflow_password": auth_mod.PASSWORD,
            "airflow_extra": {
                "consumer_key": auth_mod.CLIENT_ID,
                "consumer_secret": auth_mod.CLIENT_SECRET,
                # simple-salesforce posts to https://{domain}.salesforce.com/services/oauth2/token;
                # the fragment swallows the suffix, so the login reaches the sandbox.
                "domain": f"{hostport}/services/oauth2/token#",
            },
        }

    def close(self) -> None:
        self.store.close()

    # --- helpers used by the routes ----------------------------------------------------------
    def api_max(self) -> int:
        return int(self.store.meta.get("api_max", DEFAULT_DAILY_LIMIT))

    def api_used(self) -> int:
        today = self.ctx.clock.now().date().isoformat()
        if self.store.meta.get("api_day") != today:
            self.store.meta["api_day"] = today
            self.store.meta["api_used"] = 0
        return int(self.store.meta.get("api_used", 0))

    def api_remaining(self) -> int:
        return self.api_max() - self.api_used()

    def limit_headers(self) -> dict:
        return {"Sforce-Limit-Info": f"api-usage={self.api_used()}/{self.api_max()}"}

    def limits_body(self) -> dict:
        def pair(mx: int, remaining: int) -> dict:
            return {"Max": mx, "Remaining": remaining}

        return {
            "DailyApiRequests": pair(self.api_max(), max(0, self.api_remaining())),
            "DailyBulkV2QueryJobs": pair(10000, 10000),
            "DailyBulkV2QueryFileStorageMB": pair(976562, 976562),
            "DailyBulkApiBatches": pair(15000, 15000),
            "DataStorageMB": pair(1024, 1024),
            "FileStorageMB": pair(1024, 1024),
            "ConcurrentAsyncGetReportInstances": pair(200, 200),
        }

    def render(self, obj, rec: dict, version: str, fields: list[str] | None) -> dict:
        out: dict = {
            "attributes": {
                "type": obj.name,
                "url": f"/services/data/v{version}/sobjects/{obj.name}/{rec['Id']}",
            }
        }
        if fields:
            for name in fields:
                f = obj.field(name.strip())
                if f is None:
                    raise SFError(
                        "INVALID_FIELD",
                        f"No such column '{name}' on entity "
                        f"'{obj.name}'. If you are attempting to use a custom field, "
                        "be sure to append the '__c' after the custom field name. "
                        "Please reference your WSDL or the describe call for the "
                        "appropriate names.",
                    )
                out[f.name] = rec.get(f.name)
            return out
        for name in obj.fields:
            out[name] = rec.get(name)
        return out

    def batch_size(self, request: Request) -> int:
        options = request.headers.get("sforce-query-options", "")
        for part in options.split(","):
            key, _, value = part.strip().partition("=")
            if key.lower() == "batchsize" and value.strip().isdigit():
                return max(200, min(2000, int(value)))
        return rest.BATCH_SIZE

    def page(
        self,
        rows: list,
        offset: int,
        batch: int,
        version: str,
        include_deleted: bool,
        cursor_id: str | None = None,
    ) -> dict:
        chunk = rows[offset : offset + batch]
        end = offset + len(chunk)
        body: dict = {"totalSize": len(rows), "done": end >= len(rows), "records": chunk}
        if end < len(rows):
            if cursor_id is None:
                self._cursor_n += 1
                cursor_id = make_id("01g", self._cursor_n)
                self.cursors[cursor_id] = {"rows": rows, "batch": batch}
                while len(self.cursors) > MAX_CURSORS:
                    self.cursors.popitem(last=False)
            endpoint = "queryAll" if include_deleted else "query"
            body["nextRecordsUrl"] = f"/services/data/v{version}/{endpoint}/{cursor_id}-{end}"
        elif cursor_id is not None:
            self.cursors.pop(cursor_id, None)
        return body

    def layouts(self, obj, version: str) -> dict:
        body = obj.describe_layouts(version)
        removed = set(self.store.meta.get("layout_removed", {}).get(obj.name, []))
        if not removed:
            return body
        body = copy.deepcopy(body)

        def keep(item: dict) -> bool:
            return not any(
                c.get("type") == "Field" and c.get("value") in removed
                for c in item.get("layoutComponents") or []
            )

        for layout in body.get("layouts") or []:
            for key in ("detailLayoutSections", "editLayoutSections"):
                for section in layout.get(key) or []:
                    for row in section.get("layoutRows") or []:
                        row["layoutItems"] = [i for i in row.get("layoutItems") or [] if keep(i)]
        return body

    # --- extra admin routes -----------------------------------------------------------------
    def install_admin(self, app: FastAPI) -> None:
        meta = self.store.meta

        async def body_of(request: Request) -> dict:
            raw = await request.body()
            return json.loads(raw) if raw else {}

        @app.get("/_sandbox/limits")
        async def get_limits():
            return {
                "max": self.api_max(),
                "used": self.api_used(),
                "remaining": self.api_remaining(),
            }

        @app.post("/_sandbox/limits")
        async def set_limits(request: Request):
            body = await body_of(request)
            self.api_used()
            if "max" in body:
                meta["api_max"] = int(body["max"])
            if "used" in body:
                meta["api_used"] = int(body["used"])
            self.store.save_meta()
            return await get_limits()

        @app.post("/_sandbox/session")
        async def session_settings(request: Request):
            body = await body_of(request)
            if "ttl_seconds" in body:
                self.auth.set_ttl(int(body["ttl_seconds"]))
            if body.get("expire_all"):
                self.auth.expire_all(keep_long_lived=bool(body.get("keep_long_lived", True)))
            return {"ttl_seconds": self.auth.ttl, "sessions": len(self.auth.sessions())}

        @app.post("/_sandbox/standard-pricebook")
        async def standard_pricebook(request: Request):
            body = await body_of(request)
            book = self.org.standard_pricebook()
            now = self.org.now()
            new = dict(
                book,
                IsActive=bool(body.get("active", True)),
                LastModifiedDate=now,
                SystemModstamp=now,
            )
            self.org._save("Pricebook2", new)
            self.org.flush()
            return {"id": new["Id"], "active": new["IsActive"]}

        @app.post("/_sandbox/layout")
        async def layout(request: Request):
            """Take a field off (``on_layout: false``) or back onto every layout of an object."""
            body = await body_of(request)
            if body.get("reset"):
                meta.pop("layout_removed", None)
                self.store.save_meta()
                return {"removed": {}}
            obj = self.org.obj(body["object"])
            f = obj.field(body["field"])
            if f is None:
                raise SFError("INVALID_FIELD", f"No such field {body['field']}")
            removed = meta.setdefault("layout_removed", {})
            names = set(removed.get(obj.name, []))
            if body.get("on_layout", False):
                names.discard(f.name)
            else:
                names.add(f.name)
            removed[obj.name] = sorted(names)
            self.store.save_meta()
            return {"removed": removed}

        @app.post("/_sandbox/validation-rules")
        async def add_validation_rule(request: Request):
            """``{"object", "when": {field: value}, "message", "field"?}``: saves of matching
            records fail with FIELD_CUSTOM_VALIDATION_EXCEPTION."""
            body = await body_of(request)
            obj = self.org.obj(body["object"])
            when = body.get("when") or {}
            for name in when:
                if obj.field(name) is None:
                    raise SFError("INVALID_FIELD", f"No such field {name} on {obj.name}")
            rule = {
                "object": obj.name,
                "when": when,
                "field": body.get("field"),
                "message": body.get("message") or "Validation rule failed",
            }
            meta.setdefault("validation_rules", []).append(rule)
            self.store.save_meta()
            return meta["validation_rules"]

        @app.delete("/_sandbox/validation-rules")
        async def clear_validation_rules():
            meta.pop("validation_rules", None)
            self.store.save_meta()
            return []

        @app.get("/_sandbox/flows")
        async def list_flows():
            """The package's Flows and whether each is active."""
            inactive = set(meta.get("inactive_flows", []))
            return {f.name: f.name not in inactive for f in self.org.schema.flows}

        @app.post("/_sandbox/flows")
        async def set_flow(request: Request):
            """``{"name", "active": false}``: deactivate one of the package's Flows (as an
            admin can in Setup), ``true`` to activate it again; kept until ``reset``."""
            body = await body_of(request)
            name = str(body.get("name") or "")
            if name not in {f.name for f in self.org.schema.flows}:
                raise SFError("NOT_FOUND", f"no Flow {name!r} in the package", status=404)
            inactive = set(meta.get("inactive_flows", []))
            if body.get("active", True):
                inactive.discard(name)
            else:
                inactive.add(name)
            meta["inactive_flows"] = sorted(inactive)
            self.store.save_meta()
            return await list_flows()

        @app.post("/_sandbox/custom-field")
        async def custom_field(request: Request):
            """Add a custom field (``{"object", "name": "X__c", "type"?, "length"?, "label"?,
            "external_id"?, "formula"?}``), kept until ``reset``: an org's own fields beyond
            the package, for custom field mappings."""
            body = await body_of(request)
            name = str(body.get("name") or "")
            if not name.endswith("__c") or self.org.obj(body["object"]).field(name) is not None:
                raise SFError(
                    "DUPLICATE_DEVELOPER_NAME" if name.endswith("__c") else "INVALID_FIELD",
                    f"cannot add the custom field {name!r} to {body['object']}",
                )
            f = self._add_custom_field(body)
            meta.setdefault("custom_fields", []).append(body)
            self.store.save_meta()
            return f.describe()

        @app.post("/_sandbox/bump-modstamp")
        async def bump(request: Request):
            """Touch SystemModstamp only, as a workflow or system change would."""
            body = await body_of(request)
            ids = body.get("ids") or [body["id"]]
            out = {i: self.org.bump_modstamp(body["object"], i) for i in ids}
            self.org.flush()
            return {"SystemModstamp": out}


class LockRowFault(Response):
    """UNABLE_TO_LOCK_ROW as Salesforce reports it: per record in a 200 answer for sObject
    Collections, a 400 error list for single-record calls. It reads the request body to know
    how many records the collection call carried."""

    def __init__(self) -> None:
        super().__init__(status_code=400)

    async def __call__(self, scope, receive, send) -> None:
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        error = {
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record or 1 records",
            "fields": [],
        }
        if "/composite/sobjects" in scope["path"]:
            count = 0
            with contextlib.suppress(ValueError, AttributeError):
                count = len(json.loads(b"".join(chunks) or b"{}").get("records") or [])
            if not count:
                query = scope.get("query_string", b"").decode()
                for part in query.split("&"):
                    if part.startswith("ids="):
                        count = len([i for i in part[4:].split("%2C") if i])
                        count = max(count, len([i for i in part[4:].split(",") if i]))
            body = [{"success": False, "errors": [error]} for _ in range(count)]
            response = JSONResponse(body, status_code=200)
        else:
            response = JSONResponse(
                [{"errorCode": "UNABLE_TO_LOCK_ROW", "message": error["message"], "fields": []}],
                status_code=400,
            )
        await response(scope, receive, send)
