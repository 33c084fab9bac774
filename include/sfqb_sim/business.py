"""The business the simulator plays on both sandbox servers, one simulated hour at a time.

Everything goes through the project's hooks (real HTTPS, simple-salesforce and
python-quickbooks), as a user's edits in either application would. Every choice comes from one
``random.Random(seed)``, so a seed replays the same business; every record made or changed is
written to the ``Ledger`` with the run that must sync it.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from sfqb import soql

from .ledger import Ledger
from .observe import inventory_part

# Actions and their weights (how often each happens, relative to the others).
ACTIONS = {
    "qb_new_customer": 6,
    "sf_new_account_won": 5,
    "sf_won_opportunity": 6,
    "sf_lost_opportunity": 2,
    "sf_open_opportunity": 2,
    "sf_win_open_opportunity": 3,
    "qb_edit_customer": 4,
    "sf_edit_account": 3,
    "both_edit_customer": 3,
    "qb_rename_customer": 2,
    "qb_deactivate_customer": 1,
    "qb_new_invoice": 6,
    "qb_payment": 5,
    "qb_void_invoice": 1,
    "qb_delete_invoice": 1,
    "qb_new_item": 2,
    "qb_item_price": 2,
    "qb_deactivate_item": 1,
    "sf_edit_opportunity": 2,
}
# Names that have tripped connectors: quotes, accents, %, _, an ampersand.
NAME_STEMS = [
    "Acme",
    "O'Brien & Sons",
    "Café Zoë",
    "100% Widgets",
    "North_Star",
    "Łódź Trading",
    'Blue "Sky" Labs',
    "Zeta",
    "Hôtel Müller",
    "Quinn-Rivera",
]
SELLABLE = ("Service", "NonInventory")


@dataclass
class World:
    """What the generator knows between runs (refreshed from both systems after each run)."""

    items: dict[str, dict] = field(default_factory=dict)  # active sellable QB items by Id
    entries: list[dict] = field(default_factory=list)  # standard PricebookEntries of those
    accounts: list[dict] = field(default_factory=list)  # linked Accounts of active customers
    stock: set[str] = field(default_factory=set)  # inventory items (quantity on hand) by Id
    used_items: set[str] = field(default_factory=set)  # items put on opportunities this interval
    qb_edited: set[str] = field(default_factory=set)  # customers edited in QB this interval


class Business:
    actions = ACTIONS  # action -> weight
    sellable = SELLABLE  # the item types put on invoices and opportunities

    def __init__(self, rng: random.Random, ledger: Ledger, sf, qb, tag: str) -> None:
        self.rng, self.ledger, self.sf, self.qb, self.tag = rng, ledger, sf, qb, tag
        self.world = World()
        self.serial = 0
        self.book = None

    # -- helpers ---------------------------------------------------------------------------
    def _next(self) -> int:
        self.serial += 1
        return self.serial

    def _name(self, kind: str) -> str:
        return f"{self.rng.choice(NAME_STEMS)} {kind} {self.tag}-{self._next()}"

    def _phone(self) -> str:
        return f"(512) 555-{self.rng.randrange(10000):04d}"

    def _request_id(self) -> str:
        return f"sim-{self.tag}-{self._next()}"

    def refresh(self) -> None:
        """Re-read the catalogue and the linked accounts (after a run wrote them)."""
        self.book = self.book or self.sf.standard_pricebook()["Id"]
        items = {
            i["Id"]: i
            for i in self.qb.query_all("Item")
            if i.get("Type") in self.sellable and i.get("Active")
        }
        entries = self.sf.query(
            soql.select(
                "PricebookEntry",
                ["Id", "UnitPrice", "Product2.External_Item_ID__c"],
                where=[
                    soql.eq("Pricebook2Id", self.book),
                    soql.eq("IsActive", True),
                    soql.eq("Product2.IsActive", True),
                    soql.compare("Product2.External_Item_ID__c", "!=", None),
                ],
            )
        )
        self.world.items = items
        self.world.stock = {k for k, i in items.items() if inventory_part(i)}
        self.world.entries = sorted(
            (e for e in entries if e["Product2"]["External_Item_ID__c"] in items),
            key=lambda e: e["Id"],
        )
        active = {c["Id"] for c in self.qb.query_all("Customer") if not c.get("IsProject")}
        accounts = self.sf.query(
            soql.select(
                "Account",
                ["Id", "Name", "External_Account_ID__c"],
                where=soql.compare("External_Account_ID__c", "!=", None),
            )
        )
        self.world.accounts = sorted(
            (a for a in accounts if a["External_Account_ID__c"] in active), key=lambda a: a["Id"]
        )
        self.world.used_items.clear()
        self.world.qb_edited.clear()

    def _mine(self, kind: str, **attrs) -> list:
        return sorted(
            (r for r in self.ledger.of(kind) if all(r.attrs.get(k) == v for k, v in attrs.items())),
            key=lambda r: r.key,
        )

    # -- one hour --------------------------------------------------------------------------
    def hour(self, before_run: int, now: dt.datetime, actions: int) -> list[str]:
        """Play ``actions`` random actions; returns their names (an action that finds nothing
        to act on does nothing)."""
        names, weights = zip(*self.actions.items(), strict=True)
        done = []
        for name in self.rng.choices(names, weights, k=actions):
            self.ledger.tried[name] = self.ledger.tried.get(name, 0) + 1
            if getattr(self, name)(before_run, now):
                self.ledger.note(name)
                done.append(name)
        return done

    # -- QuickBooks customers --------------------------------------------------------------
    def qb_new_customer(self, run: int, now) -> bool:
        name = self._name("Customer")
        customer = self.qb.create(
            "Customer",
            {
                "DisplayName": name,
                "CompanyName": name[:100],
                "PrimaryPhone": {"FreeFormNumber": self._phone()},
                "PrimaryEmailAddr": {"Address": f"ap{self.serial}@example.com"},
                "BillAddr": {
                    "Line1": f"{self.rng.randrange(1, 999)} Main St",
                    "City": "Austin",
                    "CountrySubDivisionCode": "TX",
                    "PostalCode": "78701",
                    "Country": "USA",
                },
            },
            self._request_id(),
        )
        self._made_customer(customer, run, name)
        return True

    def _made_customer(self, customer: dict, run: int, name: str, **facts) -> None:
        self.ledger.add(
            "qb_customer",
            customer["Id"],
            run,
            name=name,
            phone=customer["PrimaryPhone"]["FreeFormNumber"],
            active=True,
            **facts,
        )

    def _customer(self, **attrs):
        mine = self._mine("qb_customer", active=True, **attrs)
        return self.rng.choice(mine) if mine else None

    def _qb_update_customer(self, record, changes: dict) -> dict:
        current = self.qb.read("Customer", record.key)
        return self.qb.update(
            "Customer", {"Id": record.key, "SyncToken": current["SyncToken"], **changes}
        )

    def qb_edit_customer(self, run: int, now) -> bool:
        record = self._customer()
        if record is None:
            return False
        phone = self._phone()
        self._qb_update_customer(record, {"PrimaryPhone": {"FreeFormNumber": phone}})
        self.ledger.touch("qb_customer", record.key, run, phone=phone)
        self.world.qb_edited.add(record.key)
        return True

    def _account_of(self, customer_id: str) -> dict | None:
        rows = list(
            self.sf.query(
                soql.select("Account", ["Id"], where=soql.eq("External_Account_ID__c", customer_id))
            )
        )
        return rows[0] if rows else None

    def _sf_phone(self, customer_id: str, run: int) -> bool:
        account = self._account_of(customer_id)
        if account is None:
            return False
        (result,) = self.sf.update("Account", [{"Id": account["Id"], "Phone": self._phone()}])
        if not result.ok:
            raise RuntimeError(f"sim: Account phone edit failed: {result.errors}")
        record = self.ledger.get("qb_customer", customer_id)
        if record is not None and customer_id not in self.world.qb_edited:
            record.attrs["phone"] = (
                None  # Salesforce's own edit: QuickBooks is not updated (R-ACC-4)
            )
        return True

    def sf_edit_account(self, run: int, now) -> bool:
        """A Salesforce user edits a linked Account's phone (QuickBooks is not changed: modifying
        QuickBooks from Salesforce is off by default, R-ACC-4)."""
        mine = [r for r in self._mine("qb_customer", active=True) if r.changed_before < run]
        return bool(mine) and self._sf_phone(self.rng.choice(mine).key, run)

    def both_edit_customer(self, run: int, now) -> bool:
        """The same customer edited on both sides between two runs: QuickBooks wins (R-ACC-5)."""
        mine = [r for r in self._mine("qb_customer", active=True) if r.changed_before < run]
        if not mine:
            return False
        record = self.rng.choice(mine)
        phone = self._phone()
        first_qb = self.rng.random() < 0.5
        if not first_qb and not self._sf_phone(record.key, run):
            return False
        self._qb_update_customer(record, {"PrimaryPhone": {"FreeFormNumber": phone}})
        self.world.qb_edited.add(record.key)
        self.ledger.touch("qb_customer", record.key, run, phone=phone)
        if first_qb:
            self._sf_phone(record.key, run)
        return True

    def qb_rename_customer(self, run: int, now) -> bool:
        record = self._customer()
        if record is None:
            return False
        name = self._name("Renamed")
        self._qb_update_customer(record, {"DisplayName": name})
        self.ledger.touch("qb_customer", record.key, run, name=name)
        return True

    def qb_deactivate_customer(self, run: int, now) -> bool:
        """A customer without open invoices is made inactive (QBO cannot delete customers)."""
        open_for = {r.attrs["customer"] for r in self._mine("qb_invoice", state="open")}
        candidates = [r for r in self._mine("qb_customer", active=True) if r.key not in open_for]
        if not candidates:
            return False
        record = self.rng.choice(candidates)
        current = self.qb.read("Customer", record.key)
        if Decimal(str(current.get("Balance") or 0)):
            return False
        self.qb.deactivate("Customer", record.key, current["SyncToken"])
        self.world.accounts = [
            a for a in self.world.accounts if a["External_Account_ID__c"] != record.key
        ]
        record.attrs["active"] = False  # inactive customers are not synced (R-ACC-2): not checked
        return True

    # -- Salesforce accounts and opportunities ---------------------------------------------
    def _lines(self, opportunity_id: str) -> list[dict]:
        entries = self.world.entries
        chosen = self.rng.sample(entries, k=min(len(entries), self.rng.randint(1, 3)))
        lines = [
            {
                "OpportunityId": opportunity_id,
                "PricebookEntryId": e["Id"],
                "Quantity": self.rng.randint(1, 5),
                "UnitPrice": float(e["UnitPrice"] or 10),
                "SortOrder": n,
            }
            for n, e in enumerate(chosen, start=1)
        ]
        self.world.used_items.update(e["Product2"]["External_Item_ID__c"] for e in chosen)
        return lines

    def _opportunity(self, account_id: str, stage: str, kind: str | None, now) -> str | None:
        if not self.world.entries:
            return None
        (opp,) = self.sf.create(
            "Opportunity",
            [
                {
                    "Name": self._name("Deal"),
                    "AccountId": account_id,
                    "StageName": stage,
                    "CloseDate": now.date().isoformat(),
                    "Transaction_Type__c": kind,
                    "Pricebook2Id": self.book,
                }
            ],
        )
        if not opp.ok:
            raise RuntimeError(f"sim: Opportunity create failed: {opp.errors}")
        made = self.sf.create("OpportunityLineItem", self._lines(opp.id))
        if not all(r.ok for r in made):
            raise RuntimeError(
                f"sim: OpportunityLineItem create failed: {[r.errors for r in made]}"
            )
        return opp.id

    def _kind(self) -> str:
        return "Invoice" if self.rng.random() < 0.7 else "Sales Receipt"

    def sf_new_account_won(self, run: int, now) -> bool:
        """A new Account with a won opportunity: it becomes a QuickBooks customer (R-ACC-1) and
        the opportunity its transaction, in the same run (R-GEN-8)."""
        if not self.world.entries:
            return False
        name = self._name("Account")
        (account,) = self.sf.create(
            "Account",
            [
                {
                    "Name": name,
                    "Phone": self._phone(),
                    "BillingCity": "Denver",
                    "BillingState": "CO",
                    "BillingPostalCode": "80202",
                }
            ],
        )
        if not account.ok:
            raise RuntimeError(f"sim: Account create failed: {account.errors}")
        kind = self._kind()
        opp = self._opportunity(account.id, "Closed Won", kind, now)
        self.ledger.add("sf_account", account.id, run, name=name)
        self.ledger.add("opportunity", opp, run, eligible=True, txn_type=kind)
        return True

    def _linked_account(self) -> dict | None:
        return self.rng.choice(self.world.accounts) if self.world.accounts else None

    def _account_opportunity(self, run: int, now, stage: str, **facts) -> bool:
        """A new opportunity at ``stage`` on a random linked Account, recorded with ``facts``."""
        account = self._linked_account()
        kind = account and self._kind()
        opp = account and self._opportunity(account["Id"], stage, kind, now)
        if opp:
            self.ledger.add("opportunity", opp, run, txn_type=kind, **facts)
        return bool(opp)

    def sf_won_opportunity(self, run: int, now) -> bool:
        return self._account_opportunity(run, now, "Closed Won", eligible=True)

    def sf_lost_opportunity(self, run: int, now) -> bool:
        return self._account_opportunity(run, now, "Closed Lost", eligible=False)

    def sf_open_opportunity(self, run: int, now) -> bool:
        return self._account_opportunity(run, now, "Prospecting", eligible=False, open=True)

    def sf_win_open_opportunity(self, run: int, now) -> bool:
        mine = self._mine("opportunity", open=True)
        if not mine:
            return False
        record = self.rng.choice(mine)
        (result,) = self.sf.update("Opportunity", [{"Id": record.key, "StageName": "Closed Won"}])
        if not result.ok:
            raise RuntimeError(f"sim: winning an Opportunity failed: {result.errors}")
        self.ledger.touch("opportunity", record.key, run, eligible=True, open=False)
        return True

    def sf_edit_opportunity(self, run: int, now) -> bool:
        """A synced opportunity edited in Salesforce: its Invoice or Sales Receipt is never
        changed or re-sent (R-OPP-6); the duplicate checks would see a second one."""
        mine = [r for r in self._mine("opportunity", eligible=True) if r.synced_at is not None]
        if not mine:
            return False
        record = self.rng.choice(mine)
        (result,) = self.sf.update(
            "Opportunity", [{"Id": record.key, "Description": f"edited {now:%H:%M}"}]
        )
        return result.ok

    # -- QuickBooks invoices and payments --------------------------------------------------
    def qb_new_invoice(self, run: int, now) -> bool:
        customers = [r for r in self._mine("qb_customer", active=True)]
        items = sorted(self.world.items)
        if not customers or not items:
            return False
        customer = self.rng.choice(customers)
        lines = []
        for item_id in self.rng.sample(items, k=min(len(items), self.rng.randint(1, 3))):
            qty = self.rng.randint(1, 4)
            price = Decimal(self.rng.randrange(500, 50000)) / 100
            lines.append(
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": float(qty * price),
                    "SalesItemLineDetail": {
                        "ItemRef": {"value": item_id},
                        "Qty": qty,
                        "UnitPrice": float(price),
                    },
                }
            )
        invoice = self.qb.create(
            "Invoice", {"CustomerRef": {"value": customer.key}, "Line": lines}, self._request_id()
        )
        self.ledger.add("qb_invoice", invoice["Id"], run, customer=customer.key, state="open")
        return True

    def _open_invoice(self, unpaid: bool = False) -> tuple | None:
        mine = self._mine("qb_invoice", state="open")
        if unpaid:
            mine = [r for r in mine if not r.attrs.get("paid")]
        if not mine:
            return None
        record = self.rng.choice(mine)
        return record, self.qb.read("Invoice", record.key)

    def qb_payment(self, run: int, now) -> bool:
        """A partial or full payment of an open invoice."""
        found = self._open_invoice()
        if found is None:
            return False
        record, invoice = found
        balance = Decimal(str(invoice["Balance"]))
        if balance <= 0:
            record.attrs["state"] = "paid"
            return False
        amount = balance if self.rng.random() < 0.5 else (balance / 2).quantize(Decimal("0.01"))
        self._pay(invoice, amount)
        self.ledger.touch(
            "qb_invoice", record.key, run, paid=True, state="paid" if amount == balance else "open"
        )
        return True

    def _pay(self, invoice: dict, amount: Decimal) -> None:
        """A payment of ``amount`` applied to ``invoice``."""
        self.qb.create(
            "Payment",
            {
                "CustomerRef": invoice["CustomerRef"],
                "TotalAmt": float(amount),
                "Line": [
                    {
                        "Amount": float(amount),
                        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
            self._request_id(),
        )

    def _end_invoice(self, run: int, how: str) -> bool:
        found = self._open_invoice(unpaid=True)
        if found is None:
            return False
        record, invoice = found
        if how == "void":
            self.qb.void("Invoice", record.key, invoice["SyncToken"])
            self.ledger.touch("qb_invoice", record.key, run, state="voided")
            return True
        self.qb.delete("Invoice", record.key, invoice["SyncToken"])
        return self._deleted(run, record)

    def _deleted(self, run: int, record) -> bool:
        """An invoice deleted in QuickBooks: its Invoice__c must say so (R-INV-1)."""
        self.ledger.touch("qb_invoice", record.key, run, state="deleted")
        opportunity = record.attrs.get("opportunity")
        if opportunity:
            # R-OPP-6: the user deletes the opportunity's invoice in QuickBooks and clears its
            # External Transaction ID: the next sync makes a new one.
            (result,) = self.sf.update(
                "Opportunity", [{"Id": opportunity, "External_Transaction_ID__c": None}]
            )
            if not result.ok:
                raise RuntimeError(f"sim: clearing External Transaction ID failed: {result.errors}")
            if self.ledger.get("opportunity", opportunity):
                self.ledger.touch("opportunity", opportunity, run)
        return True

    def qb_void_invoice(self, run: int, now) -> bool:
        return self._end_invoice(run, "void")

    def qb_delete_invoice(self, run: int, now) -> bool:
        return self._end_invoice(run, "delete")

    # -- QuickBooks items ------------------------------------------------------------------
    def qb_new_item(self, run: int, now) -> bool:
        name = self._name("Service").replace(":", " ")
        price = Decimal(self.rng.randrange(1000, 90000)) / 100
        item = self.qb.create(
            "Item",
            {
                "Name": name[:100],
                "Type": "Service",
                "UnitPrice": float(price),
                "IncomeAccountRef": {"value": "1"},
            },
            self._request_id(),
        )
        self.ledger.add("qb_item", item["Id"], run, price=str(price), active=True)
        return True

    def qb_item_price(self, run: int, now) -> bool:
        mine = self._mine("qb_item", active=True)
        if not mine:
            return False
        record = self.rng.choice(mine)
        current = self.qb.read("Item", record.key)
        price = Decimal(self.rng.randrange(1000, 90000)) / 100
        self.qb.update(
            "Item", {"Id": record.key, "SyncToken": current["SyncToken"], "UnitPrice": float(price)}
        )
        self.ledger.touch("qb_item", record.key, run, price=str(price))
        return True

    def qb_deactivate_item(self, run: int, now) -> bool:
        """A sim-made item nobody put on an opportunity since the last run is made inactive:
        its Product is deactivated (R-ITM-1)."""
        mine = [r for r in self._mine("qb_item", active=True) if r.key not in self.world.used_items]
        if not mine:
            return False
        record = self.rng.choice(mine)
        current = self.qb.read("Item", record.key)
        self.qb.deactivate("Item", record.key, current["SyncToken"])
        self.ledger.touch("qb_item", record.key, run, active=False)
        self.world.items.pop(record.key, None)
        self.world.entries = [
            e for e in self.world.entries if e["Product2"]["External_Item_ID__c"] != record.key
        ]
        return True
