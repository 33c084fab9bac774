"""The company as the Web Connector emulator's ``Company`` (``sfqb_sandbox.webconnector``), in
this process: ``DesktopCompany``'s request processor errors become the HRESULTs the Web
Connector hands on (``CompanyUnavailable``), as a COM error of QuickBooks' request processor
does. Over HTTP, ``sfqb_sandbox.webconnector.HttpCompany`` does the same with the server's
answers (``service.py``)."""

from __future__ import annotations

from sfqb_sandbox.webconnector.company import CompanyUnavailable

from .company import DesktopCompany
from .errors import RequestProcessorError


class LocalCompany:
    """``DesktopCompany`` behind the ``Company`` protocol."""

    def __init__(self, company: DesktopCompany) -> None:
        self.company = company

    def open(self, company_file: str) -> str:
        try:
            return self.company.open(company_file)
        except RequestProcessorError as exc:
            raise CompanyUnavailable(exc.hresult, exc.message) from exc

    def process(self, request: str) -> str:
        try:
            return self.company.process(request)
        except RequestProcessorError as exc:
            raise CompanyUnavailable(exc.hresult, exc.message) from exc

    def close(self) -> None:
        self.company.close()
