"""The QuickBooks Desktop demo's own steps (`make demo QB_EDITION=desktop`, scripts/demo.sh).

    python scripts/demo_desktop.py env --sandbox-dir DIR --queue FILE --password PW
    python scripts/demo_desktop.py sales-order --sandbox-dir DIR
    python scripts/demo_desktop.py invoice-part --sandbox-dir DIR --quantity N
    python scripts/demo_desktop.py show --sandbox-dir DIR
    python scripts/demo_desktop.py wait-poll --sandbox-dir DIR [--new]

- ``env``: shell ``export`` lines for the two Desktop connections (docs/quickbooks-desktop.md):
  ``quickbooks_desktop_default`` (the Web Connector's user and password, the sandbox company's
  file, edition and time zone) and ``sfqb_qbwc_queue`` (a SQLite queue file).
- ``sales-order``: a deal won in Salesforce today as a Sales Order: the Product sold (its
  Product Code is a QuickBooks inventory item's name, so first-run matching links them), its
  standard price, and the closed/won Opportunity with one Opportunity Product, for an Account
  that has a QuickBooks customer of the same name.
- ``invoice-part``: a QuickBooks user invoices part of that Sales Order's line: one InvoiceAdd
  linked to the line (LinkToTxn), sent straight to the sandbox company's request processor.
  The Web Connector must be stopped meanwhile: QuickBooks takes one session at a time.
- ``show``: the Sales Order Opportunity, its Invoice__c records (through the
  Invoice_Opportunity_Link__c rows) and the inventory quantities on the Products, as Salesforce
  holds them, with their External IDs.
- ``wait-poll``: wait until the Web Connector has polled sfqb's service (its last poll in the
  queue, the connection ``sfqb_qbwc_queue``); with ``--new``, a poll after the one recorded now.

Salesforce is reached through sfqb's own hook on the sandbox's connection, REQUESTS_CA_BUNDLE
pointing at the sandbox's CA.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import re
import shlex
import sys
import time
from pathlib import Path

USER = "sfqb"
ITEM = "Widget 0002"
"""The inventory item the demo's deal sells (the Desktop seed's, with stock on hand)."""
ACCOUNT = "Acme Dental Inc"
"""An Account whose name is a QuickBooks customer's: first-run matching links them."""
DEAL = "Acme Dental Inc - Widgets on order"
QUANTITY, PRICE = 5, 21.0


def _connections(sandbox_dir: Path) -> dict:
    return json.loads((sandbox_dir / "connections.json").read_text())


def _salesforce(sandbox_dir: Path):
    from sfqb_sandbox.connections import salesforce_connection

    connections = _connections(sandbox_dir)
    os.environ["AIRFLOW_CONN_SALESFORCE_DEFAULT"] = json.dumps(
        salesforce_connection(connections["salesforce"])
    )
    os.environ["REQUESTS_CA_BUNDLE"] = connections["ca_bundle"]
    # The hook logs each write at INFO; the demo prints its own line.
    logging.getLogger("sfqb.hooks").setLevel(logging.WARNING)
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    return SfqbSalesforceHook()


def _one(sf, query: str) -> dict:
    rows = list(sf.query(query))
    if len(rows) != 1:
        raise SystemExit(f"expected one row, found {len(rows)}: {query}")
    return rows[0]


def _created(results) -> str:
    (result,) = results
    if not result.ok:
        raise SystemExit(f"Salesforce refused the write: {result.errors}")
    return result.id


def env(args: argparse.Namespace) -> int:
    info = _connections(args.sandbox_dir)["quickbooks_desktop"]
    desktop = {
        "conn_type": "generic",
        "login": USER,
        "password": args.password,
        "extra": json.dumps(
            {
                "company_file": info["company_file"],
                "edition": info["edition"].lower(),
                "time_zone": info["time_zone"],
            }
        ),
    }
    queue = {"conn_type": "generic", "extra": json.dumps({"url": f"sqlite:///{args.queue}"})}
    for name, conn in (
        ("AIRFLOW_CONN_QUICKBOOKS_DESKTOP_DEFAULT", desktop),
        ("AIRFLOW_CONN_SFQB_QBWC_QUEUE", queue),
    ):
        print(f"export {name}={shlex.quote(json.dumps(conn))}")
    print(f"export SFQB_DEMO_COMPANY_URL={shlex.quote(info['qbxml_url'].removesuffix('/qbxml'))}")
    return 0


def sales_order(args: argparse.Namespace) -> int:
    from sfqb import soql

    sf = _salesforce(args.sandbox_dir)
    book = sf.standard_pricebook()["Id"]
    account = _one(sf, soql.select("Account", ["Id", "Name"], where=soql.eq("Name", ACCOUNT)))
    product = _created(
        sf.create("Product2", [{"Name": ITEM, "ProductCode": ITEM, "IsActive": True}])
    )
    entry = _created(
        sf.create(
            "PricebookEntry",
            [{"Pricebook2Id": book, "Product2Id": product, "UnitPrice": PRICE, "IsActive": True}],
        )
    )
    opp = _created(
        sf.create(
            "Opportunity",
            [
                {
                    "Name": DEAL,
                    "AccountId": account["Id"],
                    "StageName": "Closed Won",
                    "CloseDate": dt.date.today().isoformat(),
                    "Transaction_Type__c": "Sales Order",
                    "Pricebook2Id": book,
                }
            ],
        )
    )
    _created(
        sf.create(
            "OpportunityLineItem",
            [
                {
                    "OpportunityId": opp,
                    "PricebookEntryId": entry,
                    "Quantity": QUANTITY,
                    "UnitPrice": PRICE,
                    "Description": "Widgets, delivered in parts",
                }
            ],
        )
    )
    print(
        f"  Opportunity {opp} {DEAL!r}: Closed Won, Transaction Type Sales Order, "
        f"{QUANTITY} x {ITEM!r} @ {PRICE} (Product {product}, Product Code {ITEM!r})"
    )
    return 0


def _number(value) -> str:
    return "-" if value is None else f"{float(value):g}"


def _deal(sf) -> dict:
    from sfqb import soql

    return _one(
        sf,
        soql.select(
            "Opportunity",
            [
                "Id",
                "Name",
                "Amount",
                "Account.External_Account_ID__c",
                "External_Transaction_ID__c",
                "External_Transaction_Number__c",
            ],
            where=soql.eq("Name", DEAL),
        ),
    )


def _lines(sf, opp_id: str) -> list[dict]:
    from sfqb import soql

    return list(
        sf.query(
            soql.select(
                "OpportunityLineItem",
                [
                    "Id",
                    "Quantity",
                    "Product2.Name",
                    "Product2.External_Item_ID__c",
                    "External_Line_ID__c",
                ],
                where=soql.eq("OpportunityId", opp_id),
            )
        )
    )


def invoice_part(args: argparse.Namespace) -> int:
    from sfqb_sandbox.webconnector import HttpCompany

    connections = _connections(args.sandbox_dir)
    sf = _salesforce(args.sandbox_dir)
    deal = _deal(sf)
    if not deal["External_Transaction_ID__c"]:
        raise SystemExit(f"the Opportunity {deal['Id']} has no Sales Order yet")
    (line,) = _lines(sf, deal["Id"])
    # The adapter's line id: SalesOrder:<the order's TxnID>:<the line's TxnLineID>.
    line_id = line["External_Line_ID__c"].rsplit(":", 1)[-1]
    request = (
        '<?xml version="1.0" encoding="utf-8"?><?qbxml version="13.0"?>'
        '<QBXML><QBXMLMsgsRq onError="stopOnError"><InvoiceAddRq><InvoiceAdd>'
        f"<CustomerRef><ListID>{deal['Account']['External_Account_ID__c']}</ListID></CustomerRef>"
        "<InvoiceLineAdd>"
        f"<ItemRef><ListID>{line['Product2']['External_Item_ID__c']}</ListID></ItemRef>"
        f"<Quantity>{args.quantity}</Quantity>"
        f"<LinkToTxn><TxnID>{deal['External_Transaction_ID__c']}</TxnID>"
        f"<TxnLineID>{line_id}</TxnLineID></LinkToTxn>"
        "</InvoiceLineAdd></InvoiceAdd></InvoiceAddRq></QBXMLMsgsRq></QBXML>"
    )
    info = connections["quickbooks_desktop"]
    company = HttpCompany(info["qbxml_url"].removesuffix("/qbxml"), verify=connections["ca_bundle"])
    company.open("")
    try:
        answer = company.process(request)
    finally:
        company.close()
        company.shutdown()
    if 'statusCode="0"' not in answer:
        raise SystemExit(f"QuickBooks refused the invoice: {answer}")

    def field(name: str) -> str:
        found = re.search(rf"<{name}>([^<]*)</{name}>", answer)
        return found.group(1) if found else "?"

    print(
        f"  QuickBooks Invoice {field('TxnID')} number {field('RefNumber')}: {args.quantity} of "
        f"the {_number(line['Quantity'])} on Sales Order {deal['External_Transaction_Number__c']} "
        f"(line {line_id}), total {field('Subtotal')}"
    )
    return 0


def show(args: argparse.Namespace) -> int:
    from sfqb import soql

    sf = _salesforce(args.sandbox_dir)
    deal = _deal(sf)
    account = _one(
        sf,
        soql.select(
            "Account", ["Id", "Name", "External_Account_ID__c"], where=soql.eq("Name", ACCOUNT)
        ),
    )
    print(
        f"Account {account['Id']} {account['Name']!r} <-> QuickBooks customer "
        f"{account['External_Account_ID__c']}"
    )
    print(
        f"Opportunity {deal['Id']} {deal['Name']!r} (amount {deal['Amount']})\n"
        f"  -> QuickBooks Sales Order {deal['External_Transaction_ID__c']} number "
        f"{deal['External_Transaction_Number__c']}"
    )
    for line in _lines(sf, deal["Id"]):
        print(
            f"     product {line['Product2']['Name']!r} x {_number(line['Quantity'])}  <-> line "
            f"{line['External_Line_ID__c']}"
        )
    links = list(
        sf.query(
            soql.select(
                "Invoice_Opportunity_Link__c",
                [
                    "Invoice__r.Invoice_Number__c",
                    "Invoice__r.External_Invoice_ID__c",
                    "Invoice__r.Outstanding_Balance__c",
                ],
                where=soql.eq("Opportunity__c", deal["Id"]),
            )
        )
    )
    if not links:
        print("  no Invoice__c linked yet")
    for link in links:
        invoice = link["Invoice__r"]
        print(
            f"  <- Invoice__c number {invoice['Invoice_Number__c']} (QuickBooks Invoice "
            f"{invoice['External_Invoice_ID__c']}), balance {invoice['Outstanding_Balance__c']}"
        )
    products = sf.query(
        soql.select(
            "Product2",
            ["Name", "External_Item_ID__c", "Quantity_On_Hand__c", "Quantity_Allocated__c"],
            where=soql.compare("Quantity_On_Hand__c", "!=", None),
        )
    )
    rows = sorted(products, key=lambda p: p["Name"])
    print(f"Inventory quantities on {len(rows)} Products (QuickBooks inventory items):")
    for product in rows:
        mark = "  <- the deal's item" if product["Name"] == ITEM else ""
        print(
            f"  {product['Name']!r} (item {product['External_Item_ID__c']}): on hand "
            f"{_number(product['Quantity_On_Hand__c'])}, on sales orders "
            f"{_number(product['Quantity_Allocated__c'])}{mark}"
        )
    return 0


def wait_poll(args: argparse.Namespace) -> int:
    from sfqb.qbwc import JobQueue

    queue = JobQueue.open()
    try:
        before = queue.last_poll() if args.new else None
        deadline = time.monotonic() + 60
        while (poll := queue.last_poll()) is None or poll == before:
            if time.monotonic() > deadline:
                raise SystemExit("the Web Connector did not poll sfqb's service within 60 s")
            time.sleep(0.2)
    finally:
        queue.close()
    print(f"  the Web Connector polled sfqb's service at {poll.isoformat(timespec='seconds')}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (
        ("env", env),
        ("sales-order", sales_order),
        ("invoice-part", invoice_part),
        ("show", show),
        ("wait-poll", wait_poll),
    ):
        command = sub.add_parser(name)
        command.add_argument("--sandbox-dir", type=Path, required=True)
        command.set_defaults(func=func)
        if name == "env":
            command.add_argument("--queue", type=Path, required=True)
            command.add_argument("--password", required=True)
        if name == "invoice-part":
            command.add_argument("--quantity", type=int, required=True)
        if name == "wait-poll":
            command.add_argument("--new", action="store_true")
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
