"""The qbXML request schema the emulator enforces: element order, required elements, types.

The real SDK validates each message set against its schema before QuickBooks sees it: an
element out of order, an unknown one, a missing required one or a value that is not of its
type fails the **whole message set** with HRESULT 0x80040400 (api-notes 8.5). The specs below
list, in the OSR's order, every element of the requests the emulator implements. Elements that
exist in qbXML but that the emulator does not implement are listed with type ``"x"``: they keep
their place in the order, and a request that uses one fails with status 1030 instead of being
half-applied. String lengths are checked per request (status 3070), not at parse time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from .errors import QbxmlParseError, StatusError, too_long


@dataclass(frozen=True)
class F:
    """One element of a spec: its name, type, maximum length, and flags.

    ``type``: ``str`` (text), ``id`` (ListID/TxnID), ``bool``, ``int``, ``amt`` (money),
    ``price``, ``qty``, ``pct``, ``date``, ``dt``, ``guid`` (a GUID in braces, ``{8-4-4-4-12}``
    hex digits), ``enum:A|B``, ``ref`` (ListID/FullName), ``x`` (not implemented), or a spec
    name in ``SPECS`` (an aggregate).
    """

    name: str
    type: str = "str"
    max: int | None = None
    req: bool = False
    many: bool = False
    choice: str | None = None


def _f(name: str, type_: str = "str", max_: int | None = None, **kw: Any) -> F:
    return F(name, type_, max_, **kw)


X = "x"
REF = "ref"

ADDRESS = [
    _f("Addr1", max_=41),
    _f("Addr2", max_=41),
    _f("Addr3", max_=41),
    _f("Addr4", max_=41),
    _f("Addr5", max_=41),
    _f("City", max_=31),
    _f("State", max_=21),
    _f("PostalCode", max_=13),
    _f("Country", max_=31),
    _f("Note", max_=41),
]
REF_SPEC = [_f("ListID", "id"), _f("FullName", max_=209)]
JOB_STATUS = "enum:Awarded|Closed|InProgress|None|NotAwarded|Pending"

_CUSTOMER_BODY = [
    _f("Name", max_=41),
    _f("IsActive", "bool"),
    _f("ClassRef", REF),
    _f("ParentRef", REF),
    _f("CompanyName", max_=41),
    _f("Salutation", max_=15),
    _f("FirstName", max_=25),
    _f("MiddleName", max_=5),
    _f("LastName", max_=25),
    _f("JobTitle", max_=41),
    _f("BillAddress", "Address"),
    _f("ShipAddress", "Address"),
    _f("ShipToAddress", X, many=True),
    _f("Phone", max_=21),
    _f("AltPhone", max_=21),
    _f("Fax", max_=21),
    _f("Email", max_=1023),
    _f("Cc", max_=1023),
    _f("Contact", max_=41),
    _f("AltContact", max_=41),
    _f("AdditionalContactRef", X, many=True),
    _f("Contacts", X, many=True),
    _f("CustomerTypeRef", X),
    _f("TermsRef", REF),
    _f("SalesRepRef", REF),
]
_CUSTOMER_TAIL = [
    _f("SalesTaxCodeRef", X),
    _f("ItemSalesTaxRef", X),
    _f("SalesTaxCountry", X),
    _f("ResaleNumber", max_=15),
    _f("AccountNumber", max_=99),
    _f("CreditLimit", "amt"),
    _f("PreferredPaymentMethodRef", X),
    _f("CreditCardInfo", X),
    _f("JobStatus", JOB_STATUS),
    _f("JobStartDate", "date"),
    _f("JobProjectedEndDate", "date"),
    _f("JobEndDate", "date"),
    _f("JobDesc", max_=99),
    _f("JobTypeRef", X),
    _f("Notes", max_=4095),
    _f("AdditionalNotes", X, many=True),
    _f("PreferredDeliveryMethod", X),
    _f("PriceLevelRef", X),
]
CUSTOMER_ADD = [
    *[F(f.name, f.type, f.max, req=f.name == "Name", many=f.many) for f in _CUSTOMER_BODY],
    _f("OpenBalance", "amt"),
    _f("OpenBalanceDate", "date"),
    *_CUSTOMER_TAIL,
    _f("ExternalGUID", "guid"),
    _f("TaxRegistrationNumber", X),
    _f("CurrencyRef", X),
]
CUSTOMER_MOD = [
    _f("ListID", "id", req=True),
    _f("EditSequence", max_=16, req=True),
    *_CUSTOMER_BODY,
    *_CUSTOMER_TAIL,
    _f("TaxRegistrationNumber", X),
    _f("CurrencyRef", X),
]

SALES_OR_PURCHASE = [
    _f("Desc", max_=4095),
    _f("Price", "price", choice="price"),
    _f("PricePercent", "pct", choice="price"),
    _f("AccountRef", REF),
]
SALES_AND_PURCHASE = [
    _f("SalesDesc", max_=4095),
    _f("SalesPrice", "price"),
    _f("IncomeAccountRef", REF),
    _f("PurchaseDesc", max_=4095),
    _f("PurchaseCost", "price"),
    _f("PurchaseTaxCodeRef", X),
    _f("ExpenseAccountRef", REF),
    _f("PrefVendorRef", X),
]
_ITEM_HEAD = [
    _f("Name", max_=31, req=True),
    _f("BarCode", X),
    _f("IsActive", "bool"),
    _f("ClassRef", REF),
    _f("ParentRef", REF),
]
ITEM_SERVICE_ADD = [
    *_ITEM_HEAD,
    _f("UnitOfMeasureSetRef", X),
    _f("IsTaxIncluded", "bool"),
    _f("SalesTaxCodeRef", X),
    _f("SalesOrPurchase", "SalesOrPurchase", choice="sp", req=True),
    _f("SalesAndPurchase", "SalesAndPurchase", choice="sp", req=True),
    _f("ExternalGUID", X),
]
ITEM_NON_INVENTORY_ADD = [
    *_ITEM_HEAD,
    _f("ManufacturerPartNumber", max_=31),
    *ITEM_SERVICE_ADD[5:],
]
ITEM_OTHER_CHARGE_ADD = [*_ITEM_HEAD, *ITEM_SERVICE_ADD[6:]]
_INVENTORY_MIDDLE = [
    _f("UnitOfMeasureSetRef", X),
    _f("IsTaxIncluded", "bool"),
    _f("SalesTaxCodeRef", X),
    _f("SalesDesc", max_=4095),
    _f("SalesPrice", "price"),
    _f("IncomeAccountRef", REF, req=True),
    _f("PurchaseDesc", max_=4095),
    _f("PurchaseCost", "price"),
    _f("PurchaseTaxCodeRef", X),
    _f("COGSAccountRef", REF, req=True),
    _f("PrefVendorRef", X),
    _f("AssetAccountRef", REF, req=True),
]
ITEM_INVENTORY_ADD = [
    *_ITEM_HEAD,
    _f("ManufacturerPartNumber", max_=31),
    *_INVENTORY_MIDDLE,
    _f("ReorderPoint", "qty"),
    _f("Max", "qty"),
    _f("QuantityOnHand", "qty"),
    _f("TotalValue", "amt"),
    _f("InventoryDate", "date"),
    _f("ExternalGUID", X),
]
ITEM_INVENTORY_ASSEMBLY_ADD = [
    *_ITEM_HEAD,
    *_INVENTORY_MIDDLE,
    _f("BuildPoint", "qty"),
    _f("Max", "qty"),
    _f("QuantityOnHand", "qty"),
    _f("TotalValue", "amt"),
    _f("InventoryDate", "date"),
    _f("ExternalGUID", X),
    _f("ItemInventoryAssemblyLine", "GroupLine", many=True),
]
ITEM_DISCOUNT_ADD = [
    *_ITEM_HEAD,
    _f("ItemDesc", max_=4095),
    _f("SalesTaxCodeRef", X),
    _f("DiscountRate", "price", choice="rate"),
    _f("DiscountRatePercent", "pct", choice="rate"),
    _f("AccountRef", REF, req=True),
    _f("ExternalGUID", X),
]
ITEM_FIXED_ASSET_ADD = [
    _f("Name", max_=31, req=True),
    _f("BarCode", X),
    _f("IsActive", "bool"),
    _f("ClassRef", REF),
    _f("AcquiredAs", "enum:New|Old", req=True),
    _f("PurchaseDesc", max_=50, req=True),
    _f("PurchaseDate", "date", req=True),
    _f("PurchaseCost", "amt"),
    _f("VendorOrPayeeName", max_=50),
    _f("AssetAccountRef", REF, req=True),
    _f("FixedAssetSalesInfo", X),
    _f("AssetDesc", max_=50),
    _f("Location", max_=50),
    _f("PONumber", max_=30),
    _f("SerialNumber", max_=30),
    _f("WarrantyExpDate", "date"),
    _f("Notes", max_=4095),
    _f("AssetNumber", max_=10),
    _f("CostBasis", "amt"),
    _f("YearEndAccumulatedDepreciation", "amt"),
    _f("YearEndBookValue", "amt"),
    _f("ExternalGUID", X),
]
ITEM_GROUP_ADD = [
    _f("Name", max_=31, req=True),
    _f("BarCode", X),
    _f("IsActive", "bool"),
    _f("ItemDesc", max_=4095),
    _f("UnitOfMeasureSetRef", X),
    _f("IsPrintItemsInGroup", "bool"),
    _f("SpecialItemType", X),
    _f("ExternalGUID", X),
    _f("ItemGroupLine", "GroupLine", many=True),
]
GROUP_LINE = [_f("ItemRef", REF), _f("Quantity", "qty"), _f("UnitOfMeasure", X)]

# Item Mods (api-notes 8.6): ListID and EditSequence, then only the elements that change, in
# the Add's order with the Mod's own aggregates; ``Apply...ToExistingTxns`` and units of measure
# are not emulated (1030). Quantities on hand are not in a Mod (QuickBooks adjusts them with an
# InventoryAdjustment).
SALES_OR_PURCHASE_MOD = [
    *SALES_OR_PURCHASE,
    _f("ApplyAccountRefToExistingTxns", X),
]
SALES_AND_PURCHASE_MOD = [
    *SALES_AND_PURCHASE[:3],
    _f("ApplyIncomeAccountRefToExistingTxns", X),
    *SALES_AND_PURCHASE[3:7],
    _f("ApplyExpenseAccountRefToExistingTxns", X),
    *SALES_AND_PURCHASE[7:],
]
_ITEM_MOD_HEAD = [
    _f("ListID", "id", req=True),
    _f("EditSequence", max_=16, req=True),
    _f("Name", max_=31),
    *_ITEM_HEAD[1:],
]
_ITEM_MOD_SALES = [
    _f("UnitOfMeasureSetRef", X),
    _f("ForceUOMChange", X),
    _f("IsTaxIncluded", "bool"),
    _f("SalesTaxCodeRef", X),
    _f("SalesOrPurchaseMod", "SalesOrPurchaseMod", choice="sp"),
    _f("SalesAndPurchaseMod", "SalesAndPurchaseMod", choice="sp"),
]
ITEM_SERVICE_MOD = [*_ITEM_MOD_HEAD, *_ITEM_MOD_SALES]
ITEM_NON_INVENTORY_MOD = [
    *_ITEM_MOD_HEAD,
    _f("ManufacturerPartNumber", max_=31),
    *_ITEM_MOD_SALES,
]
ITEM_OTHER_CHARGE_MOD = [*_ITEM_MOD_HEAD, *_ITEM_MOD_SALES[2:]]
ITEM_INVENTORY_MOD = [
    *_ITEM_MOD_HEAD,
    _f("ManufacturerPartNumber", max_=31),
    _f("UnitOfMeasureSetRef", X),
    _f("ForceUOMChange", X),
    _f("IsTaxIncluded", "bool"),
    _f("SalesTaxCodeRef", X),
    _f("SalesDesc", max_=4095),
    _f("SalesPrice", "price"),
    _f("IncomeAccountRef", REF),
    _f("ApplyIncomeAccountRefToExistingTxns", X),
    _f("PurchaseDesc", max_=4095),
    _f("PurchaseCost", "price"),
    _f("PurchaseTaxCodeRef", X),
    _f("COGSAccountRef", REF),
    _f("ApplyCOGSAccountRefToExistingTxns", X),
    _f("PrefVendorRef", X),
    _f("AssetAccountRef", REF),
    _f("ReorderPoint", "qty"),
    _f("Max", "qty"),
]
ITEM_DISCOUNT_MOD = [
    *_ITEM_MOD_HEAD,
    _f("ItemDesc", max_=4095),
    _f("SalesTaxCodeRef", X),
    _f("DiscountRate", "price", choice="rate"),
    _f("DiscountRatePercent", "pct", choice="rate"),
    _f("AccountRef", REF),
    _f("ApplyAccountRefToExistingTxns", X),
]

_TXN_LINE_COMMON = [
    _f("ItemRef", REF),
    _f("Desc", max_=4095),
    _f("Quantity", "qty"),
    _f("UnitOfMeasure", X),
    _f("Rate", "price", choice="rate"),
    _f("RatePercent", "pct", choice="rate"),
    _f("PriceLevelRef", X, choice="rate"),
    _f("ClassRef", REF),
    _f("Amount", "amt"),
    _f("OptionForPriceRuleConflict", X),
    _f("InventorySiteRef", X),
    _f("InventorySiteLocationRef", X),
    _f("SerialNumber", X, choice="lot"),
    _f("LotNumber", X, choice="lot"),
]
LINK_TO_TXN = [_f("TxnID", "id", req=True), _f("TxnLineID", "id", req=True)]
INVOICE_LINE_ADD = [
    *_TXN_LINE_COMMON,
    _f("ServiceDate", "date"),
    _f("SalesTaxCodeRef", X),
    _f("OverrideItemAccountRef", X),
    _f("Other1", max_=29),
    _f("Other2", max_=29),
    _f("LinkToTxn", "LinkToTxn"),
    _f("DataExt", X, many=True),
]
SALES_ORDER_LINE_ADD = [
    *_TXN_LINE_COMMON,
    _f("SalesTaxCodeRef", X),
    _f("IsManuallyClosed", "bool"),
    _f("Other1", max_=29),
    _f("Other2", max_=29),
    _f("DataExt", X, many=True),
]
SALES_ORDER_LINE_MOD = [
    _f("TxnLineID", "id", req=True),
    *_TXN_LINE_COMMON[:4],
    _f("OverrideUOMSetRef", X),
    *_TXN_LINE_COMMON[4:],
    _f("SalesTaxCodeRef", X),
    _f("IsManuallyClosed", "bool"),
    _f("Other1", max_=29),
    _f("Other2", max_=29),
]
SALES_RECEIPT_LINE_ADD = [
    *_TXN_LINE_COMMON,
    _f("ServiceDate", "date"),
    _f("SalesTaxCodeRef", X),
    _f("IsTaxable", X),
    _f("OverrideItemAccountRef", X),
    _f("Other1", max_=29),
    _f("Other2", max_=29),
    _f("CreditCardTxnInfo", X),
    _f("DataExt", X, many=True),
]

_TXN_HEAD = [
    _f("CustomerRef", REF, req=True),
    _f("ClassRef", REF),
]
INVOICE_ADD = [
    *_TXN_HEAD,
    _f("ARAccountRef", X),
    _f("TemplateRef", X),
    _f("TxnDate", "date"),
    _f("RefNumber", max_=11),
    _f("BillAddress", "Address"),
    _f("ShipAddress", "Address"),
    _f("IsPending", "bool"),
    _f("IsFinanceCharge", "bool"),
    _f("PONumber", max_=25),
    _f("TermsRef", REF),
    _f("DueDate", "date"),
    _f("SalesRepRef", REF),
    _f("FOB", max_=13),
    _f("ShipDate", "date"),
    _f("ShipMethodRef", REF),
    _f("ItemSalesTaxRef", X),
    _f("Memo", max_=4095),
    _f("CustomerMsgRef", X),
    _f("IsToBePrinted", "bool"),
    _f("IsToBeEmailed", "bool"),
    _f("IsTaxIncluded", "bool"),
    _f("CustomerSalesTaxCodeRef", X),
    _f("Other", max_=29),
    _f("ExchangeRate", X),
    _f("ExternalGUID", "guid"),
    _f("LinkToTxnID", "id", many=True),
    _f("SetCredit", X, many=True),
    _f("InvoiceLineAdd", "InvoiceLineAdd", many=True, choice="line"),
    _f("InvoiceLineGroupAdd", X, many=True, choice="line"),
]
_SO_HEAD = [
    *_TXN_HEAD,
    _f("TemplateRef", X),
    _f("TxnDate", "date"),
    _f("RefNumber", max_=11),
    _f("BillAddress", "Address"),
    _f("ShipAddress", "Address"),
    _f("PONumber", max_=25),
    _f("TermsRef", REF),
    _f("DueDate", "date"),
    _f("SalesRepRef", REF),
    _f("FOB", max_=13),
    _f("ShipDate", "date"),
    _f("ShipMethodRef", REF),
    _f("ItemSalesTaxRef", X),
    _f("IsManuallyClosed", "bool"),
    _f("Memo", max_=4095),
    _f("CustomerMsgRef", X),
    _f("IsToBePrinted", "bool"),
    _f("IsToBeEmailed", "bool"),
    _f("IsTaxIncluded", "bool"),
    _f("CustomerSalesTaxCodeRef", X),
    _f("Other", max_=29),
    _f("ExchangeRate", X),
]
SALES_ORDER_ADD = [
    *_SO_HEAD,
    _f("ExternalGUID", "guid"),
    _f("LinkToTxnID", X, many=True),
    _f("SalesOrderLineAdd", "SalesOrderLineAdd", many=True, choice="line"),
    _f("SalesOrderLineGroupAdd", X, many=True, choice="line"),
]
SALES_ORDER_MOD = [
    _f("TxnID", "id", req=True),
    _f("EditSequence", max_=16, req=True),
    *[F(f.name, f.type, f.max, req=False, many=f.many, choice=f.choice) for f in _SO_HEAD],
    _f("SalesOrderLineMod", "SalesOrderLineMod", many=True, choice="line"),
    _f("SalesOrderLineGroupMod", X, many=True, choice="line"),
]
SALES_RECEIPT_ADD = [
    _f("CustomerRef", REF),
    _f("ClassRef", REF),
    _f("TemplateRef", X),
    _f("TxnDate", "date"),
    _f("RefNumber", max_=11),
    _f("BillAddress", "Address"),
    _f("ShipAddress", "Address"),
    _f("IsPending", "bool"),
    _f("CheckNumber", max_=25),
    _f("PaymentMethodRef", X),
    _f("DueDate", "date"),
    _f("SalesRepRef", REF),
    _f("ShipDate", "date"),
    _f("ShipMethodRef", REF),
    _f("FOB", max_=13),
    _f("ItemSalesTaxRef", X),
    _f("Memo", max_=4095),
    _f("CustomerMsgRef", X),
    _f("IsToBePrinted", "bool"),
    _f("IsToBeEmailed", "bool"),
    _f("IsTaxIncluded", "bool"),
    _f("CustomerSalesTaxCodeRef", X),
    _f("DepositToAccountRef", REF),
    _f("CreditCardTxnInfo", X),
    _f("Other", max_=29),
    _f("ExchangeRate", X),
    _f("ExternalGUID", "guid"),
    _f("SalesReceiptLineAdd", "SalesReceiptLineAdd", many=True, choice="line"),
    _f("SalesReceiptLineGroupAdd", X, many=True, choice="line"),
]
APPLIED_TO_TXN_ADD = [
    _f("TxnID", "id", req=True),
    _f("PaymentAmount", "amt"),
    _f("SetCredit", X, many=True),
    _f("DiscountAmount", X),
    _f("DiscountAccountRef", X),
    _f("DiscountClassRef", X),
]
RECEIVE_PAYMENT_ADD = [
    _f("CustomerRef", REF, req=True),
    _f("ARAccountRef", X),
    _f("TxnDate", "date"),
    _f("RefNumber", max_=20),
    _f("TotalAmount", "amt"),
    _f("ExchangeRate", X),
    _f("PaymentMethodRef", X),
    _f("Memo", max_=4095),
    _f("DepositToAccountRef", REF),
    _f("CreditCardTxnInfo", X),
    _f("ExternalGUID", X),
    _f("IsAutoApply", "bool", choice="apply"),
    _f("AppliedToTxnAdd", "AppliedToTxnAdd", many=True, choice="apply"),
]
SIMPLE_LIST_ADD = {
    "StandardTerms": [
        _f("Name", max_=31, req=True),
        _f("IsActive", "bool"),
        _f("StdDueDays", "int"),
        _f("StdDiscountDays", "int"),
        _f("DiscountPct", "pct"),
    ],
    "SalesRep": [
        _f("Initial", max_=5, req=True),
        _f("IsActive", "bool"),
        _f("SalesRepEntityRef", REF, req=True),
    ],
    "Class": [_f("Name", max_=31, req=True), _f("IsActive", "bool"), _f("ParentRef", REF)],
    "ShipMethod": [_f("Name", max_=15, req=True), _f("IsActive", "bool")],
}

NAME_FILTER = [
    _f("MatchCriterion", "enum:StartsWith|Contains|EndsWith", req=True),
    _f("Name", req=True),
]
NAME_RANGE_FILTER = [_f("FromName"), _f("ToName")]
MODIFIED_RANGE = [_f("FromModifiedDate", "dt"), _f("ToModifiedDate", "dt")]
TXN_DATE_RANGE = [
    _f("FromTxnDate", "date"),
    _f("ToTxnDate", "date"),
    _f("DateMacro", X),
]
ENTITY_FILTER = [
    _f("ListID", "id", many=True, choice="e"),
    _f("FullName", many=True, choice="e"),
    _f("ListIDWithChildren", "id", choice="e"),
    _f("FullNameWithChildren", choice="e"),
]
REF_NUMBER_FILTER = [
    _f("MatchCriterion", "enum:StartsWith|Contains|EndsWith", req=True),
    _f("RefNumber", req=True),
]
ACTIVE = "enum:ActiveOnly|InactiveOnly|All"
LIST_QUERY = [
    _f("ListID", "id", many=True, choice="sel"),
    _f("FullName", many=True, choice="sel"),
    _f("MaxReturned", "int"),
    _f("ActiveStatus", ACTIVE),
    _f("FromModifiedDate", "dt"),
    _f("ToModifiedDate", "dt"),
    _f("NameFilter", "NameFilter", choice="name"),
    _f("NameRangeFilter", "NameRangeFilter", choice="name"),
    _f("TotalBalanceFilter", X),
    _f("CurrencyFilter", X),
    _f("ClassFilter", X),
    _f("IncludeRetElement", max_=50, many=True),
    _f("OwnerID", "id", many=True),
]
ITEM_QUERY = [f for f in LIST_QUERY if f.name not in ("TotalBalanceFilter", "CurrencyFilter")]
SIMPLE_LIST_QUERY = [f for f in ITEM_QUERY if f.name not in ("ClassFilter", "OwnerID")]


def txn_query(*, paid: bool, lines: bool = True, linked: bool = True) -> list[F]:
    spec = [
        _f("TxnID", "id", many=True, choice="sel"),
        _f("RefNumber", many=True, choice="sel"),
        _f("RefNumberCaseSensitive", X, many=True, choice="sel"),
        _f("MaxReturned", "int"),
        _f("ModifiedDateRangeFilter", "ModifiedDateRangeFilter", choice="date"),
        _f("TxnDateRangeFilter", "TxnDateRangeFilter", choice="date"),
        _f("EntityFilter", "EntityFilter"),
        _f("AccountFilter", X),
        _f("RefNumberFilter", "RefNumberFilter", choice="ref"),
        _f("RefNumberRangeFilter", X, choice="ref"),
        _f("CurrencyFilter", X),
    ]
    if paid:
        spec.append(_f("PaidStatus", "enum:All|PaidOnly|NotPaidOnly"))
    if lines:
        spec.append(_f("IncludeLineItems", "bool"))
    if linked:
        spec.append(_f("IncludeLinkedTxns", "bool"))
    spec += [_f("IncludeRetElement", max_=50, many=True), _f("OwnerID", "id", many=True)]
    return spec


DELETED_RANGE = [_f("FromDeletedDate", "dt"), _f("ToDeletedDate", "dt")]
LIST_DEL_TYPES = (
    "Class|Customer|ItemDiscount|ItemFixedAsset|ItemGroup|ItemInventory|ItemInventoryAssembly|"
    "ItemNonInventory|ItemOtherCharge|ItemService|SalesRep|ShipMethod|StandardTerms"
)
TXN_DEL_TYPES = "Invoice|ReceivePayment|SalesOrder|SalesReceipt"
TXN_VOID_TYPES = (
    "ARRefundCreditCard|Bill|BillPaymentCheck|BillPaymentCreditCard|Charge|Check|"
    "CreditCardCharge|CreditCardCredit|CreditMemo|Deposit|InventoryAdjustment|Invoice|"
    "ItemReceipt|JournalEntry|SalesReceipt|VendorCredit"
)
"""TxnVoid's types (the OSR lists them): no ReceivePayment, SalesOrder or Estimate."""

SPECS: dict[str, list[F]] = {
    "Address": ADDRESS,
    "ref": REF_SPEC,
    "SalesOrPurchase": SALES_OR_PURCHASE,
    "SalesAndPurchase": SALES_AND_PURCHASE,
    "SalesOrPurchaseMod": SALES_OR_PURCHASE_MOD,
    "SalesAndPurchaseMod": SALES_AND_PURCHASE_MOD,
    "GroupLine": GROUP_LINE,
    "LinkToTxn": LINK_TO_TXN,
    "InvoiceLineAdd": INVOICE_LINE_ADD,
    "SalesOrderLineAdd": SALES_ORDER_LINE_ADD,
    "SalesOrderLineMod": SALES_ORDER_LINE_MOD,
    "SalesReceiptLineAdd": SALES_RECEIPT_LINE_ADD,
    "AppliedToTxnAdd": APPLIED_TO_TXN_ADD,
    "NameFilter": NAME_FILTER,
    "NameRangeFilter": NAME_RANGE_FILTER,
    "ModifiedDateRangeFilter": MODIFIED_RANGE,
    "TxnDateRangeFilter": TXN_DATE_RANGE,
    "EntityFilter": ENTITY_FILTER,
    "RefNumberFilter": REF_NUMBER_FILTER,
    "DeletedDateRangeFilter": DELETED_RANGE,
}

# Request element -> (the body element inside it, or None when the fields sit directly in the
# request element; the body's spec).
ITEM_ADDS = {
    "ItemService": ITEM_SERVICE_ADD,
    "ItemNonInventory": ITEM_NON_INVENTORY_ADD,
    "ItemOtherCharge": ITEM_OTHER_CHARGE_ADD,
    "ItemInventory": ITEM_INVENTORY_ADD,
    "ItemInventoryAssembly": ITEM_INVENTORY_ASSEMBLY_ADD,
    "ItemDiscount": ITEM_DISCOUNT_ADD,
    "ItemFixedAsset": ITEM_FIXED_ASSET_ADD,
    "ItemGroup": ITEM_GROUP_ADD,
}
ITEM_MODS = {
    "ItemService": ITEM_SERVICE_MOD,
    "ItemNonInventory": ITEM_NON_INVENTORY_MOD,
    "ItemOtherCharge": ITEM_OTHER_CHARGE_MOD,
    "ItemInventory": ITEM_INVENTORY_MOD,
    "ItemDiscount": ITEM_DISCOUNT_MOD,
}
"""The item types whose Mod is emulated (assemblies, fixed assets and groups answer 1030)."""
REQUESTS: dict[str, tuple[str | None, list[F]]] = {
    "HostQueryRq": (None, []),
    "CompanyQueryRq": (None, [_f("IncludeRetElement", max_=50, many=True), _f("OwnerID", X)]),
    "PreferencesQueryRq": (None, [_f("IncludeRetElement", max_=50, many=True)]),
    "CustomerAddRq": ("CustomerAdd", CUSTOMER_ADD),
    "CustomerModRq": ("CustomerMod", CUSTOMER_MOD),
    "CustomerQueryRq": (None, LIST_QUERY),
    "ItemQueryRq": (None, ITEM_QUERY),
    **{f"{kind}AddRq": (f"{kind}Add", spec) for kind, spec in ITEM_ADDS.items()},
    **{f"{kind}QueryRq": (None, ITEM_QUERY) for kind in ITEM_ADDS},
    **{f"{kind}ModRq": (f"{kind}Mod", spec) for kind, spec in ITEM_MODS.items()},
    **{f"{kind}AddRq": (f"{kind}Add", spec) for kind, spec in SIMPLE_LIST_ADD.items()},
    **{f"{kind}QueryRq": (None, SIMPLE_LIST_QUERY) for kind in SIMPLE_LIST_ADD},
    "InvoiceAddRq": ("InvoiceAdd", INVOICE_ADD),
    "InvoiceQueryRq": (None, txn_query(paid=True)),
    "SalesOrderAddRq": ("SalesOrderAdd", SALES_ORDER_ADD),
    "SalesOrderModRq": ("SalesOrderMod", SALES_ORDER_MOD),
    "SalesOrderQueryRq": (None, txn_query(paid=False)),
    "SalesReceiptAddRq": ("SalesReceiptAdd", SALES_RECEIPT_ADD),
    "SalesReceiptQueryRq": (None, txn_query(paid=False, linked=False)),
    "ReceivePaymentAddRq": ("ReceivePaymentAdd", RECEIVE_PAYMENT_ADD),
    "ReceivePaymentQueryRq": (None, txn_query(paid=False, linked=False)),
    "ListDelRq": (
        None,
        [_f("ListDelType", f"enum:{LIST_DEL_TYPES}", req=True), _f("ListID", "id", req=True)],
    ),
    "TxnDelRq": (
        None,
        [_f("TxnDelType", f"enum:{TXN_DEL_TYPES}", req=True), _f("TxnID", "id", req=True)],
    ),
    "TxnVoidRq": (
        None,
        [_f("TxnVoidType", f"enum:{TXN_VOID_TYPES}", req=True), _f("TxnID", "id", req=True)],
    ),
    "ListDeletedQueryRq": (
        None,
        [
            _f("ListDelType", f"enum:{LIST_DEL_TYPES}", req=True, many=True),
            _f("DeletedDateRangeFilter", "DeletedDateRangeFilter"),
        ],
    ),
    "TxnDeletedQueryRq": (
        None,
        [
            _f("TxnDelType", f"enum:{TXN_DEL_TYPES}", req=True, many=True),
            _f("DeletedDateRangeFilter", "DeletedDateRangeFilter"),
        ],
    ),
}

_NUMBER = {
    "int": re.compile(r"^-?\d{1,9}$"),
    "amt": re.compile(r"^-?\d{1,13}(\.\d{1,2})?$"),
    "price": re.compile(r"^-?\d{1,13}(\.\d{1,5})?$"),
    "qty": re.compile(r"^-?\d{1,13}(\.\d{1,5})?$"),
    "pct": re.compile(r"^-?\d{1,5}(\.\d{1,5})?$"),
}


# ExternalGUID: the add's own identity, kept and answered in the Ret (api-notes 8.6).
_GUID = re.compile(r"^\{[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}$")


class Parsed(dict):
    """A parsed aggregate: element name -> text, list, or Parsed; plus the deferred per-request
    problems (too-long strings, unimplemented elements) the handler raises as statuses."""

    problems: list[StatusError]

    def __init__(self) -> None:
        super().__init__()
        self.problems = []


def parse(element: etree._Element, spec: list[F], path: str, problems: list[StatusError]) -> Parsed:
    """Check ``element``'s children against ``spec`` and return them as a dict."""
    out = Parsed()
    out.problems = problems
    index = {f.name: i for i, f in enumerate(spec)}
    last = -1
    choices: dict[str, str] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # comments and processing instructions
        name = child.tag
        where = f"{path}/{name}"
        if name not in index:
            raise QbxmlParseError(f"element {where} is not allowed here")
        i = index[name]
        field = spec[i]
        if i < last or (i == last and not field.many):
            raise QbxmlParseError(f"element {where} is out of order or repeated")
        if field.choice:
            other = choices.setdefault(field.choice, name)
            if other != name and not (i == last and field.many):
                # alternatives of one choice sit next to each other in the spec
                raise QbxmlParseError(f"element {where} cannot appear with {other}")
        last = i
        value = _value(child, field, where, problems)
        if field.many:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    required_choices = {f.choice for f in spec if f.req and f.choice}
    for field in spec:
        if field.req and not field.choice and field.name not in out:
            raise QbxmlParseError(f"required element {path}/{field.name} is missing")
    for group in required_choices:
        if group not in choices:
            raise QbxmlParseError(f"{path} needs one of its {group} elements")
    return out


def _value(child: etree._Element, field: F, where: str, problems: list[StatusError]) -> Any:
    kind = field.type
    if kind == X:
        problems.append(
            StatusError(1030, f"This request is not supported by this implementation ({where}).")
        )
        return None
    if kind == REF or kind in SPECS:
        if (child.text or "").strip():
            raise QbxmlParseError(f"aggregate {where} holds text")
        sub = SPECS["ref" if kind == REF else kind]
        parsed = parse(child, sub, where, problems)
        if kind == REF and not parsed:
            raise QbxmlParseError(f"reference {where} needs ListID or FullName")
        return parsed
    if len(child):
        raise QbxmlParseError(f"element {where} must hold text, not elements")
    text = child.text or ""
    if kind == "bool":
        if text not in ("true", "false"):
            raise QbxmlParseError(f"{where}: {text!r} is not true or false")
    elif kind.startswith("enum:"):
        if text not in kind[5:].split("|"):
            raise QbxmlParseError(f"{where}: {text!r} is not one of {kind[5:]}")
    elif kind == "guid":
        if not _GUID.match(text):
            raise QbxmlParseError(f"{where}: {text!r} is not a GUID in braces")
    elif kind in _NUMBER:
        if not _NUMBER[kind].match(text.strip()):
            raise QbxmlParseError(f"{where}: {text!r} is not a number of type {kind}")
        text = text.strip()
    elif field.max is not None and len(text) > field.max:
        problems.append(too_long(text, child.tag))
    return text
