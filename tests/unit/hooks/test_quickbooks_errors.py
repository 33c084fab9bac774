"""QuickBooks hook pure pieces: error mapping by error_code and status, request ids, JSON.

api-notes 2.3 (codes and the python-quickbooks exception each raises), 2.8/2.10 (requestid
lengths), R-GEN-3 (deterministic requestid).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests
from quickbooks.exceptions import (
    AuthorizationException,
    ObjectNotFoundException,
    QuickbooksException,
    SevereException,
    ValidationException,
)

from sfqb.hooks.errors import (
    AuthError,
    DuplicateNameError,
    NotFoundError,
    RecordError,
    StaleObjectError,
    ThrottledError,
    TransientError,
    ValidationError,
)
from sfqb.hooks.quickbooks import dumps, map_error, map_fault, request_id_for

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("exc", "status", "expected", "code"),
    [
        (
            AuthorizationException("Application authentication failed", 401, "{...}"),
            401,
            AuthError,
            401,
        ),
        (
            ValidationException("message=ThrottleExceeded; errorCode=003001; statusCode=429", 3001),
            429,
            ThrottledError,
            3001,
        ),
        (
            QuickbooksException(
                'Error reading json response: <Fault><Error code="3001">'
                "<Message>message=ThrottleExceeded</Message>",
                10000,
            ),
            429,
            ThrottledError,
            3001,
        ),
        (
            QuickbooksException("Error returned with status code '429': {}", 10000),
            429,
            ThrottledError,
            3001,
        ),
        (SevereException("An application error has occurred", 10000), 500, TransientError, 10000),
        (
            QuickbooksException("Error returned with status code '503': {}", 10000),
            503,
            TransientError,
            10000,
        ),
        (
            QuickbooksException("Stale Object Error", 5010, "You and root..."),
            400,
            StaleObjectError,
            5010,
        ),
        (
            QuickbooksException("Duplicate Name Exists Error", 6240, "The name supplied..."),
            400,
            DuplicateNameError,
            6240,
        ),
        (ObjectNotFoundException("Object Not Found", 610, "Something..."), 400, NotFoundError, 610),
        (
            ValidationException("Required param missing", 2020, "Line is missing"),
            400,
            ValidationError,
            2020,
        ),
        (
            QuickbooksException("A business validation error", 6000, "amount"),
            400,
            ValidationError,
            6000,
        ),
        (
            ValidationException("message=AuthorizationFailed; errorCode=003100", 3100),
            403,
            AuthError,
            3100,
        ),
    ],
)
def test_given_library_exceptions_when_mapped_then_taxonomy_by_code(exc, status, expected, code):
    """api-notes 2.3: python-quickbooks raises the base class for 5010/6xxx and
    ValidationException for 3001; the hook decides by error_code, status and message."""
    mapped = map_error(exc, status=status)
    assert type(mapped) is expected
    assert mapped.code == code


def test_given_a_validation_fault_when_mapped_then_code_and_detail_kept():
    """R-GEN-5: the WARNING for a refused record names Intuit's code and detail."""
    err = map_fault("2050", "String length specified does not match", "Max:500 Supplied:501")
    assert isinstance(err, ValidationError) and isinstance(err, RecordError)
    assert err.code == 2050
    assert "Max:500" in str(err) and "[2050]" in str(err)


def test_given_a_throttle_with_retry_after_when_mapped_then_retry_after_kept():
    """api-notes 2.4: Retry-After, when sent, decides the wait."""
    err = map_fault("3001", "ThrottleExceeded", status=429, retry_after=7.0)
    assert isinstance(err, ThrottledError) and err.retry_after == 7.0


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("reset"),
        requests.Timeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("eof"),
    ],
)
def test_given_network_errors_when_mapped_then_transient(exc):
    """Dropped connections and timeouts are retried."""
    assert isinstance(map_error(exc), TransientError)


def test_given_a_401_body_when_mapped_then_the_body_is_not_in_the_message():
    """R-OPS-4: the 401 body is left out of the error text (keeps logs short and clean)."""
    err = map_error(
        AuthorizationException(
            "Application authentication failed", 401, "Token expired: eyJsecret"
        ),
        status=401,
    )
    assert "eyJsecret" not in str(err)


def test_given_parts_when_request_id_made_then_deterministic_uuid_of_36_chars():
    """R-GEN-3, api-notes 2.8/2.10: the same parts give the same id; 36 chars fits batch."""
    first = request_id_for("006XX0000001", "create")
    assert first == request_id_for("006XX0000001", "create")
    assert first != request_id_for("006XX0000001", "update")
    assert first != request_id_for("006XX000000", "1create")  # parts are separated
    assert len(first) == 36


def test_given_decimal_money_when_dumped_then_exact_numbers():
    """Money is Decimal; it reaches QBO as the same decimal number, never rounded."""
    assert dumps({"Amount": Decimal("1234.56"), "Qty": Decimal("3")}) == (
        '{"Amount": 1234.56, "Qty": 3.0}'
    )
    assert dumps({"UnitPrice": Decimal("0.1")}) == '{"UnitPrice": 0.1}'
    with pytest.raises(ValueError):
        dumps({"Amount": Decimal("12345678901234567.89")})


def test_given_unicode_when_dumped_then_kept_as_text():
    """Names with unicode round-trip (the hook sends UTF-8 bytes)."""
    assert dumps({"DisplayName": "Zürich \\ 'x' \"y\""}) == (
        '{"DisplayName": "Zürich \\\\ \'x\' \\"y\\""}'
    )
