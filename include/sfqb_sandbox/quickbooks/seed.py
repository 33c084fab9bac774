"""Deterministic seed data: a realistic small-business company, from 12 to 100k+ customers.

Objects are built directly as dicts (not through the API rules) and bulk-inserted, so 100k
customers seed in seconds. The data still obeys the rules: balances equal open invoice
amounts, payments link to the invoices they pay, FullyQualifiedNames follow the parent chain.

Layout for N customers (``names.seed_customer_count``):
- Customers ``company_name(i)`` for i in 0..N-1 get Ids i+1; every 10th has a sub-customer,
  every 25th a project, every 100th a second-level sub-customer; every 97th (i % 97 == 13) is
  inactive.
- Items: Id "1" is the default "Services" service item; the catalogue ``names.item_fqn(i)`` for
  i in 0..max(24, N/10): Category items above Hardware/Software/Supplies leaves, and for the
  "Services" branch service items with sub-items (QBO categories cannot sit under an item).
- Invoices 1.5 per customer up to 10k customers, then 1 per 4 more customers (see
  ``transaction_count``): a quarter open, a quarter partially paid, half fully paid; payments
  for the paid ones; sales receipts N/4 (at most 5000); estimates N/10 (at most 2000).
  Invoices carry 1-3 sales lines (``1 + k % 3``), or N each with the size option ``,lines=N``
  (``"6000,lines=5"``: benchmarks of the invoices area); totals, balances and payments follow.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sfqb_sandbox.common import names

from .store import Store
from .values import COMPANY_TZ, money, qbo_time

USD = {"value": "USD", "name": "United States Dollar"}
ZERO = Decimal("0.00")

ACCOUNTS = [
    ("1", "Services", "Income", "ServiceFeeIncome", "Revenue"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds", "Asset"),
    ("35", "Checking", "Bank", "Checking", "Asset"),
    ("79", "Sales of Product Income", "Income", "SalesOfProductIncome", "Revenue"),
    ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
    ("81", "Inventory Asset", "Other Current Asset", "Inventory", "Asset"),
    ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable", "Asset"),
]
TERMS = [("1", "Due on receipt", 0), ("2", "Net 15", 15), ("3", "Net 30", 30), ("4", "Net 60", 60)]
CLASSES = [
    ("1", "Retail", None),
    ("2", "Wholesale", None),
    ("3", "Online", None),
    ("4", "Marketplace", "3"),
]
CUSTOM_FIELDS = {"1": "Sales Rep", "2": "PO Number"}
SALES_REPS = ("JD", "AK", "MR", "TS")


def preferences(meta: dict, custom: dict[str, str] | None = None) -> dict:
    """Preferences with the sales-form custom field definitions (at most 3 string slots)."""
    custom = CUSTOM_FIELDS if custom is None else custom
    use = [
        {
            "Name": f"SalesFormsPrefs.UseSalesCustom{slot}",
            "Type": "BooleanType",
            "BooleanValue": str(slot) in custom,
        }
        for slot in (1, 2, 3)
    ]
    labels = [
        {
            "Name": f"SalesFormsPrefs.SalesCustomName{slot}",
            "Type": "StringType",
            "StringValue": name,
        }
        for slot, name in sorted(custom.items())
    ]
    return {
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": meta,
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": True,
            "ClassTrackingPerTxnLine": True,
            "CustomerTerminology": "Customers",
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "SalesFormsPrefs": {
            "CustomField": [{"CustomField": use}, {"CustomField": labels}],
            "AllowDeposit": True,
            "AllowDiscount": True,
            "AllowShipping": True,
            "CustomTxnNumbers": True,
            "DefaultTerms": {"value": "3"},
            "ETransactionEnabledStatus": "NotApplicable",
        },
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "OtherPrefs": {
            "NameValue": [
                {
                    "Name": "SalesFormsPrefs.DefaultCustomerMessage",
                    "Value": "Thank you for your business.",
                }
            ]
        },
        "TaxPrefs": {"UsingSalesTax": False},
    }


def company_info(realm_id: str, meta: dict) -> dict:
    addr = {
        "Id": "1",
        "Line1": "2600 Marine Way",
        "City": "Mountain View",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "94043",
        "Country": "US",
    }
    return {
        "Id": "1",
        "SyncToken": "0",
        "domain": "QBO",
        "sparse": False,
        "MetaData": meta,
        "CompanyName": "Sandbox Widgets LLC",
        "LegalName": "Sandbox Widgets LLC",
        "CompanyAddr": addr,
        "CustomerCommunicationAddr": addr,
        "LegalAddr": addr,
        "PrimaryPhone": {"FreeFormNumber": "(650) 555-0100"},
        "CompanyStartDate": "2020-01-01",
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "owner@sandbox-widgets.example"},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "CompanyType", "Value": "LLC"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
        ],
        "realmId": realm_id,
    }


def transaction_count(active_customers: int) -> int:
    """Invoices: 1.5 per customer up to 10k customers, then one per 4 more (keeps a 100k
    company seeding and loading in seconds on a small machine)."""
    if active_customers <= 10_000:
        return (active_customers * 3) // 2
    return 15_000 + (active_customers - 10_000) // 4


# Seed size options of this service ("small,lines=5,invoices=100000"); ``names`` knows the rest.
OWN_OPTIONS = ("lines", "invoices")


def _seed_option(size: str, key: str) -> int | None:
    """The whole number >= 1 a size string gives ``key`` (",key=N"), else None."""
    count = None
    for part in size.split(",")[1:]:
        name, _, value = part.partition("=")
        if name.strip() == key:
            if not value.strip().isdigit() or int(value) < 1:
                raise ValueError(f"seed size option {part!r}: {key}=N needs a whole number >= 1")
            count = int(value)
    return count


def seed_line_count(size: str) -> int | None:
    """The sales lines of every seeded invoice a size asks for with ",lines=N" (N >= 1), else
    None (the default: 1-3 by invoice)."""
    return _seed_option(size, "lines")


def seed_invoice_count(size: str) -> int | None:
    """How many invoices a size asks for with ",invoices=N" (spread over the active customers),
    else None (the default: ``transaction_count``). For a large history without a proportionally
    large customer list (the migration benchmark: 100k invoices)."""
    return _seed_option(size, "invoices")


def _without_lines(size: str) -> str:
    """The size string without this service's own options (what ``names`` understands)."""
    parts = size.split(",")
    return ",".join(
        [parts[0], *(p for p in parts[1:] if p.partition("=")[0].strip() not in OWN_OPTIONS)]
    )


def _addr(i: int, id_: int) -> dict:
    a = names.address(i)
    return {
        "Id": str(id_),
        "Line1": a["line1"],
        "City": a["city"],
        "CountrySubDivisionCode": a["state"],
        "PostalCode": a["postal_code"],
        "Country": a["country"],
    }


def seed_company(store: Store, size: str, realm_id: str, now: dt.datetime) -> dict:
    """Fill an empty store; returns counts per entity."""
    line_count = seed_line_count(size)
    invoice_count = seed_invoice_count(size)
    size = _without_lines(size)
    n = names.seed_customer_count(size)
    stamp = qbo_time(now - dt.timedelta(days=35))
    meta = {"CreateTime": stamp, "LastUpdatedTime": stamp}
    base = {"SyncToken": "0", "domain": "QBO", "sparse": False, "MetaData": meta}
    today = now.astimezone(COMPANY_TZ).date()
    counts: dict[str, int] = {}

    def put(entity: str, objs: list[dict]) -> None:
        store.bulk_put(entity, objs)
        counts[entity] = counts.get(entity, 0) + len(objs)

    put("CompanyInfo", [company_info(realm_id, meta)])
    put("Preferences", [preferences(meta)])
    put(
        "Account",
        [
            {
                **base,
                "Id": id_,
                "Name": name,
                "FullyQualifiedName": name,
                "AccountType": kind,
                "AccountSubType": sub,
                "Classification": cls,
                "Active": True,
                "SubAccount": False,
                "CurrentBalance": ZERO,
                "CurrentBalanceWithSubAccounts": ZERO,
                "CurrencyRef": USD,
            }
            for id_, name, kind, sub, cls in ACCOUNTS
        ],
    )
    put(
        "Term",
        [
            {
                **base,
                "Id": id_,
                "Name": name,
                "Active": True,
                "Type": "STANDARD",
                "DueDays": days,
                "DiscountDays": 0,
            }
            for id_, name, days in TERMS
        ],
    )
    classes = []
    fqn_by_id: dict[str, str] = {}
    for id_, name, parent in CLASSES:
        fqn = f"{fqn_by_id[parent]}:{name}" if parent else name
        fqn_by_id[id_] = fqn
        obj = {
            **base,
            "Id": id_,
            "Name": name,
            "FullyQualifiedName": fqn,
            "Active": True,
            "SubClass": parent is not None,
        }
        if parent:
            obj["ParentRef"] = {"value": parent, "name": fqn_by_id[parent]}
        classes.append(obj)
    put("Class", classes)

    # -- items -----------------------------------------------------------------------------
    income = {"value": "1", "name": "Services"}
    product_income = {"value": "79", "name": "Sales of Product Income"}
    cogs = {"value": "80", "name": "Cost of Goods Sold"}
    asset = {"value": "81", "name": "Inventory Asset"}
    items: list[dict] = [
        {
            **base,
            "Id": "1",
            "Name": "Services",
            "FullyQualifiedName": "Services",
            "Type": "Service",
            "Active": True,
            "SubItem": False,
            "Level": 0,
            "Taxable": False,
            "UnitPrice": ZERO,
            "PurchaseCost": ZERO,
            "TrackQtyOnHand": False,
            "IncomeAccountRef": income,
        }
    ]
    by_fqn: dict[str, dict] = {"Services": items[0]}
    n_items = max(24, n // 10) if n else 0  # "empty": only the QBO defaults
    n_items = names.seed_item_count(size) or n_items
    sellable: list[dict] = []

    def node(fqn: str, leaf_index: int | None) -> dict:
        if fqn in by_fqn:
            return by_fqn[fqn]
        parent_fqn, _, name = fqn.rpartition(":")
        parent = node(parent_fqn, None) if parent_fqn else None
        top = fqn.split(":")[0]
        obj = {
            **base,
            "Id": str(len(items) + 1),
            "Name": name,
            "FullyQualifiedName": fqn,
            "Active": True,
            "SubItem": parent is not None,
            "Level": fqn.count(":"),
        }
        if parent is not None:
            obj["ParentRef"] = {"value": parent["Id"], "name": parent_fqn}
        if leaf_index is None and top != "Services":
            obj["Type"] = "Category"
        else:
            i = leaf_index if leaf_index is not None else 0
            price = Decimal(names.item_price(i)) if leaf_index is not None else ZERO
            kind = (
                "Service" if top == "Services" else ("Inventory" if i % 3 == 0 else "NonInventory")
            )
            obj.update(
                {
                    "Type": kind,
                    "UnitPrice": price,
                    "Taxable": top != "Services",
                    "PurchaseCost": money(price * Decimal("0.6")),
                    "TrackQtyOnHand": False,
                    "IncomeAccountRef": income if kind == "Service" else product_income,
                    "Description": name,
                    "Sku": f"SKU-{i + 1:06d}" if leaf_index is not None else None,
                }
            )
            if obj["Sku"] is None:
                del obj["Sku"]
            if kind != "Service":
                obj["ExpenseAccountRef"] = cogs
            if kind == "Inventory":
                obj.update(
                    {
                        "AssetAccountRef": asset,
                        "TrackQtyOnHand": True,
                        "QtyOnHand": Decimal(10_000),
                        "InvStartDate": "2024-01-01",
                    }
                )
            if leaf_index is not None:
                sellable.append(obj)
        items.append(obj)
        by_fqn[fqn] = obj
        return obj

    for i in range(n_items):
        node(names.item_fqn(i), i)
    # -- customers ---------------------------------------------------------------------------
    customers: list[dict] = []
    for i in range(n):
        given, family = names.person(i)
        name = names.company_name(i)
        addr_id = i + 1
        term = TERMS[i % len(TERMS)]
        customers.append(
            {
                **base,
                "Id": str(i + 1),
                "DisplayName": name,
                "CompanyName": name,
                "FullyQualifiedName": name,
                "PrintOnCheckName": name,
                "GivenName": given,
                "FamilyName": family,
                "PrimaryEmailAddr": {"Address": names.email(i)},
                "PrimaryPhone": {"FreeFormNumber": names.phone(i)},
                "BillAddr": _addr(i, addr_id),
                "ShipAddr": _addr(i, addr_id),
                "SalesTermRef": {"value": term[0], "name": term[1]},
                "Active": i % 97 != 13,
                "Job": False,
                "BillWithParent": False,
                "IsProject": False,
                "Level": 0,
                "Balance": ZERO,
                "BalanceWithJobs": ZERO,
                "Taxable": True,
                "CurrencyRef": USD,
                "PreferredDeliveryMethod": "Email" if i % 2 else "Print",
            }
        )
    children: list[dict] = []

    def child(parent: dict, name: str, project: bool) -> dict:
        obj = {
            **base,
            "Id": str(n + len(children) + 1),
            "DisplayName": name,
            "FullyQualifiedName": f"{parent['FullyQualifiedName']}:{name}",
            "PrintOnCheckName": name[:110],
            "Active": True,
            "Job": True,
            "BillWithParent": project,
            "IsProject": project,
            "Level": parent["Level"] + 1,
            "ParentRef": {"value": parent["Id"], "name": parent["FullyQualifiedName"]},
            "Balance": ZERO,
            "BalanceWithJobs": ZERO,
            "Taxable": True,
            "CurrencyRef": USD,
            "PreferredDeliveryMethod": "Print",
        }
        children.append(obj)
        return obj

    for i in range(0, n, 10):
        if not customers[i]["Active"]:
            continue
        site = child(customers[i], f"{names.company_name(i)} - Warehouse", False)
        if i % 100 == 0:
            child(site, f"{names.company_name(i)} - Warehouse Dock", False)
        if i % 25 == 0:
            child(customers[i], f"{names.company_name(i)} - {2025 + i % 2} Rollout", True)
    all_customers = customers + children
    active = [c for c in all_customers if c["Active"]]

    # -- invoices, payments, sales receipts, estimates ---------------------------------------
    invoices: list[dict] = []
    payments: list[dict] = []
    receipts: list[dict] = []
    estimates: list[dict] = []

    def lines(k: int, count: int) -> tuple[list[dict], Decimal]:
        out, total = [], ZERO
        for j in range(count):
            item = sellable[(k * 7 + j * 13) % len(sellable)] if sellable else items[0]
            qty = Decimal(1 + (k + j) % 5)
            price = item.get("UnitPrice", ZERO) or Decimal("150.00")
            amount = money(qty * price)
            detail = {
                "ItemRef": {"value": item["Id"], "name": item["FullyQualifiedName"]},
                "Qty": qty,
                "UnitPrice": price,
                "TaxCodeRef": {"value": "NON"},
            }
            if item.get("IncomeAccountRef"):
                detail["ItemAccountRef"] = item["IncomeAccountRef"]
            out.append(
                {
                    "Id": str(j + 1),
                    "LineNum": j + 1,
                    "Description": item["Name"],
                    "Amount": amount,
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                }
            )
            total += amount
        out.append({"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return out, money(total)

    def txn_header(k: int, customer: dict, doc: str, days_back: int) -> dict:
        txn_date = today - dt.timedelta(days=days_back)
        return {
            **base,
            "DocNumber": doc,
            "TxnDate": txn_date.isoformat(),
            "CustomerRef": {"value": customer["Id"], "name": customer["DisplayName"]},
            "CurrencyRef": USD,
            "TxnTaxDetail": {"TotalTax": 0},
            "EmailStatus": "NotSet",
            "PrintStatus": "NotSet",
            "ClassRef": {"value": CLASSES[k % 3][0], "name": CLASSES[k % 3][1]},
            "CustomField": [
                {
                    "DefinitionId": "1",
                    "Name": "Sales Rep",
                    "Type": "StringType",
                    "StringValue": SALES_REPS[k % len(SALES_REPS)],
                },
                {
                    "DefinitionId": "2",
                    "Name": "PO Number",
                    "Type": "StringType",
                    "StringValue": f"PO-{k + 1:06d}",
                },
            ],
        }

    n_invoices = (invoice_count or transaction_count(len(active))) if active else 0
    term_days = {t[0]: t[2] for t in TERMS}
    balances: dict[str, Decimal] = {}
    for k in range(n_invoices):
        customer = active[(k * 7) % len(active)]
        body, total = lines(k, line_count or 1 + k % 3)
        inv = txn_header(k, customer, f"{1001 + k}", (k * 3) % 300)
        term = customer.get("SalesTermRef") or {"value": "3", "name": "Net 30"}
        due = dt.date.fromisoformat(inv["TxnDate"]) + dt.timedelta(days=term_days[term["value"]])
        state = k % 4  # 0 open, 1 partially paid, 2-3 fully paid
        paid = ZERO if state == 0 else (money(total / 2) if state == 1 else total)
        inv.update(
            {
                "Id": str(k + 1),
                "Line": body,
                "TotalAmt": total,
                "HomeTotalAmt": total,
                "Balance": total - paid,
                "HomeBalance": total - paid,
                "DueDate": due.isoformat(),
                "SalesTermRef": term,
                "LinkedTxn": [],
                "Deposit": ZERO,
                "AllowOnlineACHPayment": False,
                "AllowOnlineCreditCardPayment": False,
            }
        )
        if paid:
            pay_id = str(len(payments) + 1)
            inv["LinkedTxn"] = [{"TxnId": pay_id, "TxnType": "Payment"}]
            payments.append(
                {
                    **base,
                    "Id": pay_id,
                    "TxnDate": inv["TxnDate"],
                    "TotalAmt": paid,
                    "UnappliedAmt": ZERO,
                    "CustomerRef": inv["CustomerRef"],
                    "CurrencyRef": USD,
                    "ProcessPayment": False,
                    "DepositToAccountRef": {"value": "4", "name": "Undeposited Funds"},
                    "PaymentRefNum": f"CHK{5000 + k}",
                    "Line": [
                        {"Amount": paid, "LinkedTxn": [{"TxnId": inv["Id"], "TxnType": "Invoice"}]}
                    ],
                }
            )
        balances[customer["Id"]] = balances.get(customer["Id"], ZERO) + total - paid
        invoices.append(inv)
    for k in range(max(3, min(n // 4, 5000)) if active else 0):
        customer = active[(k * 11 + 3) % len(active)]
        body, total = lines(k + 5, 1 + k % 2)
        rec = txn_header(k, customer, f"{5001 + k}", (k * 5) % 300)
        rec.update(
            {
                "Id": str(k + 1),
                "Line": body,
                "TotalAmt": total,
                "HomeTotalAmt": total,
                "Balance": ZERO,
                "LinkedTxn": [],
                "PaymentRefNum": f"CC{k + 1:05d}",
                "DepositToAccountRef": {"value": "4", "name": "Undeposited Funds"},
            }
        )
        receipts.append(rec)
    for k in range(max(2, min(n // 10, 2000)) if active else 0):
        customer = active[(k * 13 + 1) % len(active)]
        body, total = lines(k + 9, 1 + k % 3)
        est = txn_header(k, customer, f"{8001 + k}", (k * 2) % 60)
        est.update(
            {
                "Id": str(k + 1),
                "Line": body,
                "TotalAmt": total,
                "HomeTotalAmt": total,
                "TxnStatus": ("Pending", "Accepted", "Rejected")[k % 3],
                "LinkedTxn": [],
                "ExpirationDate": (today + dt.timedelta(days=30)).isoformat(),
            }
        )
        estimates.append(est)

    by_id = {c["Id"]: c for c in all_customers}
    for cid, balance in balances.items():
        customer = by_id[cid]
        customer["Balance"] = money(balance)
        node_: dict | None = customer
        while node_ is not None:
            node_["BalanceWithJobs"] = money(node_["BalanceWithJobs"] + balance)
            parent = node_.get("ParentRef")
            node_ = by_id[parent["value"]] if parent else None

    put("Item", items)
    put("Customer", all_customers)
    put("Invoice", invoices)
    put("Payment", payments)
    put("SalesReceipt", receipts)
    put("Estimate", estimates)
    for entity, start in (
        ("Invoice", 1001 + n_invoices),
        ("SalesReceipt", 5001 + len(receipts)),
        ("Estimate", 8001 + len(estimates)),
    ):
        store.set_setting(f"docnumber.{entity}", start - 1)
    return counts
