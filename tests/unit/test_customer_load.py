"""How the customers load groups its Salesforce writes into calls and overlaps them with the
QuickBooks batch (R-GEN-3, issue 14)."""

from __future__ import annotations

import datetime as dt
import json
import threading

import pandas as pd
import pytest

from sfqb.areas.customers import ACCOUNT_EXT_ID, CONTACT_EXT_ID
from sfqb.hooks.errors import TransientError
from sfqb.hooks.quickbooks import BatchResult
from sfqb.hooks.salesforce import CollectionResult
from sfqb.outcomes import empty_skips
from sfqb.steps.customers import load, upsert_waves

pytestmark = pytest.mark.unit


def _accounts(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({ACCOUNT_EXT_ID: [r[0] for r in rows], "parent_ext_id": [r[1] for r in rows]})


def test_given_changed_customers_at_mixed_levels_whose_parents_are_not_written_when_grouped_then_one_wave():
    """R-ACC-3 / R-GEN-3: sub-customers whose parent Account exists already go in the same call
    as top-level customers (was one call per QuickBooks level)."""
    waves = upsert_waves(_accounts([("1", None), ("7", "3"), ("9", "8"), ("2", None)]))
    assert list(waves) == [0, 0, 0, 0]


def test_given_a_new_parent_and_its_descendants_when_grouped_then_each_follows_its_parent():
    """R-ACC-3: a sub-customer whose parent is upserted in the same load waits for it."""
    waves = upsert_waves(_accounts([("30", "20"), ("20", "10"), ("10", None), ("11", "99"), ("21", "10")]))
    assert list(waves) == [2, 1, 0, 0, 1]


class _Clock:
    def now(self):
        return dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)


class _QuickBooks:
    """A batch that, like a throttled one, is still waiting while the Salesforce side works:
    it answers once the Account upserts are done (or gives up after 5 s)."""

    clock = _Clock()

    def __init__(self, upserted: threading.Event) -> None:
        self.upserted = upserted
        self.saw_upserts_while_sending = False

    def batch(self, ops, request_id=None):
        self.saw_upserts_while_sending = self.upserted.wait(timeout=5)
        return [BatchResult(key=op.key, ok=True, entity={
            "Id": "501", "DisplayName": op.payload["DisplayName"],
            "MetaData": {"LastUpdatedTime": "2026-11-26T04:00:00-08:00"}}) for op in ops]


class _Salesforce:
    def __init__(self, upserted: threading.Event, fail_upserts: bool = False) -> None:
        self.upserted = upserted
        self.fail_upserts = fail_upserts
        self.calls: list[tuple[str, str]] = []

    def upsert(self, sobject, records, ext_id_field):
        self.calls.append(("upsert", sobject))
        self.upserted.set()
        if self.fail_upserts:
            raise TransientError("Salesforce is down")
        return [CollectionResult(key=r[ext_id_field], ok=True, id=f"001N{r[ext_id_field]}", created=True)
                for r in records]

    def update(self, sobject, records):
        self.calls.append(("update", sobject))
        return [CollectionResult(key=r["Id"], ok=True, id=r["Id"]) for r in records]


class _State:
    def __init__(self) -> None:
        self.saved: list[dict] = []

    def pending_creates(self, area):
        return self.saved[-1] if self.saved else {}

    def save_pending_creates(self, area, creates, run_id=None):
        self.saved.append(dict(creates))


def _plan(contact: str | None = None) -> dict:
    """One Account to create in QuickBooks (with its billing ``contact``), one QuickBooks
    customer to copy to Salesforce with a new billing Contact."""
    creates = pd.DataFrame({"key": ["001A"], "payload": [json.dumps({"DisplayName": "Acme"})],
                            "billing_contact_id": [contact]})
    contacts = pd.DataFrame({CONTACT_EXT_ID: ["77"], ACCOUNT_EXT_ID: ["77"], "contact_id": [None],
                             "LastName": ["Zeta"], "Last_Sync_Date__c": ["2026-11-26T11:00:00.000Z"]})
    accounts = pd.DataFrame({ACCOUNT_EXT_ID: ["77"], "parent_ext_id": [None], "Name": ["Zeta LLC"],
                             "Last_Sync_Date__c": ["2026-11-26T11:00:00.000Z"]})
    return {"customer_creates": creates, "customer_updates": creates.iloc[0:0].assign(Id=[], SyncToken=[]),
            "clear_sync_me": [], "accounts": accounts, "contacts": contacts,
            "skips": empty_skips(), "notes": pd.DataFrame({"key": [], "reason": []}), "limits": None}


RUN = {"run_id": "r1", "preferences": {}}


def test_given_a_throttled_quickbooks_batch_when_loading_then_the_account_upserts_go_out_meanwhile():
    """Issue 14 (initial sync near the throttling bound) without breaking R-GEN-3/R-ACC-8: the
    QuickBooks -> Salesforce Account upserts and new billing Contacts need nothing the
    QuickBooks creates return, so they are sent while the batch waits; the links the creates
    return (Account, and its billing Contact) are recorded after."""
    upserted = threading.Event()
    qb, sf, state = _QuickBooks(upserted), _Salesforce(upserted), _State()
    report = load(RUN, _plan(contact="003A"), sf=sf, qb=qb, state=state)
    assert qb.saw_upserts_while_sending  # one after the other, the batch would have waited 5 s
    assert sf.calls == [("upsert", "Account"), ("upsert", "Contact"), ("update", "Account"), ("update", "Contact")]
    assert report["created"] == 3 and report["failed"] == 0
    assert state.saved[-1] == {}  # the create's link is recorded: nothing left to adopt


def test_given_account_upserts_that_fail_outright_when_loading_then_the_links_are_recorded_first():
    """R-GEN-3: a Salesforce outage on the upsert thread fails the load, but only after the
    QuickBooks creates' links are in Salesforce, so the next run does not create them again."""
    upserted = threading.Event()
    qb, sf, state = _QuickBooks(upserted), _Salesforce(upserted, fail_upserts=True), _State()
    with pytest.raises(TransientError, match="down"):
        load(RUN, _plan(), sf=sf, qb=qb, state=state)
    assert sf.calls == [("upsert", "Account"), ("update", "Account")]
    assert state.saved[-1] == {}
