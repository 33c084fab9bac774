"""The service's ASGI app (FastAPI) and ``serve`` (uvicorn).

``POST /qbwc`` answers the Web Connector's SOAP calls; ``GET /qbwc?wsdl`` is the WSDL; a plain
``GET /qbwc`` answers 200 (the Web Connector is reported to GET the AppURL before adding an
application, api-notes 9.1); ``GET /support`` is the AppSupport page the .qwc names. Bodies over
``max_body`` bytes are refused with 413 before they are read whole; anything that is not a SOAP
call of the service (a DOCTYPE, an external entity, entity expansion, broken XML, an unknown
method) gets a SOAP ``Client`` Fault, and the service keeps serving.

Plain HTTP is for ``localhost`` only, as the Web Connector allows (api-notes 9.2): ``serve``
refuses to bind another address without a certificate unless ``allow_plain_http`` is set. With a
certificate, ``check_tls`` loads it and its key before anything starts (a key that is not the
certificate's is refused there, not in uvicorn's traceback) and ``serve`` logs at start where it
listens, the certificate's names and expiry, the queue and the connection's user.

``create_lazy_app`` is the same app with the service built on the first SOAP call, for a process
that imports it without being asked to serve (the Airflow plugin ``plugins/sfqb_qbwc.py`` mounts
it in the api-server): importing it opens no database and reads no connection. The service keeps
nothing of a session in memory (tickets, sessions and jobs are rows in the queue DB), so several
api-server workers, each with its own service, can answer the calls of one session in turn.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool

from . import soap
from .qbxml import UnsafeXml
from .service import QbwcService, ServiceSettings

log = logging.getLogger("sfqb.qbwc")

PATH = "/qbwc"
MAX_BODY = 16 * 1024 * 1024  # a page of 150 customers is well under 1 MB
XML = "text/xml; charset=utf-8"


class BodyTooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class Service(Protocol):
    """What the app calls: ``QbwcService`` or ``LazyService``."""

    def call(self, method: str, params: dict[str, str]) -> Any: ...


def create_app(service: Service, *, max_body: int = MAX_BODY, path: str = PATH) -> FastAPI:
    app = FastAPI(title="sfqb QBWC service", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.qbwc_service = service

    @app.get(path)
    async def get(request: Request) -> Response:
        if "wsdl" in {k.lower() for k in request.query_params}:
            address = str(request.url.replace(query=""))
            return Response(soap.wsdl(address), media_type=XML)
        return Response("sfqb QBWC service\n", media_type="text/plain")

    @app.get("/support")
    async def support() -> Response:
        return Response(
            "sfqb QBWC service: see docs/quickbooks-desktop.md, or ask the sfqb operator.\n",
            media_type="text/plain",
        )

    @app.post(path)
    async def post(request: Request) -> Response:
        try:
            body = await _body(request, max_body)
        except BodyTooLarge:
            log.warning("qbwc: a request over %s bytes was refused (413)", max_body)
            return Response(
                soap.fault("Client", f"the request is larger than {max_body} bytes"),
                status_code=413,
                media_type=XML,
            )
        try:
            method, params = soap.read_call(body)
        except (UnsafeXml, soap.SoapError) as exc:
            log.warning("qbwc: a request was refused: %s", exc)
            return Response(soap.fault("Client", str(exc)), status_code=500, media_type=XML)
        try:
            result: Any = await run_in_threadpool(service.call, method, params)
        except TypeError as exc:
            return Response(soap.fault("Client", str(exc)), status_code=500, media_type=XML)
        except Exception:
            log.exception("qbwc: %s failed", method)
            return Response(
                soap.fault("Server", f"{method} failed in the service; see its log"),
                status_code=500,
                media_type=XML,
            )
        return Response(soap.envelope(method, result), media_type=XML)

    return app


LINGER_ENV = "SFQB_QBWC_LINGER_SECONDS"


def settings_from_env() -> ServiceSettings:
    """The settings of the service inside Airflow's api-server, which has no command line: the
    linger from ``SFQB_QBWC_LINGER_SECONDS`` (seconds, 0 or more; unset: the default 120)."""
    raw = os.environ.get(LINGER_ENV, "").strip()
    if not raw:
        return ServiceSettings()
    try:
        linger = float(raw)
    except ValueError:
        linger = math.nan
    if not math.isfinite(linger) or linger < 0:
        raise ValueError(f"{LINGER_ENV}={raw!r} is not a number of seconds (0 or more)")
    return ServiceSettings(linger_seconds=linger)


def default_service(settings: ServiceSettings | None = None) -> QbwcService:
    """The service on the queue of ``sfqb_qbwc_queue`` and the credentials of
    ``quickbooks_desktop_default`` (``settings``), as ``python -m sfqb qbwc serve`` builds it."""
    from .queue import JobQueue
    from .settings import desktop_settings

    return QbwcService(JobQueue.open(), desktop_settings, settings or ServiceSettings())


class LazyService:
    """A service built by ``build`` on the first call, once, whichever thread calls first.

    A build that fails (the queue DB cannot be opened) fails that call, which the app answers
    with a SOAP Server fault; the next call tries again.
    """

    def __init__(self, build: Callable[[], QbwcService] = default_service) -> None:
        self._build = build
        self._service: QbwcService | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> QbwcService | None:
        return self._service

    def get(self) -> QbwcService:
        with self._lock:
            if self._service is None:
                service = self._build()
                log_service(service)
                self._service = service
            return self._service

    def call(self, method: str, params: dict[str, str]) -> Any:
        return self.get().call(method, params)


def create_lazy_app(
    build: Callable[[], QbwcService] = default_service, *, max_body: int = MAX_BODY
) -> FastAPI:
    """``create_app`` with the service built on the first SOAP call (``LazyService``); the GETs
    (the WSDL, the AppURL check, the support page) need no service."""
    return create_app(LazyService(build), max_body=max_body)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, certfile: str | None, allow_plain_http: bool) -> None:
    """Plain HTTP on a non-loopback address is refused (the Web Connector wants HTTPS there)."""
    if not certfile and not is_loopback(host) and not allow_plain_http:
        raise ValueError(
            f"refusing plain HTTP on {host}: the Web Connector talks HTTPS to anything but "
            "localhost. Give --certfile and --keyfile, bind 127.0.0.1 behind a TLS proxy, or "
            "force it with --allow-plain-http."
        )


@dataclass(frozen=True)
class Certificate:
    """What ``serve`` logs of its certificate."""

    names: tuple[str, ...]  # the subject alternative names (DNS names and IP addresses)
    not_after: dt.datetime

    def expired(self, now: dt.datetime | None = None) -> bool:
        return self.not_after <= (now or dt.datetime.now(dt.UTC))


def check_tls(certfile: str, keyfile: str) -> Certificate:
    """Load the certificate chain and its key as uvicorn will, before anything starts.

    ``ValueError`` names the problem: a file that cannot be read, a key that is not the
    certificate's, a file that holds no PEM certificate.
    """
    import ssl

    from cryptography import x509

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certfile, keyfile)
        with open(certfile, "rb") as handle:
            cert = x509.load_pem_x509_certificate(handle.read())  # the first one: the server's
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ValueError(
            f"the certificate {certfile} and the key {keyfile} cannot be used: {exc}"
        ) from exc
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(str(name.value) for name in sans)
    except x509.ExtensionNotFound:
        names = ()
    return Certificate(names, cert.not_valid_after_utc)


# uvicorn's default logging config, applied after Airflow's (the queue's connection is read
# through Airflow), leaves "uvicorn.error" with no handler and no propagation: its start line
# and its errors were lost. Both uvicorn loggers go to the root logger instead, whatever set it
# up (Airflow's handler, or basicConfig in ``python -m sfqb qbwc serve``).
UVICORN_LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "loggers": {
        "uvicorn": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.error": {"handlers": [], "level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": [], "level": "INFO", "propagate": True},
    },
}

# At shutdown uvicorn closes idle keep-alive connections; a TLS one waits for the client's
# close_notify, which an idle client (the Web Connector keeps its connection open between
# calls) never sends: the process lingered 30 s (asyncio's TLS shutdown timeout) after SIGTERM.
# A SOAP call takes milliseconds; whatever is still open after this many seconds is dropped.
SHUTDOWN_SECONDS = 5
# After getLastError answers "NoOp" (a lingering session) the Web Connector pauses 5 s and asks
# again on the connection it kept open; uvicorn's default keep-alive, also 5 s, closes that
# connection at the same moment, and the call can fail with a reset connection (QBWC1041),
# ending the session (bench.desktop_sync saw 2 in 28 pauses). Idle connections stay this long.
KEEP_ALIVE_SECONDS = 65


def log_start(
    service: QbwcService, host: str, port: int, certificate: Certificate | None, plain_ok: bool
) -> None:
    """The start lines: where the service listens, its TLS, then ``log_service``."""
    scheme = "https" if certificate else "http"
    shown = f"[{host}]" if ":" in host else host
    if certificate:
        tls = (
            f"TLS, certificate for {', '.join(certificate.names) or '(no names)'}, valid "
            f"until {certificate.not_after:%Y-%m-%d}"
        )
    else:
        tls = "plain HTTP" + (" (--allow-plain-http)" if plain_ok and not is_loopback(host) else "")
    log.info("qbwc: serving %s://%s:%s%s (%s)", scheme, shown, port, PATH, tls)
    if certificate and certificate.expired():
        log.warning(
            "qbwc: the certificate expired on %s: the Web Connector will refuse it",
            f"{certificate.not_after:%Y-%m-%d}",
        )
    log_service(service)


def log_service(service: QbwcService) -> None:
    """The queue the service uses (no password) and the user it expects."""
    queue = service.queue.engine.url.render_as_string(hide_password=True)
    log.info("qbwc: the service's queue is %s", queue)
    try:
        expected = service.credentials()
    except Exception as exc:  # noqa: BLE001 - the service answers nvu until it can be read
        log.warning("qbwc: the connection cannot be read yet (every poll gets nvu): %s", exc)
    else:
        log.info(
            "qbwc: the Web Connector's user is %r, company file %r, edition %s",
            expected.user_name,
            expected.company_file or "(the open one)",
            expected.edition or "(any)",
        )


def serve(
    service: QbwcService,
    host: str,
    port: int,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    allow_plain_http: bool = False,
) -> None:
    import uvicorn

    check_bind(host, certfile, allow_plain_http)
    certificate = check_tls(certfile, keyfile or certfile) if certfile else None
    log_start(service, host, port, certificate, allow_plain_http)
    uvicorn.run(
        create_app(service),
        host=host,
        port=port,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        log_level="info",
        log_config=UVICORN_LOG_CONFIG,
        timeout_graceful_shutdown=SHUTDOWN_SECONDS,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
    )
