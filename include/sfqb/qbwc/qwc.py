"""The .qwc file a QuickBooks admin loads into the Web Connector (api-notes 7.2, 9.2).

OwnerID and FileID are GUIDs kept in the queue DB (``meta``), made once and stable after: the
Web Connector and QuickBooks remember an application by them, so a new .qwc for the same
service must carry the same ones. AppSupport is the service's ``support`` page beside the AppURL:
``https://host/support`` for ``https://host/qbwc``, ``https://host:8080/quickbooks-desktop/support``
for the service mounted in Airflow's api-server (the same host, as QBWC1000 wants).
"""

from __future__ import annotations

import ipaddress
import uuid
from urllib.parse import urlsplit, urlunsplit
from xml.sax.saxutils import escape

from .queue import JobQueue

APP_NAME = "sfqb"
DESCRIPTION = "Salesforce <-> QuickBooks sync (sfqb)"


def guids(queue: JobQueue) -> tuple[str, str]:
    """(OwnerID, FileID), braces included, the same every time for this queue DB."""
    owner = queue.meta_default("qwc_owner_id", lambda: "{" + str(uuid.uuid4()).upper() + "}")
    file_id = queue.meta_default("qwc_file_id", lambda: "{" + str(uuid.uuid4()).upper() + "}")
    return owner, file_id


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def qwc_text(
    url: str,
    user_name: str,
    owner_id: str,
    file_id: str,
    *,
    minutes: int = 5,
    app_name: str = APP_NAME,
) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--url must be an http(s) URL, not {url!r}")
    if parts.scheme == "http" and parts.hostname != "localhost":
        raise ValueError("the Web Connector takes http:// only for localhost: use https://")
    if _is_ip_address(parts.hostname):
        raise ValueError(
            f"--url names the IP address {parts.hostname}: the Web Connector refuses an AppURL "
            "that is an IP address (QBWC1001); give the host name the certificate names"
        )
    if minutes < 1:
        raise ValueError("--minutes is at least 1")
    # the app's support page sits beside its SOAP path, under any prefix it is mounted at
    support = urlunsplit(
        (parts.scheme, parts.netloc, parts.path.rsplit("/", 1)[0] + "/support", "", "")
    )
    fields = [
        ("AppName", app_name),
        ("AppID", ""),
        ("AppURL", url),
        ("AppDescription", DESCRIPTION),
        ("AppSupport", support),
        ("UserName", user_name),
        ("OwnerID", owner_id),
        ("FileID", file_id),
        ("QBType", "QBFS"),
    ]
    lines = "".join(f"  <{name}>{escape(value)}</{name}>\n" for name, value in fields)
    return (
        '<?xml version="1.0"?>\n<QBWCXML>\n'
        f"{lines}"
        f"  <Scheduler>\n    <RunEveryNMinutes>{minutes}</RunEveryNMinutes>\n  </Scheduler>\n"
        "  <IsReadOnly>false</IsReadOnly>\n"
        "</QBWCXML>\n"
    )
