"""Rendering stored records as qbXML ``...Ret`` elements, in the OSR's element order.

Records keep references as ListIDs, times as epoch seconds and money as decimal strings; a Ret
spec says how each field is written: ``s`` text, ``b`` boolean, ``i`` integer, ``t`` date-time
in the company's zone, ``m`` money (two decimals), ``q`` quantity, ``ref:Kind`` a reference
(ListID and the current FullName), ``addr`` an address, ``agg:Name`` a nested aggregate,
``linked`` LinkedTxn elements, ``lines:Name`` line items, ``applied`` AppliedToTxnRet
elements, ``dataext`` custom fields (only with OwnerID 0).
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lxml import etree

from .times import format_dt

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from .store import Store

ADDRESS_ORDER = (
    "Addr1",
    "Addr2",
    "Addr3",
    "Addr4",
    "Addr5",
    "City",
    "State",
    "PostalCode",
    "Country",
    "Note",
)

_LIST_HEAD = [
    ("ListID", "s"),
    ("TimeCreated", "t"),
    ("TimeModified", "t"),
    ("EditSequence", "s"),
    ("Name", "s"),
    ("FullName", "s"),
]
CUSTOMER = [
    *_LIST_HEAD,
    ("IsActive", "b"),
    ("ClassRef", "ref:Class"),
    ("ParentRef", "ref:Customer"),
    ("Sublevel", "i"),
    ("CompanyName", "s"),
    ("Salutation", "s"),
    ("FirstName", "s"),
    ("MiddleName", "s"),
    ("LastName", "s"),
    ("JobTitle", "s"),
    ("BillAddress", "addr"),
    ("ShipAddress", "addr"),
    ("Phone", "s"),
    ("AltPhone", "s"),
    ("Fax", "s"),
    ("Email", "s"),
    ("Cc", "s"),
    ("Contact", "s"),
    ("AltContact", "s"),
    ("TermsRef", "ref:StandardTerms"),
    ("SalesRepRef", "ref:SalesRep"),
    ("Balance", "m"),
    ("TotalBalance", "m"),
    ("ResaleNumber", "s"),
    ("AccountNumber", "s"),
    ("CreditLimit", "m"),
    ("JobStatus", "s"),
    ("JobStartDate", "s"),
    ("JobProjectedEndDate", "s"),
    ("JobEndDate", "s"),
    ("JobDesc", "s"),
    ("Notes", "s"),
    ("ExternalGUID", "s"),
    ("DataExtRet", "dataext"),
]
SALES_OR_PURCHASE = [
    ("Desc", "s"),
    ("Price", "p"),
    ("PricePercent", "q"),
    ("AccountRef", "ref:Account"),
]
SALES_AND_PURCHASE = [
    ("SalesDesc", "s"),
    ("SalesPrice", "p"),
    ("IncomeAccountRef", "ref:Account"),
    ("PurchaseDesc", "s"),
    ("PurchaseCost", "p"),
    ("ExpenseAccountRef", "ref:Account"),
]
GROUP_LINE = [("ItemRef", "ref:Item"), ("Quantity", "q")]
AGGREGATES = {
    "SalesOrPurchase": SALES_OR_PURCHASE,
    "SalesAndPurchase": SALES_AND_PURCHASE,
}
_ITEM_HEAD = [
    *_LIST_HEAD,
    ("IsActive", "b"),
    ("ClassRef", "ref:Class"),
    ("ParentRef", "ref:Item"),
    ("Sublevel", "i"),
]
_SALES_CHOICE = [
    ("SalesOrPurchase", "agg:SalesOrPurchase"),
    ("SalesAndPurchase", "agg:SalesAndPurchase"),
]
_INVENTORY_MIDDLE = [
    ("IsTaxIncluded", "b"),
    ("SalesDesc", "s"),
    ("SalesPrice", "p"),
    ("IncomeAccountRef", "ref:Account"),
    ("PurchaseDesc", "s"),
    ("PurchaseCost", "p"),
    ("COGSAccountRef", "ref:Account"),
    ("AssetAccountRef", "ref:Account"),
]
_INVENTORY_TAIL = [
    ("Max", "q"),
    ("QuantityOnHand", "q"),
    ("AverageCost", "q"),
    ("QuantityOnOrder", "q"),
    ("QuantityOnSalesOrder", "q"),
]
ITEMS = {
    "ItemService": [*_ITEM_HEAD, ("IsTaxIncluded", "b"), *_SALES_CHOICE, ("DataExtRet", "dataext")],
    "ItemNonInventory": [
        *_ITEM_HEAD,
        ("ManufacturerPartNumber", "s"),
        ("IsTaxIncluded", "b"),
        *_SALES_CHOICE,
        ("DataExtRet", "dataext"),
    ],
    "ItemOtherCharge": [
        *_ITEM_HEAD,
        ("IsTaxIncluded", "b"),
        *_SALES_CHOICE,
        ("DataExtRet", "dataext"),
    ],
    "ItemInventory": [
        *_ITEM_HEAD,
        ("ManufacturerPartNumber", "s"),
        *_INVENTORY_MIDDLE,
        ("ReorderPoint", "q"),
        *_INVENTORY_TAIL,
        ("DataExtRet", "dataext"),
    ],
    "ItemInventoryAssembly": [
        *_ITEM_HEAD,
        *_INVENTORY_MIDDLE,
        ("BuildPoint", "q"),
        *_INVENTORY_TAIL,
        ("ItemInventoryAssemblyLine", "group:ItemInventoryAssemblyLine"),
        ("DataExtRet", "dataext"),
    ],
    "ItemDiscount": [
        *_ITEM_HEAD,
        ("ItemDesc", "s"),
        ("DiscountRate", "p"),
        ("DiscountRatePercent", "q"),
        ("AccountRef", "ref:Account"),
        ("DataExtRet", "dataext"),
    ],
    "ItemFixedAsset": [
        *[f for f in _LIST_HEAD if f[0] != "FullName"],
        ("IsActive", "b"),
        ("ClassRef", "ref:Class"),
        ("AcquiredAs", "s"),
        ("PurchaseDesc", "s"),
        ("PurchaseDate", "s"),
        ("PurchaseCost", "m"),
        ("VendorOrPayeeName", "s"),
        ("AssetAccountRef", "ref:Account"),
        ("AssetDesc", "s"),
        ("Location", "s"),
        ("PONumber", "s"),
        ("SerialNumber", "s"),
        ("WarrantyExpDate", "s"),
        ("Notes", "s"),
        ("AssetNumber", "s"),
        ("CostBasis", "m"),
        ("YearEndAccumulatedDepreciation", "m"),
        ("YearEndBookValue", "m"),
        ("DataExtRet", "dataext"),
    ],
    "ItemGroup": [
        *[f for f in _LIST_HEAD if f[0] != "FullName"],
        ("IsActive", "b"),
        ("ItemDesc", "s"),
        ("IsPrintItemsInGroup", "b"),
        ("ItemGroupLine", "group:ItemGroupLine"),
        ("DataExtRet", "dataext"),
    ],
}
SIMPLE_LISTS = {
    "StandardTerms": [
        ("ListID", "s"),
        ("TimeCreated", "t"),
        ("TimeModified", "t"),
        ("EditSequence", "s"),
        ("Name", "s"),
        ("IsActive", "b"),
        ("StdDueDays", "i"),
        ("StdDiscountDays", "i"),
        ("DiscountPct", "q"),
    ],
    "SalesRep": [
        ("ListID", "s"),
        ("TimeCreated", "t"),
        ("TimeModified", "t"),
        ("EditSequence", "s"),
        ("Initial", "s"),
        ("IsActive", "b"),
        ("SalesRepEntityRef", "ref:OtherName"),
    ],
    "Class": [*_LIST_HEAD, ("IsActive", "b"), ("ParentRef", "ref:Class"), ("Sublevel", "i")],
    "ShipMethod": [
        ("ListID", "s"),
        ("TimeCreated", "t"),
        ("TimeModified", "t"),
        ("EditSequence", "s"),
        ("Name", "s"),
        ("IsActive", "b"),
    ],
}

_TXN_HEAD = [
    ("TxnID", "s"),
    ("TimeCreated", "t"),
    ("TimeModified", "t"),
    ("EditSequence", "s"),
    ("TxnNumber", "i"),
    ("CustomerRef", "ref:Customer"),
    ("ClassRef", "ref:Class"),
]
_LINE_HEAD = [
    ("TxnLineID", "s"),
    ("ItemRef", "ref:Item"),
    ("Desc", "s"),
    ("Quantity", "q"),
    ("Rate", "p"),
    ("RatePercent", "q"),
    ("ClassRef", "ref:Class"),
    ("Amount", "m"),
]
LINES = {
    "InvoiceLineRet": [*_LINE_HEAD, ("ServiceDate", "s"), ("Other1", "s"), ("Other2", "s")],
    "SalesOrderLineRet": [
        *_LINE_HEAD,
        ("Invoiced", "q"),
        ("IsManuallyClosed", "b"),
        ("Other1", "s"),
        ("Other2", "s"),
    ],
    "SalesReceiptLineRet": [*_LINE_HEAD, ("ServiceDate", "s"), ("Other1", "s"), ("Other2", "s")],
}
_SALES_HEAD = [
    ("TxnDate", "s"),
    ("RefNumber", "s"),
    ("BillAddress", "addr"),
    ("ShipAddress", "addr"),
]
TXNS = {
    "Invoice": [
        *_TXN_HEAD,
        *_SALES_HEAD,
        ("IsPending", "b"),
        ("IsFinanceCharge", "b"),
        ("PONumber", "s"),
        ("TermsRef", "ref:StandardTerms"),
        ("DueDate", "s"),
        ("SalesRepRef", "ref:SalesRep"),
        ("FOB", "s"),
        ("ShipDate", "s"),
        ("ShipMethodRef", "ref:ShipMethod"),
        ("Subtotal", "m"),
        ("SalesTaxPercentage", "q"),
        ("SalesTaxTotal", "m"),
        ("AppliedAmount", "m"),
        ("BalanceRemaining", "m"),
        ("Memo", "s"),
        ("IsPaid", "b"),
        ("IsToBePrinted", "b"),
        ("IsToBeEmailed", "b"),
        ("Other", "s"),
        ("ExternalGUID", "s"),
        ("LinkedTxn", "linked"),
        ("InvoiceLineRet", "lines:InvoiceLineRet"),
        ("DataExtRet", "dataext"),
    ],
    "SalesOrder": [
        *_TXN_HEAD,
        *_SALES_HEAD,
        ("PONumber", "s"),
        ("TermsRef", "ref:StandardTerms"),
        ("DueDate", "s"),
        ("SalesRepRef", "ref:SalesRep"),
        ("FOB", "s"),
        ("ShipDate", "s"),
        ("ShipMethodRef", "ref:ShipMethod"),
        ("Subtotal", "m"),
        ("SalesTaxPercentage", "q"),
        ("SalesTaxTotal", "m"),
        ("TotalAmount", "m"),
        ("IsManuallyClosed", "b"),
        ("IsFullyInvoiced", "b"),
        ("Memo", "s"),
        ("IsToBePrinted", "b"),
        ("IsToBeEmailed", "b"),
        ("Other", "s"),
        ("ExternalGUID", "s"),
        ("LinkedTxn", "linked"),
        ("SalesOrderLineRet", "lines:SalesOrderLineRet"),
        ("DataExtRet", "dataext"),
    ],
    "SalesReceipt": [
        *_TXN_HEAD,
        *_SALES_HEAD,
        ("IsPending", "b"),
        ("CheckNumber", "s"),
        ("DueDate", "s"),
        ("SalesRepRef", "ref:SalesRep"),
        ("ShipDate", "s"),
        ("ShipMethodRef", "ref:ShipMethod"),
        ("FOB", "s"),
        ("Subtotal", "m"),
        ("SalesTaxPercentage", "q"),
        ("SalesTaxTotal", "m"),
        ("TotalAmount", "m"),
        ("Memo", "s"),
        ("IsToBePrinted", "b"),
        ("IsToBeEmailed", "b"),
        ("DepositToAccountRef", "ref:Account"),
        ("Other", "s"),
        ("ExternalGUID", "s"),
        ("SalesReceiptLineRet", "lines:SalesReceiptLineRet"),
        ("DataExtRet", "dataext"),
    ],
    "ReceivePayment": [
        *[f for f in _TXN_HEAD if f[0] != "ClassRef"],
        ("ARAccountRef", "ref:Account"),
        ("TxnDate", "s"),
        ("RefNumber", "s"),
        ("TotalAmount", "m"),
        ("Memo", "s"),
        ("DepositToAccountRef", "ref:Account"),
        ("UnusedPayment", "m"),
        ("UnusedCredits", "m"),
        ("AppliedToTxnRet", "applied"),
        ("DataExtRet", "dataext"),
    ],
}
LINE_KEY = {
    "Invoice": "InvoiceLineRet",
    "SalesOrder": "SalesOrderLineRet",
    "SalesReceipt": "SalesReceiptLineRet",
}


def ret_spec(kind: str, record: dict) -> list[tuple[str, str]]:
    if kind == "Customer":
        return CUSTOMER
    if kind == "Item":
        return ITEMS[record["Type"]]
    if kind in SIMPLE_LISTS:
        return SIMPLE_LISTS[kind]
    return TXNS[kind]


def ret_name(kind: str, record: dict) -> str:
    return f"{record['Type']}Ret" if kind == "Item" else f"{kind}Ret"


class Renderer:
    """Writes records into an lxml tree; resolves references against the store."""

    def __init__(self, store: Store, tz: ZoneInfo) -> None:
        self.store = store
        self.tz = tz

    def ret(
        self,
        parent: etree._Element,
        kind: str,
        record: dict,
        *,
        lines: bool = True,
        linked: bool = False,
        include: set[str] | None = None,
        owner_ids: list[str] | None = None,
    ) -> None:
        el = etree.SubElement(parent, ret_name(kind, record))
        for name, fmt in ret_spec(kind, record):
            if include is not None and name not in include:
                continue
            if fmt.startswith("lines:") and not lines:
                continue
            if fmt == "linked" and not linked:
                continue
            if fmt == "dataext":
                if owner_ids and "0" in owner_ids:
                    self._dataext(el, record.get("DataExt") or {})
                continue
            value = record.get("Lines") if fmt.startswith("lines:") else record.get(name)
            self.field(el, name, fmt, value)

    def field(self, el: etree._Element, name: str, fmt: str, value: Any) -> None:
        if value is None or value == "" or value == [] or value == {}:
            return
        if fmt == "s":
            _text(el, name, str(value))
        elif fmt == "b":
            _text(el, name, "true" if value else "false")
        elif fmt == "i":
            _text(el, name, str(int(value)))
        elif fmt == "t":
            _text(el, name, format_dt(value, self.tz))
        elif fmt == "m":
            _text(el, name, f"{Decimal(value):.2f}")
        elif fmt == "q":
            _text(el, name, _quantity(value))
        elif fmt == "p":
            _text(el, name, _price(value))
        elif fmt.startswith("ref:"):
            self.ref(el, name, fmt[4:], value)
        elif fmt == "addr":
            sub = etree.SubElement(el, name)
            for key in ADDRESS_ORDER:
                if value.get(key):
                    _text(sub, key, value[key])
        elif fmt.startswith("agg:"):
            sub = etree.SubElement(el, name)
            for key, sub_fmt in AGGREGATES[fmt[4:]]:
                self.field(sub, key, sub_fmt, value.get(key))
        elif fmt.startswith("group:"):
            for line in value:
                sub = etree.SubElement(el, name)
                for key, sub_fmt in GROUP_LINE:
                    self.field(sub, key, sub_fmt, line.get(key))
        elif fmt.startswith("lines:"):
            for line in value:
                sub = etree.SubElement(el, name)
                for key, sub_fmt in LINES[fmt[6:]]:
                    self.field(sub, key, sub_fmt, line.get(key))
        elif fmt == "linked":
            for link in value:
                sub = etree.SubElement(el, name)
                for key in ("TxnID", "TxnType", "TxnDate", "RefNumber", "LinkType"):
                    if link.get(key):
                        _text(sub, key, link[key])
                _text(sub, "Amount", f"{Decimal(link['Amount']):.2f}")
        elif fmt == "applied":
            for applied in value:
                sub = etree.SubElement(el, name)
                target = self.store.get(applied["TxnType"], applied["TxnID"]) or {}
                _text(sub, "TxnID", applied["TxnID"])
                _text(sub, "TxnType", applied["TxnType"])
                if target.get("TxnDate"):
                    _text(sub, "TxnDate", target["TxnDate"])
                if target.get("RefNumber"):
                    _text(sub, "RefNumber", target["RefNumber"])
                if "BalanceRemaining" in target:
                    _text(sub, "BalanceRemaining", f"{Decimal(target['BalanceRemaining']):.2f}")
                _text(sub, "Amount", f"{Decimal(applied['Amount']):.2f}")
        else:  # pragma: no cover - a spec typo
            raise ValueError(f"unknown output format {fmt!r} for {name}")

    def ref(self, el: etree._Element, name: str, kind: str, list_id: str) -> None:
        sub = etree.SubElement(el, name)
        _text(sub, "ListID", list_id)
        target = self.store.get(kind, list_id)
        if target is not None:
            _text(sub, "FullName", target["FullName"])

    def _dataext(self, el: etree._Element, values: dict[str, str]) -> None:
        for name, value in values.items():
            sub = etree.SubElement(el, "DataExtRet")
            _text(sub, "OwnerID", "0")
            _text(sub, "DataExtName", name)
            _text(sub, "DataExtType", "STR255TYPE")
            _text(sub, "DataExtValue", value)


def _text(parent: etree._Element, name: str, value: str) -> etree._Element:
    el = etree.SubElement(parent, name)
    el.text = value
    return el


def _quantity(value: Any) -> str:
    d = Decimal(value)
    if d == d.to_integral_value():
        return str(d.quantize(Decimal(1)))
    return format(d.normalize(), "f")


def _price(value: Any) -> str:
    d = Decimal(value)
    if d == d.quantize(Decimal("0.01")):
        return f"{d:.2f}"
    return format(d.normalize(), "f")
