"""qbXML Ret elements -> the QBO JSON records the plans read (pure, R-QBD-3).

One function per kind of record (``normalise`` picks it by the Ret's tag); docs/
quickbooks-desktop.md ("How Desktop records map onto the sync's records") has the table.
Times come back in UTC (``MetaData``), amounts and quantities as ``Decimal`` (as the Online
hook's ``use_decimal`` reads), references as ``{"value": ListID, "name": FullName}``.
Desktop fields QBO lacks are kept under their Desktop names where the sync may want them
(``CreditLimit``, ``JobStatus``, ``QtyOnSalesOrder``, ``IsFullyInvoiced``, ``ExternalGUID``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from lxml import etree

from sfqb.qbo_queries import Condition

from .translate import ADDRESS, ITEM_TYPES

TXN_TYPES = {"ReceivePayment": "Payment"}


def _text(ret: Any, path: str) -> str | None:
    value = ret.findtext(path)
    return value if value not in (None, "") else None


def _dec(ret: Any, path: str) -> Decimal | None:
    value = _text(ret, path)
    return Decimal(value) if value is not None else None


def _bool(ret: Any, path: str) -> bool | None:
    value = _text(ret, path)
    return None if value is None else value == "true"


def utc(value: str | None) -> str | None:
    """A qbXML date-time (local, with its offset) as UTC ISO text."""
    if value is None:
        return None
    moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"a QuickBooks date-time without an offset: {value}")
    return moment.astimezone(dt.UTC).isoformat()


def _ref(ret: Any, tag: str) -> dict | None:
    node = ret.find(tag)
    if node is None:
        return None
    out = {"value": node.findtext("ListID") or node.findtext("TxnID") or ""}
    name = node.findtext("FullName")
    if name:
        out["name"] = name
    return out


def _address(ret: Any, tag: str) -> dict | None:
    node = ret.find(tag)
    if node is None:
        return None
    # one pass over the address's children (its first of each tag, as findtext reads them):
    # eighteen findtext calls per address were most of a customer's normalising
    texts: dict[str, str | None] = {}
    for child in node:
        texts.setdefault(child.tag, child.text)
    return {q: text for q, d in ADDRESS if (text := texts.get(d))}


def _clean(record: dict) -> dict:
    return {k: v for k, v in record.items() if v is not None}


def _head(ret: Any, id_tag: str) -> dict:
    return {
        "Id": _text(ret, id_tag),
        "SyncToken": _text(ret, "EditSequence"),
        "MetaData": _clean(
            {
                "CreateTime": utc(_text(ret, "TimeCreated")),
                "LastUpdatedTime": utc(_text(ret, "TimeModified")),
            }
        ),
        "ExternalGUID": _text(ret, "ExternalGUID"),
    }


def customer(ret: Any) -> dict:
    sublevel = int(_text(ret, "Sublevel") or 0)
    phone, alt, fax, email = (_text(ret, t) for t in ("Phone", "AltPhone", "Fax", "Email"))
    return _clean(
        {
            **_head(ret, "ListID"),
            "DisplayName": _text(ret, "Name"),
            "FullyQualifiedName": _text(ret, "FullName"),
            "CompanyName": _text(ret, "CompanyName"),
            "Title": _text(ret, "Salutation"),
            "GivenName": _text(ret, "FirstName"),
            "MiddleName": _text(ret, "MiddleName"),
            "FamilyName": _text(ret, "LastName"),
            "Active": _bool(ret, "IsActive"),
            "ParentRef": _ref(ret, "ParentRef"),
            "Job": sublevel > 0,
            "BillWithParent": False if sublevel > 0 else None,
            "Level": sublevel,
            "BillAddr": _address(ret, "BillAddress"),
            "ShipAddr": _address(ret, "ShipAddress"),
            "PrimaryPhone": {"FreeFormNumber": phone} if phone else None,
            "AlternatePhone": {"FreeFormNumber": alt} if alt else None,
            "Fax": {"FreeFormNumber": fax} if fax else None,
            "PrimaryEmailAddr": {"Address": email} if email else None,
            "SalesTermRef": _ref(ret, "TermsRef"),
            "SalesRepRef": _ref(ret, "SalesRepRef"),
            "Balance": _dec(ret, "Balance"),
            "BalanceWithJobs": _dec(ret, "TotalBalance"),
            "CreditLimit": _dec(ret, "CreditLimit"),
            "JobStatus": _text(ret, "JobStatus"),
            # A Desktop job (a JobStatus other than None) is what QBO calls a project: the
            # invoices (R-INV-7) and reconciliation tell jobs by this flag on both editions.
            "IsProject": (_text(ret, "JobStatus") or "None") != "None",
            "Notes": _text(ret, "Notes"),
        }
    )


def item(ret: Any) -> dict:
    desktop_type = ret.tag[:-3]
    sales = ret.find("SalesOrPurchase")
    both = ret.find("SalesAndPurchase")
    if sales is not None:
        price, desc, cost = _dec(sales, "Price"), _text(sales, "Desc"), None
    elif both is not None:
        price, desc = _dec(both, "SalesPrice"), _text(both, "SalesDesc")
        cost = _dec(both, "PurchaseCost")
    elif desktop_type == "ItemFixedAsset":
        # A fixed asset's sales price and description exist once it is sold; until then it has
        # no price (0 in the price book) and its asset or purchase description.
        price, cost = _dec(ret, "FixedAssetSalesInfo/SalesPrice"), _dec(ret, "PurchaseCost")
        desc = _text(ret, "FixedAssetSalesInfo/SalesDesc") or _text(ret, "AssetDesc")
        desc = desc or _text(ret, "PurchaseDesc")
    else:
        # A Discount's rate: DiscountRate (an amount); DiscountRatePercent is no price (None).
        price = _dec(ret, "SalesPrice") or _dec(ret, "DiscountRate")
        desc = _text(ret, "SalesDesc") or _text(ret, "ItemDesc")
        cost = _dec(ret, "PurchaseCost")
    inventory = desktop_type in ("ItemInventory", "ItemInventoryAssembly")
    return _clean(
        {
            **_head(ret, "ListID"),
            "Name": _text(ret, "Name"),
            "FullyQualifiedName": _text(ret, "FullName") or _text(ret, "Name"),
            "Type": ITEM_TYPES.get(desktop_type, desktop_type),
            "DesktopType": desktop_type,
            "Active": _bool(ret, "IsActive"),
            "ParentRef": _ref(ret, "ParentRef"),
            "SubItem": ret.find("ParentRef") is not None,
            "Level": int(_text(ret, "Sublevel") or 0),
            "Description": desc,
            "UnitPrice": price,
            "PurchaseCost": cost,
            "TrackQtyOnHand": inventory,
            "QtyOnHand": _dec(ret, "QuantityOnHand") if inventory else None,
            "QtyOnSalesOrder": _dec(ret, "QuantityOnSalesOrder") if inventory else None,
        }
    )


def term(ret: Any) -> dict:
    return _clean(
        {
            **_head(ret, "ListID"),
            "Name": _text(ret, "Name"),
            "Active": _bool(ret, "IsActive"),
            "Type": "STANDARD",
            "DueDays": int(_text(ret, "StdDueDays") or 0),
            "DiscountDays": int(_text(ret, "StdDiscountDays") or 0) or None,
            "DiscountPercent": _dec(ret, "DiscountPct"),
        }
    )


def sales_rep(ret: Any) -> dict:
    """A SalesRepRet: its ``Name`` is the rep's initials (what a customer's SalesRepRef names)."""
    return _clean(
        {
            **_head(ret, "ListID"),
            "Name": _text(ret, "Initial"),
            "Active": _bool(ret, "IsActive"),
        }
    )


def klass(ret: Any) -> dict:
    return _clean(
        {
            **_head(ret, "ListID"),
            "Name": _text(ret, "Name"),
            "FullyQualifiedName": _text(ret, "FullName"),
            "Active": _bool(ret, "IsActive"),
            "ParentRef": _ref(ret, "ParentRef"),
            "SubClass": ret.find("ParentRef") is not None,
        }
    )


def _linked(ret: Any) -> list[dict]:
    out = []
    for node in ret.findall("LinkedTxn"):
        txn_type = _text(node, "TxnType") or ""
        out.append(
            _clean(
                {
                    "TxnId": _text(node, "TxnID"),
                    "TxnType": TXN_TYPES.get(txn_type, txn_type),
                    "Amount": _dec(node, "Amount"),
                    "LinkType": _text(node, "LinkType"),
                }
            )
        )
    return out


def _lines(ret: Any, tag: str) -> list[dict]:
    out = []
    for number, node in enumerate(ret.findall(tag), start=1):
        detail = _clean(
            {
                "ItemRef": _ref(node, "ItemRef"),
                "Qty": _dec(node, "Quantity"),
                "UnitPrice": _dec(node, "Rate"),
                "ClassRef": _ref(node, "ClassRef"),
                "ServiceDate": _text(node, "ServiceDate"),
                "Invoiced": _dec(node, "Invoiced"),
                "IsManuallyClosed": _bool(node, "IsManuallyClosed"),
            }
        )
        out.append(
            _clean(
                {
                    "Id": _text(node, "TxnLineID"),
                    "LineNum": number,
                    "Description": _text(node, "Desc"),
                    "Amount": _dec(node, "Amount") or Decimal("0.00"),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
        )
    return out


def _named(ret: Any, tag: str) -> dict | None:
    """A reference QBO keeps as free text (a transaction's ShipMethodRef): its FullName as the
    value, as Online has it (the ListID stays under ``id``)."""
    ref = _ref(ret, tag)
    if not ref or not ref.get("name"):
        return ref
    return {"value": ref["name"], "name": ref["name"], "id": ref["value"]}


def _sales_fields(ret: Any) -> list[dict]:
    """Desktop's PONumber and SalesRepRef (the rep's initials) as the sales-form custom fields
    "PO Number" and "Sales Rep" that Online keeps them in (R-OPP-4): the sync reads them back
    the same way on both editions."""
    values = {
        "PO Number": _text(ret, "PONumber"),
        "Sales Rep": ret.findtext("SalesRepRef/FullName"),
    }
    return [
        {"Name": name, "Type": "StringType", "StringValue": value}
        for name, value in values.items()
        if value
    ]


def transaction(ret: Any) -> dict:
    desktop = ret.tag[:-3]
    subtotal = _dec(ret, "Subtotal")
    total = _dec(ret, "TotalAmount")
    if total is None and subtotal is not None:
        total = subtotal + (_dec(ret, "SalesTaxTotal") or Decimal("0.00"))
    balance: Decimal | None
    if desktop == "Invoice":
        balance = _dec(ret, "BalanceRemaining")
    elif desktop == "SalesReceipt":
        balance = Decimal("0.00")
    else:
        balance = None
    return _clean(
        {
            **_head(ret, "TxnID"),
            "TxnNumber": _text(ret, "TxnNumber"),
            "DocNumber": _text(ret, "RefNumber"),
            "TxnDate": _text(ret, "TxnDate"),
            "DueDate": _text(ret, "DueDate"),
            "ShipDate": _text(ret, "ShipDate"),
            "CustomerRef": _ref(ret, "CustomerRef"),
            "ClassRef": _ref(ret, "ClassRef"),
            "SalesTermRef": _ref(ret, "TermsRef"),
            "ShipMethodRef": _named(ret, "ShipMethodRef"),
            "BillAddr": _address(ret, "BillAddress"),
            "ShipAddr": _address(ret, "ShipAddress"),
            "PrivateNote": _text(ret, "Memo"),
            "PONumber": _text(ret, "PONumber"),
            "SalesRepRef": _ref(ret, "SalesRepRef"),
            "TotalAmt": total,
            "Balance": balance,
            "IsFullyInvoiced": _bool(ret, "IsFullyInvoiced"),
            "IsManuallyClosed": _bool(ret, "IsManuallyClosed"),
            "LinkedTxn": _linked(ret),
            "CustomField": _sales_fields(ret),
            "Line": _lines(ret, f"{desktop}LineRet"),
        }
    )


def payment(ret: Any) -> dict:
    """A ReceivePaymentRet as a QBO Payment: one line per invoice it pays (``LinkedTxn``)."""
    lines = [
        {
            "Amount": _dec(node, "Amount"),
            "LinkedTxn": [{"TxnId": _text(node, "TxnID"), "TxnType": _text(node, "TxnType")}],
        }
        for node in ret.findall("AppliedToTxnRet")
    ]
    return _clean(
        {
            **_head(ret, "TxnID"),
            "TxnDate": _text(ret, "TxnDate"),
            "PaymentRefNum": _text(ret, "RefNumber"),
            "CustomerRef": _ref(ret, "CustomerRef"),
            "TotalAmt": _dec(ret, "TotalAmount"),
            "UnappliedAmt": _dec(ret, "UnusedPayment"),
            "PrivateNote": _text(ret, "Memo"),
            "Line": lines,
        }
    )


def deleted(ret: Any) -> tuple[str, dict]:
    """A ListDeletedRet/TxnDeletedRet: (Desktop type, ``{"status": "Deleted", "Id": ...}``)."""
    if ret.tag == "ListDeletedRet":
        kind, id_ = _text(ret, "ListDelType") or "", _text(ret, "ListID")
    else:
        kind, id_ = _text(ret, "TxnDelType") or "", _text(ret, "TxnID")
    return kind, {
        "status": "Deleted",
        "Id": id_,
        "MetaData": {"LastUpdatedTime": utc(_text(ret, "TimeDeleted"))},
    }


def preferences(ret: Any) -> dict:
    """A PreferencesRet, QBO-shaped where the sync reads it: Desktop has no sales-form custom
    field slots (its custom fields are DataExt), so ``SalesFormsPrefs.CustomField`` is empty;
    the Desktop preferences ride along under ``Desktop``."""
    tracking = ret.findtext("SalesAndCustomersPreferences/IsTrackingSalesOrders")
    return {
        "SalesFormsPrefs": {"CustomField": []},
        "Desktop": _element_dict(ret),
        "SalesOrders": None if tracking is None else tracking == "true",
    }


def _element_dict(node: Any) -> Any:
    children = [c for c in node if isinstance(c.tag, str)]
    if not children:
        return node.text
    return {c.tag: _element_dict(c) for c in children}


NORMALISERS = {
    "CustomerRet": customer,
    **{f"{t}Ret": item for t in ITEM_TYPES},
    "StandardTermsRet": term,
    "ClassRet": klass,
    "SalesRepRet": sales_rep,
    "InvoiceRet": transaction,
    "SalesReceiptRet": transaction,
    "SalesOrderRet": transaction,
    "ReceivePaymentRet": payment,
}


def normalise(ret: etree._Element) -> dict:
    """One Ret element as the QBO record the plans read."""
    try:
        return NORMALISERS[ret.tag](ret)
    except KeyError:
        raise ValueError(f"no QBO shape for <{ret.tag}>") from None


def _get(record: dict, prop: str) -> Any:
    node: Any = record
    for part in prop.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    if isinstance(node, dict) and "value" in node:
        node = node["value"]
    return node


def _coerce(value: Any, like: object) -> Any:
    if value is None:
        return None
    if isinstance(like, bool):
        return bool(value)
    if isinstance(like, dt.datetime):
        return dt.datetime.fromisoformat(str(value))
    if isinstance(like, dt.date):
        return dt.date.fromisoformat(str(value)[:10])
    if isinstance(like, (int, Decimal)):
        return Decimal(str(value))
    return str(value)


def matches(record: dict, c: Condition) -> bool:
    """Whether a normalised record meets ``c`` (the conditions a query left to the adapter)."""
    value = _get(record, c.prop)
    if c.prop == "Active" and value is None:
        value = True
    if c.op == "IN" or c.op == "=":
        wanted = list(c.value) if c.op == "IN" else [c.value]  # type: ignore[call-overload]
        return any(_coerce(value, w) == (str(w) if isinstance(w, str) else w) for w in wanted)
    if value is None:
        return False
    have = _coerce(value, c.value)
    if c.op == ">=":
        return bool(have >= c.value)
    if c.op == ">":
        return bool(have > c.value)
    if c.op == "<=":
        return bool(have <= c.value)
    if c.op == "<":
        return bool(have < c.value)
    return False
