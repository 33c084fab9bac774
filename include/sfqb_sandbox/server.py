"""Run the sandbox servers: one process, one event loop, one HTTPS port per service."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import socket
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from .common.clock import Clock
from .common.service import SandboxService, ServiceContext, assemble
from .common.tls import WILDCARD_ADDRESSES, ensure_tls

log = logging.getLogger("sfqb_sandbox")

# name -> "module:Class"; a service whose module is not there yet is skipped with a log line.
SERVICES = {
    "quickbooks": "sfqb_sandbox.quickbooks.service:QuickBooksService",
    "salesforce": "sfqb_sandbox.salesforce.service:SalesforceService",
    # QuickBooks Desktop (a company file answering qbXML); started with --quickbooks desktop
    "quickbooks_desktop": "sfqb_sandbox.qbd.service:DesktopService",
}
# Started when no --only is given; the Desktop company replaces Online with --quickbooks.
QUICKBOOKS_EDITIONS = {
    "online": ("quickbooks", "salesforce"),
    "desktop": ("quickbooks_desktop", "salesforce"),
    "both": ("quickbooks", "quickbooks_desktop", "salesforce"),
}
CONNECTIONS_FILE = "connections.json"


class SandboxHttpProtocol(HttpToolsProtocol):
    """uvicorn's protocol, exposing the transport so a fault rule can drop the connection."""

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"sfqb.transport": self.transport}


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):  # the runner handles signals for all servers at once
        yield


def _bind(host: str, port: int) -> socket.socket:
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on accepted sockets whose proto says
    # TCP; with proto 0 every keep-alive response stalls ~40 ms (Nagle + delayed ACK).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def load_service(name: str, ctx: ServiceContext) -> SandboxService | None:
    module_name, _, cls_name = SERVICES[name].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            log.warning("sandbox service %s is not available (%s)", name, exc)
            return None
        raise
    return getattr(module, cls_name)(ctx)


def advertised_host(host: str, advertise_host: str | None = None) -> str:
    """The host name written into connections.json: the explicit one, else the bound host."""
    if advertise_host:
        return advertise_host
    return "127.0.0.1" if host in WILDCARD_ADDRESSES else host


def _write_json_atomically(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    tmp.replace(path)


async def serve(
    data_dir: Path,
    *,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    seed: str | None = None,
    services: tuple[str, ...] = QUICKBOOKS_EDITIONS["online"],
    advertise_host: str | None = None,
) -> None:
    """Start every service, write connections.json, run until SIGTERM/SIGINT.

    ``advertise_host`` is the name clients use to reach the servers (written into the URLs of
    connections.json and added to the TLS certificate); by default ``host``, or 127.0.0.1 when
    ``host`` listens on every interface. docker-compose binds 0.0.0.0 and advertises ``sandbox``.
    """
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    connections_path = data_dir / CONNECTIONS_FILE
    connections_path.unlink(missing_ok=True)
    advertise = advertised_host(host, advertise_host)
    tls = ensure_tls(data_dir / "tls", extra_names=[advertise])
    url_host = f"[{advertise}]" if ":" in advertise else advertise
    clock = Clock(data_dir / "clock.json")
    ports = ports or {}

    servers: list[_Server] = []
    started: list[tuple[str, SandboxService, ServiceContext, socket.socket]] = []
    for name in services:
        sock = _bind(host, ports.get(name, 0))
        port = sock.getsockname()[1]
        ctx = ServiceContext(
            name=name,
            data_dir=data_dir / name,
            clock=clock,
            base_url=f"https://{url_host}:{port}",
        )
        ctx.data_dir.mkdir(parents=True, exist_ok=True)
        service = load_service(name, ctx)
        if service is None:
            sock.close()
            continue
        if seed:
            service.seed(seed)
        app = assemble(service, ctx)
        config = uvicorn.Config(
            app,
            ssl_certfile=str(tls.server_cert),
            ssl_keyfile=str(tls.server_key),
            http=SandboxHttpProtocol,
            lifespan="off",
            access_log=False,
            log_level="warning",
            timeout_keep_alive=30,
            # an idle keep-alive TLS connection otherwise holds shutdown until the client closes
            timeout_graceful_shutdown=2,
        )
        servers.append(_Server(config))
        started.append((name, service, ctx, sock))

    loop = asyncio.get_running_loop()

    def _stop() -> None:
        for server in servers:
            server.should_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, _stop)

    tasks = [
        asyncio.create_task(server.serve(sockets=[sock]))
        for server, (_, _, _, sock) in zip(servers, started, strict=True)
    ]
    while not all(server.started for server in servers):
        if any(task.done() for task in tasks):
            break
        await asyncio.sleep(0.02)
    else:
        payload: dict = {
            "ca_bundle": str(tls.bundle),
            "ca_cert": str(tls.ca_cert),
            "data_dir": str(data_dir),
            "pid": os.getpid(),
        }
        for name, service, ctx, _ in started:
            payload[name] = {
                **service.connection_info(),
                "base_url": ctx.base_url,
                "admin_url": f"{ctx.base_url}/_sandbox",
            }
        _write_json_atomically(connections_path, payload)
        log.warning(
            "sandbox ready: %s (connections in %s)",
            ", ".join(f"{name} {ctx.base_url}" for name, _, ctx, _ in started),
            connections_path,
        )
    try:
        await asyncio.gather(*tasks)
    finally:
        connections_path.unlink(missing_ok=True)
        for _, service, _, _ in started:
            service.close()
