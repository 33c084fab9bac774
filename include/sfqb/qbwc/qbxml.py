"""qbXML for the queue and the service: a hardened parser, message sets, answers read.

Every XML text the service and the queue read (SOAP bodies, qbXML requests queued by the sync,
qbXML answers relayed by the Web Connector, the Host/Company/Preferences answer) goes through
``parse``: entities are never resolved, no DTD is loaded, the network is never reached, huge
trees are refused, and a document carrying a DOCTYPE at all is refused (a qbXML or SOAP message
never needs one; refusing it closes external entities and entity expansion at once).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lxml import etree

QBXML_VERSION = "13.0"
ON_ERROR = ("stopOnError", "continueOnError")
# Status codes (api-notes 7.3, 8.3): 0-499 info, 500-999 warning, 1000 and up errors.
ERROR_FROM = 1000
ITERATOR_EXPIRED = 3391


class UnsafeXml(ValueError):
    """The text is not well-formed XML, or carries a DOCTYPE (refused: see the module doc)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=False,
    )


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.I)


def parse(data: str | bytes) -> etree._Element:
    """The root element of ``data``; ``UnsafeXml`` for a DOCTYPE or text that is not XML."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if _DOCTYPE.search(raw):
        raise UnsafeXml("a DOCTYPE is not accepted")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise UnsafeXml(f"not well-formed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise UnsafeXml("a DOCTYPE is not accepted")
    return root


def request_element(text: str) -> etree._Element:
    """One queued request element (``<CustomerQueryRq>...``), checked: a single element whose
    name ends with ``Rq``, in no namespace, with no envelope around it."""
    root = parse(text)
    if not isinstance(root.tag, str) or "}" in root.tag or not root.tag.endswith("Rq"):
        raise ValueError(f"not a qbXML request element: <{root.tag}>")
    if root.tag in ("QBXML", "QBXMLMsgsRq"):
        raise ValueError("queue the request element itself, without the QBXML envelope")
    return root


def message_set(elements: list[etree._Element], on_error: str) -> str:
    """The qbXML request message set the Web Connector hands to QuickBooks."""
    if on_error not in ON_ERROR:
        raise ValueError(f"onError must be one of {ON_ERROR}")
    body = "".join(etree.tostring(e, encoding="unicode") for e in elements)
    return (
        f'<?xml version="1.0" encoding="utf-8"?><?qbxml version="{QBXML_VERSION}"?>'
        f'<QBXML><QBXMLMsgsRq onError="{on_error}">{body}</QBXMLMsgsRq></QBXML>'
    )


@dataclass(frozen=True)
class Answer:
    """One response element of a message set (``<CustomerQueryRs statusCode=...>``)."""

    tag: str
    request_id: str
    status_code: int
    severity: str
    message: str
    iterator_id: str | None
    remaining: int | None

    @property
    def is_error(self) -> bool:
        return self.status_code >= ERROR_FROM


def answers(response: str | bytes) -> list[Answer]:
    """The response elements of a qbXML response message set, in order."""
    root = parse(response)
    msgs = root.find("QBXMLMsgsRs")
    if root.tag != "QBXML" or msgs is None:
        raise ValueError("not a qbXML response message set")
    found = []
    for rs in msgs:
        if not isinstance(rs.tag, str):
            continue
        try:
            code = int(rs.get("statusCode", ""))
        except ValueError:
            raise ValueError(f"<{rs.tag}> has no numeric statusCode") from None
        remaining = rs.get("iteratorRemainingCount")
        found.append(
            Answer(
                tag=rs.tag,
                request_id=rs.get("requestID", ""),
                status_code=code,
                severity=rs.get("statusSeverity", ""),
                message=rs.get("statusMessage", ""),
                iterator_id=rs.get("iteratorID"),
                remaining=int(remaining) if remaining not in (None, "") else None,
            )
        )
    return found


@dataclass(frozen=True)
class HostCompany:
    """What the Host/Company/Preferences answer (sendRequestXML's ``strHCPResponse``) says."""

    product_name: str
    company_name: str
    sales_orders: bool | None

    @property
    def edition(self) -> str | None:
        """``pro``, ``premier``, ``enterprise`` or ``accountant`` from the product name."""
        name = self.product_name.lower()
        for edition in ("enterprise", "accountant", "premier", "pro"):
            if re.search(rf"\b{edition}\b", name):
                return edition
        return None


def host_company(hcp: str) -> HostCompany:
    root = parse(hcp)
    product = root.findtext(".//HostRet/ProductName") or ""
    company = root.findtext(".//CompanyRet/CompanyName") or ""
    tracking = root.findtext(".//PreferencesRet/SalesAndCustomersPreferences/IsTrackingSalesOrders")
    return HostCompany(
        product_name=product.strip(),
        company_name=company.strip(),
        sales_orders=None if tracking is None else tracking.strip().lower() == "true",
    )
