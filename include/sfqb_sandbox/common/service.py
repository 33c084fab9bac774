"""The plug-in interface between the shared server runner and each sandbox service."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.responses import Response

from .admin import AdminMiddleware, AdminState, FaultRule, admin_router
from .clock import Clock


@dataclass
class ServiceContext:
    """What a service gets from the runner: where its data lives, the clock, the admin state."""

    name: str
    data_dir: Path
    clock: Clock
    base_url: str = ""
    admin: AdminState = field(default_factory=AdminState)
    service: SandboxService | None = None


class SandboxService(Protocol):
    """One sandbox server (QuickBooks Online or Salesforce).

    ``build_app`` returns the FastAPI app with the service's real API routes; the runner adds
    the ``/_sandbox/`` admin routes and middleware. A service answers admin calls through
    ``reset``/``seed``/``render_fault`` and describes itself for connections.json.
    """

    name: str
    fault_kinds: frozenset[str]

    def build_app(self) -> FastAPI: ...

    def render_fault(self, rule: FaultRule, scope: dict[str, Any]) -> Response: ...

    def reset(self, seed_size: str | None) -> None: ...

    def seed(self, size: str) -> dict: ...

    def connection_info(self) -> dict: ...

    def close(self) -> None: ...


def assemble(service: SandboxService, ctx: ServiceContext) -> FastAPI:
    """The service's app plus the shared admin surface and middleware."""
    ctx.service = service
    app = service.build_app()
    app.include_router(admin_router(ctx))
    app.add_middleware(AdminMiddleware, ctx=ctx)
    return app


def mark(request: Request, op: str, *, write: bool | None = None, n: int = 1) -> None:
    """Name the operation a request performed, for the admin counters."""
    info = request.scope.setdefault("state", {}).setdefault("sandbox", {})
    info["op"] = op
    info["n"] = n
    if write is not None:
        info["write"] = write
