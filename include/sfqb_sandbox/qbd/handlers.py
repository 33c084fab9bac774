"""The requests: list and transaction adds, mods, queries and deletes (api-notes 8.4-8.8).

``Books.handle(tag, attrs, parsed)`` answers one parsed request with a :class:`Result` or raises
:class:`~sfqb_sandbox.qbd.errors.StatusError`. A request either applies completely or not at
all: every check runs before the first change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from lxml import etree

from .errors import (
    NO_MATCH,
    STATUS_OK,
    StatusError,
    feature_unavailable,
    invalid_reference,
    name_in_use,
    not_found,
    q,
    save_error,
    stale_edit_sequence,
    too_long,
    txn_save_error,
)
from .output import LINE_KEY
from .schema import ITEM_ADDS, ITEM_MODS, SIMPLE_LIST_ADD
from .store import LISTS, TXNS
from .times import local_date, parse_date, parse_dt

if TYPE_CHECKING:
    from .company import DesktopCompany

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_SUBLEVEL = 4  # five levels: a customer and four levels of sub-customers and jobs
FULLNAME_MAX = {"Customer": 209, "Item": 159, "Class": 159}
INVENTORY = ("ItemInventory", "ItemInventoryAssembly")
DELETED_RETENTION_DAYS = 90
VOID_MEMO = "VOID:"
"""What QuickBooks puts before a voided transaction's memo (api-notes 8.7)."""
VOIDED = "_voided"
"""Internal mark of a voided transaction (no Ret element shows it)."""
TXN_LABEL = {
    "Invoice": "Invoice",
    "SalesOrder": "SalesOrder",
    "SalesReceipt": "SalesReceipt",
    "ReceivePayment": "ReceivePayment",
}
CUSTOMER_COPY = (
    "CompanyName",
    "Salutation",
    "FirstName",
    "MiddleName",
    "LastName",
    "JobTitle",
    "Phone",
    "AltPhone",
    "Fax",
    "Email",
    "Cc",
    "Contact",
    "AltContact",
    "ResaleNumber",
    "AccountNumber",
    "CreditLimit",
    "JobStatus",
    "JobStartDate",
    "JobProjectedEndDate",
    "JobEndDate",
    "JobDesc",
    "Notes",
)
CUSTOMER_REFS = {"ClassRef": "Class", "TermsRef": "StandardTerms", "SalesRepRef": "SalesRep"}
DATE_FIELDS = (
    "JobStartDate",
    "JobProjectedEndDate",
    "JobEndDate",
    "TxnDate",
    "DueDate",
    "ShipDate",
    "ServiceDate",
    "PurchaseDate",
    "WarrantyExpDate",
    "InventoryDate",
    "OpenBalanceDate",
)


@dataclass
class Result:
    rets: list[tuple[str, dict]] = field(default_factory=list)
    code: int = 0
    message: str = STATUS_OK
    attrs: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    elements: list[etree._Element] = field(default_factory=list)


def money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def m(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):.2f}"


def qty(value: Any) -> Decimal:
    return Decimal(str(value))


class Books:
    """The company's data and rules; ``company`` supplies the store, clock and settings."""

    def __init__(self, company: DesktopCompany) -> None:
        self.company = company
        self.store = company.store
        self._sorted: dict[str, tuple[int, list[str]]] = {}
        self._seq = int(self.store.settings.get("edit_sequence", 0))

    # -- helpers -------------------------------------------------------------------------
    def now(self) -> float:
        return float(int(self.company.clock.timestamp()))

    def today(self) -> str:
        return local_date(self.company.clock.timestamp(), self.company.tz)

    def edit_sequence(self) -> str:
        self._seq = max(self._seq + 1, int(self.company.clock.timestamp()))
        return str(self._seq)

    def new_id(self, list_: bool) -> str:
        key = "next_list_id" if list_ else "next_txn_id"
        n = int(self.store.settings.get(key, 1))
        self.store.set_setting(key, n + 1)
        epoch = int(self.company.clock.timestamp())
        return f"{0x80000000 + n:X}-{epoch}" if list_ else f"{n:X}-{epoch}"

    def stamp(self, record: dict, *, new: bool) -> None:
        now = self.now()
        if new:
            record["TimeCreated"] = now
        record["TimeModified"] = now
        record["EditSequence"] = self.edit_sequence()
        self.store.set_setting("edit_sequence", self._seq)

    def resolve(self, kind: str, ref: dict, where: str, label: str | None = None) -> dict:
        """A ListID/FullName reference; a ListID wins when both are given (the OSR says so)."""
        if ref.get("ListID"):
            found = self.store.get(kind, ref["ListID"])
            value = ref["ListID"]
        else:
            found = self.store.find_name(kind, ref.get("FullName", ""))
            value = ref.get("FullName", "")
        if found is None:
            raise invalid_reference(label or kind, value, where)
        return found

    def dates(self, parsed: dict) -> None:
        for key in DATE_FIELDS:
            if parsed.get(key):
                parsed[key] = parse_date(parsed[key], key)

    def handle(self, tag: str, attrs: dict, parsed: dict) -> Result:
        name = tag[:-2]
        if (
            name in ("SalesOrderAdd", "SalesOrderMod", "SalesOrderQuery")
            and self.company.edition == "Pro"
        ):
            raise feature_unavailable(
                f"Sales Orders are not available in QuickBooks {self.company.edition}"
            )
        if name == "HostQuery":
            return self.host_query()
        if name == "CompanyQuery":
            return self.company_query()
        if name == "PreferencesQuery":
            return self.preferences_query()
        if name == "CustomerAdd":
            return self.ret_one("Customer", self.customer_add(parsed), parsed)
        if name == "CustomerMod":
            return self.ret_one("Customer", self.customer_mod(parsed), parsed)
        if name == "CustomerQuery":
            return self.list_query(tag, attrs, parsed, "Customer", None)
        if name == "ItemQuery":
            return self.list_query(tag, attrs, parsed, "Item", None)
        if name.endswith("Add") and name[:-3] in ITEM_ADDS:
            return self.ret_one("Item", self.item_add(name[:-3], parsed), parsed)
        if name.endswith("Mod") and name[:-3] in ITEM_MODS:
            return self.ret_one("Item", self.item_mod(name[:-3], parsed), parsed)
        if name.endswith("Query") and name[:-5] in ITEM_ADDS:
            return self.list_query(tag, attrs, parsed, "Item", name[:-5])
        if name.endswith("Add") and name[:-3] in SIMPLE_LIST_ADD:
            return self.ret_one(name[:-3], self.simple_add(name[:-3], parsed), parsed)
        if name.endswith("Query") and name[:-5] in SIMPLE_LIST_ADD:
            return self.list_query(tag, attrs, parsed, name[:-5], None)
        if name == "InvoiceAdd":
            return self.ret_one("Invoice", self.invoice_add(parsed), parsed, txn=True)
        if name == "SalesOrderAdd":
            return self.ret_one("SalesOrder", self.sales_order_add(parsed), parsed, txn=True)
        if name == "SalesOrderMod":
            return self.ret_one("SalesOrder", self.sales_order_mod(parsed), parsed, txn=True)
        if name == "SalesReceiptAdd":
            return self.ret_one("SalesReceipt", self.sales_receipt_add(parsed), parsed, txn=True)
        if name == "ReceivePaymentAdd":
            return self.ret_one(
                "ReceivePayment", self.receive_payment_add(parsed), parsed, txn=True
            )
        if name.endswith("Query") and name[:-5] in TXNS:
            return self.txn_query(tag, attrs, parsed, name[:-5])
        if name == "ListDel":
            return self.list_del(parsed)
        if name == "TxnDel":
            return self.txn_del(parsed)
        if name == "TxnVoid":
            return self.txn_void(parsed)
        if name == "ListDeletedQuery":
            return self.deleted_query(parsed, lists=True)
        if name == "TxnDeletedQuery":
            return self.deleted_query(parsed, lists=False)
        raise StatusError(1030, "This request is not supported by this implementation.")

    def ret_one(self, kind: str, record: dict, parsed: dict, *, txn: bool = False) -> Result:
        include = set(parsed.get("IncludeRetElement") or []) or None
        options: dict[str, Any] = {"include": include}
        if txn:
            options.update(lines=True, linked=True)
        return Result(rets=[(kind, record)], options=options)

    # -- host, company, preferences --------------------------------------------------------
    def host_query(self) -> Result:
        edition = self.company.edition
        product = {
            "Pro": "QuickBooks Pro 2024",
            "Premier": "QuickBooks Premier Edition 2024",
            "Enterprise": "QuickBooks Enterprise Solutions 24.0",
        }[edition]
        host = etree.Element("HostRet")
        _t(host, "ProductName", f"{product} Release R1P")
        _t(host, "MajorVersion", "34")
        _t(host, "MinorVersion", "0")
        _t(host, "Country", "US")
        for version in (
            "1.0",
            "2.0",
            "3.0",
            "4.0",
            "5.0",
            "6.0",
            "7.0",
            "8.0",
            "9.0",
            "10.0",
            "11.0",
            "12.0",
            "13.0",
            "14.0",
            "15.0",
            "16.0",
        ):
            _t(host, "SupportedQBXMLVersion", version)
        _t(host, "IsAutomaticLogin", "true")
        _t(host, "QBFileMode", "SingleUser")
        return Result(elements=[host])

    def company_query(self) -> Result:
        ret = etree.Element("CompanyRet")
        _t(ret, "IsSampleCompany", "false")
        _t(ret, "CompanyName", str(self.company.settings["company_name"]))
        _t(ret, "LegalCompanyName", str(self.company.settings["company_name"]))
        addr = etree.SubElement(ret, "Address")
        for key, value in (
            ("Addr1", "2600 Marine Way"),
            ("City", "Mountain View"),
            ("State", "CA"),
            ("PostalCode", "94043"),
            ("Country", "US"),
        ):
            _t(addr, key, value)
        _t(ret, "Phone", "(650) 555-0100")
        _t(ret, "FirstMonthFiscalYear", "January")
        _t(ret, "FirstMonthIncomeTaxYear", "January")
        _t(ret, "CompanyType", "General")
        _t(ret, "TaxForm", "Form1120")
        return Result(elements=[ret])

    def preferences_query(self) -> Result:
        ret = etree.Element("PreferencesRet")
        acc = etree.SubElement(ret, "AccountingPreferences")
        for key, value in (
            ("IsUsingAccountNumbers", "false"),
            ("IsRequiringAccounts", "true"),
            ("IsUsingClassTracking", "true"),
            ("IsUsingAuditTrail", "true"),
            ("IsAssigningJournalEntryNumbers", "true"),
        ):
            _t(acc, key, value)
        inv = etree.SubElement(ret, "ItemsAndInventoryPreferences")
        _t(inv, "IsTrackingOnSalesOrders", "false" if self.company.edition == "Pro" else "true")
        _t(inv, "IsTrackingOnEstimates", "false")
        multi = etree.SubElement(ret, "MultiCurrencyPreferences")
        _t(multi, "IsMultiCurrencyOn", "false")
        sales = etree.SubElement(ret, "SalesAndCustomersPreferences")
        _t(sales, "DefaultShipMethodRef", "")
        sales.remove(sales[0])
        _t(sales, "IsTrackingReimbursedExpensesAsIncome", "false")
        _t(sales, "IsAutoApplyingPayments", "true")
        return Result(elements=[ret])

    # -- customers -------------------------------------------------------------------------
    def _name_free(self, kind: str, full_name: str, own_id: str | None = None) -> None:
        found = self.store.find_name(kind, full_name)
        if found is not None and found["ListID"] != own_id:
            raise name_in_use(full_name)
        if kind == "Customer" and ":" not in full_name:
            other = self.store.find_name("OtherName", full_name)
            if other is not None:
                raise name_in_use(full_name)

    def _check_name(self, kind: str, label: str, name: str, *, modify: bool = False) -> None:
        if not name.strip():
            raise save_error(label, name, "The name cannot be blank.", modify=modify)
        if ":" in name:
            raise save_error(label, name, "The name cannot contain a colon (:).", modify=modify)

    def _placement(
        self, kind: str, label: str, name: str, parent: dict | None, *, modify: bool = False
    ) -> tuple[str, int]:
        full = f"{parent['FullName']}:{name}" if parent else name
        level = parent["Sublevel"] + 1 if parent else 0
        if level > MAX_SUBLEVEL:
            raise save_error(
                label, name, "The list has too many levels of sub-elements.", modify=modify
            )
        if len(full) > FULLNAME_MAX.get(kind, 159):
            raise too_long(full, "FullName")
        return full, level

    def customer_add(self, p: dict) -> dict:
        self.dates(p)
        name = p["Name"]
        self._check_name("Customer", "Customer", name)
        parent = (
            self.resolve("Customer", p["ParentRef"], "customer ParentRef")
            if "ParentRef" in p
            else None
        )
        full, level = self._placement("Customer", "Customer", name, parent)
        self._name_free("Customer", full)
        record: dict[str, Any] = {
            "ListID": self.new_id(True),
            "Name": name,
            "FullName": full,
            "IsActive": p.get("IsActive", "true") == "true",
            "Sublevel": level,
            "Balance": "0.00",
            "TotalBalance": "0.00",
        }
        if parent:
            record["ParentRef"] = parent["ListID"]
        if p.get("ExternalGUID"):
            record["ExternalGUID"] = p["ExternalGUID"]
        self._customer_fields(record, p)
        self.stamp(record, new=True)
        self.store.put("Customer", record)
        if p.get("OpenBalance"):
            self.adjust_balance(record["ListID"], money(p["OpenBalance"]))
        return record

    def _customer_fields(self, record: dict, p: dict) -> None:
        for key in CUSTOMER_COPY:
            if key in p:
                if p[key] == "":
                    record.pop(key, None)
                else:
                    record[key] = m(money(p[key])) if key == "CreditLimit" else p[key]
        for key in ("BillAddress", "ShipAddress"):
            if key in p:
                merged = {**record.get(key, {}), **p[key]}
                record[key] = {k: v for k, v in merged.items() if v}
        for key, kind in CUSTOMER_REFS.items():
            if key in p:
                record[key] = self.resolve(kind, p[key], f"customer {key}")["ListID"]

    def customer_mod(self, p: dict) -> dict:
        self.dates(p)
        record = self.store.get("Customer", p["ListID"])
        if record is None:
            raise not_found(p["ListID"])
        if p["EditSequence"] != record["EditSequence"]:
            raise stale_edit_sequence(p["EditSequence"])
        record = dict(record)
        name = p.get("Name", record["Name"])
        self._check_name("Customer", "Customer", name, modify=True)
        if "ParentRef" in p:
            parent = self.resolve("Customer", p["ParentRef"], "customer ParentRef")
            chain = parent
            while chain is not None:
                if chain["ListID"] == record["ListID"]:
                    raise save_error(
                        "Customer", name, "A customer cannot be its own parent.", modify=True
                    )
                chain = (
                    self.store.get("Customer", chain["ParentRef"])
                    if chain.get("ParentRef")
                    else None
                )
        else:
            parent = (
                self.store.get("Customer", record["ParentRef"]) if record.get("ParentRef") else None
            )
        full, level = self._placement("Customer", "Customer", name, parent, modify=True)
        descendants = self.descendants(record["ListID"]) if full != record["FullName"] else []
        if full != record["FullName"]:
            self._name_free("Customer", full, record["ListID"])
        old_parent = record.get("ParentRef")
        self._customer_fields(record, p)
        if "IsActive" in p:
            record["IsActive"] = p["IsActive"] == "true"
        old_full = record["FullName"]
        record.update(Name=name, FullName=full, Sublevel=level)
        if parent:
            record["ParentRef"] = parent["ListID"]
        self.stamp(record, new=False)
        self.store.put("Customer", record)
        for child in descendants:  # renamed or moved: the FullNames below follow
            child = dict(child)
            child["FullName"] = full + child["FullName"][len(old_full) :]
            child["Sublevel"] = level + child["FullName"].count(":") - full.count(":")
            self.store.put("Customer", child)
        if old_parent != record.get("ParentRef"):
            total = money(record["TotalBalance"])
            self._propagate(old_parent, -total)
            self._propagate(record.get("ParentRef"), total)
        return self.store.get("Customer", record["ListID"]) or record

    def descendants(self, list_id: str) -> list[dict]:
        record = self.store.get("Customer", list_id)
        if record is None:
            return []
        prefix = record["FullName"].lower() + ":"
        return [
            c
            for c in self.store.objects["Customer"].values()
            if c["FullName"].lower().startswith(prefix)
        ]

    def adjust_balance(self, list_id: str, delta: Decimal) -> None:
        """A customer's Balance (its own open amount) and the TotalBalance of it and its
        ancestors (its own plus its jobs' and sub-customers')."""
        if not delta:
            return
        record = dict(self.store.objects["Customer"][list_id])
        record["Balance"] = m(money(record["Balance"]) + delta)
        self.store.put("Customer", record)
        self._propagate(list_id, delta)

    def _propagate(self, list_id: str | None, delta: Decimal) -> None:
        while list_id:
            record = dict(self.store.objects["Customer"][list_id])
            record["TotalBalance"] = m(money(record["TotalBalance"]) + delta)
            self.store.put("Customer", record)
            list_id = record.get("ParentRef")

    # -- items and the small lists -----------------------------------------------------------
    def item_add(self, type_: str, p: dict) -> dict:
        self.dates(p)
        name = p["Name"]
        self._check_name("Item", type_, name)
        parent = None
        if "ParentRef" in p:
            parent = self.resolve("Item", p["ParentRef"], f"{type_} ParentRef", "Item")
            if parent["Type"] != type_:
                raise save_error(type_, name, "A sub-item must be of the same type as its parent.")
        full, level = self._placement("Item", type_, name, parent)
        self._name_free("Item", full)
        record: dict[str, Any] = {
            "ListID": self.new_id(True),
            "Type": type_,
            "Name": name,
            "FullName": full,
            "IsActive": p.get("IsActive", "true") == "true",
            "Sublevel": level,
        }
        if parent:
            record["ParentRef"] = parent["ListID"]
        if "ClassRef" in p:
            record["ClassRef"] = self.resolve("Class", p["ClassRef"], f"{type_} ClassRef")["ListID"]
        for key, value in p.items():
            if key in record or key in (
                "ParentRef",
                "ClassRef",
                "IncludeRetElement",
                "Name",
                "IsActive",
            ):
                continue
            if key.endswith("AccountRef"):
                record[key] = self.resolve("Account", value, f"{type_} {key}", "Account")["ListID"]
            elif key in ("SalesOrPurchase", "SalesAndPurchase"):
                agg = {}
                for sub_key, sub_value in value.items():
                    if sub_key.endswith("AccountRef"):
                        agg[sub_key] = self.resolve(
                            "Account", sub_value, f"{type_} {sub_key}", "Account"
                        )["ListID"]
                    else:
                        agg[sub_key] = sub_value
                if "AccountRef" not in agg and key == "SalesOrPurchase":
                    raise save_error(type_, name, "An account is required.")
                if "IncomeAccountRef" not in agg and key == "SalesAndPurchase":
                    raise save_error(type_, name, "An income account is required.")
                record[key] = agg
            elif key in ("ItemGroupLine", "ItemInventoryAssemblyLine"):
                lines = []
                for line in value:
                    item = self.resolve("Item", line["ItemRef"], f"{type_} line", "Item")
                    lines.append({"ItemRef": item["ListID"], "Quantity": line.get("Quantity", "1")})
                record[key] = lines
            elif value is not None:
                record[key] = value
        if type_ in INVENTORY:
            record["QuantityOnHand"] = str(qty(record.get("QuantityOnHand", "0")))
            record["QuantityOnSalesOrder"] = "0"
            record["QuantityOnOrder"] = "0"
            record["AverageCost"] = str(record.get("PurchaseCost", "0"))
        self.stamp(record, new=True)
        self.store.put("Item", record)
        return record

    def item_mod(self, type_: str, p: dict) -> dict:
        """A sparse item Mod: only the elements given change (a price, the active flag, a
        name); the sales aggregates merge into the item's, a price replacing a percent and
        the other way round."""
        record = self.store.get("Item", p["ListID"])
        if record is None or record["Type"] != type_:
            raise not_found(p["ListID"])
        if p["EditSequence"] != record["EditSequence"]:
            raise stale_edit_sequence(p["EditSequence"])
        record = {k: (dict(v) if isinstance(v, dict) else v) for k, v in record.items()}
        name = p.get("Name", record["Name"])
        self._check_name("Item", type_, name, modify=True)
        if "ParentRef" in p:
            parent = self.resolve("Item", p["ParentRef"], f"{type_} ParentRef", "Item")
            if parent["Type"] != type_:
                raise save_error(
                    type_, name, "A sub-item must be of the same type as its parent.", modify=True
                )
            if parent["ListID"] == record["ListID"] or parent["FullName"].lower().startswith(
                record["FullName"].lower() + ":"
            ):
                raise save_error(type_, name, "An item cannot be its own parent.", modify=True)
        else:
            parent = (
                self.store.get("Item", record["ParentRef"]) if record.get("ParentRef") else None
            )
        full, level = self._placement("Item", type_, name, parent, modify=True)
        old_full = record["FullName"]
        below = [] if full == old_full else self._sub_items(old_full)
        if full != old_full:
            self._name_free("Item", full, record["ListID"])
        if "IsActive" in p:
            record["IsActive"] = p["IsActive"] == "true"
        if "ClassRef" in p:
            record["ClassRef"] = self.resolve("Class", p["ClassRef"], f"{type_} ClassRef")["ListID"]
        for mod, agg in (
            ("SalesOrPurchaseMod", "SalesOrPurchase"),
            ("SalesAndPurchaseMod", "SalesAndPurchase"),
        ):
            if mod not in p:
                continue
            if agg not in record:
                raise save_error(
                    type_,
                    name,
                    f"The item has no {agg} information to modify (an item sold only, or bought "
                    "and sold, stays so).",
                    modify=True,
                )
            record[agg] = self._merge_sales(type_, record[agg], p[mod])
        for key, value in p.items():
            if key in ("ListID", "EditSequence", "Name", "IsActive", "ClassRef", "ParentRef"):
                continue
            if key in ("IncludeRetElement", "SalesOrPurchaseMod", "SalesAndPurchaseMod"):
                continue
            if key.endswith("AccountRef"):
                record[key] = self.resolve("Account", value, f"{type_} {key}", "Account")["ListID"]
            else:
                record[key] = value
        for one, other in (("DiscountRate", "DiscountRatePercent"),):
            if one in p:
                record.pop(other, None)
            elif other in p:
                record.pop(one, None)
        record.update(Name=name, FullName=full, Sublevel=level)
        if parent:
            record["ParentRef"] = parent["ListID"]
        self.stamp(record, new=False)
        self.store.put("Item", record)
        for child in below:  # renamed or moved: the FullNames below follow
            child = dict(child)
            child["FullName"] = full + child["FullName"][len(old_full) :]
            child["Sublevel"] = level + child["FullName"].count(":") - full.count(":")
            self.store.put("Item", child)
        return record

    def _sub_items(self, full_name: str) -> list[dict]:
        prefix = full_name.lower() + ":"
        return [
            i
            for i in self.store.objects["Item"].values()
            if i["FullName"].lower().startswith(prefix)
        ]

    def _merge_sales(self, type_: str, current: dict, mod: dict) -> dict:
        out = dict(current)
        for key, value in mod.items():
            if key.endswith("AccountRef"):
                out[key] = self.resolve("Account", value, f"{type_} {key}", "Account")["ListID"]
            else:
                out[key] = value
        if "Price" in mod:
            out.pop("PricePercent", None)
        elif "PricePercent" in mod:
            out.pop("Price", None)
        return out

    def simple_add(self, kind: str, p: dict) -> dict:
        name = p.get("Initial") if kind == "SalesRep" else p["Name"]
        assert name is not None
        self._check_name(kind, kind, name)
        parent = (
            self.resolve(kind, p["ParentRef"], f"{kind} ParentRef") if "ParentRef" in p else None
        )
        full, level = self._placement(kind, kind, name, parent)
        self._name_free(kind, full)
        record: dict[str, Any] = {
            "ListID": self.new_id(True),
            "FullName": full,
            "IsActive": p.get("IsActive", "true") == "true",
        }
        if kind == "SalesRep":
            record["Initial"] = name
            record["SalesRepEntityRef"] = self.resolve(
                "OtherName", p["SalesRepEntityRef"], "SalesRep", "Employee, Vendor or Other Name"
            )["ListID"]
        else:
            record["Name"] = name
        if kind == "Class":
            record["Sublevel"] = level
            if parent:
                record["ParentRef"] = parent["ListID"]
        for key in ("StdDueDays", "StdDiscountDays", "DiscountPct"):
            if key in p:
                record[key] = p[key]
        self.stamp(record, new=True)
        self.store.put(kind, record)
        return record

    # -- queries ---------------------------------------------------------------------------
    def sorted_ids(self, kind: str) -> list[str]:
        cached = self._sorted.get(kind)
        if cached and cached[0] == self.store.version:
            return cached[1]
        table = self.store.objects[kind]
        if kind in LISTS:
            ids = sorted(table, key=lambda i: table[i]["FullName"].lower())
        else:
            ids = sorted(table, key=lambda i: (table[i]["TxnDate"], table[i]["TxnNumber"]))
        self._sorted[kind] = (self.store.version, ids)
        return ids

    def list_query(self, tag: str, attrs: dict, p: dict, kind: str, type_: str | None) -> Result:
        options = {
            "include": set(p.get("IncludeRetElement") or []) or None,
            "owner_ids": p.get("OwnerID"),
        }
        if attrs.get("iterator") == "Continue":
            return self.continue_iterator(tag, attrs, p)
        table = self.store.objects[kind]
        selected = p.get("ListID") or p.get("FullName")
        filters = [
            k
            for k in (
                "MaxReturned",
                "ActiveStatus",
                "FromModifiedDate",
                "ToModifiedDate",
                "NameFilter",
                "NameRangeFilter",
            )
            if k in p
        ]
        if selected and filters:
            raise StatusError(
                3000, f"A query by ListID or FullName takes no filters ({filters[0]})."
            )
        if selected:
            return self.select(kind, p, table, type_, options, by_name="FullName" in p)
        active = p.get("ActiveStatus", "ActiveOnly")
        tz = self.company.tz
        start = (
            parse_dt(p["FromModifiedDate"], "FromModifiedDate", tz)
            if "FromModifiedDate" in p
            else None
        )
        end = (
            parse_dt(p["ToModifiedDate"], "ToModifiedDate", tz, end=True)
            if "ToModifiedDate" in p
            else None
        )
        if start is not None and end is not None and start > end:
            raise StatusError(3030, "Invalid date range: From date is greater than To date.")
        name_filter = p.get("NameFilter")
        name_range = p.get("NameRangeFilter")
        ids = []
        for id_ in self.sorted_ids(kind):
            rec = table[id_]
            if type_ and rec.get("Type") != type_:
                continue
            if (
                active == "ActiveOnly"
                and not rec["IsActive"]
                or active == "InactiveOnly"
                and rec["IsActive"]
            ):
                continue
            if (
                start is not None
                and rec["TimeModified"] < start
                or end is not None
                and rec["TimeModified"] > end
            ):
                continue
            full = rec["FullName"].lower()
            if name_filter:
                needle = name_filter["Name"].lower()
                how = name_filter["MatchCriterion"]
                if (
                    how == "StartsWith"
                    and not full.startswith(needle)
                    or how == "Contains"
                    and needle not in full
                    or how == "EndsWith"
                    and not full.endswith(needle)
                ):
                    continue
            if name_range:
                if name_range.get("FromName") and full < name_range["FromName"].lower():
                    continue
                if name_range.get("ToName") and full > name_range["ToName"].lower():
                    continue
            ids.append(id_)
        return self.page(tag, attrs, p, kind, ids, options)

    def select(
        self, kind: str, p: dict, table: dict, type_: str | None, options: dict, *, by_name: bool
    ) -> Result:
        rets, missing = [], []
        for value in p.get("FullName" if by_name else "ListID") or []:
            rec = self.store.find_name(kind, value) if by_name else table.get(value)
            if rec is None or type_ and rec.get("Type") != type_:
                missing.append(value)
            else:
                rets.append((kind, rec))
        result = Result(rets=rets, options=options)
        if missing:
            result.code = 500
            result.message = (
                "The query request has not been fully completed. There was a required element "
                f"({q(missing[0])}) that could not be found in QuickBooks."
            )
        return result

    def page(
        self, tag: str, attrs: dict, p: dict, kind: str, ids: list[str], options: dict
    ) -> Result:
        limit = int(p["MaxReturned"]) if "MaxReturned" in p else None
        first = ids[:limit] if limit is not None else ids
        rest = ids[len(first) :]
        result = Result(rets=[(kind, self.store.objects[kind][i]) for i in first], options=options)
        if attrs.get("iterator") == "Start":
            iterator_id = self.company.new_iterator(tag, rest, kind, options)
            result.attrs = {"iteratorRemainingCount": str(len(rest)), "iteratorID": iterator_id}
            if not rest:
                self.company.iterators.pop(iterator_id, None)
        if not result.rets:
            result.code, result.message = 1, NO_MATCH
        return result

    def continue_iterator(self, tag: str, attrs: dict, p: dict) -> Result:
        iterator_id = attrs.get("iteratorID", "")
        it = self.company.take_iterator(iterator_id, tag)
        limit = int(p["MaxReturned"]) if "MaxReturned" in p else len(it.ids)
        table = self.store.objects[it.kind]
        batch, it.ids = it.ids[:limit], it.ids[limit:]
        result = Result(rets=[(it.kind, table[i]) for i in batch if i in table], options=it.options)
        result.attrs = {"iteratorRemainingCount": str(len(it.ids)), "iteratorID": iterator_id}
        if not it.ids:
            self.company.iterators.pop(iterator_id, None)
        if not result.rets:
            result.code, result.message = 1, NO_MATCH
        return result

    def txn_query(self, tag: str, attrs: dict, p: dict, kind: str) -> Result:
        options = {
            "include": set(p.get("IncludeRetElement") or []) or None,
            "owner_ids": p.get("OwnerID"),
            "lines": p.get("IncludeLineItems") == "true",
            "linked": p.get("IncludeLinkedTxns") == "true",
        }
        if attrs.get("iterator") == "Continue":
            return self.continue_iterator(tag, attrs, p)
        table = self.store.objects[kind]
        if p.get("TxnID") or p.get("RefNumber"):
            filters = [
                k
                for k in (
                    "MaxReturned",
                    "ModifiedDateRangeFilter",
                    "TxnDateRangeFilter",
                    "EntityFilter",
                    "RefNumberFilter",
                    "PaidStatus",
                )
                if k in p
            ]
            if filters:
                raise StatusError(
                    3000, f"A query by TxnID or RefNumber takes no filters ({filters[0]})."
                )
            if p.get("TxnID"):
                return self.select(
                    kind, {"ListID": p["TxnID"]}, table, None, options, by_name=False
                )
            wanted = [r.lower() for r in p["RefNumber"]]
            rets = [
                (kind, table[i])
                for i in self.sorted_ids(kind)
                if (table[i].get("RefNumber") or "").lower() in wanted
            ]
            result = Result(rets=rets, options=options)
            if not rets:
                result.code, result.message = 1, NO_MATCH
            return result
        tz = self.company.tz
        start = end = None
        if "ModifiedDateRangeFilter" in p:
            f = p["ModifiedDateRangeFilter"]
            start = (
                parse_dt(f["FromModifiedDate"], "FromModifiedDate", tz)
                if "FromModifiedDate" in f
                else None
            )
            end = (
                parse_dt(f["ToModifiedDate"], "ToModifiedDate", tz, end=True)
                if "ToModifiedDate" in f
                else None
            )
        from_date = to_date = None
        if "TxnDateRangeFilter" in p:
            f = p["TxnDateRangeFilter"]
            from_date = parse_date(f["FromTxnDate"], "FromTxnDate") if "FromTxnDate" in f else None
            to_date = parse_date(f["ToTxnDate"], "ToTxnDate") if "ToTxnDate" in f else None
        if (start and end and start > end) or (from_date and to_date and from_date > to_date):
            raise StatusError(3030, "Invalid date range: From date is greater than To date.")
        customers = self.entity_filter(p["EntityFilter"]) if "EntityFilter" in p else None
        ref_filter = p.get("RefNumberFilter")
        paid = p.get("PaidStatus", "All")
        ids = []
        for id_ in self.sorted_ids(kind):
            rec = table[id_]
            if (
                start is not None
                and rec["TimeModified"] < start
                or end is not None
                and rec["TimeModified"] > end
            ):
                continue
            if from_date and rec["TxnDate"] < from_date or to_date and rec["TxnDate"] > to_date:
                continue
            if customers is not None and rec.get("CustomerRef") not in customers:
                continue
            if ref_filter:
                ref = (rec.get("RefNumber") or "").lower()
                needle = ref_filter["RefNumber"].lower()
                how = ref_filter["MatchCriterion"]
                if (
                    how == "StartsWith"
                    and not ref.startswith(needle)
                    or how == "Contains"
                    and needle not in ref
                    or how == "EndsWith"
                    and not ref.endswith(needle)
                ):
                    continue
            if (
                paid == "PaidOnly"
                and not rec.get("IsPaid")
                or paid == "NotPaidOnly"
                and rec.get("IsPaid")
            ):
                continue
            ids.append(id_)
        return self.page(tag, attrs, p, kind, ids, options)

    def entity_filter(self, f: dict) -> set[str]:
        out: set[str] = set()
        for list_id in f.get("ListID") or []:
            out.add(list_id)
        for name in f.get("FullName") or []:
            rec = self.store.find_name("Customer", name)
            if rec is not None:
                out.add(rec["ListID"])
        root = None
        if f.get("ListIDWithChildren"):
            root = self.store.get("Customer", f["ListIDWithChildren"])
        elif f.get("FullNameWithChildren"):
            root = self.store.find_name("Customer", f["FullNameWithChildren"])
        if root is not None:
            out.add(root["ListID"])
            out.update(c["ListID"] for c in self.descendants(root["ListID"]))
        return out

    # -- transactions ------------------------------------------------------------------------
    def _txn_head(self, kind: str, p: dict, customer: dict | None) -> dict:
        self.dates(p)
        record: dict[str, Any] = {
            "TxnID": self.new_id(False),
            "TxnNumber": self._next("txn_number"),
            "TxnDate": p.get("TxnDate") or self.today(),
        }
        if customer is not None:
            record["CustomerRef"] = customer["ListID"]
        record["RefNumber"] = p.get("RefNumber") or (
            str(self._next(f"ref.{kind}")) if kind != "ReceivePayment" else None
        )
        if record["RefNumber"] is None:
            del record["RefNumber"]
        for key in ("BillAddress", "ShipAddress"):
            if key in p:
                record[key] = p[key]
            elif customer is not None and customer.get(key):
                record[key] = customer[key]
        for key in ("PONumber", "FOB", "Memo", "Other", "CheckNumber", "ShipDate", "ExternalGUID"):
            if p.get(key):
                record[key] = p[key]
        for key in (
            "IsPending",
            "IsFinanceCharge",
            "IsToBePrinted",
            "IsToBeEmailed",
            "IsManuallyClosed",
        ):
            if key in p:
                record[key] = p[key] == "true"
        if "ClassRef" in p:
            record["ClassRef"] = self.resolve("Class", p["ClassRef"], kind)["ListID"]
        if "ShipMethodRef" in p:
            record["ShipMethodRef"] = self.resolve("ShipMethod", p["ShipMethodRef"], kind)["ListID"]
        rep = self.resolve("SalesRep", p["SalesRepRef"], kind) if "SalesRepRef" in p else None
        if rep is not None or (customer is not None and customer.get("SalesRepRef")):
            record["SalesRepRef"] = rep["ListID"] if rep else customer["SalesRepRef"]  # type: ignore[index]
        if kind in ("Invoice", "SalesOrder"):
            terms = self.resolve("StandardTerms", p["TermsRef"], kind) if "TermsRef" in p else None
            if terms is None and customer is not None and customer.get("TermsRef"):
                terms = self.store.get("StandardTerms", customer["TermsRef"])
            if terms is not None:
                record["TermsRef"] = terms["ListID"]
            due = p.get("DueDate")
            if not due:
                days = int(terms.get("StdDueDays", 0)) if terms else 0
                due = (
                    dt.date.fromisoformat(record["TxnDate"]) + dt.timedelta(days=days)
                ).isoformat()
            record["DueDate"] = due
        return record

    def _next(self, key: str) -> int:
        n = int(self.store.settings.get(key, 1))
        self.store.set_setting(key, n + 1)
        return n

    def _line(self, kind: str, p: dict, preceding: Decimal) -> dict:
        self.dates(p)
        if "ItemRef" not in p:
            raise txn_save_error(
                kind, "Every line needs an item (description-only lines are not emulated)."
            )
        item = self.resolve("Item", p["ItemRef"], f"{kind} line", "Item")
        if item["Type"] == "ItemGroup":
            raise txn_save_error(kind, "A group item must be added with a line group.")
        line: dict[str, Any] = {"TxnLineID": self.new_id(False), "ItemRef": item["ListID"]}
        desc = p.get("Desc") or _item_desc(item)
        if desc:
            line["Desc"] = desc
        for key in ("ServiceDate", "Other1", "Other2"):
            if p.get(key):
                line[key] = p[key]
        if "ClassRef" in p:
            line["ClassRef"] = self.resolve("Class", p["ClassRef"], f"{kind} line")["ListID"]
        quantity = qty(p["Quantity"]) if "Quantity" in p else None
        if item["Type"] == "ItemDiscount":
            if "RatePercent" in p or (
                not p.get("Rate") and item.get("DiscountRatePercent") and "Amount" not in p
            ):
                pct = qty(p.get("RatePercent") or item["DiscountRatePercent"])
                line["RatePercent"] = str(pct)
                amount = -money(preceding * pct / 100)
            else:
                rate = qty(p.get("Rate") or item.get("DiscountRate") or "0")
                amount = money(p["Amount"]) if "Amount" in p else -abs(money(rate))
                line["Rate"] = str(rate)
            line["Amount"] = m(amount)
            return line
        rate = qty(p["Rate"]) if "Rate" in p else None
        if "RatePercent" in p:
            raise txn_save_error(
                kind, "A percentage rate applies to discount and other charge items only."
            )
        if "Amount" in p:
            amount = money(p["Amount"])
            if rate is None:
                rate = (amount / quantity) if quantity else amount
        else:
            if rate is None:
                rate = qty(_item_price(item))
            amount = money((quantity if quantity is not None else Decimal(1)) * rate)
        if quantity is not None:
            line["Quantity"] = str(quantity)
        line["Rate"] = (
            str(rate.quantize(Decimal("0.00001")).normalize()) if rate is not None else "0"
        )
        line["Amount"] = m(amount)
        return line

    def _lines(self, kind: str, specs: list[dict]) -> list[dict]:
        lines: list[dict] = []
        subtotal = ZERO
        for spec in specs:
            line = self._line(kind, spec, subtotal)
            lines.append(line)
            subtotal += money(line["Amount"])
        return lines

    def _inventory(self, lines: list[dict], sign: int) -> None:
        """QuantityOnHand of inventory items falls (sign -1) by what a sale takes."""
        for line in lines:
            item = self.store.get("Item", line["ItemRef"])
            if item is not None and item["Type"] in INVENTORY and line.get("Quantity"):
                item = dict(item)
                item["QuantityOnHand"] = str(
                    qty(item["QuantityOnHand"]) + sign * qty(line["Quantity"])
                )
                self.store.put("Item", item)

    def _on_sales_order(self, before: dict[str, Decimal], after: dict[str, Decimal]) -> None:
        for item_id in set(before) | set(after):
            delta = after.get(item_id, Decimal(0)) - before.get(item_id, Decimal(0))
            item = self.store.get("Item", item_id)
            if delta and item is not None and item["Type"] in INVENTORY:
                item = dict(item)
                item["QuantityOnSalesOrder"] = str(qty(item["QuantityOnSalesOrder"]) + delta)
                self.store.put("Item", item)

    @staticmethod
    def open_quantities(order: dict | None) -> dict[str, Decimal]:
        """Per item: what a sales order still has to deliver (QuantityOnSalesOrder)."""
        out: dict[str, Decimal] = {}
        if order is None or order.get("IsManuallyClosed"):
            return out
        for line in order["Lines"]:
            if line.get("IsManuallyClosed") or not line.get("Quantity"):
                continue
            left = qty(line["Quantity"]) - qty(line.get("Invoiced", "0"))
            if left > 0:
                out[line["ItemRef"]] = out.get(line["ItemRef"], Decimal(0)) + left
        return out

    @staticmethod
    def _so_state(order: dict) -> None:
        subtotal = sum((money(line["Amount"]) for line in order["Lines"]), ZERO)
        order.update(
            Subtotal=m(subtotal),
            SalesTaxPercentage="0",
            SalesTaxTotal="0.00",
            TotalAmount=m(subtotal),
        )
        order["IsFullyInvoiced"] = bool(order["Lines"]) and all(
            line.get("IsManuallyClosed")
            or (
                qty(line.get("Invoiced", "0")) >= qty(line["Quantity"])
                if line.get("Quantity")
                else qty(line.get("Invoiced", "0")) > 0
            )
            for line in order["Lines"]
        )

    def _customer(self, kind: str, p: dict, required: bool = True) -> dict | None:
        if "CustomerRef" not in p:
            return None
        return self.resolve("Customer", p["CustomerRef"], kind)

    def sales_order_add(self, p: dict) -> dict:
        customer = self._customer("SalesOrder", p)
        record = self._txn_head("SalesOrder", p, customer)
        lines = self._lines("SalesOrder", p.get("SalesOrderLineAdd") or [])
        for line, spec in zip(lines, p.get("SalesOrderLineAdd") or [], strict=True):
            line["Invoiced"] = "0"
            line["IsManuallyClosed"] = spec.get("IsManuallyClosed") == "true"
        record["Lines"] = lines
        record["IsManuallyClosed"] = p.get("IsManuallyClosed") == "true"
        record["LinkedTxn"] = []
        self._so_state(record)
        self.stamp(record, new=True)
        self.store.put("SalesOrder", record)
        self._on_sales_order({}, self.open_quantities(record))
        return record

    def sales_order_mod(self, p: dict) -> dict:
        current = self.store.get("SalesOrder", p["TxnID"])
        if current is None:
            raise not_found(p["TxnID"])
        if p["EditSequence"] != current["EditSequence"]:
            raise stale_edit_sequence(p["EditSequence"])
        before = self.open_quantities(current)
        record = {k: (list(v) if isinstance(v, list) else v) for k, v in current.items()}
        self.dates(p)
        if "CustomerRef" in p:
            customer = self.resolve("Customer", p["CustomerRef"], "SalesOrder")
            if customer["ListID"] != record["CustomerRef"] and record["LinkedTxn"]:
                raise txn_save_error(
                    "SalesOrder",
                    "The customer of a sales order with linked invoices cannot change.",
                    modify=True,
                )
            record["CustomerRef"] = customer["ListID"]
        for key in (
            "TxnDate",
            "RefNumber",
            "PONumber",
            "DueDate",
            "FOB",
            "ShipDate",
            "Memo",
            "Other",
        ):
            if key in p:
                record[key] = p[key]
        for key in ("BillAddress", "ShipAddress"):
            if key in p:
                record[key] = {k: v for k, v in {**record.get(key, {}), **p[key]}.items() if v}
        for key, kind in (
            ("ClassRef", "Class"),
            ("TermsRef", "StandardTerms"),
            ("SalesRepRef", "SalesRep"),
            ("ShipMethodRef", "ShipMethod"),
        ):
            if key in p:
                record[key] = self.resolve(kind, p[key], "SalesOrder")["ListID"]
        for key in ("IsToBePrinted", "IsToBeEmailed"):
            if key in p:
                record[key] = p[key] == "true"
        if "IsManuallyClosed" in p:
            record["IsManuallyClosed"] = p["IsManuallyClosed"] == "true"
        if "SalesOrderLineMod" in p:
            old = {line["TxnLineID"]: line for line in current["Lines"]}
            lines = []
            subtotal = ZERO
            for spec in p["SalesOrderLineMod"]:
                line_id = spec["TxnLineID"]
                if line_id == "-1":
                    line = self._line("SalesOrder", spec, subtotal)
                    line.update(
                        Invoiced="0", IsManuallyClosed=spec.get("IsManuallyClosed") == "true"
                    )
                else:
                    if line_id not in old:
                        raise not_found(line_id)
                    base = old.pop(line_id)
                    merged = {
                        "ItemRef": {"ListID": base["ItemRef"]},
                        **{k: base[k] for k in ("Desc", "Quantity", "Rate") if k in base},
                    }
                    if "Quantity" not in spec and "Rate" not in spec and "Amount" not in spec:
                        merged["Amount"] = base["Amount"]
                    merged.update(
                        {
                            k: v
                            for k, v in spec.items()
                            if k not in ("TxnLineID", "IsManuallyClosed")
                        }
                    )
                    if "Quantity" in spec or "Rate" in spec:
                        merged.pop("Amount", None) if "Amount" not in spec else None
                    line = self._line("SalesOrder", merged, subtotal)
                    line["TxnLineID"] = line_id
                    line["Invoiced"] = base.get("Invoiced", "0")
                    line["IsManuallyClosed"] = (
                        spec["IsManuallyClosed"] == "true"
                        if "IsManuallyClosed" in spec
                        else base.get("IsManuallyClosed", False)
                    )
                    if qty(line["Invoiced"]) and (
                        line["ItemRef"] != base["ItemRef"]
                        or qty(line.get("Quantity", "0")) < qty(line["Invoiced"])
                    ):
                        raise txn_save_error(
                            "SalesOrder",
                            "A line that has been invoiced cannot change its "
                            "item or drop below the quantity invoiced.",
                            modify=True,
                        )
                lines.append(line)
                subtotal += money(line["Amount"])
            for gone in old.values():
                if qty(gone.get("Invoiced", "0")):
                    raise txn_save_error(
                        "SalesOrder",
                        "A line that has been invoiced cannot be deleted.",
                        modify=True,
                    )
            record["Lines"] = lines
        self._so_state(record)
        self.stamp(record, new=False)
        self.store.put("SalesOrder", record)
        self._on_sales_order(before, self.open_quantities(record))
        return record

    def invoice_add(self, p: dict) -> dict:
        customer = self._customer("Invoice", p)
        assert customer is not None
        record = self._txn_head("Invoice", p, customer)
        specs = list(p.get("InvoiceLineAdd") or [])
        whole = list(dict.fromkeys(p.get("LinkToTxnID") or []))
        orders: dict[str, dict] = {}

        def order(txn_id: str) -> dict:
            if txn_id not in orders:
                found = self.store.get("SalesOrder", txn_id)
                if found is None:
                    raise invalid_reference("SalesOrder", txn_id, "Invoice LinkToTxn")
                if found["CustomerRef"] != customer["ListID"]:
                    raise txn_save_error(
                        "Invoice",
                        f"Transaction {q(txn_id)} belongs to another "
                        "customer and cannot be linked.",
                    )
                if found.get("IsManuallyClosed") or found.get("IsFullyInvoiced"):
                    raise StatusError(
                        3180,
                        "There was an error when saving a Invoice.  QuickBooks error message: "
                        "Unable "
                        f"to link to transaction {q(txn_id)} because it has already been closed.",
                    )
                orders[txn_id] = {
                    k: ([dict(x) for x in v] if isinstance(v, list) else v)
                    for k, v in found.items()
                }
            return orders[txn_id]

        linked_specs: list[tuple[dict, dict | None, str | None]] = []
        for txn_id in whole:
            so = order(txn_id)
            if any(s.get("LinkToTxn", {}).get("TxnID") == txn_id for s in specs):
                raise txn_save_error(
                    "Invoice",
                    f"Transaction {q(txn_id)} is linked both whole "
                    "(LinkToTxnID) and by line (LinkToTxn).",
                )
            for so_line in so["Lines"]:
                if so_line.get("IsManuallyClosed"):
                    continue
                if so_line.get("Quantity"):
                    left = qty(so_line["Quantity"]) - qty(so_line.get("Invoiced", "0"))
                    if left <= 0:
                        continue
                    spec = {
                        "ItemRef": {"ListID": so_line["ItemRef"]},
                        "Quantity": str(left),
                        "Rate": so_line["Rate"],
                    }
                elif qty(so_line.get("Invoiced", "0")):
                    continue
                else:
                    spec = {"ItemRef": {"ListID": so_line["ItemRef"]}, "Amount": so_line["Amount"]}
                if so_line.get("Desc"):
                    spec["Desc"] = so_line["Desc"]
                linked_specs.append((spec, so_line, txn_id))
        for spec in specs:
            link = spec.get("LinkToTxn")
            if not link:
                linked_specs.append((spec, None, None))
                continue
            so = order(link["TxnID"])
            so_line = next(
                (line for line in so["Lines"] if line["TxnLineID"] == link["TxnLineID"]), None
            )
            if so_line is None:
                raise not_found(link["TxnLineID"])
            if so_line.get("IsManuallyClosed"):
                raise txn_save_error(
                    "Invoice",
                    f"Unable to link to transaction line {q(link['TxnLineID'])} "
                    "because it has already been closed.",
                )
            if "ItemRef" in spec:
                item = self.resolve("Item", spec["ItemRef"], "Invoice line", "Item")
                if item["ListID"] != so_line["ItemRef"]:
                    raise txn_save_error(
                        "Invoice",
                        "The item of a linked line must be the item of the sales order line.",
                    )
            merged = {
                "ItemRef": {"ListID": so_line["ItemRef"]},
                **{k: v for k, v in spec.items() if k != "LinkToTxn"},
            }
            if so_line.get("Quantity"):
                left = qty(so_line["Quantity"]) - qty(so_line.get("Invoiced", "0"))
                merged.setdefault("Quantity", str(left))
                if qty(merged["Quantity"]) > left:
                    raise txn_save_error(
                        "Invoice",
                        f"The quantity {merged['Quantity']} is more than the "
                        f"{left} left to invoice on the sales order line.",
                    )
            if "Rate" not in merged and "Amount" not in merged:
                merged["Rate"] = so_line["Rate"]
            if "Desc" not in merged and so_line.get("Desc"):
                merged["Desc"] = so_line["Desc"]
            linked_specs.append((merged, so_line, link["TxnID"]))
        if not linked_specs:
            raise txn_save_error("Invoice", "Transaction must have at least one line.")
        lines = []
        subtotal = ZERO
        per_order: dict[str, Decimal] = {}
        for spec, so_line, txn_id in linked_specs:
            line = self._line("Invoice", spec, subtotal)
            lines.append(line)
            subtotal += money(line["Amount"])
            if so_line is not None and txn_id is not None:
                so_line["Invoiced"] = str(
                    qty(so_line.get("Invoiced", "0"))
                    + qty(line.get("Quantity", "0") if so_line.get("Quantity") else "1")
                )
                per_order[txn_id] = per_order.get(txn_id, ZERO) + money(line["Amount"])
        record["Lines"] = lines
        pending = record.get("IsPending", False)
        record.update(
            Subtotal=m(subtotal),
            SalesTaxPercentage="0",
            SalesTaxTotal="0.00",
            AppliedAmount="0.00",
            BalanceRemaining=m(subtotal),
            IsPaid=subtotal <= 0,
            LinkedTxn=[],
        )
        self.stamp(record, new=True)
        for txn_id, amount in per_order.items():
            so = orders[txn_id]
            before = self.open_quantities(self.store.get("SalesOrder", txn_id))
            record["LinkedTxn"].append(
                {
                    "TxnID": txn_id,
                    "TxnType": "SalesOrder",
                    "TxnDate": so["TxnDate"],
                    "RefNumber": so.get("RefNumber", ""),
                    "LinkType": "QUANTYPE",
                    "Amount": m(amount),
                }
            )
            so["LinkedTxn"] = [
                *so.get("LinkedTxn", []),
                {
                    "TxnID": record["TxnID"],
                    "TxnType": "Invoice",
                    "TxnDate": record["TxnDate"],
                    "RefNumber": record.get("RefNumber", ""),
                    "LinkType": "QUANTYPE",
                    "Amount": m(amount),
                },
            ]
            self._so_state(so)
            so["TimeModified"] = record["TimeModified"]
            so["EditSequence"] = self.edit_sequence()
            self.store.put("SalesOrder", so)
            self._on_sales_order(before, self.open_quantities(so))
        self.store.put("Invoice", record)
        self._inventory(lines, -1)
        if not pending:
            self.adjust_balance(customer["ListID"], subtotal)
        return record

    def sales_receipt_add(self, p: dict) -> dict:
        customer = self._customer("SalesReceipt", p)
        record = self._txn_head("SalesReceipt", p, customer)
        lines = self._lines("SalesReceipt", p.get("SalesReceiptLineAdd") or [])
        if not lines:
            raise txn_save_error("SalesReceipt", "Transaction must have at least one line.")
        subtotal = sum((money(line["Amount"]) for line in lines), ZERO)
        deposit = (
            self.resolve("Account", p["DepositToAccountRef"], "SalesReceipt", "Account")
            if "DepositToAccountRef" in p
            else self.store.find_name("Account", "Undeposited Funds")
        )
        record.update(
            Lines=lines,
            Subtotal=m(subtotal),
            SalesTaxPercentage="0",
            SalesTaxTotal="0.00",
            TotalAmount=m(subtotal),
        )
        if deposit is not None:
            record["DepositToAccountRef"] = deposit["ListID"]
        self.stamp(record, new=True)
        self.store.put("SalesReceipt", record)
        self._inventory(lines, -1)
        return record

    def receive_payment_add(self, p: dict) -> dict:
        customer = self._customer("ReceivePayment", p)
        assert customer is not None
        record = self._txn_head("ReceivePayment", p, customer)
        applied: list[tuple[dict, Decimal]] = []
        if p.get("IsAutoApply") == "true":
            if "TotalAmount" not in p:
                raise txn_save_error(
                    "ReceivePayment", "A payment applied automatically needs a TotalAmount."
                )
            left = money(p["TotalAmount"])
            for inv_id in self.sorted_ids("Invoice"):
                inv = self.store.objects["Invoice"][inv_id]
                if left <= 0:
                    break
                if inv["CustomerRef"] == customer["ListID"] and money(inv["BalanceRemaining"]) > 0:
                    amount = min(left, money(inv["BalanceRemaining"]))
                    applied.append((inv, amount))
                    left -= amount
        for spec in p.get("AppliedToTxnAdd") or []:
            inv = self.store.get("Invoice", spec["TxnID"])
            if inv is None:
                raise invalid_reference("Invoice", spec["TxnID"], "ReceivePayment AppliedToTxn")
            if inv["CustomerRef"] != customer["ListID"]:
                raise txn_save_error(
                    "ReceivePayment", f"Transaction {q(spec['TxnID'])} belongs to another customer."
                )
            amount = money(spec.get("PaymentAmount", inv["BalanceRemaining"]))
            if amount <= 0 or amount > money(inv["BalanceRemaining"]):
                raise txn_save_error(
                    "ReceivePayment",
                    f"The amount {m(amount)} applied to transaction {q(spec['TxnID'])} "
                    f"is more than its open balance {inv['BalanceRemaining']}.",
                )
            applied.append((inv, amount))
        applied_total = sum((a for _, a in applied), ZERO)
        total = money(p["TotalAmount"]) if "TotalAmount" in p else applied_total
        if applied_total > total:
            raise txn_save_error(
                "ReceivePayment", "The amounts applied are more than the payment's total."
            )
        deposit = (
            self.resolve("Account", p["DepositToAccountRef"], "ReceivePayment", "Account")
            if "DepositToAccountRef" in p
            else self.store.find_name("Account", "Undeposited Funds")
        )
        ar = self.store.find_name("Account", "Accounts Receivable")
        record.update(
            TotalAmount=m(total), UnusedPayment=m(total - applied_total), UnusedCredits="0.00"
        )
        if ar is not None:
            record["ARAccountRef"] = ar["ListID"]
        if deposit is not None:
            record["DepositToAccountRef"] = deposit["ListID"]
        record["AppliedToTxnRet"] = [
            {"TxnID": inv["TxnID"], "TxnType": "Invoice", "Amount": m(a)} for inv, a in applied
        ]
        self.stamp(record, new=True)
        for inv, amount in applied:
            self._apply(inv["TxnID"], amount, record)
        self.store.put("ReceivePayment", record)
        self.adjust_balance(customer["ListID"], -total)
        return record

    def _apply(self, invoice_id: str, amount: Decimal, payment: dict) -> None:
        """A payment (positive amount) or its removal (negative) on an invoice."""
        inv = dict(self.store.objects["Invoice"][invoice_id])
        inv["AppliedAmount"] = m(money(inv["AppliedAmount"]) - amount)
        inv["BalanceRemaining"] = m(money(inv["BalanceRemaining"]) - amount)
        inv["IsPaid"] = money(inv["BalanceRemaining"]) <= 0
        links = [link for link in inv.get("LinkedTxn", []) if link["TxnID"] != payment["TxnID"]]
        if amount > 0:
            links.append(
                {
                    "TxnID": payment["TxnID"],
                    "TxnType": "ReceivePayment",
                    "TxnDate": payment["TxnDate"],
                    "RefNumber": payment.get("RefNumber", ""),
                    "LinkType": "AMTTYPE",
                    "Amount": m(-amount),
                }
            )
        inv["LinkedTxn"] = links
        self.stamp(inv, new=False)
        self.store.put("Invoice", inv)

    # -- deletes ---------------------------------------------------------------------------
    def list_del(self, p: dict) -> Result:
        type_ = p["ListDelType"]
        kind = type_ if type_ in ("Customer", *SIMPLE_LIST_ADD) else "Item"
        record = self.store.get(kind, p["ListID"])
        if record is None or kind == "Item" and record["Type"] != type_:
            raise not_found(p["ListID"])
        if self._in_use(kind, record["ListID"]):
            raise StatusError(
                3170,
                f"There was an error when deleting a {type_} list, element "
                f"{q(record['FullName'])}. QuickBooks "
                "error message: This list has been modified by another user or it is in use.",
            )
        now = self.now()
        self.store.remove(
            kind,
            record["ListID"],
            now,
            {
                "DelType": type_,
                "TimeCreated": record["TimeCreated"],
                "FullName": record["FullName"],
            },
        )
        el = etree.Element("ListDelRs")
        result = Result()
        for key, value in (
            ("ListDelType", type_),
            ("ListID", record["ListID"]),
            ("TimeDeleted", now),
            ("FullName", record["FullName"]),
        ):
            child = etree.Element(key)
            child.text = self._fmt(value)
            result.elements.append(child)
        del el
        return result

    def _fmt(self, value: Any) -> str:
        from .times import format_dt

        return format_dt(value, self.company.tz) if isinstance(value, float) else str(value)

    def _in_use(self, kind: str, list_id: str) -> bool:
        if kind == "Customer":
            if any(c.get("ParentRef") == list_id for c in self.store.objects["Customer"].values()):
                return True
            return any(
                t.get("CustomerRef") == list_id
                for k in TXNS
                for t in self.store.objects[k].values()
            )
        if kind == "Item":
            if any(i.get("ParentRef") == list_id for i in self.store.objects["Item"].values()):
                return True
            return any(
                line["ItemRef"] == list_id
                for k in ("Invoice", "SalesOrder", "SalesReceipt")
                for t in self.store.objects[k].values()
                for line in t["Lines"]
            )
        return False

    def txn_del(self, p: dict) -> Result:
        kind = p["TxnDelType"]
        record = self.store.get(kind, p["TxnID"])
        if record is None:
            raise not_found(p["TxnID"])
        if kind == "Invoice":
            if any(link["TxnType"] == "ReceivePayment" for link in record.get("LinkedTxn", [])):
                raise txn_save_error(
                    "Invoice", "A transaction with payments applied cannot be deleted."
                )
            self._unlink_invoice(record)
            self._inventory(record["Lines"], +1)
            if not record.get("IsPending"):
                self.adjust_balance(record["CustomerRef"], -money(record["BalanceRemaining"]))
        elif kind == "SalesOrder":
            if record.get("LinkedTxn"):
                raise txn_save_error(
                    "SalesOrder", "A sales order with linked invoices cannot be deleted."
                )
            self._on_sales_order(self.open_quantities(record), {})
        elif kind == "SalesReceipt":
            self._inventory(record["Lines"], +1)
        elif kind == "ReceivePayment":
            for applied in record.get("AppliedToTxnRet", []):
                self._apply(applied["TxnID"], -money(applied["Amount"]), record)
            self.adjust_balance(record["CustomerRef"], money(record["TotalAmount"]))
        now = self.now()
        self.store.remove(
            kind,
            record["TxnID"],
            now,
            {
                "DelType": kind,
                "TimeCreated": record["TimeCreated"],
                "RefNumber": record.get("RefNumber", ""),
            },
        )
        result = Result()
        for key, value in (
            ("TxnDelType", kind),
            ("TxnID", record["TxnID"]),
            ("TimeDeleted", now),
            ("RefNumber", record.get("RefNumber")),
        ):
            if value:
                child = etree.Element(key)
                child.text = self._fmt(value)
                result.elements.append(child)
        return result

    def txn_void(self, p: dict) -> Result:
        """TxnVoid of an invoice or a sales receipt: the record stays, its lines' amounts and
        quantities and its totals go to 0, "VOID:" starts its memo, the inventory it took comes
        back and the customer's balance loses what was open. An invoice with payments applied
        or linked to a sales order is refused, as is a second void (chosen strict)."""
        kind = p["TxnVoidType"]
        if kind not in ("Invoice", "SalesReceipt"):
            raise StatusError(1030, "This request is not supported by this implementation.")
        found = self.store.get(kind, p["TxnID"])
        if found is None:
            raise not_found(p["TxnID"])
        record = {k: ([dict(x) for x in v] if isinstance(v, list) else v) for k, v in found.items()}
        if record.get(VOIDED):
            raise txn_save_error(kind, "The transaction has already been voided.", modify=True)
        links = {link["TxnType"] for link in record.get("LinkedTxn", [])}
        if "ReceivePayment" in links:
            raise txn_save_error(
                kind, "A transaction with payments applied cannot be voided.", modify=True
            )
        if "SalesOrder" in links:
            raise txn_save_error(
                kind, "A transaction linked to a sales order cannot be voided.", modify=True
            )
        self._inventory(record["Lines"], +1)
        if kind == "Invoice" and not record.get("IsPending"):
            self.adjust_balance(record["CustomerRef"], -money(record["BalanceRemaining"]))
        for line in record["Lines"]:
            line["Amount"] = m(ZERO)
            if "Quantity" in line:
                line["Quantity"] = "0"
        record.update(Subtotal=m(ZERO), SalesTaxTotal=m(ZERO))
        if kind == "Invoice":
            record.update(BalanceRemaining=m(ZERO), AppliedAmount=m(ZERO), IsPaid=True)
        else:
            record["TotalAmount"] = m(ZERO)
        memo = record.get("Memo")
        record["Memo"] = (f"{VOID_MEMO} {memo}" if memo else VOID_MEMO)[:4095]
        record[VOIDED] = True
        self.stamp(record, new=False)
        self.store.put(kind, record)
        result = Result()
        for key, value in (
            ("TxnVoidType", kind),
            ("TxnID", record["TxnID"]),
            ("TimeCreated", record["TimeCreated"]),
            ("TimeModified", record["TimeModified"]),
            ("RefNumber", record.get("RefNumber")),
        ):
            if value:
                result.elements.append(_element(key, self._fmt(value)))
        return result

    def _unlink_invoice(self, invoice: dict) -> None:
        for link in invoice.get("LinkedTxn", []):
            if link["TxnType"] != "SalesOrder":
                continue
            so = self.store.get("SalesOrder", link["TxnID"])
            if so is None:
                continue
            before = self.open_quantities(so)
            so = {k: ([dict(x) for x in v] if isinstance(v, list) else v) for k, v in so.items()}
            so["LinkedTxn"] = [x for x in so["LinkedTxn"] if x["TxnID"] != invoice["TxnID"]]
            # give back what this invoice took, line by line, oldest lines first
            for inv_line in invoice["Lines"]:
                for so_line in so["Lines"]:
                    if (
                        so_line["ItemRef"] == inv_line["ItemRef"]
                        and qty(so_line.get("Invoiced", "0")) > 0
                    ):
                        take = qty(inv_line.get("Quantity", "1"))
                        so_line["Invoiced"] = str(max(Decimal(0), qty(so_line["Invoiced"]) - take))
                        break
            self._so_state(so)
            self.stamp(so, new=False)
            self.store.put("SalesOrder", so)
            self._on_sales_order(before, self.open_quantities(so))

    def deleted_query(self, p: dict, *, lists: bool) -> Result:
        types = set(p["ListDelType"] if lists else p["TxnDelType"])
        tz = self.company.tz
        horizon = self.company.clock.timestamp() - DELETED_RETENTION_DAYS * 86400
        f = p.get("DeletedDateRangeFilter") or {}
        start = (
            parse_dt(f["FromDeletedDate"], "FromDeletedDate", tz)
            if "FromDeletedDate" in f
            else None
        )
        end = (
            parse_dt(f["ToDeletedDate"], "ToDeletedDate", tz, end=True)
            if "ToDeletedDate" in f
            else None
        )
        result = Result()
        for entry in self.store.deleted:
            if entry["DelType"] not in types or entry["ts"] < horizon:
                continue
            if start is not None and entry["ts"] < start or end is not None and entry["ts"] > end:
                continue
            ret = etree.Element("ListDeletedRet" if lists else "TxnDeletedRet")
            fields = (
                (
                    ("ListDelType", entry["DelType"]),
                    ("ListID", entry["id"]),
                    ("TimeCreated", entry["TimeCreated"]),
                    ("TimeDeleted", entry["ts"]),
                    ("FullName", entry.get("FullName")),
                )
                if lists
                else (
                    ("TxnDelType", entry["DelType"]),
                    ("TxnID", entry["id"]),
                    ("TimeCreated", entry["TimeCreated"]),
                    ("TimeDeleted", entry["ts"]),
                    ("RefNumber", entry.get("RefNumber")),
                )
            )
            for key, value in fields:
                if value:
                    _t(ret, key, self._fmt(value))
            result.elements.append(ret)
        if not result.elements:
            result.code, result.message = 1, NO_MATCH
        return result


def _t(parent: etree._Element, name: str, value: str) -> etree._Element:
    el = etree.SubElement(parent, name)
    el.text = value
    return el


def _element(name: str, value: str) -> etree._Element:
    el = etree.Element(name)
    el.text = value
    return el


def _item_desc(item: dict) -> str:
    for agg in ("SalesOrPurchase", "SalesAndPurchase"):
        if agg in item:
            return item[agg].get("Desc") or item[agg].get("SalesDesc") or ""
    return item.get("SalesDesc") or item.get("ItemDesc") or item.get("PurchaseDesc") or ""


def _item_price(item: dict) -> str:
    if "SalesOrPurchase" in item:
        return item["SalesOrPurchase"].get("Price", "0")
    if "SalesAndPurchase" in item:
        return item["SalesAndPurchase"].get("SalesPrice", "0")
    return item.get("SalesPrice", "0")


__all__ = ["LINE_KEY", "Books", "Result", "TXN_LABEL"]
