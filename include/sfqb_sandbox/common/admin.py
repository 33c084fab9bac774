"""The ``/_sandbox/`` admin surface both servers share (not part of either real API).

- counters: requests per operation (``request.state.sandbox_op`` set by a handler, else
  ``METHOD /route/template``), and how many of them were writes;
- latency: a fixed delay plus uniform jitter added to every API request;
- faults: rules that make matching requests fail (HTTP 429/500/503, a dropped connection, a
  hang, a slow answer, or a service-specific fault such as an expired token or a stale object).

A rule matches on a path regex (``re.search``) and an optional method; ``skip`` lets the first
N matching requests through, ``times`` limits how often it fires, ``probability`` makes it
random (seeded, so runs repeat).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

if TYPE_CHECKING:
    from .service import ServiceContext

ADMIN_PREFIX = "/_sandbox"

# Fault kinds every service understands; services add their own (see SandboxService.fault_kinds).
# ``drop_after``: the request is handled (a write is applied), then the connection is dropped
# before the answer: the client cannot know whether it happened (a "lost answer").
GENERIC_FAULTS = frozenset(
    {"http_429", "http_500", "http_503", "drop", "drop_after", "hang", "slow", "status"}
)


@dataclass
class FaultRule:
    kind: str
    path: str = ".*"
    method: str | None = None
    times: int | None = 1
    skip: int = 0
    probability: float = 1.0
    retry_after: float | None = None
    delay_ms: int = 0
    status: int | None = None
    body: Any = None
    id: int = 0
    seen: int = 0
    fired: int = 0

    def public(self) -> dict:
        return asdict(self)


@dataclass
class AdminState:
    """Counters, latency and fault rules of one server. Mutated from the event loop only."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    counters: Counter = field(default_factory=Counter)
    writes: int = 0
    faults: list[FaultRule] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def count(self, key: str, n: int = 1, *, write: bool = False) -> None:
        with self._lock:
            self.counters[key] += n
            if write:
                self.writes += n

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "total": sum(self.counters.values()),
                "writes": self.writes,
                "by_operation": dict(sorted(self.counters.items())),
            }

    def clear_counters(self) -> None:
        with self._lock:
            self.counters.clear()
            self.writes = 0

    def add_fault(self, rule: FaultRule) -> FaultRule:
        rule.id = next(self._ids)
        self.faults.append(rule)
        return rule

    def match_fault(self, method: str, path: str) -> FaultRule | None:
        for rule in self.faults:
            if rule.method and rule.method.upper() != method.upper():
                continue
            if not re.search(rule.path, path):
                continue
            if rule.times is not None and rule.fired >= rule.times:
                continue
            rule.seen += 1
            if rule.seen <= rule.skip:
                continue
            if rule.probability < 1.0 and self.rng.random() >= rule.probability:
                continue
            rule.fired += 1
            return rule
        return None

    def delay_seconds(self) -> float:
        if not self.latency_ms and not self.jitter_ms:
            return 0.0
        return max(0.0, self.latency_ms + self.rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000


def generic_fault_response(rule: FaultRule) -> Response:
    """Plain HTTP faults; services render their own bodies for the kinds they know."""
    headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
    status = rule.status or {"http_429": 429, "http_500": 500, "http_503": 503}.get(rule.kind, 500)
    body = rule.body if rule.body is not None else {"error": f"sandbox fault {rule.kind}"}
    return JSONResponse(body, status_code=status, headers=headers)


class AdminMiddleware:
    """Pure ASGI middleware: latency, faults and counters around every non-admin request."""

    def __init__(self, app, ctx: ServiceContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        admin = self.ctx.admin
        delay = admin.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        rule = admin.match_fault(scope["method"], scope["path"])
        lose_answer = rule is not None and rule.kind == "drop_after"
        if rule is not None and not lose_answer:
            handled = await self._apply_fault(rule, scope, receive, send)
            if handled:
                admin.count(f"fault {rule.kind}")
                return
        state: dict[str, Any] = {}
        scope.setdefault("state", {})
        scope["state"]["sandbox"] = state
        counted = False

        def count() -> None:
            nonlocal counted
            if counted:
                return
            counted = True
            route = scope.get("route")
            key = state.get("op") or f"{scope['method']} {getattr(route, 'path', scope['path'])}"
            write = state.get("write", scope["method"] in ("POST", "PUT", "PATCH", "DELETE"))
            admin.count(key, state.get("n", 1), write=bool(write))

        async def send_counted(message) -> None:
            # count before the last byte leaves, so a client that reads the counters right
            # after its call always sees that call
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                count()
            if not lose_answer:
                await send(message)

        await self.app(scope, receive, send_counted)
        count()
        if lose_answer:
            admin.count("fault drop_after")
            transport = scope.get("extensions", {}).get("sfqb.transport")
            if transport is not None:
                transport.abort()
                return
            raise ConnectionAbortedError("sandbox fault: drop_after")

    async def _apply_fault(self, rule: FaultRule, scope, receive, send) -> bool:
        """Return True when the fault answered (or dropped) the request."""
        if rule.kind == "slow":
            await asyncio.sleep(rule.delay_ms / 1000)
            return False
        if rule.kind in ("drop", "hang"):
            if rule.kind == "hang":
                await asyncio.sleep((rule.delay_ms or 60_000) / 1000)
            transport = scope.get("extensions", {}).get("sfqb.transport")
            if transport is not None:
                transport.abort()
                return True
            raise ConnectionAbortedError("sandbox fault: drop")
        if rule.kind in GENERIC_FAULTS:
            response = generic_fault_response(rule)
        else:
            response = self.ctx.service.render_fault(rule, scope)
        await response(scope, receive, send)
        return True


def admin_router(ctx: ServiceContext) -> APIRouter:
    router = APIRouter(prefix=ADMIN_PREFIX, tags=["sandbox admin"])
    admin = ctx.admin

    @router.get("/health")
    async def health() -> dict:
        return {"service": ctx.service.name, "ok": True, "now": ctx.clock.now().isoformat()}

    @router.get("/counters")
    async def counters() -> dict:
        return admin.snapshot()

    @router.delete("/counters")
    async def clear_counters() -> dict:
        admin.clear_counters()
        return admin.snapshot()

    @router.get("/clock")
    async def get_clock() -> dict:
        return ctx.clock.describe()

    @router.post("/clock")
    async def set_clock(request: Request) -> dict:
        from .clock import parse_instant

        body = await request.json()
        if body.get("reset"):
            ctx.clock.reset()
        else:
            now = parse_instant(body["now"]) if body.get("now") else None
            ctx.clock.set(
                now, frozen=bool(body.get("frozen")), advance_seconds=body.get("advance_seconds")
            )
        return ctx.clock.describe()

    @router.get("/latency")
    async def get_latency() -> dict:
        return {"ms": admin.latency_ms, "jitter_ms": admin.jitter_ms}

    @router.post("/latency")
    async def set_latency(request: Request) -> dict:
        body = await request.json()
        admin.latency_ms = float(body.get("ms", 0))
        admin.jitter_ms = float(body.get("jitter_ms", 0))
        return {"ms": admin.latency_ms, "jitter_ms": admin.jitter_ms}

    @router.get("/faults")
    async def list_faults() -> list[dict]:
        return [rule.public() for rule in admin.faults]

    @router.post("/faults")
    async def add_fault(request: Request) -> dict:
        body = await request.json()
        kinds = GENERIC_FAULTS | ctx.service.fault_kinds
        if body.get("kind") not in kinds:
            raise HTTPException(
                400, f"unknown fault kind {body.get('kind')!r}; one of {sorted(kinds)}"
            )
        allowed = set(FaultRule.__dataclass_fields__) - {"id", "seen", "fired"}
        unknown = set(body) - allowed
        if unknown:
            raise HTTPException(400, f"unknown fault fields {sorted(unknown)}")
        return admin.add_fault(FaultRule(**body)).public()

    @router.delete("/faults")
    async def clear_faults() -> list:
        admin.faults.clear()
        return []

    @router.post("/reset")
    async def reset(request: Request) -> dict:
        body = await request.json() if await request.body() else {}
        admin.faults.clear()
        admin.clear_counters()
        admin.latency_ms = admin.jitter_ms = 0.0
        ctx.service.reset(body.get("seed"))
        return {"reset": True, "seed": body.get("seed")}

    @router.post("/seed")
    async def seed(request: Request) -> dict:
        body = await request.json()
        return ctx.service.seed(str(body.get("size", "tiny")))

    return router
