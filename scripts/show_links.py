"""Print a few records sfqb linked, side by side in both systems (the demo's proof).

    python scripts/show_links.py

Reads through the same hooks and Airflow connections the DAGs use (run where `airflow`
commands work, with REQUESTS_CA_BUNDLE set for the sandbox: scripts/demo.sh does both).
Shows an Account and its QuickBooks customer, a won Opportunity and its QuickBooks transaction
(with their lines), and a Salesforce Invoice and its QuickBooks balance when invoices are synced.
"""

from __future__ import annotations

import os
import sys

ENTITY = {"Invoice": "Invoice", "Sales Receipt": "SalesReceipt"}


def _first(rows):
    return next(iter(sorted(rows, key=lambda r: r["Id"])), None)


def _export_connections(*conn_ids: str) -> None:
    """Outside a task the Task SDK reads connections from the environment only: copy the ones
    the hooks need from the metadata database (where scripts/sync.sh put them)."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session

    with create_session() as session:
        for conn in session.query(Connection).filter(Connection.conn_id.in_(conn_ids)):
            os.environ.setdefault(f"AIRFLOW_CONN_{conn.conn_id.upper()}", conn.as_json())


def main() -> int:
    _export_connections("salesforce_default", "quickbooks_default")
    from sfqb import soql
    from sfqb.hooks.quickbooks import QuickBooksHook
    from sfqb.hooks.salesforce import SfqbSalesforceHook

    sf, qb = SfqbSalesforceHook(), QuickBooksHook()
    linked = soql.compare("External_Account_ID__c", "!=", None)
    account = _first(
        sf.query(
            soql.select(
                "Account",
                ["Id", "Name", "Phone", "BillingCity", "External_Account_ID__c"],
                where=linked,
            )
        )
    )
    if account is None:
        print("no linked account yet: run sfqb_sync first")
        return 1
    customer = qb.read("Customer", account["External_Account_ID__c"])
    print(
        f"Account {account['Id']} {account['Name']!r} (phone {account['Phone']}, "
        f"{account['BillingCity']})"
    )
    print(
        f"  <-> QuickBooks customer {customer['Id']} {customer['DisplayName']!r} "
        f"(phone {(customer.get('PrimaryPhone') or {}).get('FreeFormNumber')}, "
        f"{(customer.get('BillAddr') or {}).get('City')})"
    )

    opp = _first(
        sf.query(
            soql.select(
                "Opportunity",
                [
                    "Id",
                    "Name",
                    "Amount",
                    "Transaction_Type__c",
                    "External_Transaction_ID__c",
                    "External_Transaction_Number__c",
                ],
                where=soql.compare("External_Transaction_ID__c", "!=", None),
            )
        )
    )
    if opp is not None:
        entity = ENTITY.get(opp["Transaction_Type__c"], "Invoice")
        txn = qb.read(entity, opp["External_Transaction_ID__c"])
        print(
            f"Opportunity {opp['Id']} {opp['Name']!r} ({opp['Transaction_Type__c']}, amount "
            f"{opp['Amount']})"
        )
        print(
            f"  -> QuickBooks {entity} {txn['Id']} number {txn.get('DocNumber')} total "
            f"{txn.get('TotalAmt')}"
        )
        products = sf.query(
            soql.select(
                "OpportunityLineItem",
                ["Product2.Name", "Quantity", "UnitPrice", "External_Line_ID__c"],
                where=soql.eq("OpportunityId", opp["Id"]),
            )
        )
        for product in products:
            print(
                f"     product {product['Product2']['Name']!r} x {product['Quantity']} @ "
                f"{product['UnitPrice']}  <-> line {product['External_Line_ID__c']}"
            )

    invoice = _first(
        sf.query(
            soql.select(
                "Invoice__c",
                [
                    "Id",
                    "Name",
                    "Invoice_Number__c",
                    "Outstanding_Balance__c",
                    "Is_Paid__c",
                    "External_Invoice_ID__c",
                ],
                where=soql.compare("External_Invoice_ID__c", "!=", None),
            )
        )
    )
    if invoice is not None:
        qb_invoice = qb.read("Invoice", invoice["External_Invoice_ID__c"])
        print(
            f"Invoice__c {invoice['Id']} number {invoice['Invoice_Number__c']} balance "
            f"{invoice['Outstanding_Balance__c']} paid {invoice['Is_Paid__c']}"
        )
        print(
            f"  <- QuickBooks Invoice {qb_invoice['Id']} balance {qb_invoice.get('Balance')} "
            f"of {qb_invoice.get('TotalAmt')}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
