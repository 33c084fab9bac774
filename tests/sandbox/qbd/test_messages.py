"""Message sets: status attributes, onError, the schema's order and types (api-notes 8.3, 8.5)."""

from __future__ import annotations

import pytest

from sfqb_sandbox.qbd.errors import QbxmlParseError

pytestmark = pytest.mark.sandbox

ADD = (
    '<CustomerAddRq requestID="{id}"><CustomerAdd><Name>{name}</Name></CustomerAdd></CustomerAddRq>'
)


def test_given_two_requests_when_processed_then_each_answer_echoes_its_request_id(qb):
    """Each response carries the requestID, statusCode, statusSeverity and statusMessage."""
    first, second = qb.rs(ADD.format(id="a-1", name="Echo One") + '<HostQueryRq requestID="h"/>')
    assert (first.tag, first.get("requestID"), first.get("statusCode")) == (
        "CustomerAddRs",
        "a-1",
        "0",
    )
    assert (first.get("statusSeverity"), first.get("statusMessage")) == ("Info", "Status OK")
    assert second.get("requestID") == "h"
    assert "Enterprise" in second.findtext("HostRet/ProductName")


def test_given_a_failing_request_when_continue_on_error_then_the_next_one_runs(qb):
    """continueOnError: an error answers its request and the rest are processed."""
    rs = qb.rs(
        ADD.format(id="1", name="Dup Co")
        + ADD.format(id="2", name="Dup Co")
        + ADD.format(id="3", name="After Co")
    )
    assert [r.get("statusCode") for r in rs] == ["0", "3100", "0"]
    assert rs[1].get("statusSeverity") == "Error"
    assert rs[1].get("statusMessage") == 'The name "Dup Co" of the list element is already in use.'


def test_given_a_failing_request_when_stop_on_error_then_later_requests_are_not_answered(qb):
    """stopOnError: processing stops at the error; earlier writes stay (no rollback)."""
    rs = qb.rs(
        ADD.format(id="1", name="Stop Co")
        + ADD.format(id="2", name="Stop Co")
        + ADD.format(id="3", name="Never Co"),
        "stopOnError",
    )
    assert [r.get("requestID") for r in rs] == ["1", "2"]
    assert qb.company.store.find_name("Customer", "Stop Co") is not None
    assert qb.company.store.find_name("Customer", "Never Co") is None


def test_given_elements_out_of_order_when_processed_then_the_whole_set_fails_with_0x80040400(qb):
    """The SDK validates order against the schema: FirstName before Name is a parse error,
    and nothing in the message set is applied."""
    body = ADD.format(id="1", name="Fine Co") + (
        '<CustomerAddRq requestID="2"><CustomerAdd><FirstName>Ann</FirstName><Name>Bad Order</Name>'
        "</CustomerAdd></CustomerAddRq>"
    )
    with pytest.raises(QbxmlParseError) as caught:
        qb.send(body)
    assert caught.value.hresult == "0x80040400"
    assert (
        caught.value.message
        == "QuickBooks found an error when parsing the provided XML text stream."
    )
    assert qb.company.store.find_name("Customer", "Fine Co") is None


@pytest.mark.parametrize(
    "body",
    [
        "<CustomerAddRq><CustomerAdd><IsActive>true</IsActive></CustomerAdd></CustomerAddRq>",  # no Name
        "<CustomerAddRq><CustomerAdd><Name>X</Name><IsActive>yes</IsActive></CustomerAdd></CustomerAddRq>",
        "<CustomerAddRq><CustomerAdd><Name>X</Name><Colour>red</Colour></CustomerAdd></CustomerAddRq>",
        "<CustomerQueryRq><ActiveStatus>Sometimes</ActiveStatus></CustomerQueryRq>",
        "<CustomerQueryRq><MaxReturned>ten</MaxReturned></CustomerQueryRq>",
        "<CustomerQueryRq><ListID>1</ListID><FullName>A</FullName></CustomerQueryRq>",
    ],
)
def test_given_a_schema_violation_when_processed_then_it_is_a_parse_error(qb, body):
    """Missing required elements, bad booleans, unknown elements or enumeration values,
    non-numbers and a choice's alternatives together all fail with 0x80040400."""
    with pytest.raises(QbxmlParseError):
        qb.send(body)


def test_given_no_qbxml_version_or_bad_on_error_when_processed_then_it_is_a_parse_error(qb):
    """The ``<?qbxml version?>`` instruction and a valid onError are required."""
    with pytest.raises(QbxmlParseError):
        qb.company.process(
            '<QBXML><QBXMLMsgsRq onError="stopOnError"><HostQueryRq/></QBXMLMsgsRq></QBXML>'
        )
    with pytest.raises(QbxmlParseError):
        qb.send("<HostQueryRq/>", on_error="rollbackOnError")


def test_given_a_name_longer_than_41_when_added_then_status_3070(qb):
    """Customer Name holds at most 41 characters."""
    rs = qb.one(ADD.format(id="1", name="N" * 42))
    assert rs.get("statusCode") == "3070"


def test_given_a_request_the_emulator_lacks_when_processed_then_status_1030(qb):
    """A real request the emulator does not implement is refused, not ignored."""
    rs = qb.one('<VendorQueryRq requestID="v"/>')
    assert (rs.tag, rs.get("statusCode")) == ("VendorQueryRs", "1030")


def test_given_an_unimplemented_element_when_used_then_status_1030_and_nothing_saved(qb):
    """An element of qbXML the emulator does not implement fails its request."""
    rs = qb.one(
        "<CustomerAddRq><CustomerAdd><Name>Typed Co</Name><CustomerTypeRef><FullName>Retail</FullName>"
        "</CustomerTypeRef></CustomerAdd></CustomerAddRq>"
    )
    assert rs.get("statusCode") == "1030"
    assert qb.company.store.find_name("Customer", "Typed Co") is None


def test_given_a_request_id_over_50_characters_when_processed_then_status_1060(qb):
    rs = qb.one(f'<HostQueryRq requestID="{"r" * 51}"/>')
    assert rs.get("statusCode") == "1060"


def test_given_company_and_preferences_queries_when_processed_then_they_answer(qb):
    company, prefs = qb.rs("<CompanyQueryRq/><PreferencesQueryRq/>")
    assert company.findtext("CompanyRet/CompanyName") == "Sandbox Widgets Inc"
    assert prefs.find("PreferencesRet") is not None
