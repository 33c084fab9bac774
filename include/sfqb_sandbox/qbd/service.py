"""The QuickBooks Desktop company over HTTP, for a Web Connector emulator in another process.

- ``POST /qbxml/open`` ``{"company_file": "..."}`` -> 200 ``{"company_file": path}`` or 503
  ``{"hresult": "0x8004....", "message": "..."}``;
- ``POST /qbxml`` (``Content-Type: text/xml``, the request message set) -> 200 with the
  response message set, 503 (same JSON) when QuickBooks is unavailable, 400 (same JSON, hresult
  0x80040400) when the message set does not parse; a lost answer (fault) drops the connection
  after the message set was applied;
- ``POST /qbxml/close`` -> 200 ``{}``;
- the admin counters (``GET /_sandbox/counters``) count a message set as operation ``qbxml``,
  or ``qbxml.write`` once per write request in it (every request but a query: adds, mods,
  deletes, voids), those counted as writes, whether QuickBooks applied them or refused them;
- admin, beside the shared ``/_sandbox/`` routes: ``GET/POST /_sandbox/company`` (edition,
  time zone, company file, iterator timeout, QuickBooks' state), ``POST
  /_sandbox/company/restart``, ``GET/POST/DELETE /_sandbox/company/faults``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from sfqb_sandbox.common.admin import FaultRule
from sfqb_sandbox.common.service import ServiceContext, mark

from .company import DesktopCompany, ResponseLost
from .errors import HR_CANNOT_START, CompanyUnavailable, QbxmlParseError, RequestProcessorError
from .seed import seed_company

REQUEST_TAG = re.compile(r"<(\w+Rq)\b")


def write_requests(message_set: str) -> int:
    """How many requests of a message set change the company (every one but a query)."""
    return sum(
        1
        for tag in REQUEST_TAG.findall(message_set)
        if tag != "QBXMLMsgsRq" and not tag.endswith("QueryRq")
    )


class DesktopService:
    name = "quickbooks_desktop"
    fault_kinds = frozenset({"unavailable"})

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx
        self.company = DesktopCompany(ctx.data_dir, ctx.clock)

    # -- SandboxService protocol -------------------------------------------------------------
    def connection_info(self) -> dict:
        return {
            "qbxml_url": f"{self.ctx.base_url}/qbxml",
            "company_file": self.company.company_file,
            "edition": self.company.edition,
            "time_zone": self.company.settings["time_zone"],
        }

    def seed(self, size: str) -> dict:
        if not self.company.store.is_empty():
            return {"seeded": False, "size": size, "reason": "company already has data"}
        with self.company.lock:
            counts = seed_company(
                self.company.store, size, self.ctx.clock.timestamp(), edition=self.company.edition
            )
        return {"seeded": True, "size": size, "counts": counts}

    def reset(self, seed_size: str | None) -> None:
        with self.company.lock:
            self.company.store.wipe()
            self.company.clear_faults()
            self.company.restart()
        if seed_size:
            self.seed(seed_size)

    def close(self) -> None:
        self.company.store.close()

    def render_fault(self, rule: FaultRule, scope: dict[str, Any]) -> Response:
        status = rule.status or 503
        body = rule.body or {"hresult": HR_CANNOT_START, "message": "Could not start QuickBooks."}
        return JSONResponse(body, status_code=status)

    # -- the app -----------------------------------------------------------------------------
    def build_app(self) -> FastAPI:
        app = FastAPI(
            title="QuickBooks Desktop sandbox", docs_url=None, redoc_url=None, openapi_url=None
        )
        company = self.company

        @app.post("/qbxml/open")
        async def open_file(request: Request) -> Response:
            mark(request, "qbxml.open", write=False)
            body = await request.json() if await request.body() else {}
            try:
                path = await run_in_threadpool(company.open, str(body.get("company_file", "")))
            except CompanyUnavailable as exc:
                return JSONResponse(exc.public(), status_code=503)
            return JSONResponse({"company_file": path})

        @app.post("/qbxml")
        async def process(request: Request) -> Response:
            text = (await request.body()).decode("utf-8", errors="replace")
            writes = write_requests(text)
            if writes:
                mark(request, "qbxml.write", write=True, n=writes)
            else:
                mark(request, "qbxml", write=False)
            try:
                answer = await run_in_threadpool(company.process, text)
            except ResponseLost:
                transport = request.scope.get("extensions", {}).get("sfqb.transport")
                if transport is not None:
                    transport.abort()
                return Response(status_code=500)
            except CompanyUnavailable as exc:
                return JSONResponse(exc.public(), status_code=503)
            except QbxmlParseError as exc:
                return JSONResponse({**exc.public(), "detail": exc.detail}, status_code=400)
            except RequestProcessorError as exc:
                return JSONResponse(exc.public(), status_code=500)
            return Response(answer, media_type="text/xml")

        @app.post("/qbxml/close")
        async def close_file(request: Request) -> dict:
            mark(request, "qbxml.close", write=False)
            await run_in_threadpool(company.close)
            return {}

        @app.get("/_sandbox/company")
        async def describe() -> dict:
            return company.describe()

        @app.post("/_sandbox/company")
        async def configure(request: Request) -> Response:
            try:
                return JSONResponse(company.configure(**(await request.json())))
            except (ValueError, TypeError, KeyError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        @app.post("/_sandbox/company/restart")
        async def restart() -> dict:
            company.restart()
            return company.describe()

        @app.get("/_sandbox/company/faults")
        async def faults() -> list:
            return [f.public() for f in company.faults]

        @app.post("/_sandbox/company/faults")
        async def add_fault(request: Request) -> Response:
            try:
                return JSONResponse(company.add_fault(**(await request.json())))
            except (ValueError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)

        @app.delete("/_sandbox/company/faults")
        async def clear_faults() -> list:
            company.clear_faults()
            return []

        @app.get("/_sandbox/company/counters")
        async def counters() -> dict:
            return dict(company.counters)

        return app
