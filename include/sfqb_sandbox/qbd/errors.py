"""What goes wrong between a caller and QuickBooks Desktop, with Intuit's codes (api-notes 8.2).

Two layers fail differently:

- the **request processor** (opening the company file, parsing the message set) fails with an
  HRESULT and no qbXML answer at all: :class:`RequestProcessorError` and its kinds;
- a **request** inside a parsed message set fails with a ``statusCode`` in its own response
  element, and the others go on (``continueOnError``) or stop (``stopOnError``):
  :class:`StatusError`.
"""

from __future__ import annotations

# HRESULTs of the request processor (api-notes 8.2).
HR_PARSE = "0x80040400"
HR_CANNOT_ACCESS = "0x80040401"
HR_UNEXPECTED = "0x80040402"
HR_CANNOT_START = "0x80040408"
HR_NOT_RUNNING_NEED_FILE = "0x80040416"
HR_NO_FILE_OPEN_NEED_FILE = "0x80040417"
HR_OTHER_FILE_OPEN = "0x80040410"  # unconfirmed text; see api-notes 8.2

HRESULT_TEXT = {
    HR_PARSE: "QuickBooks found an error when parsing the provided XML text stream.",
    HR_CANNOT_ACCESS: "Could not access QuickBooks.",
    HR_UNEXPECTED: (
        "Unexpected error. Check the qbsdklog.txt file for possible, additional information."
    ),
    HR_CANNOT_START: "Could not start QuickBooks.",
    HR_NOT_RUNNING_NEED_FILE: (
        "If QuickBooks is not running, the company data file name must be supplied to BeginSession."
    ),
    HR_NO_FILE_OPEN_NEED_FILE: (
        "If the QuickBooks company data file is not open, a call to the BeginSession method "
        "must include the name of the data file."
    ),
    HR_OTHER_FILE_OPEN: (
        "The QuickBooks company data file is currently open in a mode other than the one "
        "specified by your application."
    ),
}


class RequestProcessorError(Exception):
    """A failure of the request processor itself: an HRESULT, no qbXML response."""

    def __init__(self, hresult: str, message: str | None = None) -> None:
        self.hresult = hresult
        self.message = message if message is not None else HRESULT_TEXT.get(hresult, "")
        super().__init__(f"{self.hresult}: {self.message}")

    def public(self) -> dict:
        return {"hresult": self.hresult, "message": self.message}


class CompanyUnavailable(RequestProcessorError):
    """QuickBooks is not running, the company file cannot be opened, or it closed under us."""


class QbxmlParseError(RequestProcessorError):
    """The message set is not well-formed qbXML, or breaks the schema (element order, a
    missing required element, an unknown element or enumeration value): 0x80040400."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(HR_PARSE)
        self.detail = detail

    def __str__(self) -> str:
        return (
            f"{self.hresult}: {self.message} ({self.detail})" if self.detail else super().__str__()
        )


# statusCode -> statusSeverity (api-notes 8.3: 0-499 Info, 500-999 Warn, 1000 and up Error).
def severity(code: int) -> str:
    if code < 500:
        return "Info"
    if code < 1000:
        return "Warn"
    return "Error"


STATUS_OK = "Status OK"
NO_MATCH = "A query request did not find a matching object in QuickBooks"


class StatusError(Exception):
    """One request failed: its response carries ``statusCode``/``statusMessage``."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code}: {message}")


def q(value: str) -> str:
    """A value quoted the way QuickBooks quotes it in status messages."""
    return f'"{value}"'


def not_found(value: str) -> StatusError:
    """3120: the object a Mod or a query by id names does not exist."""
    return StatusError(3120, f"Object {q(value)} specified in the request cannot be found.")


def invalid_reference(kind: str, value: str, where: str) -> StatusError:
    """3140: a reference (CustomerRef, ItemRef, ...) names nothing."""
    return StatusError(
        3140,
        f"There is an invalid reference to QuickBooks {kind} {q(value)} in the {where}. "
        "QuickBooks error message: Invalid argument.  The specified record does not exist in "
        "the list.",
    )


def name_in_use(name: str) -> StatusError:
    return StatusError(3100, f"The name {q(name)} of the list element is already in use.")


def stale_edit_sequence(value: str) -> StatusError:
    return StatusError(3200, f"The provided edit sequence {q(value)} is out-of-date.")


def save_error(kind: str, name: str, reason: str, *, modify: bool = False) -> StatusError:
    """3170 (modifying) / 3180 (saving a new one), with QuickBooks' own reason."""
    verb = "modifying" if modify else "saving"
    return StatusError(
        3170 if modify else 3180,
        f"There was an error when {verb} a {kind} list, element {q(name)}. "
        f"QuickBooks error message: {reason}",
    )


def txn_save_error(kind: str, reason: str, *, modify: bool = False) -> StatusError:
    verb = "modifying" if modify else "saving"
    return StatusError(
        3170 if modify else 3180,
        f"There was an error when {verb} a {kind}.  QuickBooks error message: {reason}",
    )


def too_long(value: str, field: str) -> StatusError:
    return StatusError(3070, f"The string {q(value)} in the field {q(field)} is too long.")


def bad_date(value: str, field: str) -> StatusError:
    return StatusError(
        3020,
        f"There was an error when converting the date value {q(value)} in the field {q(field)}.",
    )


def iterator_invalid(iterator_id: str) -> StatusError:
    return StatusError(3391, f"The iterator {q(iterator_id)} is invalid or has expired.")


def feature_unavailable(what: str) -> StatusError:
    return StatusError(
        3250,
        f"This feature is not enabled or not available in this version of QuickBooks. ({what})",
    )
