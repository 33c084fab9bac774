"""A Web Connector emulator: a client that behaves like Intuit's QuickBooks Web Connector (QBWC).

QBWC runs beside QuickBooks Desktop, calls the integrator's SOAP service on a schedule and hands
each qbXML request it gets to the open company file, then the answer back. This package does the
same against any QBWC service, over real HTTP(S), with a QuickBooks Desktop company behind the
``Company`` protocol (``company.py``): the company emulator's server (``HttpCompany``) or a
stand-in object in tests.

- ``qwc``: reads a .qwc file and refuses what QBWC refuses (QBWC10xx wording).
- ``soap``: SOAP 1.1 requests written by hand, answers parsed strictly.
- ``session``: one update session in Intuit's call order, logged like QBWC's own log and
  returned as a ``SessionRecord``.
- ``schedule``: one session now, or every N minutes/seconds as the .qwc's Scheduler says.
- ``python -m sfqb_sandbox.webconnector run --qwc FILE --password P --company URL [--once]``.

docs/web-connector-emulator.md says what it follows and what it does not; the facts behind it
are in docs/api-notes.md section 9.
"""

from .company import Company, CompanyProtocolError, CompanyUnavailable, HttpCompany
from .qwc import QwcError, QwcFile, parse_qwc, read_qwc
from .schedule import Scheduler
from .session import CallRecord, ConnectorSettings, SessionRecord, WebConnector

__all__ = [
    "CallRecord",
    "Company",
    "CompanyProtocolError",
    "CompanyUnavailable",
    "ConnectorSettings",
    "HttpCompany",
    "QwcError",
    "QwcFile",
    "Scheduler",
    "SessionRecord",
    "WebConnector",
    "parse_qwc",
    "read_qwc",
]
