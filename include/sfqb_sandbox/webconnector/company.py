"""The QuickBooks Desktop company behind the Web Connector, as the emulator sees it.

QBWC talks to QuickBooks through the qbXML request processor: open a connection and begin a
session on a company file, process request message sets, end the session. ``Company`` is that
seam, agreed with the company emulator: ``open`` (a path, or "" for whichever file is open),
``process`` (a request message set in, the response message set out) and ``close``. When
QuickBooks is not running or the file cannot be opened, or a request cannot be processed, the
request processor raises a COM error with an HRESULT: here ``CompanyUnavailable(hresult,
message)``, which QBWC hands to the service (connectionError, or receiveResponseXML's hresult
and message; api-notes 9.4).

``HttpCompany`` reaches the company emulator's server:

- ``POST {base}/qbxml/open`` JSON ``{"company_file": "..."}`` -> 200 ``{"company_file": path}``
  or 503 ``{"hresult": "...", "message": "..."}``;
- ``POST {base}/qbxml`` with the request (``Content-Type: text/xml``) -> 200 the response XML,
  or 503 with the same JSON;
- ``POST {base}/qbxml/close`` -> 200.

Any other answer is ``CompanyProtocolError``: a fault of the emulator, never passed to the
service as if QuickBooks had said it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import requests


class CompanyUnavailable(Exception):
    """QuickBooks refused: not running, the file cannot be opened, or a request failed."""

    def __init__(self, hresult: str, message: str) -> None:
        super().__init__(f"{hresult}: {message}")
        self.hresult = hresult
        self.message = message


def _has_hresult(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "hresult" in body


class CompanyProtocolError(RuntimeError):
    """The company emulator answered outside the agreed interface."""


@runtime_checkable
class Company(Protocol):
    def open(self, company_file: str) -> str:
        """Open ``company_file`` ("" = whichever is open); return its path."""
        ...

    def process(self, request: str) -> str:
        """Process a qbXML request message set; return the response message set."""
        ...

    def close(self) -> None:
        """End the session with the company."""
        ...


class HttpCompany:
    """``Company`` over the company emulator's HTTP interface."""

    def __init__(self, base_url: str, verify: bool | str = True, timeout: float = 120.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify

    def _post(self, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.base_url}{path}"
        try:
            return self.session.post(url, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise CompanyProtocolError(f"POST {url}: {exc}") from exc

    @staticmethod
    def _unavailable(response: requests.Response) -> CompanyUnavailable:
        try:
            body = response.json()
            hresult, message = body["hresult"], body["message"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CompanyProtocolError(
                f"503 without hresult and message: {response.text[:200]!r}"
            ) from exc
        if not isinstance(hresult, str) or not isinstance(message, str):
            raise CompanyProtocolError(f"503 with non-text hresult or message: {body!r}")
        return CompanyUnavailable(hresult, message)

    def _unexpected(self, response: requests.Response) -> CompanyProtocolError:
        return CompanyProtocolError(
            f"POST {response.request.path_url}: HTTP {response.status_code} {response.text[:200]!r}"
        )

    def open(self, company_file: str) -> str:
        response = self._post("/qbxml/open", json={"company_file": company_file})
        if response.status_code == 503:
            raise self._unavailable(response)
        if response.status_code != 200:
            raise self._unexpected(response)
        try:
            path = response.json()["company_file"]
        except (ValueError, KeyError, TypeError) as exc:
            raise CompanyProtocolError(f"open answered {response.text[:200]!r}") from exc
        if not isinstance(path, str):
            raise CompanyProtocolError(f"open answered a non-text company_file: {path!r}")
        return path

    def process(self, request: str) -> str:
        response = self._post(
            "/qbxml",
            data=request.encode("utf-8"),
            headers={"Content-Type": "text/xml; charset=utf-8"},
        )
        # 503: QuickBooks unavailable; 400 (a message set QuickBooks cannot parse, 0x80040400)
        # and 500 (another request processor error): an HRESULT the Web Connector hands the
        # service in receiveResponseXML, as it does a COM error of the request processor.
        if response.status_code in (400, 500, 503) and _has_hresult(response):
            raise self._unavailable(response)
        if response.status_code != 200:
            raise self._unexpected(response)
        response.encoding = response.encoding or "utf-8"
        return response.text

    def close(self) -> None:
        response = self._post("/qbxml/close")
        if response.status_code != 200:
            raise self._unexpected(response)

    def shutdown(self) -> None:
        """Close the kept-alive HTTP connections."""
        self.session.close()
