"""Entities, their JSON shape and rules, driven through python-quickbooks (api-notes 2.6, 2.7,
2.10, 2.13)."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from quickbooks.exceptions import (
    ObjectNotFoundException,
    QuickbooksException,
    UnsupportedException,
    ValidationException,
)
from quickbooks.objects.base import CustomField, EmailAddress, Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment, PaymentLine
from quickbooks.objects.preferences import Preferences
from quickbooks.objects.salesreceipt import SalesReceipt
from quickbooks.objects.term import Term
from quickbooks.objects.trackingclass import Class

from sfqb_sandbox.common import names

pytestmark = pytest.mark.sandbox


def unique(prefix: str) -> str:
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def new_customer(qb, name: str | None = None, **fields) -> Customer:
    customer = Customer()
    customer.DisplayName = name or unique("Customer")
    for key, value in fields.items():
        setattr(customer, key, value)
    return customer.save(qb=qb)


def ref(value: str, name: str = "") -> Ref:
    r = Ref()
    r.value = value
    r.name = name
    return r


def sales_line(amount, item_id: str | None = None, qty=0, price=0) -> SalesItemLine:
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    if item_id:
        line.SalesItemLineDetail.ItemRef = ref(item_id)
    line.SalesItemLineDetail.Qty = qty
    line.SalesItemLineDetail.UnitPrice = price
    return line


def new_invoice(qb, customer: Customer, *amounts, **fields) -> Invoice:
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [sales_line(a) for a in amounts]
    for key, value in fields.items():
        setattr(invoice, key, value)
    return invoice.save(qb=qb)


def pay(qb, customer: Customer, invoice: Invoice, amount, total=None) -> Payment:
    payment = Payment()
    payment.CustomerRef = customer.to_ref()
    payment.TotalAmt = total if total is not None else amount
    line = PaymentLine()
    line.Amount = amount
    line.LinkedTxn = [invoice.to_linked_txn()]
    payment.Line = [line]
    return payment.save(qb=qb)


# -- Customer --------------------------------------------------------------------------------
def test_given_new_customer_when_created_then_response_has_qbo_shape(qb):
    """api-notes 2.6.1: create response fields, SyncToken "0", MetaData in Pacific time."""
    customer = new_customer(qb, PrimaryEmailAddr=None)
    assert customer.Id.isdigit() and customer.SyncToken == "0"
    assert customer.FullyQualifiedName == customer.DisplayName
    assert customer.PrintOnCheckName == customer.DisplayName
    assert customer.Active is True and customer.Job is False and customer.Level == 0
    assert customer.Balance == 0 and customer.BalanceWithJobs == 0
    assert customer.CurrencyRef.value == "USD"
    assert customer.domain == "QBO"
    created = customer.MetaData["CreateTime"]
    assert created[-6:] in ("-08:00", "-07:00") and "T" in created


def test_given_existing_name_when_creating_then_duplicate_name_6240(qb):
    """api-notes 2.6.1: DisplayName unique (case-insensitively) -> 6240, base QuickbooksException."""
    first = new_customer(qb)
    with pytest.raises(QuickbooksException) as excinfo:
        new_customer(qb, first.DisplayName.upper())
    assert excinfo.value.error_code == 6240
    assert type(excinfo.value) is QuickbooksException
    assert "Duplicate Name Exists Error" in excinfo.value.message


def test_given_too_long_name_when_creating_then_2050(qb):
    """api-notes 2.6.1: DisplayName max 500, GivenName max 100 -> 2050."""
    with pytest.raises(ValidationException) as excinfo:
        new_customer(qb, "x" * 501)
    assert excinfo.value.error_code == 2050
    with pytest.raises(ValidationException):
        new_customer(qb, GivenName="g" * 101)


def test_given_no_display_name_when_name_parts_given_then_name_generated(qb):
    """api-notes 2.6.1: DisplayName generated from Title/Given/Middle/Family/Suffix; else 2020."""
    given = unique("Ada")
    customer = Customer()
    customer.GivenName = given
    customer.FamilyName = "Lovelace"
    customer = customer.save(qb=qb)
    assert customer.DisplayName == f"{given} Lovelace"
    with pytest.raises(ValidationException) as excinfo:
        Customer().save(qb=qb)
    assert excinfo.value.error_code == 2020


def test_given_credit_limit_when_creating_then_unknown_property_2010(qbo, qb):
    """api-notes 2.14: CreditLimit is not a QBO field; unknown properties give 2010."""
    token = qb.auth_client.access_token
    answer = qbo.http(
        "POST",
        "customer?minorversion=75",
        token,
        json={"DisplayName": unique("Credit"), "CreditLimit": 5000},
    )
    assert answer.status_code == 400
    error = answer.json()["Fault"]["Error"][0]
    assert error["code"] == "2010" and "CreditLimit" in error["Detail"]


def test_given_colon_or_bad_email_when_creating_then_rejected(qb):
    """api-notes 2.6.1: no ':' in names; email must look like an address."""
    with pytest.raises(QuickbooksException):
        new_customer(qb, unique("A:B"))
    email = EmailAddress()
    email.Address = "not-an-email"
    with pytest.raises(ValidationException) as excinfo:
        new_customer(qb, PrimaryEmailAddr=email)
    assert excinfo.value.error_code == 2210


def test_given_parent_when_sub_customer_created_then_fqn_level_and_job(qb):
    """api-notes 2.6.1: Job + ParentRef; FullyQualifiedName and Level from the parent chain."""
    parent = new_customer(qb)
    child = new_customer(qb, Job=True, ParentRef=parent.to_ref(), BillWithParent=True)
    grandchild = new_customer(qb, Job=True, ParentRef=child.to_ref())
    assert child.Level == 1 and grandchild.Level == 2
    assert (
        grandchild.FullyQualifiedName
        == f"{parent.DisplayName}:{child.DisplayName}:{grandchild.DisplayName}"
    )
    assert child.ParentRef.value == parent.Id and child.Job is True
    with pytest.raises(ValidationException) as excinfo:
        new_customer(qb, Job=True)
    assert excinfo.value.error_code == 2020


def test_given_seed_when_read_then_projects_and_sub_customers_exist(qb):
    """Seed: customers company_name(i) with Ids i+1, sub-customers and a project."""
    first = Customer.get(1, qb=qb)
    assert first.DisplayName == names.company_name(0)
    children = Customer.where("ParentRef = '1'", qb=qb)
    assert any(c.IsProject for c in children) and any(not c.IsProject for c in children)
    assert all(c.FullyQualifiedName.startswith(first.DisplayName + ":") for c in children)


def test_given_stale_sync_token_when_updating_then_5010(qb):
    """api-notes 2.7: a SyncToken behind the current one gives 5010 (base QuickbooksException)."""
    customer = new_customer(qb)
    customer.Notes = "first"
    updated = customer.save(qb=qb)
    assert updated.SyncToken == "1"
    customer.Notes = "second"  # still SyncToken "0"
    with pytest.raises(QuickbooksException) as excinfo:
        customer.save(qb=qb)
    assert excinfo.value.error_code == 5010
    assert "Stale Object Error" in excinfo.value.message


def test_given_full_update_when_field_omitted_then_cleared_and_sparse_keeps_it(qbo, qb):
    """api-notes 2.7: full update clears omitted writable fields; sparse keeps them."""
    customer = new_customer(qb, Notes="keep me", CompanyName="Co")
    token = qb.auth_client.access_token
    sparse = qbo.http(
        "POST",
        "customer?minorversion=75",
        token,
        json={
            "Id": customer.Id,
            "SyncToken": customer.SyncToken,
            "sparse": True,
            "CompanyName": "New",
        },
    )
    assert sparse.status_code == 200
    body = sparse.json()["Customer"]
    assert body["Notes"] == "keep me" and body["CompanyName"] == "New"
    full = qbo.http(
        "POST",
        "customer",
        token,
        json={
            "Id": customer.Id,
            "SyncToken": body["SyncToken"],
            "DisplayName": body["DisplayName"],
        },
    )
    assert full.status_code == 200
    assert "Notes" not in full.json()["Customer"]
    assert full.json()["Customer"]["SyncToken"] == "2"


def test_given_customer_with_open_balance_when_deactivated_then_6000(qb):
    """api-notes 2.6.1: deactivating a customer with an open balance fails."""
    customer = new_customer(qb)
    new_invoice(qb, customer, 50)
    fresh = Customer.get(customer.Id, qb=qb)
    assert fresh.Balance == 50
    fresh.Active = False
    with pytest.raises(QuickbooksException) as excinfo:
        fresh.save(qb=qb)
    assert excinfo.value.error_code == 6000


def test_given_customer_when_deleted_then_unsupported(qb):
    """api-notes 2.6.1: customers cannot be deleted."""
    customer = new_customer(qb)
    with pytest.raises(UnsupportedException):
        qb.delete_object("Customer", f'{{"Id": "{customer.Id}", "SyncToken": "0"}}')


def test_given_missing_id_when_read_then_object_not_found(qb):
    """api-notes 2.7: 610 for a missing Id."""
    with pytest.raises(ObjectNotFoundException):
        Customer.get(999999, qb=qb)


def test_given_requestid_when_repeated_then_same_response_and_one_object(qb):
    """api-notes 2.10: the same requestid replays the first response, no second object."""
    name = unique("Idem")
    request_id = uuid.uuid4().hex
    first = Customer()
    first.DisplayName = name
    saved = first.save(qb=qb, request_id=request_id)
    again = Customer()
    again.DisplayName = name
    replayed = again.save(qb=qb, request_id=request_id)
    assert replayed.Id == saved.Id
    assert len(Customer.filter(DisplayName=name, qb=qb)) == 1
    with pytest.raises(ValidationException):
        again.save(qb=qb, request_id="r" * 51)


# -- Item, Class, Term --------------------------------------------------------------------------
def test_given_item_types_when_created_then_rules_applied(qb):
    """api-notes 2.6.2: Type required, income account required, sub-items get colon FQNs."""
    category = Item()
    category.Name = unique("Cat")
    category.Type = "Category"
    category = category.save(qb=qb)
    service = Item()
    service.Name = unique("Svc")
    service.Type = "Service"
    service.SubItem = True
    service.ParentRef = category.to_ref()
    service.UnitPrice = 12.5
    service.IncomeAccountRef = ref("1")
    service = service.save(qb=qb)
    assert service.FullyQualifiedName == f"{category.Name}:{service.Name}"
    assert service.Level == 1 and service.IncomeAccountRef.name == "Services"
    missing = Item()
    missing.Name = unique("NoAcct")
    missing.Type = "Service"
    with pytest.raises(ValidationException) as excinfo:
        missing.save(qb=qb)
    assert excinfo.value.error_code == 2020
    untyped = Item()
    untyped.Name = unique("NoType")
    with pytest.raises(ValidationException):
        untyped.save(qb=qb)
    bad = Item()
    bad.Name = unique("Bad")
    bad.Type = "Gizmo"
    with pytest.raises(ValidationException) as excinfo:
        bad.save(qb=qb)
    assert excinfo.value.error_code == 2170


def test_given_inventory_item_when_sold_without_qty_then_6520_and_with_qty_stock_falls(qb):
    """api-notes 2.6.2: inventory needs Qty on sales lines; QtyOnHand falls when sold."""
    item = Item()
    item.Name = unique("Stock")
    item.Type = "Inventory"
    item.TrackQtyOnHand = True
    item.QtyOnHand = 10
    item.InvStartDate = "2025-01-01"
    item.IncomeAccountRef = ref("79")
    item.ExpenseAccountRef = ref("80")
    item.AssetAccountRef = ref("81")
    item.UnitPrice = 4
    item = item.save(qb=qb)
    customer = new_customer(qb)
    receipt = SalesReceipt()
    receipt.CustomerRef = customer.to_ref()
    receipt.Line = [sales_line(8, item.Id)]
    with pytest.raises(QuickbooksException) as excinfo:
        receipt.save(qb=qb)
    assert excinfo.value.error_code == 6520
    receipt.Line = [sales_line(8, item.Id, qty=2, price=4)]
    receipt.save(qb=qb)
    assert Item.get(item.Id, qb=qb).QtyOnHand == 8


def test_given_class_and_term_when_created_then_fqn_and_type(qb):
    """api-notes 2.6.3: sub-class FQN; Term Type echoes STANDARD; duplicate term name 6240."""
    parent = Class()
    parent.Name = unique("Region")
    parent = parent.save(qb=qb)
    child = Class()
    child.Name = "West"
    child.SubClass = True
    child.ParentRef = parent.to_ref()
    child = child.save(qb=qb)
    assert child.FullyQualifiedName == f"{parent.Name}:West"
    term = Term()
    term.Name = unique("Net")[:31]
    term.DueDays = 45
    term = term.save(qb=qb)
    assert term.Type == "STANDARD" and term.DueDays == 45
    dup = Term()
    dup.Name = term.Name
    with pytest.raises(QuickbooksException) as excinfo:
        dup.save(qb=qb)
    assert excinfo.value.error_code == 6240
    assert {t.Name for t in Term.all(qb=qb)} >= {"Due on receipt", "Net 15", "Net 30", "Net 60"}


# -- sales transactions and payments -----------------------------------------------------------
def test_given_invoice_when_created_then_totals_lines_and_due_date_computed(qb):
    """api-notes 2.6.4 / 2.12: TotalAmt from lines, SubTotal line appended, DueDate from terms."""
    customer = new_customer(qb)
    net30 = next(t for t in Term.all(qb=qb) if t.Name == "Net 30")
    invoice = new_invoice(
        qb, customer, 100, 50.25, TxnDate="2025-01-15", SalesTermRef=net30.to_ref(), DueDate=""
    )
    assert Decimal(str(invoice.TotalAmt)) == Decimal("150.25")
    assert invoice.Balance == invoice.TotalAmt
    assert invoice.DueDate == "2025-02-14"
    kinds = [line.DetailType for line in invoice.Line]
    assert kinds == ["SalesItemLineDetail", "SalesItemLineDetail", "SubTotalLineDetail"]
    assert [line.LineNum for line in invoice.Line[:2]] == [1, 2]
    assert invoice.Line[0].SalesItemLineDetail.ItemRef.value == "1"  # default Services item
    assert invoice.DocNumber  # auto-numbered
    echoed = invoice.save(qb=qb)  # a full echo (with the SubTotal line) is accepted
    assert echoed.SyncToken == "1" and echoed.TotalAmt == invoice.TotalAmt


def test_given_amount_not_qty_times_price_when_saved_then_6070(qb):
    """api-notes 2.6.4: Amount must equal Qty x UnitPrice when both are non-zero."""
    customer = new_customer(qb)
    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [sales_line(10, "1", qty=2, price=4)]
    with pytest.raises(QuickbooksException) as excinfo:
        invoice.save(qb=qb)
    assert excinfo.value.error_code == 6070
    invoice.Line = []
    with pytest.raises(ValidationException) as excinfo:
        invoice.save(qb=qb)
    assert excinfo.value.error_code == 2020


def test_given_unknown_line_detail_property_when_saved_then_2010(qbo, qb):
    """api-notes 2.6.4: Amount inside SalesItemLineDetail is an unknown property."""
    customer = new_customer(qb)
    answer = qbo.http(
        "POST",
        "invoice",
        qb.auth_client.access_token,
        json={
            "CustomerRef": {"value": customer.Id},
            "Line": [
                {
                    "Amount": 5,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": {"Amount": 5},
                }
            ],
        },
    )
    assert answer.json()["Fault"]["Error"][0]["code"] == "2010"


def test_given_partial_then_full_payment_when_applied_then_balances_fall(qb):
    """api-notes 2.6.5: payments reduce Invoice.Balance and the customer balance; links added."""
    customer = new_customer(qb)
    invoice = new_invoice(qb, customer, 200)
    first = pay(qb, customer, invoice, 80)
    invoice = Invoice.get(invoice.Id, qb=qb)
    assert invoice.Balance == 120
    assert {"TxnId": first.Id, "TxnType": "Payment"} in [
        {"TxnId": x.TxnId, "TxnType": x.TxnType} for x in invoice.LinkedTxn
    ]
    assert Customer.get(customer.Id, qb=qb).Balance == 120
    with pytest.raises(QuickbooksException) as excinfo:
        pay(qb, customer, invoice, 500)
    assert excinfo.value.error_code == 6000
    second = pay(qb, customer, invoice, 120, total=150)
    assert second.UnappliedAmt == 30
    assert Invoice.get(invoice.Id, qb=qb).Balance == 0
    assert Customer.get(customer.Id, qb=qb).Balance == 0


def test_given_paid_invoice_when_deleted_then_6000_and_after_payment_delete_it_goes(qb):
    """api-notes 2.6.4: deleting a paid invoice is rejected; deleting the payment restores it."""
    customer = new_customer(qb)
    invoice = new_invoice(qb, customer, 40)
    payment = pay(qb, customer, invoice, 40)
    invoice = Invoice.get(invoice.Id, qb=qb)
    with pytest.raises(QuickbooksException) as excinfo:
        invoice.delete(qb=qb)
    assert excinfo.value.error_code == 6000
    answer = payment.delete(qb=qb)
    assert answer["Payment"]["status"] == "Deleted"
    invoice = Invoice.get(invoice.Id, qb=qb)
    assert invoice.Balance == 40
    answer = invoice.delete(qb=qb)
    assert answer["Invoice"] == {"status": "Deleted", "domain": "QBO", "Id": invoice.Id}
    with pytest.raises(ObjectNotFoundException):
        Invoice.get(invoice.Id, qb=qb)
    assert Customer.get(customer.Id, qb=qb).Balance == 0


def test_given_invoice_and_receipt_when_voided_then_amounts_zeroed_and_still_readable(qb):
    """api-notes 2.6.4: void keeps the record with zero amounts and PrivateNote 'Voided'."""
    customer = new_customer(qb)
    invoice = new_invoice(qb, customer, 75)
    invoice.void(qb=qb)
    voided = Invoice.get(invoice.Id, qb=qb)
    assert voided.TotalAmt == 0 and voided.Balance == 0 and voided.PrivateNote == "Voided"
    receipt = SalesReceipt()
    receipt.CustomerRef = customer.to_ref()
    receipt.Line = [sales_line(30)]
    receipt = receipt.save(qb=qb)
    receipt.void(qb=qb)
    assert SalesReceipt.get(receipt.Id, qb=qb).TotalAmt == 0
    assert Customer.get(customer.Id, qb=qb).Balance == 0


def test_given_estimate_when_invoiced_then_estimate_closed_and_linked(qb):
    """api-notes 2.6.4: an invoice linked to an estimate closes it and links back."""
    customer = new_customer(qb)
    estimate = Estimate()
    estimate.CustomerRef = customer.to_ref()
    estimate.Line = [sales_line(60)]
    estimate = estimate.save(qb=qb)
    assert estimate.TxnStatus == "Pending"
    invoice = new_invoice(qb, customer, 60, LinkedTxn=[estimate.to_linked_txn()])
    closed = Estimate.get(estimate.Id, qb=qb)
    assert closed.TxnStatus == "Closed"
    assert [(x.TxnId, x.TxnType) for x in closed.LinkedTxn] == [(invoice.Id, "Invoice")]


def test_given_custom_fields_defined_when_invoice_carries_them_then_names_filled(qbo, qb):
    """api-notes 2.14: Sales Rep / PO Number are sales-form custom fields from Preferences."""
    prefs = Preferences.get(qb=qb)
    groups = prefs.SalesFormsPrefs.CustomField
    labels = {
        f["StringValue"] for g in groups for f in g["CustomField"] if f["Type"] == "StringType"
    }
    assert {"Sales Rep", "PO Number"} <= labels
    customer = new_customer(qb)
    field = CustomField()
    field.DefinitionId = "2"
    field.Type = "StringType"
    field.StringValue = "PO-42"
    invoice = new_invoice(qb, customer, 10, CustomField=[field])
    assert [(f.Name, f.StringValue) for f in invoice.CustomField] == [("PO Number", "PO-42")]
    field.DefinitionId = "3"  # not defined in the seed
    with pytest.raises(ValidationException):
        new_invoice(qb, customer, 10, CustomField=[field])
    qbo.call(
        "POST", "preferences/custom-fields", {"1": "Sales Rep", "2": "PO Number", "3": "Region"}
    )
    try:
        assert new_invoice(qb, customer, 10, CustomField=[field]).CustomField[0].Name == "Region"
    finally:
        qbo.call("POST", "preferences/custom-fields", {"1": "Sales Rep", "2": "PO Number"})


def test_given_company_info_when_read_then_realm_company(qbo, qb):
    """CompanyInfo is read by realm id."""
    from quickbooks.objects.company_info import CompanyInfo

    info = CompanyInfo.get(qbo.info["realm_id"], qb=qb)
    assert info.CompanyName == "Sandbox Widgets LLC"


def test_given_sub_customer_with_balance_when_moved_then_balances_with_jobs_follow(qb):
    """BalanceWithJobs of the old and new parent chains follow a re-parented sub-customer."""
    first, second = new_customer(qb), new_customer(qb)
    child = new_customer(qb, Job=True, ParentRef=first.to_ref())
    new_invoice(qb, child, 70)
    assert Customer.get(first.Id, qb=qb).BalanceWithJobs == 70
    child = Customer.get(child.Id, qb=qb)
    child.ParentRef = second.to_ref()
    moved = child.save(qb=qb)
    assert moved.FullyQualifiedName == f"{second.DisplayName}:{child.DisplayName}"
    assert Customer.get(first.Id, qb=qb).BalanceWithJobs == 0
    assert Customer.get(second.Id, qb=qb).BalanceWithJobs == 70


def test_given_transactions_of_each_type_when_created_then_no_two_share_an_id(qb):
    """api-notes 2.6 / R-OPP-4: an Opportunity keeps its Invoice or Sales Receipt in one unique
    External Transaction ID, so no two transactions may carry the same Id: a new Invoice, Sales
    Receipt, Estimate and Payment take Ids of one sequence, above every seeded transaction's
    (the 30-day soak found a Sales Receipt numbered like an Invoice another Opportunity held)."""
    customer = new_customer(qb)
    seeded = [
        int(t.Id)
        for kind in (Invoice, SalesReceipt, Estimate, Payment)
        for t in kind.all(max_results=1000, qb=qb)
    ]
    invoice = new_invoice(qb, customer, 10)
    receipt = SalesReceipt()
    receipt.CustomerRef = customer.to_ref()
    receipt.Line = [sales_line(5)]
    receipt = receipt.save(qb=qb)
    estimate = Estimate()
    estimate.CustomerRef = customer.to_ref()
    estimate.Line = [sales_line(7)]
    estimate = estimate.save(qb=qb)
    payment = pay(qb, customer, invoice, 10)
    made = [int(t.Id) for t in (invoice, receipt, estimate, payment)]
    assert len(set(made)) == 4
    assert min(made) > max(seeded)
