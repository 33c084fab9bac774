"""The QuickBooks Desktop company: open a company file, process qbXML message sets, close.

:class:`DesktopCompany` is the seam the Web Connector emulator uses (in process, or over HTTP
through ``service.py``): ``open(company_file)``, ``process(request) -> response``, ``close()``.
It behaves like QuickBooks' request processor (api-notes 8): HRESULT failures when QuickBooks
or the company file is unavailable or the message set does not parse, and one status per
request otherwise, with ``stopOnError`` / ``continueOnError``.

One request at a time (a lock), like QuickBooks. Iterators live in memory for the session:
closing the session or restarting QuickBooks loses them (status 3391 afterwards), as does
leaving one idle longer than ``iterator_timeout`` seconds on the sandbox clock.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from sfqb_sandbox.common.clock import Clock

from . import handlers
from .errors import (
    HR_CANNOT_ACCESS,
    HR_CANNOT_START,
    HR_NO_FILE_OPEN_NEED_FILE,
    HR_NOT_RUNNING_NEED_FILE,
    HR_OTHER_FILE_OPEN,
    HR_UNEXPECTED,
    STATUS_OK,
    CompanyUnavailable,
    QbxmlParseError,
    RequestProcessorError,
    StatusError,
    severity,
)
from .output import Renderer
from .schema import REQUESTS, SPECS, F, parse
from .store import Store
from .times import zone

EDITIONS = ("Pro", "Premier", "Enterprise")
STATES = ("file_open", "no_file", "not_running", "cannot_start")
SUPPORTED_VERSIONS = ("13.0", "14.0", "15.0", "16.0")
DEFAULT_FILE = (
    "C:\\Users\\Public\\Documents\\Intuit\\QuickBooks\\Company Files\\Sandbox Widgets.QBW"
)
DEFAULTS: dict[str, Any] = {
    "edition": "Enterprise",
    "time_zone": "America/Los_Angeles",
    "company_file": DEFAULT_FILE,
    "company_name": "Sandbox Widgets Inc",
    "iterator_timeout": 60.0,
}
VERSION_PI = re.compile(r"<\?qbxml\s+version\s*=\s*\"([^\"]*)\"\s*\?>")
FAULT_KINDS = ("lose_response", "slow", "restart")
MAX_REQUEST_ID = 50


class ResponseLost(RequestProcessorError):
    """A fault: the message set was processed (writes applied), then the answer was lost."""


@dataclass
class CompanyFault:
    """A one-shot (or ``times``-shot) fault of the company, matched on the request types of a
    message set (``request``: a regex searched in e.g. ``"CustomerAddRq InvoiceAddRq"``)."""

    kind: str
    request: str = ".*"
    times: int | None = 1
    skip: int = 0
    delay_ms: int = 0
    id: int = 0
    seen: int = 0
    fired: int = 0

    def public(self) -> dict:
        return asdict(self)


@dataclass
class Iterator:
    request: str
    ids: list[str]
    kind: str
    options: dict
    last_used: float


class DesktopCompany:
    """A QuickBooks Desktop company file behind the request processor (see the module doc)."""

    def __init__(self, data_dir: Path, clock: Clock | None = None) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.clock = clock or Clock(data_dir / "clock.json")
        self.store = Store(data_dir / "company.sqlite3")
        for key, value in DEFAULTS.items():
            if key not in self.store.settings:
                self.store.set_setting(key, value)
        self.lock = threading.RLock()
        self.state = "file_open"
        self.session_open = False
        self.iterators: dict[str, Iterator] = {}
        self.faults: list[CompanyFault] = []
        self._fault_ids = 0
        self.counters: Counter[str] = Counter()
        self.books = handlers.Books(self)

    # -- settings ------------------------------------------------------------------------
    @property
    def settings(self) -> dict[str, Any]:
        return self.store.settings

    @property
    def edition(self) -> str:
        return str(self.settings["edition"])

    @property
    def company_file(self) -> str:
        return str(self.settings["company_file"])

    @property
    def tz(self):
        return zone(self.settings["time_zone"])

    def configure(self, **changes: Any) -> dict:
        """Change the edition, time zone, company file, iterator timeout or QuickBooks' state."""
        with self.lock:
            for key, value in changes.items():
                if key == "state":
                    if value not in STATES:
                        raise ValueError(f"state must be one of {STATES}")
                    self.state = value
                    if value != "file_open":
                        self._end_session()
                elif key == "edition":
                    if value not in EDITIONS:
                        raise ValueError(f"edition must be one of {EDITIONS}")
                    self.store.set_setting(key, value)
                elif key == "time_zone":
                    zone(str(value))  # raises for an unknown zone
                    self.store.set_setting(key, str(value))
                elif key == "iterator_timeout":
                    self.store.set_setting(key, float(value))
                elif key in ("company_file", "company_name"):
                    self.store.set_setting(key, str(value))
                else:
                    raise ValueError(f"unknown company setting {key!r}")
            return self.describe()

    def describe(self) -> dict:
        return {
            "edition": self.edition,
            "time_zone": self.settings["time_zone"],
            "company_file": self.company_file,
            "company_name": self.settings["company_name"],
            "iterator_timeout": self.settings["iterator_timeout"],
            "state": self.state,
            "session_open": self.session_open,
            "iterators": len(self.iterators),
            "counts": {kind: len(table) for kind, table in self.store.objects.items()},
        }

    # -- faults --------------------------------------------------------------------------
    def add_fault(self, **rule: Any) -> dict:
        if rule.get("kind") not in FAULT_KINDS:
            raise ValueError(f"fault kind must be one of {FAULT_KINDS}")
        allowed = set(CompanyFault.__dataclass_fields__) - {"id", "seen", "fired"}
        unknown = set(rule) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        with self.lock:
            self._fault_ids += 1
            fault = CompanyFault(**rule, id=self._fault_ids)
            self.faults.append(fault)
            return fault.public()

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _fault(self, kind: str, request_types: str) -> CompanyFault | None:
        for fault in self.faults:
            if fault.kind != kind or not re.search(fault.request, request_types):
                continue
            if fault.times is not None and fault.fired >= fault.times:
                continue
            fault.seen += 1
            if fault.seen <= fault.skip:
                continue
            fault.fired += 1
            return fault
        return None

    def restart(self) -> None:
        """QuickBooks restarts: the session and its iterators are gone; it comes back with
        the company file open, so the next ``open`` works."""
        with self.lock:
            self._end_session()
            self.state = "file_open"

    # -- the request processor -----------------------------------------------------------
    def open(self, company_file: str = "") -> str:
        """Begin a session on ``company_file`` ("" = the file open in QuickBooks)."""
        with self.lock:
            self.counters["open"] += 1
            wanted = (company_file or "").strip()
            if self.state == "cannot_start":
                raise CompanyUnavailable(HR_CANNOT_START)
            if wanted and wanted.lower() != self.company_file.lower():
                if self.state == "file_open":
                    raise CompanyUnavailable(HR_OTHER_FILE_OPEN)
                raise CompanyUnavailable(HR_CANNOT_START)
            if not wanted and self.state == "not_running":
                raise CompanyUnavailable(HR_NOT_RUNNING_NEED_FILE)
            if not wanted and self.state == "no_file":
                raise CompanyUnavailable(HR_NO_FILE_OPEN_NEED_FILE)
            self.state = "file_open"
            self.session_open = True
            return self.company_file

    def close(self) -> None:
        with self.lock:
            self.counters["close"] += 1
            self._end_session()

    def _end_session(self) -> None:
        self.session_open = False
        self.iterators.clear()

    def process(self, request: str) -> str:
        """One qbXML request message set in, its response message set out."""
        with self.lock:
            if self.state != "file_open" or not self.session_open:
                raise CompanyUnavailable(HR_CANNOT_ACCESS)
            self.counters["message sets"] += 1
            onerror, requests = self._parse(request)
            types = " ".join(tag for tag, _, _ in requests)
            slow = self._fault("slow", types)
            if slow is not None:
                time.sleep(slow.delay_ms / 1000)
            if self._fault("restart", types) is not None:
                self.restart()
                raise CompanyUnavailable(HR_CANNOT_ACCESS)
            root = etree.Element("QBXML")
            msgs = etree.SubElement(root, "QBXMLMsgsRs")
            renderer = Renderer(self.store, self.tz)
            for tag, attrs, parsed in requests:
                self.counters[tag] += 1
                failed = self._one(msgs, renderer, tag, attrs, parsed)
                if failed and onerror == "stopOnError":
                    break
            text = '<?xml version="1.0" ?>\n' + etree.tostring(
                root, encoding="unicode", pretty_print=True
            )
            if self._fault("lose_response", types) is not None:
                raise ResponseLost(HR_UNEXPECTED)
            return text

    def _parse(self, request: str) -> tuple[str, list[tuple[str, dict, Any]]]:
        text = request.strip()
        version = VERSION_PI.search(text[:200])
        if version is None:
            raise QbxmlParseError('the message set has no <?qbxml version="..."?>')
        if version.group(1) not in SUPPORTED_VERSIONS:
            raise QbxmlParseError(f"qbXML version {version.group(1)} is not supported here")
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        try:
            root = etree.fromstring(text.encode("utf-8"), parser)
        except etree.XMLSyntaxError as exc:
            raise QbxmlParseError(f"not well-formed: {exc}") from None
        elements = [el for el in root if isinstance(el.tag, str)]
        if root.tag != "QBXML" or len(elements) != 1 or elements[0].tag != "QBXMLMsgsRq":
            raise QbxmlParseError("expected <QBXML><QBXMLMsgsRq>")
        msgs = elements[0]
        onerror = msgs.get("onError")
        if onerror not in ("stopOnError", "continueOnError"):
            raise QbxmlParseError(
                f"onError must be stopOnError or continueOnError, not {onerror!r}"
            )
        extra = set(msgs.attrib) - {"onError"}
        if extra:
            raise QbxmlParseError(f"QBXMLMsgsRq attributes {sorted(extra)} are not emulated")
        requests = []
        for el in msgs:
            if not isinstance(el.tag, str):
                continue
            tag = el.tag
            attrs = dict(el.attrib)
            allowed = {"requestID", "iterator", "iteratorID", "metaData"}
            if set(attrs) - allowed:
                raise QbxmlParseError(
                    f"{tag} has unknown attributes {sorted(set(attrs) - allowed)}"
                )
            if tag not in REQUESTS:
                if not tag.endswith("Rq"):
                    raise QbxmlParseError(f"{tag} is not a qbXML request")
                requests.append((tag, attrs, None))  # answered with status 1030
                continue
            body, spec = REQUESTS[tag]
            problems: list[StatusError] = []
            if body is None:
                parsed = parse(el, spec, tag, problems)
            else:
                SPECS.setdefault(body, spec)
                wrapper = [F(body, body, req=True), F("IncludeRetElement", max=50, many=True)]
                outer = parse(el, wrapper, tag, problems)
                parsed = outer[body]
                parsed["IncludeRetElement"] = outer.get("IncludeRetElement", [])
            requests.append((tag, attrs, parsed))
        return onerror, requests

    def _one(self, msgs, renderer: Renderer, tag: str, attrs: dict, parsed: Any) -> bool:
        """Answer one request into ``msgs``; True when it failed with an error."""
        rs = etree.SubElement(msgs, tag[:-2] + "Rs")
        if "requestID" in attrs:
            rs.set("requestID", attrs["requestID"])
        try:
            if parsed is None:
                raise StatusError(1030, "This request is not supported by this implementation.")
            if len(attrs.get("requestID", "")) > MAX_REQUEST_ID:
                raise StatusError(
                    1060,
                    f'The request ID "{attrs["requestID"]}" is invalid, possibly too long, '
                    f"max {MAX_REQUEST_ID} chars.",
                )
            if parsed.problems:
                raise parsed.problems[0]
            result = self.books.handle(tag, attrs, parsed)
        except StatusError as exc:
            _status(rs, exc.code, exc.message)
            return exc.code >= 1000
        _status(rs, result.code, result.message)
        for key, value in result.attrs.items():
            rs.set(key, value)
        for kind, record in result.rets:
            renderer.ret(rs, kind, record, **result.options)
        for element in result.elements:
            rs.append(element)
        return False

    # -- iterators -----------------------------------------------------------------------
    def new_iterator(self, request: str, ids: list[str], kind: str, options: dict) -> str:
        iterator_id = "{" + str(uuid.uuid4()) + "}"
        self.iterators[iterator_id] = Iterator(request, ids, kind, options, self.clock.timestamp())
        return iterator_id

    def take_iterator(self, iterator_id: str, request: str) -> Iterator:
        from .errors import iterator_invalid

        it = self.iterators.get(iterator_id)
        now = self.clock.timestamp()
        if it is None or it.request != request:
            raise iterator_invalid(iterator_id)
        if now - it.last_used > float(self.settings["iterator_timeout"]):
            del self.iterators[iterator_id]
            raise iterator_invalid(iterator_id)
        it.last_used = now
        return it


def _status(rs, code: int, message: str) -> None:
    rs.set("statusCode", str(code))
    rs.set("statusSeverity", severity(code))
    rs.set("statusMessage", message)


__all__ = ["DesktopCompany", "ResponseLost", "STATUS_OK"]
