"""One QBO company (realm): create, read, update, delete and void with the real API's rules.

Every method either returns the stored object (a dict shaped like QBO's JSON) or raises
:class:`QBOFault`. Amounts are Decimals; timestamps are company-local (api-notes 2.2).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

from .faults import DUPLICATE_DETAIL, NOT_FOUND_DETAIL, STALE_DETAIL, QBOFault
from .schema import (
    ADDRESS_FIELDS,
    DATE_FIELDS,
    DISCOUNT_DETAIL_FIELDS,
    FIELDS,
    ITEM_TYPES,
    LINE_DETAIL_TYPES,
    LINE_FIELDS,
    MAX_LEN,
    NO_COLON_FIELDS,
    PAYMENT_LINE_FIELDS,
    READ_ONLY,
    SALES_DETAIL_FIELDS,
)
from .store import Store
from .values import money, number, qbo_time, today, valid_date

USD = {"value": "USD", "name": "United States Dollar"}
ZERO = Decimal("0.00")
DEFAULT_ITEM = {"value": "1", "name": "Services"}
MAX_CUSTOM_FIELD_LEN = 31
VOIDED = "_voided"  # internal marker, stripped from responses by public()
# Read-only on most entities but writable here.
WRITABLE_READ_ONLY = {"Payment": {"TotalAmt"}, "Item": {"Type"}}
CREATE_ONLY = {"Customer": {"Balance"}}


def _is_empty(value: Any) -> bool:
    return value == "" or value is None


def _clean_address(addr: Any, field: str) -> dict | None:
    if not isinstance(addr, dict):
        raise QBOFault("2010", f"Property Name:{field} must be an object", element=field)
    unknown = set(addr) - ADDRESS_FIELDS
    if unknown:
        raise QBOFault(
            "2010",
            f'Property Name:Unrecognized field "{sorted(unknown)[0]}" in {field}',
            element=field,
        )
    cleaned = {k: v for k, v in addr.items() if not _is_empty(v)}
    return cleaned or None


def _ref_value(ref: Any, field: str) -> str:
    if not isinstance(ref, dict):
        raise QBOFault("2010", f"Property Name:{field} must be a reference object", element=field)
    value = ref.get("value")
    if _is_empty(value):
        raise QBOFault(
            "2020", f"Required parameter {field}.value is missing in the request", element=field
        )
    return str(value)


class Company:
    def __init__(self, store: Store, clock, realm_id: str) -> None:
        self.store = store
        self.clock = clock
        self.realm_id = realm_id
        # While a batch runs: objects its earlier items created, invisible to later items
        # (api-notes 2.8: items are independent and must not rely on each other).
        self.batch_created: set[tuple[str, str]] | None = None

    def _hidden(self, entity: str, id_: Any) -> bool:
        return self.batch_created is not None and (entity, str(id_)) in self.batch_created

    # -- shared helpers ---------------------------------------------------------------------
    def now(self) -> dt.datetime:
        return self.clock.now()

    def stamp(self, obj: dict, created: bool) -> None:
        text = qbo_time(self.now())
        meta = dict(obj.get("MetaData") or {})
        if created:
            meta["CreateTime"] = text
        meta["LastUpdatedTime"] = text
        obj["MetaData"] = meta

    def get(self, entity: str, id_: Any) -> dict:
        obj = self.store.get(entity, id_)
        if obj is None or self._hidden(entity, id_):
            raise QBOFault("610", NOT_FOUND_DETAIL, element="Id")
        return obj

    def ref(self, entity: str, ref: Any, field: str, *, active_only: bool = True) -> dict:
        """Resolve a Ref to the stored object, normalised to ``{"value", "name"}``."""
        value = _ref_value(ref, field)
        obj = self.store.get(entity, value)
        if (
            obj is None
            or self._hidden(entity, value)
            or (active_only and obj.get("Active") is False)
        ):
            raise QBOFault("610", f"{NOT_FOUND_DETAIL} ({field} {ref.get('value')})", element=field)
        return obj

    @staticmethod
    def ref_of(obj: dict, name_field: str = "DisplayName") -> dict:
        return {
            "value": obj["Id"],
            "name": obj.get(name_field) or obj.get("FullyQualifiedName") or obj.get("Name", ""),
        }

    def check_sync(self, current: dict, payload: dict) -> None:
        token = payload.get("SyncToken")
        if _is_empty(token):
            raise QBOFault(
                "2020",
                "Required parameter SyncToken is missing in the request",
                element="SyncToken",
            )
        if str(token) != current["SyncToken"]:
            raise QBOFault("5010", STALE_DETAIL, element="SyncToken")

    def bump(self, obj: dict) -> None:
        obj["SyncToken"] = str(int(obj.get("SyncToken", "0")) + 1)
        self.stamp(obj, created=False)

    def prepare(self, entity: str, payload: Any, creating: bool = False) -> dict:
        """Reject unknown properties; drop empty strings (treated as absent) and read-only keys."""
        if not isinstance(payload, dict):
            raise QBOFault("2010", f"Request body for {entity} must be a JSON object")
        unknown = set(payload) - FIELDS[entity]
        if unknown:
            name = sorted(unknown)[0]
            raise QBOFault(
                "2010",
                f'Property Name:Unrecognized field "{name}" (class '
                f"com.intuit.schema.finance.v3.{entity}), not marked as "
                "ignorable",
                element=name,
            )
        writable = WRITABLE_READ_ONLY.get(entity, set())
        if creating:
            writable = writable | CREATE_ONLY.get(entity, set())
        data = {
            k: v
            for k, v in payload.items()
            if not _is_empty(v) and (k not in READ_ONLY or k in writable)
        }
        for field, limit in MAX_LEN.get(entity, {}).items():
            value = data.get(field)
            if isinstance(value, str) and len(value) > limit:
                raise QBOFault(
                    "2050",
                    f"String length specified does not match the supported "
                    f"length for {field}. Min:0 Max:{limit:,} supported. "
                    f"Supplied length:{len(value):,}",
                    element=field,
                )
        for field in NO_COLON_FIELDS.get(entity, ()):
            value = data.get(field)
            if isinstance(value, str) and any(ch in value for ch in ":\t\n"):
                raise QBOFault(
                    "6000",
                    f"Invalid character in {field}: a name cannot contain ':', tab or new line",
                    element=field,
                )
        for field in DATE_FIELDS & set(data):
            if not isinstance(data[field], str) or not valid_date(data[field]):
                raise QBOFault(
                    "2010",
                    f"Property Name:{field} is not a valid date (YYYY-MM-DD): {data[field]!r}",
                    element=field,
                )
        for field in ("BillAddr", "ShipAddr", "ShipFromAddr"):
            if field in data:
                cleaned = _clean_address(data[field], field)
                if cleaned is None:
                    del data[field]
                else:
                    data[field] = cleaned
        return data

    def merge(self, entity: str, current: dict | None, data: dict, sparse: bool) -> dict:
        """The new writable state: sparse keeps unsent fields, full update clears them."""
        if current is None:
            return data
        keep = {k: v for k, v in current.items() if k in READ_ONLY or k == "SyncToken"}
        if sparse:
            merged = {**current, **data}
        else:
            merged = {**keep, **data}
            # Never silently lost on full update: fields the server owns.
            for k in (
                "CurrencyRef",
                "LinkedTxn",
                "ParentRef",
                "Job",
                "SubItem",
                "SubClass",
                "QtyOnHand",
                "InvStartDate",
            ):
                if k in current and k not in data and k not in merged:
                    merged[k] = current[k]
        return merged

    # -- dispatch ----------------------------------------------------------------------------
    def save(self, entity: str, payload: dict) -> dict:
        """POST /{entity}: create when no Id, else update (sparse per the payload)."""
        raw_id = payload.get("Id") if isinstance(payload, dict) else None
        if raw_id not in (None, "", 0, "0"):
            return self.update(entity, payload)
        return self.create(entity, payload)

    def create(self, entity: str, payload: dict) -> dict:
        data = self.prepare(entity, payload, creating=True)
        handler = getattr(self, f"_write_{entity.lower()}", None)
        self._pending_estimate = None
        if handler is None:
            raise QBOFault(
                "500",
                f"Operation Create is not supported for {entity}.",
                message="Unsupported Operation",
            )
        obj = handler(None, data)
        obj["Id"] = str(self.store.new_id(entity))
        obj["SyncToken"] = "0"
        obj["domain"] = "QBO"
        obj["sparse"] = False
        self.stamp(obj, created=True)
        self._after_write(entity, None, obj)
        self.store.put(entity, obj)
        self._link_estimate(obj)
        return obj

    def update(self, entity: str, payload: dict) -> dict:
        current = self.get(entity, payload.get("Id"))
        if current.get("status") == "Deleted":
            raise QBOFault("610", NOT_FOUND_DETAIL, element="Id")
        self.check_sync(current, payload)
        sparse = payload.get("sparse") is True or str(payload.get("sparse")).lower() == "true"
        data = self.prepare(entity, payload)
        if (
            sparse
            and entity == "Customer"
            and "DisplayName" in payload
            and _is_empty(payload["DisplayName"])
        ):
            raise QBOFault(
                "2020",
                "Required parameter DisplayName is missing in the request",
                element="DisplayName",
            )
        merged = self.merge(entity, current, data, sparse)
        handler = getattr(self, f"_write_{entity.lower()}", None)
        self._pending_estimate = None
        if handler is None:
            raise QBOFault(
                "500",
                f"Operation Update is not supported for {entity}.",
                message="Unsupported Operation",
            )
        before = copy.deepcopy(current)
        obj = handler(current, merged)
        for k in ("Id", "SyncToken", "MetaData", "domain"):
            obj[k] = current[k]
        obj["sparse"] = False
        self.bump(obj)
        self._after_write(entity, before, obj)
        self.store.put(entity, obj)
        self._link_estimate(obj)
        return obj

    def _link_estimate(self, invoice: dict) -> None:
        """Invoice made from an estimate: close the estimate and link it back (api-notes 2.6.4)."""
        estimate_id, self._pending_estimate = self._pending_estimate, None
        estimate = self.store.get("Estimate", estimate_id) if estimate_id else None
        if estimate is None:
            return
        links = [x for x in estimate.get("LinkedTxn", []) if x.get("TxnType") != "Invoice"]
        links.append({"TxnId": invoice["Id"], "TxnType": "Invoice"})
        estimate["LinkedTxn"] = links
        estimate["TxnStatus"] = "Closed"
        self.bump(estimate)
        self.store.put("Estimate", estimate)

    def delete(self, entity: str, payload: dict) -> dict:
        if entity not in ("Invoice", "SalesReceipt", "Estimate", "Payment"):
            raise QBOFault(
                "500", "Operation Delete is not supported.", message="Unsupported Operation"
            )
        current = self.get(entity, payload.get("Id"))
        self.check_sync(current, payload)
        if entity == "Invoice" and self._payments_on(current):
            raise QBOFault(
                "6000",
                "Business Validation Error: This invoice has payments applied "
                "to it. Delete or unapply the payments first.",
            )
        self._after_write(entity, copy.deepcopy(current), None)
        self.store.remove(entity, int(current["Id"]), self.clock.timestamp(), qbo_time(self.now()))
        return {"status": "Deleted", "domain": "QBO", "Id": current["Id"]}

    def void(self, entity: str, payload: dict) -> dict:
        if entity not in ("Invoice", "SalesReceipt", "Payment"):
            raise QBOFault(
                "500", "Operation Void is not supported.", message="Unsupported Operation"
            )
        current = self.get(entity, payload.get("Id"))
        self.check_sync(current, payload)
        if entity == "Invoice" and self._payments_on(current):
            raise QBOFault(
                "6000",
                "Business Validation Error: This invoice has payments applied "
                "to it and cannot be voided.",
            )
        before = copy.deepcopy(current)
        obj = copy.deepcopy(current)
        for line in obj.get("Line", []):
            line["Amount"] = ZERO
            detail = line.get("SalesItemLineDetail")
            if detail:
                detail["Qty"] = 0
                detail["UnitPrice"] = 0
        obj["TotalAmt"] = ZERO
        if "Balance" in obj:
            obj["Balance"] = ZERO
        if entity == "Payment":
            obj["UnappliedAmt"] = ZERO
        obj["PrivateNote"] = "Voided"
        obj[VOIDED] = True
        self.bump(obj)
        self._after_write(entity, before, obj)
        self.store.put(entity, obj)
        return obj

    # -- side effects (balances, inventory, estimate links) --------------------------------
    def _payments_on(self, invoice: dict) -> list[str]:
        return [
            link["TxnId"]
            for link in invoice.get("LinkedTxn", [])
            if link.get("TxnType") == "Payment"
        ]

    def _after_write(self, entity: str, before: dict | None, after: dict | None) -> None:
        if entity == "Customer" and before and after:
            old_parent = (before.get("ParentRef") or {}).get("value")
            new_parent = (after.get("ParentRef") or {}).get("value")
            carried = after.get("BalanceWithJobs", ZERO)
            if old_parent != new_parent and carried:
                self._carry_balance(old_parent, -carried)
                self._carry_balance(new_parent, carried)
        if entity == "Invoice":
            old = before["Balance"] if before else ZERO
            new = after["Balance"] if after else ZERO
            customer_id = (after or before)["CustomerRef"]["value"]
            if before and after and before["CustomerRef"]["value"] != after["CustomerRef"]["value"]:
                self.adjust_balance(before["CustomerRef"]["value"], -old)
                old = ZERO
            self.adjust_balance(customer_id, new - old)
        if entity in ("Invoice", "SalesReceipt"):
            self._inventory(before, -1)
            self._inventory(after, +1)
        if entity == "Payment":
            if before is not None:
                self._apply_payment(before, -1)
            if after is not None:
                self._apply_payment(after, +1)

    def adjust_balance(self, customer_id: str, delta: Decimal) -> None:
        if not delta:
            return
        customer = self.store.get("Customer", customer_id)
        if customer is None:
            return
        customer["Balance"] = money(customer.get("Balance", ZERO) + delta)
        node: dict | None = customer
        while node is not None:
            node["BalanceWithJobs"] = money(node.get("BalanceWithJobs", ZERO) + delta)
            self.store.put("Customer", node)
            parent = node.get("ParentRef")
            node = self.store.get("Customer", parent["value"]) if parent else None

    def _carry_balance(self, customer_id: str | None, delta: Decimal) -> None:
        """A moved sub-customer takes its BalanceWithJobs from one ancestor chain to another."""
        node = self.store.get("Customer", customer_id) if customer_id else None
        while node is not None:
            node["BalanceWithJobs"] = money(node.get("BalanceWithJobs", ZERO) + delta)
            self.store.put("Customer", node)
            parent = node.get("ParentRef")
            node = self.store.get("Customer", parent["value"]) if parent else None

    def _inventory(self, txn: dict | None, sign: int) -> None:
        if not txn or txn.get(VOIDED):
            return
        for line in txn.get("Line", []):
            detail = line.get("SalesItemLineDetail")
            if not detail:
                continue
            item = self.store.get("Item", detail["ItemRef"]["value"])
            if item and item.get("Type") == "Inventory":
                item["QtyOnHand"] = item.get("QtyOnHand", 0) - sign * Decimal(str(detail["Qty"]))
                self.store.put("Item", item)

    def _apply_payment(self, payment: dict, sign: int) -> None:
        if payment.get(VOIDED) and sign > 0:
            return
        for line in payment.get("Line", []):
            for link in line.get("LinkedTxn", []):
                if link.get("TxnType") != "Invoice":
                    continue
                invoice = self.store.get("Invoice", link["TxnId"])
                if invoice is None:
                    continue
                before = copy.deepcopy(invoice)
                invoice["Balance"] = money(invoice["Balance"] - sign * line["Amount"])
                links = [
                    x
                    for x in invoice.get("LinkedTxn", [])
                    if not (x.get("TxnType") == "Payment" and x.get("TxnId") == payment["Id"])
                ]
                if sign > 0:
                    links.append({"TxnId": payment["Id"], "TxnType": "Payment"})
                invoice["LinkedTxn"] = links
                self.bump(invoice)
                self.adjust_balance(
                    invoice["CustomerRef"]["value"], invoice["Balance"] - before["Balance"]
                )
                self.store.put("Invoice", invoice)

    # -- name lists --------------------------------------------------------------------------
    def _unique(self, entity: str, key: str, current: dict | None, detail: str) -> None:
        existing = self.store.find_name(entity, key)
        if existing is not None and (current is None or str(existing) != current["Id"]):
            raise QBOFault("6240", detail, element="Name")

    def _write_customer(self, current: dict | None, data: dict) -> dict:
        obj = data
        if "DisplayName" not in obj:
            parts = [
                obj.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
            ]
            parts = [p for p in parts if p]
            if not parts:
                raise QBOFault(
                    "2020",
                    "Required parameter DisplayName is missing in the request",
                    element="DisplayName",
                )
            obj["DisplayName"] = " ".join(parts)
        name = obj["DisplayName"]
        if name != name.strip() or not name.strip():
            obj["DisplayName"] = name = name.strip()
            if not name:
                raise QBOFault("2020", "Required parameter DisplayName is missing in the request")
        self._unique("Customer", name, current, DUPLICATE_DETAIL + f" Id={self._dupe_id(name)}")
        email = (
            (obj.get("PrimaryEmailAddr") or {}).get("Address")
            if isinstance(obj.get("PrimaryEmailAddr"), dict)
            else None
        )
        if "PrimaryEmailAddr" in obj and not email:
            del obj["PrimaryEmailAddr"]
        elif email and ("@" not in email or "." not in email.split("@")[-1]):
            raise QBOFault(
                "2210",
                f"Email Address does not conform to the syntax rules of RFC 822: {email}",
                element="PrimaryEmailAddr",
            )
        for phone_field in ("PrimaryPhone", "AlternatePhone", "Mobile", "Fax"):
            phone = obj.get(phone_field)
            if isinstance(phone, dict):
                free = phone.get("FreeFormNumber")
                if _is_empty(free):
                    del obj[phone_field]
                elif len(free) > 30:
                    raise QBOFault(
                        "2050",
                        f"{phone_field} Max:30 supported. Supplied length:{len(free)}",
                        element=phone_field,
                    )
        job = bool(obj.get("Job")) or ("ParentRef" in obj)
        if current is not None and "ParentRef" in current and "ParentRef" not in obj:
            job = False
        level, fqn = 0, name
        if job or obj.get("Job"):
            if "ParentRef" not in obj:
                raise QBOFault(
                    "2020",
                    "Required parameter ParentRef is missing in the request (Job is true)",
                    element="ParentRef",
                )
            parent = self.ref("Customer", obj["ParentRef"], "ParentRef")
            if current is not None and self._is_ancestor(current["Id"], parent):
                raise QBOFault(
                    "6000",
                    "Business Validation Error: a customer cannot be its own ancestor",
                    element="ParentRef",
                )
            level = int(parent.get("Level", 0)) + 1
            if level > 4:
                raise QBOFault(
                    "6000",
                    "Business Validation Error: sub-customers can be nested at most 4 levels deep",
                    element="ParentRef",
                )
            fqn = f"{parent['FullyQualifiedName']}:{name}"
            obj["ParentRef"] = self.ref_of(parent)
            obj["Job"] = True
        else:
            obj["Job"] = False
            obj.pop("ParentRef", None)
            if obj.get("BillWithParent"):
                raise QBOFault(
                    "6000",
                    "Business Validation Error: BillWithParent is valid only "
                    "for sub-customers and jobs",
                    element="BillWithParent",
                )
        obj["BillWithParent"] = bool(obj.get("BillWithParent", False))
        obj["FullyQualifiedName"] = fqn
        obj["Level"] = level
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = self.ref_of(
                self.ref("Term", obj["SalesTermRef"], "SalesTermRef"), "Name"
            )
        obj.setdefault("PrintOnCheckName", name[:110])
        obj.setdefault("Taxable", True)
        obj.setdefault("PreferredDeliveryMethod", "Print")
        if obj["PreferredDeliveryMethod"] not in ("Print", "Email", "None"):
            raise QBOFault(
                "2170",
                f"Invalid Enumeration : {obj['PreferredDeliveryMethod']}",
                element="PreferredDeliveryMethod",
            )
        obj["CurrencyRef"] = current.get("CurrencyRef", USD) if current else USD
        if current is None:
            opening = money(data.get("Balance", ZERO)) if "Balance" in data else ZERO
            obj["Balance"] = opening
            obj["BalanceWithJobs"] = opening
            obj["IsProject"] = False
        else:
            obj["Balance"] = current.get("Balance", ZERO)
            obj["BalanceWithJobs"] = current.get("BalanceWithJobs", ZERO)
            obj["IsProject"] = current.get("IsProject", False)
        obj["Active"] = obj.get("Active", True) is not False
        if (
            current is not None
            and current.get("Active", True)
            and not obj["Active"]
            and obj["Balance"] != 0
        ):
            raise QBOFault(
                "6000",
                "Delete List Has Balance Error: The entity you are trying to "
                "delete has an open balance. : This customer cannot be "
                "deleted because it has a non-zero balance",
            )
        if current is not None and current["FullyQualifiedName"] != fqn:
            self._rename_children("Customer", current["Id"], fqn, level)
        return obj

    def _dupe_id(self, name: str) -> str:
        existing = self.store.find_name("Customer", name)
        return str(existing) if existing is not None else ""

    def _is_ancestor(self, id_: str, node: dict | None) -> bool:
        while node is not None:
            if node["Id"] == id_:
                return True
            parent = node.get("ParentRef")
            node = self.store.get("Customer", parent["value"]) if parent else None
        return False

    def _rename_children(self, entity: str, parent_id: str, parent_fqn: str, level: int) -> None:
        name_field = "DisplayName" if entity == "Customer" else "Name"
        for child in list(self.store.table(entity).values()):
            parent = child.get("ParentRef")
            if parent and parent.get("value") == parent_id:
                child["FullyQualifiedName"] = f"{parent_fqn}:{child[name_field]}"
                child["Level"] = level + 1
                child["ParentRef"]["name"] = parent_fqn
                self.store.put(entity, child)
                self._rename_children(entity, child["Id"], child["FullyQualifiedName"], level + 1)

    def _write_item(self, current: dict | None, data: dict) -> dict:
        obj = data
        item_type = obj.get("Type") if current is None else current["Type"]
        if current is not None and "Type" in obj and obj["Type"] != current["Type"]:
            allowed = {"Service", "NonInventory"}
            if not ({obj["Type"], current["Type"]} <= allowed):
                raise QBOFault(
                    "6000",
                    f"Business Validation Error: an item of type "
                    f"{current['Type']} cannot change to {obj['Type']}",
                )
            item_type = obj["Type"]
        if current is None and "Type" in data:
            item_type = data["Type"]
        # Type is listed read-only for other entities; for Item it is writable on create.
        if item_type is None:
            raise QBOFault(
                "2020", "Required parameter Type is missing in the request", element="Type"
            )
        if item_type not in ITEM_TYPES:
            raise QBOFault("2170", f"Invalid Enumeration : {item_type}", element="Type")
        obj["Type"] = item_type
        if "Name" not in obj:
            raise QBOFault(
                "2020", "Required parameter Name is missing in the request", element="Name"
            )
        parent = None
        if obj.get("SubItem") or "ParentRef" in obj:
            if "ParentRef" not in obj:
                raise QBOFault(
                    "2020",
                    "Required parameter ParentRef is missing in the request (SubItem is true)",
                    element="ParentRef",
                )
            parent = self.ref("Item", obj["ParentRef"], "ParentRef")
            if item_type == "Category" and parent["Type"] != "Category":
                raise QBOFault(
                    "6000",
                    "Business Validation Error: a category can only be under another category",
                    element="ParentRef",
                )
            obj["ParentRef"] = self.ref_of(parent, "FullyQualifiedName")
            obj["SubItem"] = True
            fqn, level = f"{parent['FullyQualifiedName']}:{obj['Name']}", parent["Level"] + 1
        else:
            obj["SubItem"] = False
            fqn, level = obj["Name"], 0
        self._unique(
            "Item",
            fqn,
            current,
            "The name supplied already exists. : Another product "
            "or service is already using this name. Please use a "
            "different name.",
        )
        obj["FullyQualifiedName"], obj["Level"] = fqn, level
        accounts = {
            "IncomeAccountRef": "Income",
            "ExpenseAccountRef": "Expense",
            "AssetAccountRef": "Asset",
        }
        needed = {
            "Service": ["IncomeAccountRef"],
            "NonInventory": ["IncomeAccountRef", "ExpenseAccountRef"],
            "Inventory": ["IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"],
        }
        for field in needed.get(item_type, []):
            if field not in obj:
                raise QBOFault(
                    "2020", f"Required parameter {field} is missing in the request", element=field
                )
        for field in accounts:
            if field in obj:
                obj[field] = self.ref_of(self.ref("Account", obj[field], field), "Name")
        if item_type == "Category":
            for field in ("UnitPrice", "IncomeAccountRef", "QtyOnHand"):
                obj.pop(field, None)
        else:
            obj["UnitPrice"] = money(obj.get("UnitPrice", 0), "UnitPrice")
            obj["PurchaseCost"] = money(obj.get("PurchaseCost", 0), "PurchaseCost")
            obj.setdefault("Taxable", False)
        if item_type == "Inventory":
            if current is None:
                if not obj.get("TrackQtyOnHand"):
                    raise QBOFault(
                        "6000",
                        "Business Validation Error: TrackQtyOnHand must be "
                        "true for an Inventory item",
                        element="TrackQtyOnHand",
                    )
                for field in ("QtyOnHand", "InvStartDate"):
                    if field not in obj:
                        raise QBOFault(
                            "2020",
                            f"Required parameter {field} is missing in the request",
                            element=field,
                        )
                obj["QtyOnHand"] = number(obj["QtyOnHand"], "QtyOnHand")
            else:
                obj["QtyOnHand"] = current.get("QtyOnHand", 0)
                obj["InvStartDate"] = current.get("InvStartDate")
            obj["TrackQtyOnHand"] = True
        else:
            obj["TrackQtyOnHand"] = False
            obj.pop("QtyOnHand", None)
        obj["Active"] = obj.get("Active", True) is not False
        if current is not None and current["FullyQualifiedName"] != fqn:
            self._rename_children("Item", current["Id"], fqn, level)
        return obj

    def _write_class(self, current: dict | None, data: dict) -> dict:
        obj = data
        if "Name" not in obj:
            raise QBOFault("2020", "Required parameter Name is missing in the request")
        sub = bool(obj.get("SubClass")) or "ParentRef" in obj
        if current is not None and sub != bool(current.get("SubClass")):
            raise QBOFault(
                "6000",
                "Business Validation Error: a class cannot switch between parent and sub-class",
            )
        if sub:
            if "ParentRef" not in obj:
                raise QBOFault("2020", "Required parameter ParentRef is missing in the request")
            parent = self.ref("Class", obj["ParentRef"], "ParentRef")
            obj["ParentRef"] = self.ref_of(parent, "FullyQualifiedName")
            fqn = f"{parent['FullyQualifiedName']}:{obj['Name']}"
        else:
            fqn = obj["Name"]
        obj["SubClass"] = sub
        self._unique(
            "Class",
            fqn,
            current,
            "The name supplied already exists. : Another class is already using this name.",
        )
        obj["FullyQualifiedName"] = fqn
        obj["Active"] = obj.get("Active", True) is not False
        return obj

    def _write_term(self, current: dict | None, data: dict) -> dict:
        obj = data
        if "Name" not in obj:
            raise QBOFault("2020", "Required parameter Name is missing in the request")
        self._unique(
            "Term",
            obj["Name"],
            current,
            "The name supplied already exists. : Another term is already using this name.",
        )
        date_driven = any(
            k in obj for k in ("DayOfMonthDue", "DueNextMonthDays", "DiscountDayOfMonth")
        )
        if date_driven and "DueDays" in obj:
            raise QBOFault(
                "6000",
                "Business Validation Error: a term is either STANDARD "
                "(DueDays) or DATE_DRIVEN (DayOfMonthDue), not both",
            )
        obj["Type"] = "DATE_DRIVEN" if date_driven else "STANDARD"
        if not date_driven:
            obj["DueDays"] = int(obj.get("DueDays", 0))
        obj["Active"] = obj.get("Active", True) is not False
        return obj

    def _write_account(self, current: dict | None, data: dict) -> dict:
        obj = data
        for field in ("Name", "AccountType"):
            if field not in obj:
                raise QBOFault("2020", f"Required parameter {field} is missing in the request")
        self._unique(
            "Account",
            obj["Name"],
            current,
            "The name supplied already exists. : Another account is already using this name.",
        )
        obj["FullyQualifiedName"] = obj["Name"]
        obj.setdefault("Classification", ACCOUNT_CLASS.get(obj["AccountType"], "Asset"))
        obj["CurrentBalance"] = current.get("CurrentBalance", ZERO) if current else ZERO
        obj["CurrentBalanceWithSubAccounts"] = obj["CurrentBalance"]
        obj["CurrencyRef"] = USD
        obj["SubAccount"] = False
        obj["Active"] = obj.get("Active", True) is not False
        return obj

    # -- sales transactions --------------------------------------------------------------------
    def _lines(self, entity: str, lines: Any, for_inventory: bool) -> tuple[list[dict], Decimal]:
        if not isinstance(lines, list) or not lines:
            raise QBOFault(
                "2020", "Required parameter Line is missing in the request", element="Line"
            )
        out: list[dict] = []
        subtotal = ZERO
        discounts: list[dict] = []
        for raw in lines:
            if not isinstance(raw, dict):
                raise QBOFault("2010", "Property Name:Line items must be objects", element="Line")
            unknown = set(raw) - LINE_FIELDS
            if unknown:
                raise QBOFault(
                    "2010",
                    f'Property Name:Unrecognized field "{sorted(unknown)[0]}"'
                    " (class com.intuit.schema.finance.v3.Line)",
                )
            kind = raw.get("DetailType")
            if kind == "SubTotalLineDetail":
                continue  # server-computed; clients echo it back
            if kind not in LINE_DETAIL_TYPES:
                raise QBOFault(
                    "2170", f"Invalid Enumeration : DetailType {kind!r}", element="DetailType"
                )
            line: dict = {"DetailType": kind}
            if raw.get("Description"):
                if len(raw["Description"]) > 4000:
                    raise QBOFault("2050", "Line Description Max:4000", element="Description")
                line["Description"] = raw["Description"]
            if kind == "DescriptionOnly":
                line["Amount"] = money(raw.get("Amount") or 0)
                line["DescriptionLineDetail"] = {}
                out.append(line)
                continue
            if "Amount" not in raw or _is_empty(raw["Amount"]):
                raise QBOFault(
                    "2020",
                    "Required parameter Line.Amount is missing in the request",
                    element="Amount",
                )
            line["Amount"] = money(raw["Amount"])
            if kind == "SalesItemLineDetail":
                detail_in = raw.get("SalesItemLineDetail") or {}
                unknown = set(detail_in) - SALES_DETAIL_FIELDS
                if unknown:
                    raise QBOFault(
                        "2010",
                        f"Property Name:Unrecognized field "
                        f'"{sorted(unknown)[0]}" (class com.intuit.schema.'
                        "finance.v3.SalesItemLineDetail), not marked as "
                        "ignorable",
                    )
                detail = {k: v for k, v in detail_in.items() if not _is_empty(v)}
                item_ref = detail.get("ItemRef")
                if not item_ref or _is_empty(item_ref.get("value")):
                    item = self.store.get("Item", "1")
                else:
                    item = self.ref("Item", item_ref, "ItemRef")
                if item is None:
                    detail["ItemRef"] = dict(DEFAULT_ITEM)
                else:
                    if item["Type"] == "Category":
                        raise QBOFault(
                            "6000",
                            "Business Validation Error: a category cannot be "
                            "used on a transaction line",
                            element="ItemRef",
                        )
                    detail["ItemRef"] = self.ref_of(item, "FullyQualifiedName")
                qty = number(detail.get("Qty", 0), "Qty")
                price = number(detail.get("UnitPrice", 0), "UnitPrice")
                if item is not None and item["Type"] == "Inventory" and for_inventory and not qty:
                    raise QBOFault(
                        "6520",
                        f"Quantity required for inventory item {item['FullyQualifiedName']}",
                        element="Qty",
                    )
                if qty and price and money(qty * price) != line["Amount"]:
                    raise QBOFault(
                        "6070",
                        f"Amount is not equal to UnitPrice * Qty. Supplied value:{line['Amount']}",
                        element="Amount",
                    )
                if "Qty" in detail:
                    detail["Qty"] = qty
                if "UnitPrice" in detail:
                    detail["UnitPrice"] = price
                detail.pop("TaxInclusiveAmt", None)
                if "ClassRef" in detail:
                    detail["ClassRef"] = self.ref_of(
                        self.ref("Class", detail["ClassRef"], "ClassRef"), "FullyQualifiedName"
                    )
                if item is not None and item.get("IncomeAccountRef"):
                    detail["ItemAccountRef"] = item["IncomeAccountRef"]
                detail.setdefault("TaxCodeRef", {"value": "NON"})
                line["SalesItemLineDetail"] = detail
                subtotal += line["Amount"]
            elif kind == "DiscountLineDetail":
                detail_in = raw.get("DiscountLineDetail") or {}
                unknown = set(detail_in) - DISCOUNT_DETAIL_FIELDS
                if unknown:
                    raise QBOFault(
                        "2010",
                        f"Property Name:Unrecognized field "
                        f'"{sorted(unknown)[0]}" in DiscountLineDetail',
                    )
                detail = {k: v for k, v in detail_in.items() if not _is_empty(v)}
                line["DiscountLineDetail"] = detail
                discounts.append(line)
            else:  # GroupLineDetail: accepted, amount counts like a sales line
                line[kind] = raw.get(kind) or {}
                subtotal += line["Amount"]
            out.append(line)
        total = subtotal
        for line in discounts:
            detail = line["DiscountLineDetail"]
            if detail.get("PercentBased"):
                line["Amount"] = money(
                    subtotal * number(detail.get("DiscountPercent", 0), "DiscountPercent") / 100
                )
            total -= line["Amount"]
        if total < 0:
            raise QBOFault(
                "6000", "Business Validation Error: the transaction total cannot be negative"
            )
        for index, line in enumerate(out, start=1):
            line["Id"] = str(index)
            line["LineNum"] = index
        out.append(
            {"Amount": subtotal, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        )
        return out, money(total)

    def _custom_fields(self, fields: Any) -> list[dict]:
        if not fields:
            return []
        definitions = self.custom_field_definitions()
        out = []
        for field in fields:
            def_id = str(field.get("DefinitionId", ""))
            if def_id not in definitions:
                raise QBOFault(
                    "2500",
                    f"Invalid Reference Id : CustomField DefinitionId {def_id!r} is not defined",
                    element="CustomField",
                )
            value = field.get("StringValue")
            if value is None or value == "":
                continue
            if field.get("Type", "StringType") != "StringType":
                raise QBOFault(
                    "2170", "Invalid Enumeration : CustomField Type", element="CustomField"
                )
            if len(str(value)) > MAX_CUSTOM_FIELD_LEN:
                raise QBOFault(
                    "2050",
                    f"CustomField {definitions[def_id]} Max:"
                    f"{MAX_CUSTOM_FIELD_LEN} supported. Supplied length:"
                    f"{len(str(value))}",
                    element="CustomField",
                )
            out.append(
                {
                    "DefinitionId": def_id,
                    "Name": definitions[def_id],
                    "Type": "StringType",
                    "StringValue": str(value),
                }
            )
        return out

    def custom_field_definitions(self) -> dict[str, str]:
        """DefinitionId -> name, from Preferences.SalesFormsPrefs (enabled slots only)."""
        prefs = self.store.get("Preferences", 1)
        if not prefs:
            return {}
        used, names = {}, {}
        for group in prefs.get("SalesFormsPrefs", {}).get("CustomField", []):
            for entry in group.get("CustomField", []):
                name = entry.get("Name", "")
                if name.startswith("SalesFormsPrefs.UseSalesCustom"):
                    used[name[-1]] = bool(entry.get("BooleanValue"))
                elif name.startswith("SalesFormsPrefs.SalesCustomName"):
                    names[name[-1]] = entry.get("StringValue", "")
        return {slot: names[slot] for slot in names if used.get(slot)}

    def _doc_number(self, entity: str) -> str:
        key = f"docnumber.{entity}"
        value = int(self.store.settings.get(key, 1000)) + 1
        self.store.set_setting(key, value)
        return str(value)

    def _txn_common(self, entity: str, current: dict | None, obj: dict) -> dict:
        if entity in ("Invoice", "Estimate") and "CustomerRef" not in obj:
            raise QBOFault(
                "2020",
                "Required parameter CustomerRef is missing in the request",
                element="CustomerRef",
            )
        if "CustomerRef" in obj:
            obj["CustomerRef"] = self.ref_of(
                self.ref("Customer", obj["CustomerRef"], "CustomerRef")
            )
        obj.setdefault("TxnDate", today(self.now()))
        if "DocNumber" not in obj:
            obj["DocNumber"] = (
                current["DocNumber"]
                if current and current.get("DocNumber")
                else self._doc_number(entity)
            )
        if "ClassRef" in obj:
            obj["ClassRef"] = self.ref_of(
                self.ref("Class", obj["ClassRef"], "ClassRef"), "FullyQualifiedName"
            )
        if "SalesTermRef" in obj:
            obj["SalesTermRef"] = self.ref_of(
                self.ref("Term", obj["SalesTermRef"], "SalesTermRef"), "Name"
            )
        if "ShipMethodRef" in obj:
            ref = obj["ShipMethodRef"]
            value = ref.get("value") or ref.get("name") if isinstance(ref, dict) else None
            if not value:
                del obj["ShipMethodRef"]
            else:
                obj["ShipMethodRef"] = {"value": value, "name": ref.get("name") or value}
        if "BillEmail" in obj:
            address = (obj["BillEmail"] or {}).get("Address")
            if not address:
                del obj["BillEmail"]
            elif "@" not in address:
                raise QBOFault(
                    "2210",
                    f"Email Address does not conform to the syntax rules of RFC 822: {address}",
                    element="BillEmail",
                )
        obj["CustomField"] = self._custom_fields(obj.get("CustomField"))
        lines, total = self._lines(entity, obj.get("Line"), entity != "Estimate")
        obj["Line"] = lines
        obj["TotalAmt"] = total
        obj["HomeTotalAmt"] = total
        obj["TxnTaxDetail"] = {"TotalTax": 0}
        obj["CurrencyRef"] = USD
        obj.setdefault("EmailStatus", "NotSet")
        obj.setdefault("PrintStatus", "NotSet")
        return obj

    def _due_date(self, obj: dict) -> None:
        if "DueDate" in obj:
            return
        term = None
        if "SalesTermRef" in obj:
            term = self.store.get("Term", obj["SalesTermRef"]["value"])
        else:
            customer = self.store.get("Customer", obj["CustomerRef"]["value"])
            if customer and customer.get("SalesTermRef"):
                term = self.store.get("Term", customer["SalesTermRef"]["value"])
                obj["SalesTermRef"] = customer["SalesTermRef"]
        days = int(term.get("DueDays", 0)) if term and term.get("Type") == "STANDARD" else 0
        obj["DueDate"] = (
            dt.date.fromisoformat(obj["TxnDate"]) + dt.timedelta(days=days)
        ).isoformat()

    def _write_invoice(self, current: dict | None, data: dict) -> dict:
        if current is not None and current.get(VOIDED):
            raise QBOFault("6000", "Business Validation Error: a voided invoice cannot be edited")
        obj = self._txn_common("Invoice", current, data)
        self._due_date(obj)
        links = [link for link in obj.get("LinkedTxn") or [] if link.get("TxnId")]
        paid = ZERO
        if current is not None:
            paid = money(current["TotalAmt"] - current["Balance"])
            links = [x for x in current.get("LinkedTxn", []) if x.get("TxnType") == "Payment"] + [
                x for x in links if x.get("TxnType") != "Payment"
            ]
        if obj["TotalAmt"] < paid:
            raise QBOFault(
                "6000",
                "Business Validation Error: the invoice total cannot be less "
                "than the payments applied to it",
            )
        obj["Balance"] = money(obj["TotalAmt"] - paid)
        obj["HomeBalance"] = obj["Balance"]
        clean_links = []
        for link in links:
            if link.get("TxnType") == "Estimate":
                estimate = self.ref("Estimate", {"value": link["TxnId"]}, "LinkedTxn")
                self._pending_estimate = estimate["Id"]
                clean_links.append({"TxnId": str(link["TxnId"]), "TxnType": "Estimate"})
            elif link.get("TxnType") == "Payment":
                clean_links.append({"TxnId": str(link["TxnId"]), "TxnType": "Payment"})
            else:
                raise QBOFault(
                    "6000",
                    f"Business Validation Error: cannot link an invoice to a {link.get('TxnType')}",
                    element="LinkedTxn",
                )
        obj["LinkedTxn"] = clean_links
        obj.setdefault("AllowOnlineACHPayment", False)
        obj.setdefault("AllowOnlineCreditCardPayment", False)
        obj["Deposit"] = ZERO
        return obj

    def _write_salesreceipt(self, current: dict | None, data: dict) -> dict:
        obj = self._txn_common("SalesReceipt", current, data)
        obj["Balance"] = ZERO
        obj["LinkedTxn"] = []
        if "DepositToAccountRef" in obj:
            obj["DepositToAccountRef"] = self.ref_of(
                self.ref("Account", obj["DepositToAccountRef"], "DepositToAccountRef"), "Name"
            )
        else:
            undeposited = self.store.find_name("Account", "Undeposited Funds")
            if undeposited is not None:
                obj["DepositToAccountRef"] = {
                    "value": str(undeposited),
                    "name": "Undeposited Funds",
                }
        return obj

    def _write_estimate(self, current: dict | None, data: dict) -> dict:
        obj = self._txn_common("Estimate", current, data)
        self._due_date(obj)
        status = obj.get("TxnStatus", "Pending")
        if status not in ("Pending", "Accepted", "Closed", "Rejected"):
            raise QBOFault("2170", f"Invalid Enumeration : {status}", element="TxnStatus")
        obj["TxnStatus"] = status
        obj["LinkedTxn"] = current.get("LinkedTxn", []) if current else []
        return obj

    def _write_payment(self, current: dict | None, data: dict) -> dict:
        obj = data
        if "CustomerRef" not in obj:
            raise QBOFault(
                "2020",
                "Required parameter CustomerRef is missing in the request",
                element="CustomerRef",
            )
        customer = self.ref("Customer", obj["CustomerRef"], "CustomerRef")
        obj["CustomerRef"] = self.ref_of(customer)
        if "TotalAmt" not in data:
            raise QBOFault(
                "2020", "Required parameter TotalAmt is missing in the request", element="TotalAmt"
            )
        total = money(data["TotalAmt"], "TotalAmt")
        if total < 0:
            raise QBOFault(
                "6000",
                "Business Validation Error: a payment amount cannot be negative",
                element="TotalAmt",
            )
        obj.setdefault("TxnDate", today(self.now()))
        lines = []
        applied = ZERO
        previous = {}
        if current is not None:
            for line in current.get("Line", []):
                for link in line.get("LinkedTxn", []):
                    previous[link["TxnId"]] = previous.get(link["TxnId"], ZERO) + line["Amount"]
        for raw in obj.get("Line") or []:
            unknown = set(raw) - PAYMENT_LINE_FIELDS
            if unknown:
                raise QBOFault(
                    "2010",
                    f'Property Name:Unrecognized field "{sorted(unknown)[0]}"'
                    " (class com.intuit.schema.finance.v3.Line)",
                )
            amount = money(raw.get("Amount", 0))
            links = [x for x in raw.get("LinkedTxn") or [] if x.get("TxnId")]
            if not links:
                raise QBOFault(
                    "2020",
                    "Required parameter Line.LinkedTxn is missing in the request",
                    element="LinkedTxn",
                )
            clean = []
            for link in links:
                if link.get("TxnType") != "Invoice":
                    raise QBOFault(
                        "6000",
                        "Business Validation Error: a payment line can only link to an Invoice",
                        element="LinkedTxn",
                    )
                invoice = self.store.get("Invoice", link["TxnId"])
                if invoice is None or self._hidden("Invoice", link["TxnId"]):
                    raise QBOFault(
                        "610", NOT_FOUND_DETAIL + f" (Invoice {link['TxnId']})", element="LinkedTxn"
                    )
                if not self._same_family(invoice["CustomerRef"]["value"], customer["Id"]):
                    raise QBOFault(
                        "6000",
                        "Business Validation Error: the invoice belongs to another customer",
                        element="LinkedTxn",
                    )
                available = invoice["Balance"] + previous.get(str(link["TxnId"]), ZERO)
                if amount > available:
                    raise QBOFault(
                        "6000",
                        f"Business Validation Error: the payment amount "
                        f"{amount} is more than the open balance "
                        f"{available} of invoice {invoice['Id']}",
                        element="Amount",
                    )
                clean.append({"TxnId": invoice["Id"], "TxnType": "Invoice"})
            lines.append({"Amount": amount, "LinkedTxn": clean})
            applied += amount
        if applied > total:
            raise QBOFault(
                "6000",
                "Business Validation Error: the applied amount is more than the payment total",
                element="TotalAmt",
            )
        obj["Line"] = lines
        obj["TotalAmt"] = total
        obj["UnappliedAmt"] = money(total - applied)
        obj["CurrencyRef"] = USD
        obj["ProcessPayment"] = False
        if "DepositToAccountRef" in obj:
            obj["DepositToAccountRef"] = self.ref_of(
                self.ref("Account", obj["DepositToAccountRef"], "DepositToAccountRef"), "Name"
            )
        return obj

    def _same_family(self, invoice_customer: str, payer: str) -> bool:
        node = self.store.get("Customer", invoice_customer)
        while node is not None:
            if node["Id"] == payer:
                return True
            parent = node.get("ParentRef")
            node = self.store.get("Customer", parent["value"]) if parent else None
        return False

    _pending_estimate: str | None = None


def public(obj: dict) -> dict:
    """The object as the API shows it (without the sandbox's internal markers)."""
    if VOIDED in obj:
        return {k: v for k, v in obj.items() if k != VOIDED}
    return obj


ACCOUNT_CLASS = {
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Current Asset": "Asset",
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Fixed Asset": "Asset",
    "Accounts Payable": "Liability",
    "Equity": "Equity",
}
