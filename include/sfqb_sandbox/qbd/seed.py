"""Deterministic seed companies: tiny (12 customers), small (200), 1k, 10k, 100k, or a count.

Records are built as dicts and bulk-inserted (not through the request handlers), so 100k
customers seed in seconds; they still obey the rules the handlers enforce: FullNames follow the
parent chain, balances equal the open invoice amounts, sales orders know what was invoiced from
them, inventory quantities follow the sales. Layout for N customers (index i):

- customers ``names.company_name(i)``; every 10th has a job (``Job <i>``, with a JobStatus),
  every 25th a sub-customer (``Branch``), every 97th is inactive;
- an invoice for every 3rd customer (two lines); every 2nd of those is paid in full by a
  payment, every 4th partly;
- on Premier and Enterprise, a sales order for every 4th customer (i % 4 == 1; an inventory
  line and a service line), every 2nd of them partly invoiced (half the inventory quantity);
- a sales receipt for every 10th customer (i % 10 == 5).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sfqb_sandbox.common import names

from .store import Store

SIZES = {
    "empty": 0,
    "tiny": 12,
    "small": 200,
    "1k": 1000,
    "medium": 1000,
    "10k": 10_000,
    "large": 10_000,
    "100k": 100_000,
}
ACCOUNTS = (
    "Sales",
    "Cost of Goods Sold",
    "Inventory Asset",
    "Undeposited Funds",
    "Accounts Receivable",
    "Checking",
    "Furniture and Equipment",
)
TERMS = (("Due on receipt", 0), ("Net 15", 15), ("Net 30", 30), ("Net 60", 60))
REPS = (("JD", "Jordan Diaz"), ("AK", "Alex Kim"), ("MR", "Morgan Reyes"), ("TS", "Taylor Singh"))
CLASSES = ("Online", "Retail", "Wholesale")
SHIP = ("DHL", "FedEx", "UPS")
JOB_STATUS = ("Awarded", "InProgress", "Pending", "Closed", "NotAwarded", "None")


def customer_count(size: str) -> int:
    size = size.split(",")[0].strip()
    if size in SIZES:
        return SIZES[size]
    try:
        return int(size)
    except ValueError:
        raise ValueError(
            f"unknown seed size {size!r}: one of {sorted(SIZES)} or a number"
        ) from None


class _Ids:
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch
        self.lists = 0
        self.txns = 0

    def list_id(self) -> str:
        self.lists += 1
        return f"{0x80000000 + self.lists:X}-{self.epoch}"

    def txn_id(self) -> str:
        self.txns += 1
        return f"{self.txns:X}-{self.epoch}"


def seed_company(store: Store, size: str, now: float, *, edition: str) -> dict[str, int]:
    """Fill an empty company; returns the counts per kind."""
    n = customer_count(size)
    start = int(now) - 86400 * 120  # the company's history begins 120 days back
    ids = _Ids(int(now))
    stamp = {"TimeCreated": float(start), "TimeModified": float(start), "EditSequence": str(start)}

    def listed(kind: str, name: str, **fields: Any) -> dict:
        return {
            "ListID": ids.list_id(),
            "Name": name,
            "FullName": name,
            "IsActive": True,
            **stamp,
            **fields,
        }

    accounts = {name: listed("Account", name) for name in ACCOUNTS}
    store.bulk_put("Account", accounts.values())
    terms = [listed("StandardTerms", name, StdDueDays=str(days)) for name, days in TERMS]
    store.bulk_put("StandardTerms", terms)
    people = [listed("OtherName", full) for _, full in REPS]
    store.bulk_put("OtherName", people)
    reps = [
        {
            "ListID": ids.list_id(),
            "Initial": ini,
            "FullName": ini,
            "IsActive": True,
            "SalesRepEntityRef": person["ListID"],
            **stamp,
        }
        for (ini, _), person in zip(REPS, people, strict=True)
    ]
    store.bulk_put("SalesRep", reps)
    classes = [listed("Class", name, Sublevel=0) for name in CLASSES]
    store.bulk_put("Class", classes)
    store.bulk_put("ShipMethod", [listed("ShipMethod", name) for name in SHIP])

    acct = {k: v["ListID"] for k, v in accounts.items()}
    items: list[dict] = []

    def item(type_: str, name: str, **fields: Any) -> dict:
        record = listed("Item", name, Type=type_, Sublevel=0, **fields)
        items.append(record)
        return record

    services = [
        item(
            "ItemService",
            name,
            SalesOrPurchase={
                "Desc": f"{name} (per hour)",
                "Price": price,
                "AccountRef": acct["Sales"],
            },
        )
        for name, price in (
            ("Consulting", "150.00"),
            ("Installation", "95.00"),
            ("Support Plan", "49.00"),
        )
    ]
    parts = []
    for k in range(max(12, n // 100)):
        parts.append(
            item(
                "ItemInventory",
                f"Widget {k + 1:04d}",
                SalesDesc=f"Widget model {k + 1}",
                SalesPrice=f"{20 + k % 40}.00",
                IncomeAccountRef=acct["Sales"],
                PurchaseCost=f"{8 + k % 20}.00",
                COGSAccountRef=acct["Cost of Goods Sold"],
                AssetAccountRef=acct["Inventory Asset"],
                QuantityOnHand=str(500 + 50 * (k % 10)),
                QuantityOnSalesOrder="0",
                QuantityOnOrder="0",
                AverageCost=f"{8 + k % 20}.00",
            )
        )
    item(
        "ItemNonInventory",
        "Shipping Box",
        SalesOrPurchase={"Desc": "Shipping box", "Price": "2.50", "AccountRef": acct["Sales"]},
    )
    item(
        "ItemOtherCharge",
        "Freight",
        SalesOrPurchase={"Desc": "Freight", "Price": "25.00", "AccountRef": acct["Sales"]},
    )
    item(
        "ItemDiscount",
        "Loyalty Discount",
        ItemDesc="10% loyalty discount",
        DiscountRatePercent="10",
        AccountRef=acct["Sales"],
    )
    item(
        "ItemFixedAsset",
        "Delivery Van",
        AcquiredAs="New",
        PurchaseDesc="Delivery van",
        PurchaseDate="2020-01-15",
        PurchaseCost="32000.00",
        AssetAccountRef=acct["Furniture and Equipment"],
    )
    item(
        "ItemInventoryAssembly",
        "Widget Kit",
        SalesDesc="Two widgets in a box",
        SalesPrice="55.00",
        IncomeAccountRef=acct["Sales"],
        COGSAccountRef=acct["Cost of Goods Sold"],
        AssetAccountRef=acct["Inventory Asset"],
        QuantityOnHand="40",
        QuantityOnSalesOrder="0",
        QuantityOnOrder="0",
        AverageCost="20.00",
        ItemInventoryAssemblyLine=[{"ItemRef": parts[0]["ListID"], "Quantity": "2"}],
    )
    item(
        "ItemGroup",
        "Starter Bundle",
        ItemDesc="Installation and a widget",
        IsPrintItemsInGroup=True,
        ItemGroupLine=[
            {"ItemRef": services[1]["ListID"], "Quantity": "1"},
            {"ItemRef": parts[0]["ListID"], "Quantity": "1"},
        ],
    )

    customers: dict[str, dict] = {}
    order: list[str] = []
    for i in range(n):
        given, family = names.person(i)
        city, state, zip_prefix = names._CITIES[i % len(names._CITIES)]
        name = names.company_name(i)
        created = float(start + (i * 7) % (86400 * 100))
        record = {
            "ListID": ids.list_id(),
            "Name": name,
            "FullName": name,
            "IsActive": i % 97 != 13,
            "Sublevel": 0,
            "TimeCreated": created,
            "TimeModified": created,
            "EditSequence": str(int(created)),
            "CompanyName": name,
            "FirstName": given[:25],
            "LastName": family[:25],
            "BillAddress": {
                "Addr1": f"{100 + i % 9000} {names._STREETS[i % len(names._STREETS)]}",
                "City": city,
                "State": state,
                "PostalCode": f"{zip_prefix}{i % 100:02d}",
                "Country": "US",
            },
            "Phone": names.phone(i),
            "Email": names.email(i),
            "Contact": f"{given} {family}"[:41],
            "TermsRef": terms[i % len(terms)]["ListID"],
            "SalesRepRef": reps[i % len(reps)]["ListID"],
            "CreditLimit": f"{5000 + 1000 * (i % 20)}.00",
            "Balance": "0.00",
            "TotalBalance": "0.00",
        }
        customers[record["ListID"]] = record
        order.append(record["ListID"])
        if i % 10 == 0:
            job = {
                **record,
                "ListID": ids.list_id(),
                "Name": f"Job {i}",
                "FullName": f"{name}:Job {i}",
                "Sublevel": 1,
                "ParentRef": record["ListID"],
                "JobStatus": JOB_STATUS[(i // 10) % len(JOB_STATUS)],
                "JobDesc": "Fit-out",
                "JobStartDate": dt.date.fromtimestamp(created).isoformat(),
                "IsActive": True,
            }
            job.pop("CreditLimit")
            customers[job["ListID"]] = job
        if i % 25 == 0:
            branch = {
                **record,
                "ListID": ids.list_id(),
                "Name": "Branch",
                "FullName": f"{name}:Branch",
                "Sublevel": 1,
                "ParentRef": record["ListID"],
                "IsActive": True,
            }
            customers[branch["ListID"]] = branch

    invoices, orders, receipts, payments = [], [], [], []
    number = {"Invoice": 1000, "SalesOrder": 5000, "SalesReceipt": 8000, "ReceivePayment": 0}
    txn_number = 0
    qoso: dict[str, Decimal] = {}
    qoh: dict[str, Decimal] = {p["ListID"]: Decimal(p["QuantityOnHand"]) for p in parts}

    def txn(kind: str, customer: dict, day: int, lines: list[dict]) -> dict:
        nonlocal txn_number
        txn_number += 1
        number[kind] += 1
        created = float(start + day * 86400 + txn_number % 3600)
        date = dt.date.fromtimestamp(created).isoformat()
        subtotal = sum((Decimal(line["Amount"]) for line in lines), Decimal("0.00"))
        record = {
            "TxnID": ids.txn_id(),
            "TxnNumber": txn_number,
            "TxnDate": date,
            "CustomerRef": customer["ListID"],
            "TimeCreated": created,
            "TimeModified": created,
            "EditSequence": str(int(created)),
            "RefNumber": str(number[kind]),
            "Lines": lines,
            "Subtotal": f"{subtotal:.2f}",
            "SalesTaxPercentage": "0",
            "SalesTaxTotal": "0.00",
            "BillAddress": customer["BillAddress"],
            "SalesRepRef": customer["SalesRepRef"],
        }
        return record

    def line(item: dict, quantity: int, rate: str) -> dict:
        return {
            "TxnLineID": ids.txn_id(),
            "ItemRef": item["ListID"],
            "Desc": item.get("SalesDesc") or item["SalesOrPurchase"]["Desc"],
            "Quantity": str(quantity),
            "Rate": rate,
            "Amount": f"{Decimal(rate) * quantity:.2f}",
        }

    for i, list_id in enumerate(order):
        customer = customers[list_id]
        part = parts[i % len(parts)]
        service = services[i % len(services)]
        day = 10 + (i * 13) % 100
        if i % 3 == 0:
            inv = txn(
                "Invoice",
                customer,
                day,
                [
                    line(service, 1 + i % 4, service["SalesOrPurchase"]["Price"]),
                    line(part, 1 + i % 5, part["SalesPrice"]),
                ],
            )
            total = Decimal(inv["Subtotal"])
            qoh[part["ListID"]] -= 1 + i % 5
            paid = (
                total
                if i % 6 == 0
                else (total / 2).quantize(Decimal("0.01"))
                if i % 12 == 3
                else Decimal(0)
            )
            inv.update(
                AppliedAmount=f"{-paid:.2f}",
                BalanceRemaining=f"{total - paid:.2f}",
                IsPaid=paid == total,
                LinkedTxn=[],
                DueDate=inv["TxnDate"],
                TermsRef=customer["TermsRef"],
            )
            if paid:
                pay = txn("ReceivePayment", customer, day + 5, [])
                del (
                    pay["Lines"],
                    pay["Subtotal"],
                    pay["SalesTaxPercentage"],
                    pay["SalesTaxTotal"],
                    pay["BillAddress"],
                    pay["SalesRepRef"],
                )
                pay.update(
                    TotalAmount=f"{paid:.2f}",
                    UnusedPayment="0.00",
                    UnusedCredits="0.00",
                    ARAccountRef=acct["Accounts Receivable"],
                    DepositToAccountRef=acct["Undeposited Funds"],
                    AppliedToTxnRet=[
                        {"TxnID": inv["TxnID"], "TxnType": "Invoice", "Amount": f"{paid:.2f}"}
                    ],
                )
                inv["LinkedTxn"].append(
                    {
                        "TxnID": pay["TxnID"],
                        "TxnType": "ReceivePayment",
                        "TxnDate": pay["TxnDate"],
                        "RefNumber": pay["RefNumber"],
                        "LinkType": "AMTTYPE",
                        "Amount": f"{-paid:.2f}",
                    }
                )
                payments.append(pay)
            _balance(customers, list_id, total - paid)
            invoices.append(inv)
        if i % 4 == 1 and edition != "Pro":
            so = txn(
                "SalesOrder",
                customer,
                day,
                [
                    line(part, 4 + i % 6, part["SalesPrice"]),
                    line(service, 2, service["SalesOrPurchase"]["Price"]),
                ],
            )
            for so_line in so["Lines"]:
                so_line.update(Invoiced="0", IsManuallyClosed=False)
            so.update(
                TotalAmount=so["Subtotal"],
                IsManuallyClosed=False,
                IsFullyInvoiced=False,
                LinkedTxn=[],
                DueDate=so["TxnDate"],
            )
            ordered = 4 + i % 6
            if i % 8 == 1:  # partly invoiced: half the widgets
                half = ordered // 2
                so["Lines"][0]["Invoiced"] = str(half)
                inv_line = line(part, half, part["SalesPrice"])
                inv = txn("Invoice", customer, day + 3, [inv_line])
                amount = Decimal(inv["Subtotal"])
                inv.update(
                    AppliedAmount="0.00",
                    BalanceRemaining=inv["Subtotal"],
                    IsPaid=False,
                    DueDate=inv["TxnDate"],
                    LinkedTxn=[
                        {
                            "TxnID": so["TxnID"],
                            "TxnType": "SalesOrder",
                            "TxnDate": so["TxnDate"],
                            "RefNumber": so["RefNumber"],
                            "LinkType": "QUANTYPE",
                            "Amount": f"{amount:.2f}",
                        }
                    ],
                )
                so["LinkedTxn"].append(
                    {
                        "TxnID": inv["TxnID"],
                        "TxnType": "Invoice",
                        "TxnDate": inv["TxnDate"],
                        "RefNumber": inv["RefNumber"],
                        "LinkType": "QUANTYPE",
                        "Amount": f"{amount:.2f}",
                    }
                )
                qoh[part["ListID"]] -= half
                _balance(customers, list_id, amount)
                invoices.append(inv)
                ordered -= half
            qoso[part["ListID"]] = qoso.get(part["ListID"], Decimal(0)) + ordered
            orders.append(so)
        if i % 10 == 5:
            sr = txn("SalesReceipt", customer, day, [line(part, 1, part["SalesPrice"])])
            sr.update(TotalAmount=sr["Subtotal"], DepositToAccountRef=acct["Undeposited Funds"])
            qoh[part["ListID"]] -= 1
            receipts.append(sr)
    for part in parts:
        part["QuantityOnHand"] = str(qoh[part["ListID"]])
        part["QuantityOnSalesOrder"] = str(qoso.get(part["ListID"], Decimal(0)))
    store.bulk_put("Item", items)
    store.bulk_put("Customer", customers.values())
    for kind, rows in (
        ("Invoice", invoices),
        ("SalesOrder", orders),
        ("SalesReceipt", receipts),
        ("ReceivePayment", payments),
    ):
        store.bulk_put(kind, rows)
    store.set_setting("next_list_id", ids.lists + 1)
    store.set_setting("next_txn_id", ids.txns + 1)
    store.set_setting("txn_number", txn_number + 1)
    for kind, last in number.items():
        store.set_setting(f"ref.{kind}", last + 1)
    return {kind: len(table) for kind, table in store.objects.items()}


def _balance(customers: dict[str, dict], list_id: str, amount: Decimal) -> None:
    record = customers[list_id]
    record["Balance"] = f"{Decimal(record['Balance']) + amount:.2f}"
    current: str | None = list_id
    while current:
        node = customers[current]
        node["TotalBalance"] = f"{Decimal(node['TotalBalance']) + amount:.2f}"
        current = node.get("ParentRef")
