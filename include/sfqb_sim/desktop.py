"""The simulation on QuickBooks Desktop (``python -m sfqb_sim --edition desktop``).

- ``Company``: the QuickBooks user's seat at the company file. qbXML goes straight to the
  sandbox company's request processor over HTTP, one session per call, while the Web Connector
  is stopped (QuickBooks takes one session at a time); reads walk QuickBooks' iterators and
  answer the records in the shape sfqb's Desktop adapter gives them (QBO JSON, ``Id`` = ListID
  or TxnID), so the business and the checks read both editions alike.
- ``DesktopBusiness``: the business a QuickBooks Desktop user does between runs (customers and
  sub-customers, phone edits, renames, deactivations, service and inventory items, invoices,
  payments, deletions, partial invoicing of the Sales Orders sfqb made from won
  opportunities); Salesforce's side is the Online simulation's, with Sales Order as a third
  Transaction Type.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Iterator, Sequence
from decimal import Decimal
from xml.sax.saxutils import escape

from lxml import etree

from sfqb import qbo_queries as q
from sfqb.areas.opportunities import marker
from sfqb.hooks.desktop import normalise as n
from sfqb.hooks.desktop import translate as t
from sfqb.hooks.interface import Read, each_in_turn
from sfqb.qbwc import qbxml
from sfqb_sandbox.desktop_rig import qbxml_message

from .business import ACTIONS, Business
from .observe import transaction_items

PAGE = 500
INCOME_ACCOUNT = "Sales"
"""An income account of the Desktop seed (``sfqb_sandbox.qbd.seed.ACCOUNTS``)."""
COGS_ACCOUNT, ASSET_ACCOUNT = "Cost of Goods Sold", "Inventory Asset"


class QuickBooksRefused(RuntimeError):
    """A QuickBooks user's request answered with an error status."""


class Company:
    """qbXML to the company file as a QuickBooks user sends it: ``send`` one request, read with
    ``query_all``/``read`` (sfqb's Desktop normaliser gives the records their QBO shape)."""

    def __init__(self, http, tz: dt.tzinfo = dt.UTC) -> None:
        self.http, self.tz = http, tz

    def send(self, body: str) -> etree._Element:
        """One request (``<CustomerAddRq>...``) in a session of its own; its ``...Rs`` element.
        Raises ``QuickBooksRefused`` with QuickBooks' status unless it succeeded."""
        self.http.open("")
        try:
            answer = self.http.process(qbxml_message(body))
        finally:
            self.http.close()
        rs = _only_rs(answer)
        if rs.get("statusCode") != "0":
            raise QuickBooksRefused(
                f"QuickBooks refused {body[:120]!r}: {rs.get('statusCode')} "
                f"{rs.get('statusMessage')}"
            )
        return rs

    def add(self, kind: str, body: str) -> dict:
        """``<{kind}AddRq>`` with ``body``: the record QuickBooks made, normalised."""
        rs = self.send(f"<{kind}AddRq><{kind}Add>{body}</{kind}Add></{kind}AddRq>")
        return n.normalise(_ret(rs))

    def _rets(self, query: t.Query) -> list[etree._Element]:
        """Every Ret of ``query``, its iterator walked within one session."""
        element = qbxml.request_element(query.request)
        rets: list[etree._Element] = []
        self.http.open("")
        try:
            while True:
                if query.iterate:
                    element.set("iterator", "Start" if not rets else "Continue")
                answer = self.http.process(qbxml.message_set([element], "stopOnError"))
                rs = _only_rs(answer)
                code = int(rs.get("statusCode") or 0)
                if code >= qbxml.ERROR_FROM:
                    raise QuickBooksRefused(f"{element.tag}: {code} {rs.get('statusMessage')}")
                page = [r for r in rs if isinstance(r.tag, str) and r.tag in query.entity.rets]
                rets += page
                remaining = int(rs.get("iteratorRemainingCount") or 0)
                if not query.iterate or not remaining or not page:
                    return rets
                element.set("iteratorID", rs.get("iteratorID") or "")
        finally:
            self.http.close()

    def query_all(
        self,
        entity: str,
        where: Sequence[str] = (),
        *,
        include_inactive: bool = False,
        **_: object,
    ) -> Iterator[dict]:
        """The records of ``entity`` matching ``where`` (what ``DesktopQuickBooks.query_all``
        answers, read without the queue)."""
        query = t.query_request(
            entity, where, include_inactive=include_inactive, tz=self.tz, max_returned=PAGE
        )
        for ret in self._rets(query):
            record = n.normalise(ret)
            if all(n.matches(record, c) for c in query.post):
                yield record

    def query_all_together(self, reads: Sequence[Read]) -> list[Iterator[dict]]:
        """Each read's ``query_all`` in turn (the product's reconciliation reads the user's
        company through this seat: no queue to share)."""
        return each_in_turn(self, reads)

    def read(self, entity: str, id_: str) -> dict:
        (record,) = self.query_all(entity, [q.equals("Id", id_)], include_inactive=True)
        return record


def _ref(tag: str, list_id: str) -> str:
    return f"<{tag}><ListID>{list_id}</ListID></{tag}>"


def _el(tag: str, value: object) -> str:
    return f"<{tag}>{escape(str(value))}</{tag}>"


def _only_rs(answer: str) -> etree._Element:
    """The one response element of a message set of one request."""
    (rs,) = [e for e in qbxml.parse(answer).find("QBXMLMsgsRs") if isinstance(e.tag, str)]
    return rs


def _ret(rs: etree._Element) -> etree._Element:
    return next(r for r in rs if isinstance(r.tag, str) and r.tag.endswith("Ret"))


# The Desktop business: the Online actions that carry over (Salesforce's, and the QuickBooks
# ones rewritten below: voids are TxnVoid, price changes and deactivations item Mods), plus
# sub-customers, inventory items, partial invoicing of Sales Orders, invoices voided before
# any sync saw them, and voids of the Sales Receipts sfqb made.
DESKTOP_ACTIONS = {
    **ACTIONS,
    "qb_void_new_invoice": 1,
    "qb_void_sales_receipt": 1,
    # Salesforce's phone edits are the CustomerMods sfqb sends (the stale EditSequence and
    # the lost answer to a Mod strike those): twice Online's weight.
    "sf_edit_account": 6,
    "qb_new_sub_customer": 3,
    "qb_new_inventory_item": 2,
    "qb_invoice_sales_order": 6,
}
SELLABLE_DESKTOP = ("Service", "NonInventory", "Inventory")


class DesktopBusiness(Business):
    """The business on a QuickBooks Desktop company (``qb`` is a ``Company``)."""

    actions = {k: v for k, v in DESKTOP_ACTIONS.items() if v}
    sellable = SELLABLE_DESKTOP

    def _kind(self) -> str:
        roll = self.rng.random()
        return "Invoice" if roll < 0.5 else "Sales Receipt" if roll < 0.7 else "Sales Order"

    def _touch_stock(self, items: set[str], run: int) -> None:
        """Inventory items whose quantities a transaction changed: due again from ``run``."""
        for item in sorted(items & self.world.stock):
            if self.ledger.get("qb_stock", item) is None:
                self.ledger.add("qb_stock", item, run)
            else:
                self.ledger.touch("qb_stock", item, run)

    # -- customers -------------------------------------------------------------------------
    def _customer_add(self, name: str, parent: str | None = None) -> dict:
        body = (
            _el("Name", name)
            + (_ref("ParentRef", parent) if parent else "")
            + _el("CompanyName", name[:41])
            + "<BillAddress>"
            + _el("Addr1", f"{self.rng.randrange(1, 999)} Main St")
            + "<City>Austin</City><State>TX</State><PostalCode>78701</PostalCode>"
            + "<Country>USA</Country></BillAddress>"
            + _el("Phone", self._phone())
            + _el("Email", f"ap{self.serial}@example.com")
        )
        return self.qb.add("Customer", body)

    def _new_customer(self, run: int, kind: str, parent=None) -> bool:
        name = self._name(kind)[:41]
        customer = self._customer_add(name, parent and parent.key)
        self._made_customer(customer, run, name, **({"parent": parent.key} if parent else {}))
        if parent:
            parent.attrs["children"] = parent.attrs.get("children", 0) + 1
        return True

    def qb_new_customer(self, run: int, now) -> bool:
        return self._new_customer(run, "Customer")

    def qb_new_sub_customer(self, run: int, now) -> bool:
        """A sub-customer (JobStatus None: not a job) of a top-level customer the simulation
        made: it gets an Account under its parent's Account (R-ACC-3)."""
        parents = [r for r in self._mine("qb_customer", active=True) if not r.attrs.get("parent")]
        return bool(parents) and self._new_customer(run, "Branch", self.rng.choice(parents))

    def _qb_update_customer(self, record, changes: dict) -> dict:
        current = self.qb.read("Customer", record.key)
        fields = {
            "Name": changes.get("DisplayName"),
            "IsActive": changes.get("IsActive"),
            "Phone": (changes.get("PrimaryPhone") or {}).get("FreeFormNumber"),
        }
        body = _el("ListID", record.key) + _el("EditSequence", current["SyncToken"])
        body += "".join(_el(k, v) for k, v in fields.items() if v is not None)
        rs = self.qb.send(f"<CustomerModRq><CustomerMod>{body}</CustomerMod></CustomerModRq>")
        return n.normalise(_ret(rs))

    def qb_rename_customer(self, run: int, now) -> bool:
        record = self._customer()
        if record is None:
            return False
        name = self._name("Renamed")[:41]
        self._qb_update_customer(record, {"DisplayName": name})
        self.ledger.touch("qb_customer", record.key, run, name=name)
        return True

    def qb_deactivate_customer(self, run: int, now) -> bool:
        """A customer without open invoices, balance or sub-customers is made inactive."""
        open_for = {r.attrs["customer"] for r in self._mine("qb_invoice", state="open")}
        candidates = [
            r
            for r in self._mine("qb_customer", active=True)
            if r.key not in open_for and not r.attrs.get("children")
        ]
        if not candidates:
            return False
        record = self.rng.choice(candidates)
        current = self.qb.read("Customer", record.key)
        if Decimal(str(current.get("BalanceWithJobs") or current.get("Balance") or 0)):
            return False
        self._qb_update_customer(record, {"IsActive": "false"})
        self.world.accounts = [
            a for a in self.world.accounts if a["External_Account_ID__c"] != record.key
        ]
        record.attrs["active"] = False  # inactive customers are not synced (R-ACC-2): not checked
        return True

    # -- items -----------------------------------------------------------------------------
    def qb_new_item(self, run: int, now) -> bool:
        name = self._name("Service").replace(":", " ")[:31]
        price = Decimal(self.rng.randrange(1000, 90000)) / 100
        body = (
            _el("Name", name)
            + "<SalesOrPurchase>"
            + _el("Price", f"{price:.2f}")
            + f"<AccountRef><FullName>{INCOME_ACCOUNT}</FullName></AccountRef>"
            + "</SalesOrPurchase>"
        )
        item = self.qb.add("ItemService", body)
        self.ledger.add("qb_item", item["Id"], run, price=str(price), active=True)
        return True

    def qb_new_inventory_item(self, run: int, now) -> bool:
        """An Inventory Part with stock on hand: a Product with its price and quantity."""
        name = self._name("Part").replace(":", " ")[:31]
        price = Decimal(self.rng.randrange(500, 20000)) / 100
        on_hand = self.rng.randint(20, 200)
        body = (
            _el("Name", name)
            + _el("SalesPrice", f"{price:.2f}")
            + f"<IncomeAccountRef><FullName>{INCOME_ACCOUNT}</FullName></IncomeAccountRef>"
            + f"<COGSAccountRef><FullName>{COGS_ACCOUNT}</FullName></COGSAccountRef>"
            + f"<AssetAccountRef><FullName>{ASSET_ACCOUNT}</FullName></AssetAccountRef>"
            + _el("QuantityOnHand", on_hand)
        )
        item = self.qb.add("ItemInventory", body)["Id"]
        self.ledger.add("qb_item", item, run, price=str(price), active=True)
        self.world.stock.add(item)
        self._touch_stock({item}, run)
        return True

    def _item_mod(self, item: dict, body: str) -> None:
        kind = item["DesktopType"]
        self.qb.send(
            f"<{kind}ModRq><{kind}Mod>{_el('ListID', item['Id'])}"
            f"{_el('EditSequence', item['SyncToken'])}{body}</{kind}Mod></{kind}ModRq>"
        )

    def qb_item_price(self, run: int, now) -> bool:
        """A new price for an item the simulation made (a sparse item Mod: SalesPrice on an
        Inventory Part, the SalesOrPurchase price otherwise): the Product's standard price
        follows (R-ITM-2)."""
        mine = self._mine("qb_item", active=True)
        if not mine:
            return False
        record = self.rng.choice(mine)
        item = self.qb.read("Item", record.key)
        price = Decimal(self.rng.randrange(500, 90000)) / 100
        if item["DesktopType"] == "ItemInventory":
            body = _el("SalesPrice", f"{price:.2f}")
        else:
            body = f"<SalesOrPurchaseMod>{_el('Price', f'{price:.2f}')}</SalesOrPurchaseMod>"
        self._item_mod(item, body)
        self.ledger.touch("qb_item", record.key, run, price=str(price))
        return True

    def qb_deactivate_item(self, run: int, now) -> bool:
        """An item the simulation made and nobody put on an opportunity since the last run is
        made inactive (IsActive false): its Product is deactivated (R-ITM-1, R-ITM-2); an
        Inventory Part's quantities are no longer checked (R-ITM-4)."""
        mine = [r for r in self._mine("qb_item", active=True) if r.key not in self.world.used_items]
        if not mine:
            return False
        record = self.rng.choice(mine)
        self._item_mod(self.qb.read("Item", record.key), _el("IsActive", "false"))
        self.ledger.touch("qb_item", record.key, run, active=False)
        self.world.items.pop(record.key, None)
        self.world.stock.discard(record.key)
        self.world.entries = [
            e for e in self.world.entries if e["Product2"]["External_Item_ID__c"] != record.key
        ]
        return True

    # -- transactions ----------------------------------------------------------------------
    def _invoice_lines(self) -> str:
        lines = ""
        items = sorted(self.world.items)
        for item_id in self.rng.sample(items, k=min(len(items), self.rng.randint(1, 3))):
            price = Decimal(self.rng.randrange(500, 50000)) / 100
            lines += (
                "<InvoiceLineAdd>"
                + _ref("ItemRef", item_id)
                + _el("Quantity", self.rng.randint(1, 4))
                + _el("Rate", f"{price:.2f}")
                + "</InvoiceLineAdd>"
            )
        return lines

    def _add_invoice(self, customer: str, lines: str) -> dict:
        body = _ref("CustomerRef", customer) + lines
        return self.qb.add("Invoice", body)

    def qb_new_invoice(self, run: int, now) -> bool:
        customers = self._mine("qb_customer", active=True)
        if not customers or not self.world.items:
            return False
        customer = self.rng.choice(customers)
        invoice = self._add_invoice(customer.key, self._invoice_lines())
        self.ledger.add("qb_invoice", invoice["Id"], run, customer=customer.key, state="open")
        self._touch_stock(transaction_items(invoice), run)
        return True

    def _pay(self, invoice: dict, amount: Decimal) -> None:
        """ReceivePaymentAdd of ``amount`` applied to ``invoice``."""
        body = (
            _ref("CustomerRef", invoice["CustomerRef"]["value"])
            + _el("TotalAmount", f"{amount:.2f}")
            + "<AppliedToTxnAdd>"
            + _el("TxnID", invoice["Id"])
            + _el("PaymentAmount", f"{amount:.2f}")
            + "</AppliedToTxnAdd>"
        )
        self.qb.add("ReceivePayment", body)

    def _end_invoice(self, run: int, how: str) -> bool:
        """Deleting an unpaid invoice (TxnDel); its inventory comes back."""
        found = self._open_invoice(unpaid=True)
        if found is None:
            return False
        record, invoice = found
        self.qb.send(
            f"<TxnDelRq><TxnDelType>Invoice</TxnDelType>{_el('TxnID', record.key)}</TxnDelRq>"
        )
        self._touch_stock(transaction_items(invoice), run)
        return self._deleted(run, record)

    def _void(self, kind: str, txn_id: str) -> None:
        self.qb.send(
            f"<TxnVoidRq><TxnVoidType>{kind}</TxnVoidType>{_el('TxnID', txn_id)}</TxnVoidRq>"
        )

    def qb_void_invoice(self, run: int, now) -> bool:
        """A QuickBooks user voids an unpaid invoice (TxnVoid), most often one the sync copied
        already, or one the sync made from a won opportunity: its Invoice__c turns Voided,
        balance 0, not paid (R-INV-1); the stock it took comes back (R-ITM-4). Partial
        invoices of Sales Orders are left alone (the company refuses to void them)."""
        mine = [
            r
            for r in self._mine("qb_invoice", state="open")
            if not r.attrs.get("paid") and not r.attrs.get("linked_opportunity")
        ]
        if not mine:
            return False
        record = self.rng.choice(mine)
        invoice = self.qb.read("Invoice", record.key)
        self._void("Invoice", record.key)
        self.ledger.touch("qb_invoice", record.key, run, state="voided")
        self._touch_stock(transaction_items(invoice), run)
        return True

    def qb_void_new_invoice(self, run: int, now) -> bool:
        """An invoice entered by mistake and voided before any sync saw it: its Invoice__c
        arrives Voided (R-INV-1, R-INV-5: a voided invoice is still an invoice changed after
        the install date); its stock went out and came back."""
        customers = self._mine("qb_customer", active=True)
        if not customers or not self.world.items:
            return False
        customer = self.rng.choice(customers)
        invoice = self._add_invoice(customer.key, self._invoice_lines())
        self._void("Invoice", invoice["Id"])
        self.ledger.add("qb_invoice", invoice["Id"], run, customer=customer.key, state="voided")
        return True

    def qb_void_sales_receipt(self, run: int, now) -> bool:
        """A QuickBooks user voids a Sales Receipt sfqb made from a won opportunity: the
        opportunity keeps it as its transaction (R-OPP-6: only clearing External Transaction
        ID makes a new one) and takes back its zeroed amounts: Amount 0 (R-OPP-7)."""
        opportunities = {
            marker(r.key): r
            for r in self._mine("opportunity", txn_type="Sales Receipt")
            if r.synced_at is not None and not r.attrs.get("voided_receipt")
        }
        receipts = sorted(
            (r["Id"], opportunities[r["PrivateNote"]])
            for r in self.qb.query_all("SalesReceipt")
            if (r.get("PrivateNote") or "") in opportunities
        )
        if not receipts:
            return False
        receipt_id, record = self.rng.choice(receipts)
        receipt = self.qb.read("SalesReceipt", receipt_id)
        self._void("SalesReceipt", receipt_id)
        self.ledger.touch("opportunity", record.key, run, voided_receipt=receipt_id)
        self._touch_stock(transaction_items(receipt), run)
        return True

    # -- Sales Orders ----------------------------------------------------------------------
    def qb_invoice_sales_order(self, run: int, now) -> bool:
        """A QuickBooks user invoices part of a Sales Order sfqb made from a won opportunity:
        some of one open line's quantity (LinkToTxn). Its Invoice__c must link the
        opportunity (R-INV-2, R-QBD-6)."""
        orders = [
            r
            for r in self._mine("opportunity", txn_type="Sales Order")
            if r.synced_at is not None and r.attrs.get("order")
        ]
        self.rng.shuffle(orders)
        for record in orders:
            order = next(
                iter(
                    self.qb.query_all(
                        "SalesOrder", [q.equals("Id", record.attrs["order"])], include_inactive=True
                    )
                ),
                None,
            )
            if order is None or order.get("IsFullyInvoiced") or order.get("IsManuallyClosed"):
                continue
            open_lines = [
                (line, Decimal(str(d.get("Qty") or 0)) - Decimal(str(d.get("Invoiced") or 0)))
                for line in order.get("Line") or []
                for d in [line["SalesItemLineDetail"]]
            ]
            open_lines = [(line, left) for line, left in open_lines if left >= 1]
            if not open_lines:
                continue
            line, left = self.rng.choice(open_lines)
            qty = self.rng.randint(1, int(left))
            item = line["SalesItemLineDetail"]["ItemRef"]["value"]
            invoice = self._add_invoice(
                order["CustomerRef"]["value"],
                "<InvoiceLineAdd>"
                + _ref("ItemRef", item)
                + _el("Quantity", qty)
                + "<LinkToTxn>"
                + _el("TxnID", order["Id"])
                + _el("TxnLineID", line["Id"])
                + "</LinkToTxn></InvoiceLineAdd>",
            )
            self.ledger.add(
                "qb_invoice",
                invoice["Id"],
                run,
                customer=order["CustomerRef"]["value"],
                state="open",
                linked_opportunity=record.key,
            )
            self._touch_stock({item}, run)
            return True
        return False


STOPPED_POLL_MINUTES = 0.02
"""The allowance of a run while the Web Connector is stopped (1.2 s): the run must fail at its
first QuickBooks step naming the last poll (R-QBD-2), not wait out the usual minutes."""


class DesktopSite:
    """The QuickBooks PC of the simulation: the company, sfqb's Web Connector service and the
    Web Connector polling it (``sfqb_sandbox.desktop_rig``), and a QuickBooks user at the
    company file. The Web Connector runs during the sync runs only; between them the user works
    and the checks read (QuickBooks takes one session at a time)."""

    def __init__(self, admin, queue_url: str, rig=None) -> None:
        """``rig``: the service and Web Connector already running on ``queue_url`` (the
        whole-DAG Desktop tests'); by default they are started here."""
        from sfqb_sandbox.desktop_rig import company_of, start_rig

        self.admin, self.queue_url = admin, queue_url
        self.info = admin.connections["quickbooks_desktop"]
        ca_bundle = admin.connections["ca_bundle"]
        self.company = Company(company_of(self.info, ca_bundle), company_tz(self.info))
        self.connect()
        self.rig = rig or start_rig(self.info, queue_url, ca_bundle)
        self.rig.stop()
        self.user = None

    def connect(self, **extra) -> None:
        """The connections ``quickbooks_desktop_default`` (``extra`` added) and
        ``sfqb_qbwc_queue``, as environment variables."""
        import json
        import os

        from sfqb_sandbox.desktop_rig import desktop_connection

        os.environ["AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT"] = json.dumps(
            desktop_connection(self.info, **extra)
        )
        os.environ["AIRFLOW_CONN_SFQB_QBWC_QUEUE"] = json.dumps(
            {"conn_type": "generic", "extra": json.dumps({"url": self.queue_url})}
        )

    def pause(self) -> None:
        """The Web Connector stops (between runs: the user's and the checks' turn)."""
        self.rig.stop()

    def resume(self, timeout: float = 60) -> None:
        """The Web Connector runs again; back once it has polled."""
        import time

        before = self.rig.queue.last_poll()
        self.rig.start()
        deadline = time.monotonic() + timeout
        while self.rig.queue.last_poll() == before:
            if time.monotonic() > deadline:
                raise TimeoutError("the Web Connector emulator did not poll again")
            time.sleep(0.02)

    def before_run(self, rules: list[dict]) -> bool:
        """Arm the Web Connector's faults of ``rules``; start it unless one says it is stopped
        for this run (then the connection allows 1.2 s of silence). True when stopped."""
        from sfqb_sandbox.desktop_rig import UserEditsBeforeMod

        from .faults import WEB_CONNECTOR

        mine = [r for r in rules if r["service"] == WEB_CONNECTOR]
        stale = [r for r in mine if r["kind"] == "stale_edit_sequence"]
        if stale:
            self.user = UserEditsBeforeMod(
                self.rig.connector.company, times=stale[0]["times"], skip=stale[0]["skip"]
            )
            self.rig.connector.company = self.user
        if any(r["kind"] == "stopped" for r in mine):
            self.connect(max_poll_minutes=STOPPED_POLL_MINUTES)
            return True
        self.resume()
        return False

    def after_run(self, stopped: bool) -> list[dict]:
        """Stop the Web Connector, disarm its faults; how often each fired."""
        from .faults import WEB_CONNECTOR

        self.pause()
        fired = []
        if self.user is not None:
            self.rig.connector.company = self.user.company
            fired.append(
                {
                    "service": WEB_CONNECTOR,
                    "kind": "stale_edit_sequence",
                    "path": "CustomerModRq",
                    "fired": len(self.user.edited),
                    "skip": self.user.skip,
                }
            )
            self.user = None
        if stopped:
            self.connect()
            fired.append(
                {"service": WEB_CONNECTOR, "kind": "stopped", "path": "", "fired": 1, "skip": 0}
            )
        return fired

    def close(self) -> None:
        self.rig.close()


@contextlib.contextmanager
def captured_output() -> Iterator[list[str]]:
    """What the process writes to its standard output and error (file descriptors 1 and 2,
    where the task logs of ``dag.test`` go) while inside: the text, in the list yielded, once
    out; it is written on to where it was going then."""
    text: list[str] = []
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield text
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
            sink.seek(0)
            data = sink.read()
            text.append(data.decode("utf-8", "replace"))
            os.write(1, data)


def company_tz(info: dict) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(info["time_zone"])


PREFERENCES = {
    "quickbooks_edition": "desktop",
    "sync_inventory_quantities": True,
    # Salesforce's edits reach QuickBooks as CustomerMods, where a QuickBooks user's edit can
    # make the EditSequence stale (the fault); QuickBooks still wins a pair both sides edited.
    "allow_salesforce_to_modify_quickbooks": True,
}
"""The Variable ``sfqb.preferences`` of a Desktop simulation."""


def desktop_hooks(site: DesktopSite):
    """``hooks()`` of a Desktop simulation: sfqb's Salesforce hook and the user's company."""
    from sfqb.steps.common import salesforce_hook

    return lambda: (salesforce_hook(), site.company)
