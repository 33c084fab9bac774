"""The Desktop adapter's pure translations: QBO conditions and payloads -> qbXML requests, and
qbXML Rets -> QBO JSON (R-QBD-3, R-QBD-4), and the Web Connector check (R-QBD-2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from sfqb import qbo_queries as q
from sfqb.hooks.desktop import UnsupportedCondition, WebConnectorNotPolling, check_polling
from sfqb.hooks.desktop import normalise as n
from sfqb.hooks.desktop import translate as t

pytestmark = pytest.mark.unit

LA = ZoneInfo("America/Los_Angeles")


def test_given_an_id_in_condition_when_translated_then_list_ids_and_no_filters():
    """Id IN -> ListID elements; a selection takes no filters, so Active is left to the
    adapter (R-QBD-3)."""
    query = t.query_request("Customer", [q.in_("Id", ["80000001-1", "80000002-1"])])
    assert query.request == (
        "<CustomerQueryRq><ListID>80000001-1</ListID><ListID>80000002-1</ListID></CustomerQueryRq>"
    )
    assert not query.iterate
    assert [str(c) for c in query.post] == ["Active = true"]


def test_given_names_when_translated_then_full_names_escaped():
    """FullyQualifiedName IN -> FullName, XML-escaped (R-QBD-3)."""
    query = t.query_request(
        "Item", [q.in_("FullyQualifiedName", ["A&B", "Parts:Bolt"])], include_inactive=True
    )
    assert "<FullName>A&amp;B</FullName><FullName>Parts:Bolt</FullName>" in query.request
    assert query.post == []


def test_given_a_window_when_translated_then_modified_dates_in_local_time_end_inclusive():
    """MetaData.LastUpdatedTime [start, end) -> FromModifiedDate/ToModifiedDate in the
    company's zone with its offset; the open end becomes the last whole second before it
    (R-QBD-3)."""
    start = dt.datetime(2026, 7, 1, 18, 0, tzinfo=dt.UTC)
    end = dt.datetime(2026, 7, 1, 19, 0, tzinfo=dt.UTC)
    query = t.query_request(
        "Customer", q.window_conditions(start, end), include_inactive=True, tz=LA
    )
    assert query.request == (
        "<CustomerQueryRq><MaxReturned>200</MaxReturned><ActiveStatus>All</ActiveStatus>"
        "<FromModifiedDate>2026-07-01T11:00:00-07:00</FromModifiedDate>"
        "<ToModifiedDate>2026-07-01T11:59:59-07:00</ToModifiedDate></CustomerQueryRq>"
    )
    assert query.iterate


def test_given_txn_conditions_when_translated_then_date_range_entity_filter_and_lines():
    """TxnDate -> TxnDateRangeFilter, CustomerRef -> EntityFilter, lines and links asked for
    (R-QBD-3)."""
    query = t.query_request(
        "Invoice",
        [q.condition("TxnDate", ">=", dt.date(2026, 1, 1)), q.in_("CustomerRef", ["C1"])],
    )
    assert query.request == (
        "<InvoiceQueryRq><MaxReturned>200</MaxReturned><TxnDateRangeFilter>"
        "<FromTxnDate>2026-01-01</FromTxnDate></TxnDateRangeFilter><EntityFilter>"
        "<ListID>C1</ListID></EntityFilter><IncludeLineItems>true</IncludeLineItems>"
        "<IncludeLinkedTxns>true</IncludeLinkedTxns></InvoiceQueryRq>"
    )


def test_given_a_create_time_condition_when_translated_then_wider_filter_and_a_post_check():
    """MetaData.CreateTime >= x -> modified since x, then the adapter checks creation (R-QBD-3)."""
    since = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    query = t.query_request("SalesReceipt", [q.condition("MetaData.CreateTime", ">=", since)])
    assert "<ModifiedDateRangeFilter><FromModifiedDate>2026-07-01T00:00:00+00:00" in query.request
    old = {"MetaData": {"CreateTime": "2026-06-30T00:00:00+00:00"}}
    new = {"MetaData": {"CreateTime": "2026-07-02T00:00:00+00:00"}}
    (post,) = query.post
    assert not n.matches(old, post) and n.matches(new, post)


@pytest.mark.parametrize(
    "condition",
    [
        q.condition("DisplayName", "LIKE", "Acme%"),
        q.equals("Balance", Decimal("0")),
        q.equals("Active", True),  # transactions have no Active flag
    ],
)
def test_given_an_untranslatable_condition_when_queried_then_refused_naming_it(condition):
    """A condition qbXML cannot express is refused, naming it (R-QBD-3)."""
    entity = "Invoice" if condition.prop == "Active" else "Customer"
    with pytest.raises(UnsupportedCondition, match=condition.prop):
        t.query_request(entity, [condition])


def test_given_deleted_entities_when_translated_then_list_and_txn_deleted_queries():
    """Deletions come from ListDeletedQuery and TxnDeletedQuery (R-QBD-3)."""
    since = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    lists, txns = t.deleted_request(["Customer", "Invoice", "Payment"], since, dt.UTC)
    assert lists.startswith("<ListDeletedQueryRq><ListDelType>Customer</ListDelType>")
    assert "<TxnDelType>Invoice</TxnDelType><TxnDelType>ReceivePayment</TxnDelType>" in txns


def test_given_a_customer_payload_when_added_then_ordered_fields_and_the_guid():
    """A QBO customer -> CustomerAdd in the schema's order, with its ExternalGUID (R-QBD-4)."""
    payload = {
        "DisplayName": "Acme",
        "CompanyName": "Acme Inc",
        "GivenName": "Ann",
        "PrimaryPhone": {"FreeFormNumber": "555"},
        "PrimaryEmailAddr": {"Address": "a@acme.test"},
        "BillAddr": {"Line1": "1 Main St", "City": "Reno", "CountrySubDivisionCode": "NV"},
        "SalesTermRef": {"value": "T1"},
    }
    guid = t.identity("Customer", "create", "001A")
    assert guid == t.identity("Customer", "create", "001A") != t.identity("Customer", "create", "1")
    assert t.customer_add(payload, guid) == (
        "<CustomerAddRq><CustomerAdd><Name>Acme</Name><CompanyName>Acme Inc</CompanyName>"
        "<FirstName>Ann</FirstName><BillAddress><Addr1>1 Main St</Addr1><City>Reno</City>"
        "<State>NV</State></BillAddress><Phone>555</Phone><Email>a@acme.test</Email>"
        f"<TermsRef><ListID>T1</ListID></TermsRef><ExternalGUID>{guid}</ExternalGUID>"
        "</CustomerAdd></CustomerAddRq>"
    )


def test_given_a_sales_rep_and_credit_limit_when_modified_then_in_the_schema_order():
    """R-ACC-9: a customer's Sales Rep goes out as SalesRepRef after TermsRef, its Credit Limit
    in the tail; a cleared credit limit (``""``, which qbXML cannot send) is left out."""
    payload = {
        "Id": "80000001-1",
        "SyncToken": "7",
        "SalesTermRef": {"value": "T1"},
        "SalesRepRef": {"value": "R1"},
        "CreditLimit": 5000.0,
    }
    assert t.customer_mod(payload) == (
        "<CustomerModRq><CustomerMod><ListID>80000001-1</ListID><EditSequence>7</EditSequence>"
        "<TermsRef><ListID>T1</ListID></TermsRef><SalesRepRef><ListID>R1</ListID></SalesRepRef>"
        "<CreditLimit>5000.00</CreditLimit></CustomerMod></CustomerModRq>"
    )
    assert "CreditLimit" not in t.customer_mod({**payload, "CreditLimit": ""})


def test_given_sales_reps_when_read_then_a_sales_rep_query_and_initials_as_names():
    """R-ACC-9: the sales reps are read with SalesRepQuery; a rep's Name is its initials."""
    query = t.query_request("SalesRep", [], include_inactive=False)
    assert query.request.startswith("<SalesRepQueryRq><MaxReturned>")
    assert "<ActiveStatus>ActiveOnly</ActiveStatus>" in query.request
    ret = etree.fromstring(
        "<SalesRepRet><ListID>R1</ListID><EditSequence>1</EditSequence><Initial>JD</Initial>"
        "<IsActive>true</IsActive><SalesRepEntityRef><ListID>P1</ListID></SalesRepEntityRef>"
        "</SalesRepRet>"
    )
    assert n.normalise(ret) == {
        "Id": "R1",
        "SyncToken": "1",
        "MetaData": {},
        "Name": "JD",
        "Active": True,
    }


def test_given_an_invoice_payload_when_added_then_memo_lines_and_guid():
    """A QBO invoice -> InvoiceAdd: PrivateNote is the Memo, lines are line adds (R-QBD-4)."""
    payload = {
        "CustomerRef": {"value": "C1"},
        "TxnDate": "2026-07-01",
        "PrivateNote": "Salesforce Opportunity 006X",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("20"),
                "SalesItemLineDetail": {"ItemRef": {"value": "I1"}, "Qty": 2, "UnitPrice": 10},
            }
        ],
    }
    text = t.txn_add("Invoice", payload, "{G}")
    assert text == (
        "<InvoiceAddRq><InvoiceAdd><CustomerRef><ListID>C1</ListID></CustomerRef>"
        "<TxnDate>2026-07-01</TxnDate><Memo>Salesforce Opportunity 006X</Memo>"
        "<ExternalGUID>{G}</ExternalGUID><InvoiceLineAdd><ItemRef><ListID>I1</ListID></ItemRef>"
        "<Quantity>2</Quantity><Rate>10</Rate><Amount>20.00</Amount></InvoiceLineAdd>"
        "</InvoiceAdd></InvoiceAddRq>"
    )


def test_given_sales_order_header_fields_when_added_then_po_number_and_rep_in_schema_order():
    """R-OPP-4: PONumber after the addresses, SalesRepRef (by initials) after DueDate, then the
    ShipMethodRef by name (qbXML's element order); a sales receipt gets no PONumber."""
    payload = {
        "CustomerRef": {"value": "C1"},
        "PONumber": "PO-1",
        "SalesTermRef": {"value": "T1"},
        "DueDate": "2026-07-31",
        "SalesRepRef": {"name": "JD"},
        "ShipDate": "2026-07-02",
        "ShipMethodRef": {"value": "UPS", "name": "UPS"},
    }
    text = t.txn_add("SalesOrder", payload, "{G}")
    assert (
        "<PONumber>PO-1</PONumber><TermsRef><ListID>T1</ListID></TermsRef>"
        "<DueDate>2026-07-31</DueDate><SalesRepRef><FullName>JD</FullName></SalesRepRef>"
        "<ShipDate>2026-07-02</ShipDate><ShipMethodRef><FullName>UPS</FullName></ShipMethodRef>"
    ) in text
    assert "PONumber" not in t.txn_add("SalesReceipt", payload, "{G}")


def test_given_a_sales_order_ret_when_normalised_then_po_number_rep_and_ship_method_as_online():
    """R-OPP-4, R-OPP-7: PONumber and SalesRepRef read back as the sales-form custom fields
    "PO Number" and "Sales Rep", ShipMethodRef with its name as the value (Online's shape)."""
    ret = etree.fromstring(
        "<SalesOrderRet><TxnID>S-1</TxnID><EditSequence>5</EditSequence>"
        "<PONumber>PO-1</PONumber>"
        "<SalesRepRef><ListID>R1</ListID><FullName>JD</FullName></SalesRepRef>"
        "<ShipMethodRef><ListID>M1</ListID><FullName>UPS</FullName></ShipMethodRef>"
        "<IsFullyInvoiced>false</IsFullyInvoiced></SalesOrderRet>"
    )
    record = n.normalise(ret)
    assert record["CustomField"] == [
        {"Name": "PO Number", "Type": "StringType", "StringValue": "PO-1"},
        {"Name": "Sales Rep", "Type": "StringType", "StringValue": "JD"},
    ]
    assert record["ShipMethodRef"] == {"value": "UPS", "name": "UPS", "id": "M1"}
    assert record["SalesRepRef"] == {"value": "R1", "name": "JD"}
    assert record["IsFullyInvoiced"] is False


CUSTOMER_RET = """<CustomerRet><ListID>80000005-1</ListID>
<TimeCreated>2026-07-01T10:00:00-07:00</TimeCreated>
<TimeModified>2026-07-02T10:00:00-07:00</TimeModified><EditSequence>1719</EditSequence>
<Name>Kitchen</Name><FullName>Acme:Kitchen</FullName><IsActive>true</IsActive>
<ParentRef><ListID>80000001-1</ListID><FullName>Acme</FullName></ParentRef>
<Sublevel>1</Sublevel><BillAddress><Addr1>1 Main</Addr1><State>NV</State></BillAddress>
<Phone>555</Phone><Email>k@acme.test</Email>
<TermsRef><ListID>T1</ListID><FullName>Net 30</FullName></TermsRef>
<SalesRepRef><ListID>R1</ListID><FullName>JD</FullName></SalesRepRef>
<Balance>12.50</Balance><TotalBalance>12.50</TotalBalance><ExternalGUID>{G}</ExternalGUID>
</CustomerRet>"""


def test_given_addresses_out_of_order_when_normalised_then_qbo_lines_in_order_and_blanks_left_out():
    """qbXML address elements in any order become QBO's address keys in QBO's order (Line1..5,
    City, CountrySubDivisionCode, PostalCode, Country); empty elements and unknown ones (Note)
    are left out, and of a tag given twice the first counts, as findtext reads it (R-QBD-3)."""
    ret = etree.fromstring(
        "<CustomerRet><ListID>1</ListID><Name>A</Name><FullName>A</FullName>"
        "<ShipAddress><Country>US</Country><Note>back door</Note><Addr2></Addr2>"
        "<City>Reno</City><Addr1>1 Main</Addr1><Addr1>2 Main</Addr1><Addr3>Unit 4</Addr3>"
        "<PostalCode>89501</PostalCode><State>NV</State></ShipAddress></CustomerRet>"
    )

    record = n.normalise(ret)

    assert list(record["ShipAddr"].items()) == [
        ("Line1", "1 Main"),
        ("Line3", "Unit 4"),
        ("City", "Reno"),
        ("CountrySubDivisionCode", "NV"),
        ("PostalCode", "89501"),
        ("Country", "US"),
    ]
    assert "BillAddr" not in record


def test_given_a_customer_ret_when_normalised_then_the_qbo_shape_in_utc():
    """CustomerRet -> QBO Customer: Id/SyncToken from ListID/EditSequence, names, parent, job,
    addresses, terms, balance, times in UTC (R-QBD-3)."""
    record = n.normalise(etree.fromstring(CUSTOMER_RET))
    assert record["Id"] == "80000005-1" and record["SyncToken"] == "1719"
    assert record["DisplayName"] == "Kitchen" and record["FullyQualifiedName"] == "Acme:Kitchen"
    assert record["ParentRef"] == {"value": "80000001-1", "name": "Acme"} and record["Job"]
    assert record["Active"] is True
    assert record["BillAddr"] == {"Line1": "1 Main", "CountrySubDivisionCode": "NV"}
    assert record["PrimaryPhone"] == {"FreeFormNumber": "555"}
    assert record["PrimaryEmailAddr"] == {"Address": "k@acme.test"}
    assert record["SalesTermRef"] == {"value": "T1", "name": "Net 30"}
    assert record["SalesRepRef"] == {"value": "R1", "name": "JD"}  # the rep's initials (R-ACC-9)
    assert record["Balance"] == Decimal("12.50")
    assert record["MetaData"] == {
        "CreateTime": "2026-07-01T17:00:00+00:00",
        "LastUpdatedTime": "2026-07-02T17:00:00+00:00",
    }


@pytest.mark.parametrize(
    ("status", "project"),
    [("", False), ("<JobStatus>None</JobStatus>", False), ("<JobStatus>Awarded</JobStatus>", True)],
)
def test_given_a_job_status_when_normalised_then_a_job_is_a_project(status, project):
    """R-ACC-3, R-INV-7: a Desktop job (JobStatus other than None) reads as QBO's project, so
    the invoices (billed through the parent) and reconciliation tell it apart as on Online;
    a sub-customer (no JobStatus, or None) is no project."""
    ret = CUSTOMER_RET.replace("<Balance>", f"{status}<Balance>")
    assert n.normalise(etree.fromstring(ret))["IsProject"] is project


def test_given_item_rets_when_normalised_then_types_prices_and_quantities():
    """Item Rets -> QBO items: the Desktop type named as QBO's, price, quantity on hand
    (R-QBD-3)."""
    service = n.normalise(
        etree.fromstring(
            "<ItemServiceRet><ListID>1</ListID><Name>Hours</Name><FullName>Hours</FullName>"
            "<IsActive>true</IsActive><SalesOrPurchase><Desc>Labour</Desc><Price>95.00</Price>"
            "</SalesOrPurchase></ItemServiceRet>"
        )
    )
    assert (service["Type"], service["UnitPrice"], service["Description"]) == (
        "Service",
        Decimal("95.00"),
        "Labour",
    )
    part = n.normalise(
        etree.fromstring(
            "<ItemInventoryRet><ListID>2</ListID><Name>Bolt</Name><FullName>Bolt</FullName>"
            "<SalesPrice>1.25</SalesPrice><QuantityOnHand>40</QuantityOnHand>"
            "<QuantityOnSalesOrder>3</QuantityOnSalesOrder></ItemInventoryRet>"
        )
    )
    assert part["Type"] == "Inventory" and part["QtyOnHand"] == Decimal("40")
    assert part["UnitPrice"] == Decimal("1.25") and part["QtyOnSalesOrder"] == Decimal("3")
    group = n.normalise(
        etree.fromstring("<ItemGroupRet><ListID>3</ListID><Name>Kit</Name></ItemGroupRet>")
    )
    assert group["Type"] == "Group" and group["FullyQualifiedName"] == "Kit"


def test_given_an_invoice_ret_when_normalised_then_lines_totals_balance_and_links():
    """InvoiceRet -> QBO Invoice: DocNumber, TxnDate, CustomerRef, lines, TotalAmt, Balance,
    LinkedTxn with ReceivePayment named Payment (R-QBD-3)."""
    record = n.normalise(
        etree.fromstring(
            "<InvoiceRet><TxnID>10-1</TxnID><TimeCreated>2026-07-01T10:00:00-07:00</TimeCreated>"
            "<TimeModified>2026-07-01T10:00:00-07:00</TimeModified><EditSequence>5</EditSequence>"
            "<CustomerRef><ListID>C1</ListID><FullName>Acme</FullName></CustomerRef>"
            "<TxnDate>2026-07-01</TxnDate><RefNumber>1001</RefNumber><Subtotal>20.00</Subtotal>"
            "<SalesTaxTotal>0.00</SalesTaxTotal><BalanceRemaining>5.00</BalanceRemaining>"
            "<Memo>Salesforce Opportunity 006X</Memo><LinkedTxn><TxnID>P1</TxnID>"
            "<TxnType>ReceivePayment</TxnType><LinkType>AMTTYPE</LinkType><Amount>-15.00</Amount>"
            "</LinkedTxn><InvoiceLineRet><TxnLineID>L1</TxnLineID><ItemRef><ListID>I1</ListID>"
            "</ItemRef><Quantity>2</Quantity><Rate>10.00</Rate><Amount>20.00</Amount>"
            "</InvoiceLineRet></InvoiceRet>"
        )
    )
    assert record["DocNumber"] == "1001" and record["TxnDate"] == "2026-07-01"
    assert record["TotalAmt"] == Decimal("20.00") and record["Balance"] == Decimal("5.00")
    assert record["PrivateNote"] == "Salesforce Opportunity 006X"
    assert record["LinkedTxn"][0]["TxnType"] == "Payment"
    (line,) = record["Line"]
    assert line["SalesItemLineDetail"]["Qty"] == Decimal("2")
    assert line["SalesItemLineDetail"]["ItemRef"] == {"value": "I1"}


def test_given_a_payment_ret_when_normalised_then_lines_link_the_invoices_paid():
    """ReceivePaymentRet -> QBO Payment, each AppliedToTxnRet a line linking its invoice
    (R-QBD-3)."""
    record = n.normalise(
        etree.fromstring(
            "<ReceivePaymentRet><TxnID>P1</TxnID><TxnDate>2026-07-02</TxnDate>"
            "<TotalAmount>15.00</TotalAmount><AppliedToTxnRet><TxnID>10-1</TxnID>"
            "<TxnType>Invoice</TxnType><Amount>15.00</Amount></AppliedToTxnRet></ReceivePaymentRet>"
        )
    )
    assert record["TotalAmt"] == Decimal("15.00")
    assert record["Line"] == [
        {"Amount": Decimal("15.00"), "LinkedTxn": [{"TxnId": "10-1", "TxnType": "Invoice"}]}
    ]


def test_given_a_recent_poll_when_checked_then_nothing_is_raised():
    """The Web Connector polled within the allowed time: go on (R-QBD-2)."""
    now = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    check_polling(now - dt.timedelta(minutes=9), now, dt.timedelta(minutes=10))


def test_given_an_old_poll_when_checked_then_the_error_says_not_running_and_when():
    """The last poll is older than allowed, or there was none: a clear error naming when it
    last polled (R-QBD-2)."""
    now = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)
    with pytest.raises(
        WebConnectorNotPolling,
        match="not running: it last polled at 2026-07-01 11:00:00 UTC, 60 min ago",
    ):
        check_polling(now - dt.timedelta(hours=1), now, dt.timedelta(minutes=10))
    with pytest.raises(WebConnectorNotPolling, match="never polled"):
        check_polling(None, now)
