"""Reading a .qwc file, and refusing what the Web Connector refuses (api-notes 9.2).

A .qwc file is a small XML document (root ``QBWCXML``) the user loads into QBWC. QBWC checks it
when the application is added and names what is wrong with a QBWC10xx code; ``QwcError`` carries
the code and QBWC's message, with ``<AppName>`` filled in. Where QBWC's reaction to a defect is
not documented (a GUID without braces, an unknown QBType), the emulator refuses it under the
generic "problem adding the application" code, QBWC1039, and says why.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

REQUIRED = (
    "AppName",
    "AppID",  # required, may be empty
    "AppURL",
    "AppDescription",
    "AppSupport",
    "UserName",
    "OwnerID",
    "FileID",
    "QBType",
)
GUID = re.compile(
    r"^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$"
)
STYLES = ("Document", "DocWrapped", "RPC")
LOCALHOST = "localhost"

# QBWC's own messages (api-notes 9.2); {app} is the AppName.
MESSAGES = {
    "QBWC1000": "The domain names for {app}'s service and support URLs do not match.",
    "QBWC1001": "The application {app}'s service URL is an IP Address, it will not be loaded.",
    "QBWC1002": "The application {app}'s support URL is an IP Address, it will not be loaded.",
    "QBWC1010": (
        "Application {app} cannot be loaded. For security reasons only SSL (https) based "
        "applications are allowed."
    ),
    "QBWC1039": (
        "There was a problem adding the application to registry. Check QWCLog.txt for details."
    ),
}


class QwcError(ValueError):
    """QBWC would refuse this .qwc file: ``code`` (QBWC10xx), QBWC's message and the reason."""

    def __init__(self, code: str, app: str, detail: str = "") -> None:
        self.code = code
        self.message = MESSAGES[code].format(app=app or "<AppName>")
        self.detail = detail
        super().__init__(f"{code}: {self.message}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class QwcFile:
    app_name: str
    app_id: str
    app_url: str
    app_description: str
    app_support: str
    user_name: str
    owner_id: str
    file_id: str
    qb_type: str
    # Seconds between scheduled updates, from the first of RunEveryNMinutes / RunEveryNSeconds
    # in the file (QBWC uses the first); None when the file has no Scheduler.
    run_every_seconds: int | None = None
    is_read_only: bool | None = None
    style: str = "Document"
    auth_flags: int = 0
    other: dict[str, str] = field(default_factory=dict)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _domain(host: str) -> str:
    """The part of a host name that QBWC compares: the last two labels (a machine name as is)."""
    return ".".join(host.split(".")[-2:])


def _check_urls(app: str, app_url: str, app_support: str) -> None:
    url_parts = urlsplit(app_url)
    if url_parts.scheme not in ("http", "https") or not url_parts.hostname:
        raise QwcError("QBWC1039", app, f"AppURL is not an http(s) URL: {app_url!r}")
    support_parts = urlsplit(app_support)
    if support_parts.scheme not in ("http", "https") or not support_parts.hostname:
        raise QwcError("QBWC1039", app, f"AppSupport is not an http(s) URL: {app_support!r}")
    host, support_host = _host(app_url), _host(app_support)
    if _is_ip(host):
        raise QwcError("QBWC1001", app, f"AppURL host {host}")
    if _is_ip(support_host):
        raise QwcError("QBWC1002", app, f"AppSupport host {support_host}")
    if url_parts.scheme != "https" and host != LOCALHOST:
        raise QwcError("QBWC1010", app, f"AppURL {app_url}")
    if host != LOCALHOST and _domain(host) != _domain(support_host):
        raise QwcError("QBWC1000", app, f"AppURL host {host}, AppSupport host {support_host}")


def _positive_int(app: str, name: str, text: str) -> int:
    if not re.fullmatch(r"\s*\d+\s*", text) or int(text) <= 0:
        raise QwcError("QBWC1039", app, f"{name} is not a positive whole number: {text!r}")
    return int(text)


def parse_qwc(text: str | bytes) -> QwcFile:
    """Parse a .qwc document; raise ``QwcError`` for what QBWC would refuse."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(text.encode() if isinstance(text, str) else text, parser)
    except etree.XMLSyntaxError as exc:
        raise QwcError("QBWC1039", "", f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise QwcError("QBWC1039", "", "a DOCTYPE is not accepted")
    if root.tag != "QBWCXML":
        raise QwcError("QBWC1039", "", f"the root element is {root.tag!r}, not QBWCXML")
    values: dict[str, str] = {}
    scheduler: etree._Element | None = None
    for child in root:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        if child.tag in values or (child.tag == "Scheduler" and scheduler is not None):
            raise QwcError("QBWC1039", values.get("AppName", ""), f"{child.tag} appears twice")
        if child.tag == "Scheduler":
            scheduler = child
        else:
            values[child.tag] = (child.text or "").strip()
    app = values.get("AppName", "")
    missing = [name for name in REQUIRED if name not in values]
    empty = [name for name in REQUIRED if name != "AppID" and name in values and not values[name]]
    if missing or empty:
        detail = "; ".join(
            part
            for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"empty {', '.join(empty)}" if empty else "",
            )
            if part
        )
        raise QwcError("QBWC1039", app, detail)
    _check_urls(app, values["AppURL"], values["AppSupport"])
    for name in ("OwnerID", "FileID"):
        if not GUID.match(values[name]):
            raise QwcError("QBWC1039", app, f"{name} is not a GUID in braces: {values[name]!r}")
    if values["QBType"] != "QBFS":
        raise QwcError(
            "QBWC1039", app, f"QBType {values['QBType']!r}: the emulator serves QBFS only"
        )

    run_every: int | None = None
    if scheduler is not None:
        for child in scheduler:
            if child.tag == "RunEveryNMinutes":
                run_every = 60 * _positive_int(app, child.tag, child.text or "")
                break
            if child.tag == "RunEveryNSeconds":
                run_every = _positive_int(app, child.tag, child.text or "")
                break
        else:
            raise QwcError(
                "QBWC1039", app, "Scheduler has neither RunEveryNMinutes nor RunEveryNSeconds"
            )

    read_only: bool | None = None
    if "IsReadOnly" in values:
        flag = values["IsReadOnly"].lower()
        if flag not in ("true", "false"):
            raise QwcError("QBWC1039", app, f"IsReadOnly is {values['IsReadOnly']!r}")
        read_only = flag == "true"
    style = values.get("Style") or "Document"
    if style not in STYLES:
        raise QwcError("QBWC1039", app, f"Style {style!r} is none of {', '.join(STYLES)}")
    if style != "Document":
        raise QwcError("QBWC1039", app, f"Style {style}: the emulator speaks Document only")
    auth_flags = 0
    if values.get("AuthFlags"):
        try:
            auth_flags = int(values["AuthFlags"], 0)
        except ValueError as exc:
            raise QwcError("QBWC1039", app, f"AuthFlags {values['AuthFlags']!r}") from exc
        if not 0 <= auth_flags <= 0xF:
            raise QwcError("QBWC1039", app, f"AuthFlags {values['AuthFlags']!r} outside 0x0-0xF")
    known = set(REQUIRED) | {"IsReadOnly", "Style", "AuthFlags"}
    return QwcFile(
        app_name=app,
        app_id=values["AppID"],
        app_url=values["AppURL"],
        app_description=values["AppDescription"],
        app_support=values["AppSupport"],
        user_name=values["UserName"],
        owner_id=values["OwnerID"],
        file_id=values["FileID"],
        qb_type=values["QBType"],
        run_every_seconds=run_every,
        is_read_only=read_only,
        style=style,
        auth_flags=auth_flags,
        other={k: v for k, v in values.items() if k not in known},
    )


def read_qwc(path: str | Path) -> QwcFile:
    """``parse_qwc`` of a file."""
    return parse_qwc(Path(path).read_bytes())
