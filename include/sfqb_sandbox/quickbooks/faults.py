"""QBO fault bodies and the exception handlers raise to produce them.

Two shapes exist on the real service (api-notes 2.3): the capitalised ``Fault`` envelope for
validation and business errors, and a lower-case body for authentication failures (HTTP 401),
which python-quickbooks turns into ``AuthorizationException`` without parsing it.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.responses import JSONResponse, Response

from .values import dumps_bytes, qbo_time

# code -> (HTTP status, Message, fault type)
KNOWN = {
    "500": (400, "Unsupported Operation", "ValidationFault"),
    "610": (400, "Object Not Found", "ValidationFault"),
    "2010": (400, "Request has invalid or unsupported property", "ValidationFault"),
    "2020": (
        400,
        "Required param missing, need to supply the required value for the API",
        "ValidationFault",
    ),
    "2050": (400, "String length specified does not match the supported length", "ValidationFault"),
    "2170": (400, "Invalid Enumeration", "ValidationFault"),
    "2210": (
        400,
        "Email Address does not conform to the syntax rules of RFC 822",
        "ValidationFault",
    ),
    "2500": (400, "Invalid Reference Id", "ValidationFault"),
    "3001": (429, "message=ThrottleExceeded; errorCode=003001; statusCode=429", "ThrottleFault"),
    "4000": (400, "Error parsing query", "ValidationFault"),
    "4001": (400, "Invalid query", "ValidationFault"),
    "5010": (400, "Stale Object Error", "ValidationFault"),
    "6000": (
        400,
        "A business validation error has occurred while processing your request",
        "ValidationFault",
    ),
    "6070": (400, "Amount is not equal to UnitPrice * Qty", "ValidationFault"),
    "6240": (400, "Duplicate Name Exists Error", "ValidationFault"),
    "6520": (400, "Missing Inventory Item Quantity", "ValidationFault"),
    "10000": (
        500,
        "An application error has occurred while processing your request",
        "SystemFault",
    ),
}

STALE_DETAIL = (
    "Stale Object Error : You and root were working on this at the same time. root "
    "finished before you did, so your work was not saved."
)
DUPLICATE_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is "
    "already using this name. Please use a different name."
)
NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


class QBOFault(Exception):
    """Raised anywhere in request handling; becomes a ``Fault`` response (or a batch item fault)."""

    def __init__(
        self, code: str | int, detail: str = "", element: str = "", message: str | None = None
    ) -> None:
        self.code = str(code)
        status, default_message, fault_type = KNOWN.get(
            self.code, (400, "Error", "ValidationFault")
        )
        self.status = status
        self.message = message or default_message
        self.detail = detail or self.message
        self.element = element
        self.fault_type = fault_type
        super().__init__(f"{self.code} {self.message}: {self.detail}")

    def fault(self) -> dict:
        return {
            "Error": [
                {
                    "Message": self.message,
                    "Detail": self.detail,
                    "code": self.code,
                    "element": self.element,
                }
            ],
            "type": self.fault_type,
        }

    def response(self, now, headers: dict | None = None) -> Response:
        return JSONResponse(
            {"Fault": self.fault(), "time": qbo_time(now, millis=True)},
            status_code=self.status,
            headers=headers,
        )


def unsupported_operation(request) -> QBOFault:
    """Intuit's answer to a request no API operation takes (an unknown resource or path, a
    wrong method): HTTP 400, ValidationFault code 500 "Unsupported Operation", the Detail
    naming the path (docs/sandbox-quickbooks.md, "Errors")."""
    return QBOFault(
        "500",
        f"Operation Could not find resource for relative : "
        f"{request.url.path} of full path: {request.url} is not supported.",
    )


class AuthFailed(Exception):
    """An unknown, expired or wrong-realm access token: HTTP 401 with Intuit's lower-case body."""

    def __init__(self, detail: str = "Token expired") -> None:
        self.detail = detail
        super().__init__(detail)


def auth_failed_response(now, detail: str = "Token expired") -> Response:
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(now.timestamp() * 1000),
        "status": None,
        "cdcresponse": [],
    }
    return JSONResponse(body, status_code=401, headers={"intuit_tid": str(uuid.uuid4())})


def throttle_response(now, retry_after: float | None, xml: bool = False) -> Response:
    """HTTP 429: the JSON 3001 fault (default) or the historical XML form (api-notes 2.3/2.4)."""
    headers = {"intuit_tid": str(uuid.uuid4())}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    if xml:
        body = (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
            f'time="{qbo_time(now, millis=True)}"><Fault type="ThrottleFault">'
            '<Error code="3001"><Message>message=ThrottleExceeded; errorCode=003001; '
            "statusCode=429</Message><Detail>The request limit was reached. Try again later"
            "</Detail></Error></Fault></IntuitResponse>"
        )
        return Response(body, status_code=429, media_type="application/xml", headers=headers)
    fault = QBOFault("3001", "The request limit was reached. Try again later")
    return fault.response(now, headers=headers)


def json_response(payload: dict, status: int = 200) -> Response:
    """JSON with Decimal amounts emitted as numbers."""
    return Response(
        dumps_bytes(payload),
        status_code=status,
        media_type="application/json",
        headers={"intuit_tid": str(uuid.uuid4())},
    )


def fault_payload(code: str, detail: str = "") -> dict[str, Any]:
    return QBOFault(code, detail).fault()
