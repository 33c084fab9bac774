"""SOAP 1.1 as the Web Connector speaks it, written by hand (api-notes 9.1).

Document/literal: the method element and its parameters, ``<method>Response`` and
``<method>Result``, all in ``http://developer.intuit.com/``; ``authenticateResult`` is an array
of ``string`` elements in that namespace (QBWC fails on another namespace, api-notes 9.1),
``receiveResponseXMLResult`` an int. Requests are read with the hardened parser of
``sfqb.qbwc.qbxml`` (no DOCTYPE, no entities, no network). ``wsdl(address)`` is the service's
WSDL, served at ``?wsdl``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from lxml import etree

from .qbxml import parse

INTUIT_NS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# Each method's parameters in the WSDL's order, and its result type (api-notes 9.1).
METHODS: dict[str, tuple[tuple[str, ...], str]] = {
    "serverVersion": ((), "string"),
    "clientVersion": (("strVersion",), "string"),
    "authenticate": (("strUserName", "strPassword"), "array"),
    "sendRequestXML": (
        (
            "ticket",
            "strHCPResponse",
            "strCompanyFileName",
            "qbXMLCountry",
            "qbXMLMajorVers",
            "qbXMLMinorVers",
        ),
        "string",
    ),
    "receiveResponseXML": (("ticket", "response", "hresult", "message"), "int"),
    "connectionError": (("ticket", "hresult", "message"), "string"),
    "getLastError": (("ticket",), "string"),
    "closeConnection": (("ticket",), "string"),
}
INT_PARAMETERS = {"qbXMLMajorVers", "qbXMLMinorVers"}


class SoapError(ValueError):
    """A request that is not a SOAP call of the service (answered with a Client fault)."""


def read_call(body: bytes) -> tuple[str, dict[str, str]]:
    """(method, parameters) of a SOAP request; ``SoapError`` (or ``UnsafeXml``) otherwise."""
    root = parse(body)
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise SoapError("not a SOAP 1.1 envelope")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    calls = [c for c in soap_body if isinstance(c.tag, str)] if soap_body is not None else []
    if len(calls) != 1:
        raise SoapError("the SOAP body must hold exactly one call")
    call = calls[0]
    qname = etree.QName(call)
    if qname.namespace != INTUIT_NS or qname.localname not in METHODS:
        raise SoapError(f"unknown method {{{qname.namespace}}}{qname.localname}")
    params: dict[str, str] = {}
    for child in call:
        if not isinstance(child.tag, str):
            continue
        name = etree.QName(child)
        if name.namespace == INTUIT_NS:
            params[name.localname] = child.text or ""
    return qname.localname, params


def envelope(method: str, result: str | int | list[str] | None) -> bytes:
    """The answer to ``method``."""
    inner = ""
    if isinstance(result, list):
        items = "".join(f"<string>{escape(item)}</string>" for item in result)
        inner = f"<{method}Result>{items}</{method}Result>"
    elif result is not None:
        inner = f"<{method}Result>{escape(str(result))}</{method}Result>"
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
        f'<soap:Body><{method}Response xmlns="{INTUIT_NS}">{inner}</{method}Response>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def fault(code: str, text: str) -> bytes:
    """A SOAP 1.1 Fault (``soap:Client`` for a bad request, ``soap:Server`` for ours)."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}">'
        f"<soap:Body><soap:Fault><faultcode>soap:{code}</faultcode>"
        f"<faultstring>{escape(text)}</faultstring></soap:Fault></soap:Body></soap:Envelope>"
    ).encode()


def wsdl(address: str) -> str:
    """The service's WSDL, its port at ``address``."""
    types = {"string": "xs:string", "int": "xs:int", "array": "tns:ArrayOfString"}
    elements, messages, operations, bindings = [], [], [], []
    for method, (params, result) in METHODS.items():
        fields = "".join(
            f'<xs:element name="{p}" type="xs:int" minOccurs="1" maxOccurs="1"/>'
            if p in INT_PARAMETERS
            else f'<xs:element name="{p}" type="xs:string" minOccurs="0" maxOccurs="1"/>'
            for p in params
        )
        required = "1" if result == "int" else "0"
        elements.append(
            f'<xs:element name="{method}"><xs:complexType><xs:sequence>{fields}'
            f"</xs:sequence></xs:complexType></xs:element>"
            f'<xs:element name="{method}Response"><xs:complexType><xs:sequence>'
            f'<xs:element name="{method}Result" type="{types[result]}" minOccurs="{required}" '
            f'maxOccurs="1"/></xs:sequence></xs:complexType></xs:element>'
        )
        messages.append(
            f'<message name="{method}SoapIn"><part name="parameters" element="tns:{method}"/>'
            f'</message><message name="{method}SoapOut"><part name="parameters" '
            f'element="tns:{method}Response"/></message>'
        )
        operations.append(
            f'<operation name="{method}"><input message="tns:{method}SoapIn"/>'
            f'<output message="tns:{method}SoapOut"/></operation>'
        )
        bindings.append(
            f'<operation name="{method}"><soap:operation soapAction="{INTUIT_NS}{method}" '
            'style="document"/><input><soap:body use="literal"/></input>'
            '<output><soap:body use="literal"/></output></operation>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" '
        'xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        f'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{INTUIT_NS}" '
        f'targetNamespace="{INTUIT_NS}">'
        f'<types><xs:schema elementFormDefault="qualified" targetNamespace="{INTUIT_NS}">'
        '<xs:complexType name="ArrayOfString"><xs:sequence><xs:element name="string" '
        'type="xs:string" minOccurs="0" maxOccurs="unbounded" nillable="true"/></xs:sequence>'
        f"</xs:complexType>{''.join(elements)}</xs:schema></types>"
        f"{''.join(messages)}"
        f'<portType name="QBWebConnectorSvcSoap">{"".join(operations)}</portType>'
        '<binding name="QBWebConnectorSvcSoap" type="tns:QBWebConnectorSvcSoap">'
        '<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>'
        f"{''.join(bindings)}</binding>"
        '<service name="QBWebConnectorSvc"><port name="QBWebConnectorSvcSoap" '
        f'binding="tns:QBWebConnectorSvcSoap"><soap:address location="{escape(address)}"/>'
        "</port></service></definitions>\n"
    )
