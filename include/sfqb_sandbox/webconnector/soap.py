"""SOAP 1.1 as the Web Connector speaks it: requests written by hand, answers read strictly.

Document/literal over HTTP POST (api-notes 9.1): ``Content-Type: text/xml; charset=utf-8``,
``SOAPAction: "http://developer.intuit.com/<method>"``, the method element and its parameters in
the ``http://developer.intuit.com/`` namespace. The answer must be a SOAP 1.1 envelope whose body
holds exactly ``<method>Response`` with ``<method>Result`` (``authenticateResult`` an array of
``string`` elements, ``receiveResponseXMLResult`` an int), all in that namespace. Anything else
is ``MalformedAnswer``; an HTTP 500 carrying a SOAP Fault is ``SoapFault``; no answer in time is
``CallTimeout``; a refused or dropped connection is ``CallFailed``. Entities and DTDs are never
resolved.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from lxml import etree

INTUIT_NS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XSD = "http://www.w3.org/2001/XMLSchema"

# Each method's parameters, in the order of the WSDL's sequence (api-notes 9.1).
PARAMETERS: dict[str, tuple[str, ...]] = {
    "serverVersion": (),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": (
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}


class CallError(Exception):
    """A call to the service did not give a usable answer."""


class CallFailed(CallError):
    """The connection was refused or dropped, or HTTP said no."""


class CallTimeout(CallError):
    """No answer within the call timeout."""


class SoapFault(CallError):
    def __init__(self, code: str, text: str) -> None:
        super().__init__(f"SOAP Fault {code}: {text}")
        self.code = code
        self.text = text


class MalformedAnswer(CallError):
    """The answer is not the SOAP the WSDL describes."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def build_request(method: str, params: dict[str, str | int]) -> bytes:
    """The SOAP envelope for ``method`` with ``params`` (every parameter, in WSDL order)."""
    names = PARAMETERS[method]
    if set(params) != set(names):
        raise ValueError(f"{method} takes {names}, got {sorted(params)}")
    envelope = etree.Element(
        f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV, "xsi": XSI, "xsd": XSD}
    )
    body = etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")
    call = etree.SubElement(body, f"{{{INTUIT_NS}}}{method}", nsmap={None: INTUIT_NS})
    for name in names:
        etree.SubElement(call, f"{{{INTUIT_NS}}}{name}").text = str(params[name])
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


@dataclass(frozen=True)
class Answer:
    """A parsed answer: ``value`` is str | None (nil), list[str | None] or int."""

    value: str | list[str | None] | int | None
    raw: bytes


def _fault(root: etree._Element) -> SoapFault | None:
    body = root.find(f"{{{SOAP_ENV}}}Body")
    fault = body.find(f"{{{SOAP_ENV}}}Fault") if body is not None else None
    if fault is None:
        return None
    return SoapFault(fault.findtext("faultcode") or "", fault.findtext("faultstring") or "")


def _only_child(parent: etree._Element, tag: str, where: str) -> etree._Element:
    children = [c for c in parent if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != tag:
        found = [c.tag for c in children]
        raise MalformedAnswer(f"{where} holds {found}, expected exactly {tag}")
    return children[0]


def _is_nil(element: etree._Element) -> bool:
    return element.get(f"{{{XSI}}}nil") in ("true", "1")


def _no_elements(element: etree._Element, where: str) -> None:
    if any(isinstance(c.tag, str) for c in element):
        raise MalformedAnswer(f"{where} holds elements where text was expected")


def parse_answer(method: str, status: int, content_type: str, raw: bytes) -> Answer:
    """Read the service's answer to ``method`` strictly (see the module docstring)."""
    if status == 500:
        try:
            root = etree.fromstring(raw, _parser())
        except etree.XMLSyntaxError as exc:
            raise CallFailed(f"HTTP 500 without a SOAP Fault: {raw[:200]!r}") from exc
        fault = _fault(root)
        if fault is None:
            raise CallFailed(f"HTTP 500 without a SOAP Fault: {raw[:200]!r}")
        raise fault
    if status != 200:
        raise CallFailed(f"HTTP {status}: {raw[:200]!r}")
    if content_type.split(";")[0].strip().lower() != "text/xml":
        raise MalformedAnswer(f"Content-Type {content_type!r}, not text/xml (SOAP 1.1)")
    try:
        root = etree.fromstring(raw, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedAnswer(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.doctype:
        raise MalformedAnswer("a DOCTYPE in a SOAP message")
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise MalformedAnswer(f"root element {root.tag}, not a SOAP 1.1 Envelope")
    parts = [c for c in root if isinstance(c.tag, str)]
    if not parts or parts[-1].tag != f"{{{SOAP_ENV}}}Body" or len(parts) > 2:
        raise MalformedAnswer(f"Envelope holds {[c.tag for c in parts]}, expected [Header] Body")
    if len(parts) == 2 and parts[0].tag != f"{{{SOAP_ENV}}}Header":
        raise MalformedAnswer(f"Envelope holds {[c.tag for c in parts]}, expected [Header] Body")
    if (fault := _fault(root)) is not None:
        raise fault
    response = _only_child(parts[-1], f"{{{INTUIT_NS}}}{method}Response", "Body")
    results = [c for c in response if isinstance(c.tag, str)]
    result_tag = f"{{{INTUIT_NS}}}{method}Result"
    if len(results) > 1 or (results and results[0].tag != result_tag):
        raise MalformedAnswer(
            f"{method}Response holds {[c.tag for c in results]}, expected {result_tag}"
        )
    result = results[0] if results else None

    if method == "receiveResponseXML":
        if result is None:
            raise MalformedAnswer("receiveResponseXMLResult is missing (an int is required)")
        _no_elements(result, "receiveResponseXMLResult")
        text = (result.text or "").strip()
        try:
            return Answer(int(text), raw)
        except ValueError as exc:
            raise MalformedAnswer(f"receiveResponseXMLResult {text!r} is not an int") from exc
    if method == "authenticate":
        if result is None or _is_nil(result):
            raise MalformedAnswer("authenticateResult is missing")
        strings: list[str | None] = []
        for child in result:
            if not isinstance(child.tag, str):
                continue
            if child.tag != f"{{{INTUIT_NS}}}string":
                raise MalformedAnswer(
                    f"authenticateResult holds {child.tag}, expected {{{INTUIT_NS}}}string"
                )
            _no_elements(child, "authenticateResult/string")
            strings.append(None if _is_nil(child) else (child.text or ""))
        return Answer(strings, raw)
    if result is None or _is_nil(result):
        return Answer(None, raw)
    _no_elements(result, f"{method}Result")
    return Answer(result.text or "", raw)


class SoapClient:
    """Calls the QBWC service at ``url``, one method at a time."""

    def __init__(self, url: str, timeout: float, verify: bool | str = True) -> None:
        self.url = url
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify

    def call(self, method: str, **params: str | int) -> Answer:
        body = build_request(method, params)
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{INTUIT_NS}{method}"',
        }
        try:
            response = self.session.post(self.url, data=body, headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise CallTimeout(f"no answer within {self.timeout:g} s") from exc
        except requests.RequestException as exc:
            raise CallFailed(str(exc)) from exc
        return parse_answer(
            method, response.status_code, response.headers.get("Content-Type", ""), response.content
        )

    def close(self) -> None:
        self.session.close()
