"""How the reconciliation reads both systems (a full check, at a low cost): every object
once, QuickBooks invoices once for both checks, Salesforce beside QuickBooks."""

from __future__ import annotations

import threading

import pytest

from sfqb.areas import reconcile as rules
from sfqb.hooks.interface import each_in_turn
from sfqb.steps.reconcile import read_frames

pytestmark = pytest.mark.unit

INVOICE = {
    "Id": "7",
    "DocNumber": "1007",
    "PrivateNote": "sfqb:006A",
    "CustomerRef": {"value": "3"},
    "Balance": 10,
    "TotalAmt": 25,
    "MetaData": {"LastUpdatedTime": "2026-11-26T04:00:00-08:00"},
}


class _Salesforce:
    def __init__(self, done: threading.Event) -> None:
        self.done = done
        self.objects: list[str] = []

    def connect(self):
        self.connected_on = threading.current_thread()

    def query(self, soql_text):
        self.objects.append(soql_text.split(" FROM ")[1].split()[0])
        if self.objects[-1] == "Product2":  # the last Salesforce read
            self.done.set()
        return iter([])


class _QuickBooks:
    """Its first page comes only once Salesforce has answered everything (or after 5 s): read
    one after the other, Salesforce would still be waiting its turn."""

    def __init__(self, sf_done: threading.Event) -> None:
        self.sf_done = sf_done
        self.entities: list[str] = []
        self.sf_read_meanwhile = False

    def query_all(self, entity, where=(), **kwargs):
        if not self.entities:
            self.sf_read_meanwhile = self.sf_done.wait(timeout=5)
        self.entities.append(entity)
        return iter([INVOICE] if entity == "Invoice" else [])

    def query_all_together(self, reads):
        return each_in_turn(self, reads)


def test_given_every_area_on_when_reading_then_quickbooks_invoices_are_read_once_for_both_checks():
    """The reconciliation (R-GEN-8 areas' results compared) at a low cost: the transactions' check
    and the invoices' check share one read of QuickBooks invoices (a page per 1,000, each a
    request unit of the 500 a minute), and both get the invoice."""
    done = threading.Event()
    sf, qb = _Salesforce(done), _QuickBooks(done)
    frames = read_frames(sf, qb, rules.Scope())
    assert qb.entities == ["Customer", "Invoice", "SalesReceipt"]
    assert sf.objects == ["Account", "Opportunity", "Invoice__c", "Product2"]
    assert frames["transactions"].to_dict("records") == [
        {"Id": "7", "DocNumber": "1007", "PrivateNote": "sfqb:006A", "entity": "Invoice"}
    ]
    assert frames["qb_invoices"]["CustomerRef.value"].tolist() == ["3"]
    assert list(frames["qb_invoices"].columns) == [
        "Id",
        "DocNumber",
        "CustomerRef.value",
        "Balance",
        "TotalAmt",
        rules.UPDATED,
    ]


def test_given_both_systems_to_read_when_reading_then_salesforce_is_read_while_quickbooks_pages():
    """For speed, the hourly check's reads overlap (two services, two threads)."""
    done = threading.Event()
    sf, qb = _Salesforce(done), _QuickBooks(done)
    read_frames(sf, qb, rules.Scope())
    assert qb.sf_read_meanwhile


def test_given_salesforce_read_on_a_second_thread_when_reading_then_its_connection_is_made_on_the_tasks_thread():
    """The overlap must not break a deployment: under Airflow 3's task runner a pool
    thread cannot look up a connection kept in the metadata database (`make demo` failed with
    "The conn_id `salesforce_default` isn't defined"), so the Salesforce hook connects on the
    task's own thread before its reads go to the second thread."""
    done = threading.Event()
    sf, qb = _Salesforce(done), _QuickBooks(done)
    read_frames(sf, qb, rules.Scope())
    assert sf.connected_on is threading.current_thread()


def test_given_only_invoices_on_when_reading_then_no_transactions_are_read():
    """A narrowed scope reads only what its checks compare: the invoices' check reads the
    customers too, whose hierarchy says whose Account a project's invoice takes (R-INV-7)."""
    done = threading.Event()
    done.set()  # no Product2 read to wait for
    sf, qb = _Salesforce(done), _QuickBooks(done)
    frames = read_frames(sf, qb, rules.Scope(customers=False, opportunities=False, items=False))
    assert qb.entities == ["Customer", "Invoice"]
    assert sf.objects == ["Account", "Invoice__c"]
    assert set(frames) == {"accounts", "customers", "sf_invoices", "qb_invoices"}
