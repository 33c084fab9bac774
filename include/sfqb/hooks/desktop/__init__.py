"""The Desktop adapter of the ``QuickBooks`` protocol (docs/architecture.md section 7).

Modules, from the bottom up: ``translate`` (QBO entities, conditions and payloads -> qbXML
requests), ``normalise`` (qbXML Rets -> QBO JSON), ``waiting`` (R-QBD-2's check and the wait
for a job, the seam a sensor or trigger can take over) and ``adapter`` (``DesktopQuickBooks``).
Not wired into the steps yet: the preferences still refuse ``quickbooks_edition: desktop``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .adapter import DEFAULT_CONN_ID, DesktopQuickBooks, identity
from .translate import ENTITIES, UnsupportedCondition, query_request
from .waiting import WebConnectorNotPolling, WrongCompany, check_polling, poll_wait

if TYPE_CHECKING:
    from sfqb.hooks.interface import QuickBooks

    def _conforms(adapter: DesktopQuickBooks) -> QuickBooks:
        return adapter  # mypy checks that the adapter implements the protocol


__all__ = [
    "DEFAULT_CONN_ID",
    "ENTITIES",
    "DesktopQuickBooks",
    "UnsupportedCondition",
    "WebConnectorNotPolling",
    "WrongCompany",
    "check_polling",
    "identity",
    "poll_wait",
    "query_request",
]
