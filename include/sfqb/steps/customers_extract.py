"""Extract for the customer area: hooks -> the normalised frames ``CustomerInputs`` holds.

Salesforce: the Accounts changed in the window, plus those whose opportunity was won or whose
billing Contact changed in it, plus every Account a user ticked Sync_Me__c on (R-GEN-9); for
each, whether it has a closed/won opportunity (R-ACC-1) and its billing Contact (R-ACC-6).
QuickBooks: the Customers changed in the window (inactive included, so deactivations are seen),
the current state of the records linked to the changed ones on the other side, and the terms.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from sfqb import soql
from sfqb.areas.customers import ACCOUNT_EXT_ID, CONTACT_EXT_ID
from sfqb.frames import add_address_columns, isin, records_frame, text_numbers
from sfqb.windows import Window

log = logging.getLogger(__name__)

ACCOUNT_FIELDS = [
    "Id",
    "Name",
    "Phone",
    "Fax",
    "Website",
    "BillingStreet",
    "BillingCity",
    "BillingState",
    "BillingPostalCode",
    "BillingCountry",
    "ShippingStreet",
    "ShippingCity",
    "ShippingState",
    "ShippingPostalCode",
    "ShippingCountry",
    "Terms__c",
    ACCOUNT_EXT_ID,
    "Sync_Me__c",
    "ParentId",
    "Parent.External_Account_ID__c",
    "Billing_Address_Block__c",
    "Shipping_Address_Block__c",
    "Last_Sync_Date__c",
    "SystemModstamp",
]
CONTACT_FIELDS = [
    "Id",
    "AccountId",
    "FirstName",
    "LastName",
    "Email",
    "Phone",
    "MailingStreet",
    "MailingCity",
    "MailingState",
    "MailingPostalCode",
    "MailingCountry",
    "External_Contact_ID__c",
    "LastModifiedDate",
]
QB_CUSTOMER_COLUMNS = [
    "Id",
    "SyncToken",
    "DisplayName",
    "Active",
    "Job",
    "IsProject",
    "ParentRef.value",
    "Level",
    "GivenName",
    "FamilyName",
    "CompanyName",
    "PrimaryEmailAddr.Address",
    "PrimaryPhone.FreeFormNumber",
    "Fax.FreeFormNumber",
    "WebAddr.URI",
    "SalesTermRef.value",
    "SalesTermRef.name",
    "MetaData.LastUpdatedTime",
    # QuickBooks Desktop only (R-ACC-3, R-ACC-9): empty on Online.
    "JobStatus",
    "CreditLimit",
    "SalesRepRef.value",
    "SalesRepRef.name",
]


def _dedupe(records: Iterable[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for record in records:
        seen[record["Id"]] = record
    return list(seen.values())


def billing_contacts(sf, account_ids: Iterable[str]) -> pd.DataFrame:
    """The billing Contact of each Account, with columns prefixed ``BillingContact.`` and the
    key ``AccountId``. An org whose package Flow is not active can hold several (R-ACC-6): the
    most recently modified is used (the greater Id on a tie) and ``BillingContact.Others``
    lists the others' Ids (the plan warns); blank when there is one."""
    contacts = records_frame(
        sf.query_in(
            "Contact",
            CONTACT_FIELDS,
            "AccountId",
            account_ids,
            where=soql.eq("Is_Billing_Contact__c", True),
        ),
        CONTACT_FIELDS,
    )
    if contacts.empty:
        return pd.DataFrame(
            columns=[
                "AccountId",
                *(f"BillingContact.{c}" for c in CONTACT_FIELDS),
                "BillingContact.Others",
            ]
        )
    contacts = contacts.sort_values(["LastModifiedDate", "Id"], kind="stable")
    others = (
        contacts[contacts.duplicated("AccountId", keep="last")]
        .groupby("AccountId")["Id"]
        .agg(lambda ids: ", ".join(sorted(ids)))
    )
    contacts = contacts.drop_duplicates("AccountId", keep="last")
    renamed = contacts.rename(columns={c: f"BillingContact.{c}" for c in CONTACT_FIELDS})
    renamed["AccountId"] = contacts["AccountId"].to_numpy()
    renamed["BillingContact.Others"] = renamed["AccountId"].map(others).astype("object")
    return renamed


def _with_contacts(sf, accounts: pd.DataFrame) -> pd.DataFrame:
    contacts = billing_contacts(sf, accounts["Id"])
    return accounts.merge(contacts, how="left", left_on="Id", right_on="AccountId").drop(
        columns=["AccountId"]
    )


def ticked_contacts(sf) -> pd.DataFrame:
    """Contacts a user ticked Sync_Me__c on (R-GEN-9): frame[Id, AccountId]. A ticked Contact
    replays its Account: its billing Contact's values go to QuickBooks with it."""
    return records_frame(
        sf.query(soql.select("Contact", ["Id", "AccountId"], where=soql.eq("Sync_Me__c", True))),
        ["Id", "AccountId"],
    )


def sf_changed_accounts(
    sf,
    window: Window | None,
    retry_ids: Iterable[str] = (),
    *,
    ticked_contact_accounts: Iterable[str] = (),
    waiting: Iterable[str] = (),
    qualifying: str | None = None,
) -> pd.DataFrame:
    """Accounts to consider for SF -> QB: changed in ``window`` (None: no window this run),
    reached through an opportunity won or a billing Contact changed in it, ticked Sync_Me__c
    (on the Account or on one of its Contacts: ``ticked_contact_accounts``), or failed last run
    (``retry_ids``); with HasWonOpportunity and BillingContact.* columns.

    ``waiting``: Accounts that failed several runs in a row and whose retry is not due yet: a
    ticked one waits too (unless it changed in the window), so a record that keeps failing is
    not re-read every run (R-GEN-9, R-GEN-5). ``qualifying`` (the first run, R-GEN-6): also
    every Account it names, a condition (``first_run_condition``), whatever its age."""
    changed: list[dict] = []
    won: set[str] = set()
    contact_changed: set[str] = set()
    if qualifying is not None:
        changed = list(sf.query(soql.select("Account", ACCOUNT_FIELDS, where=qualifying)))
        log.info(
            "Salesforce: first run: %d Accounts qualify (R-ACC-1), whatever their age", len(changed)
        )
    if window is not None:
        changed += list(sf.query_window("Account", ACCOUNT_FIELDS, window.start, window.end))
        won = {
            r["AccountId"]
            for r in sf.query_window(
                "Opportunity", ["AccountId"], window.start, window.end, where=soql.eq("IsWon", True)
            )
            if r.get("AccountId")
        }
        contact_changed = {
            r["AccountId"]
            for r in sf.query_window(
                "Contact",
                ["AccountId"],
                window.start,
                window.end,
                where=soql.eq("Is_Billing_Contact__c", True),
            )
            if r.get("AccountId")
        }
    ticked = list(
        sf.query(soql.select("Account", ACCOUNT_FIELDS, where=soql.eq("Sync_Me__c", True)))
    )
    in_window = {r["Id"] for r in changed}
    waiting = set(waiting) - in_window
    held = [r["Id"] for r in ticked if r["Id"] in waiting] + sorted(
        set(ticked_contact_accounts) & waiting
    )
    if held:
        log.info(
            "Salesforce: %d Accounts ticked Sync Me (or with a ticked Contact) failed several runs "
            "in a row and wait for their next retry: %s",
            len(held),
            ", ".join(held[:20]),
        )
    ticked = [r for r in ticked if r["Id"] not in waiting]
    known = {r["Id"] for r in changed + ticked}
    wanted = (
        won | contact_changed | set(retry_ids) | (set(ticked_contact_accounts) - waiting)
    ) - known
    more = list(sf.query_in("Account", ACCOUNT_FIELDS, "Id", sorted(wanted)))
    accounts = records_frame(_dedupe(changed + ticked + more), ACCOUNT_FIELDS)
    if accounts.empty:
        accounts["HasWonOpportunity"] = pd.Series(dtype=bool)
        return _with_contacts(sf, accounts)
    with_won = {
        r["AccountId"]
        for r in sf.query_in(
            "Opportunity", ["AccountId"], "AccountId", accounts["Id"], where=soql.eq("IsWon", True)
        )
    }
    accounts["HasWonOpportunity"] = isin(accounts["Id"], with_won)
    log.info(
        "Salesforce: %d accounts changed in %s, %d ticked Sync Me, %d reached through won "
        "opportunities, billing contacts or last run's failures",
        len(changed),
        window,
        len(ticked),
        len(more),
    )
    return _with_contacts(sf, accounts)


def first_run_condition(all_accounts: bool) -> str:
    """The first run's Accounts (R-GEN-6, R-ACC-1): those with a closed/won Opportunity, or
    every Account with ``sync_accounts_without_won_opportunities``."""
    return (
        "Id != null"
        if all_accounts
        else soql.in_select("Id", "Opportunity", "AccountId", soql.eq("IsWon", True))
    )


def people(sf, account_ids: Iterable[str], customer_ids: Iterable[str]) -> pd.DataFrame:
    """The Contacts the contact plan needs (R-ACC-10): those of ``account_ids`` (where a person
    must be found by name) and those linked to ``customer_ids`` (External_Contact_ID__c)."""
    from sfqb.areas.customers import PEOPLE_COLUMNS

    rows = list(sf.query_in("Contact", PEOPLE_COLUMNS, "AccountId", account_ids))
    rows += sf.query_in("Contact", PEOPLE_COLUMNS, CONTACT_EXT_ID, customer_ids)
    return records_frame(_dedupe(rows), PEOPLE_COLUMNS)


def sf_accounts_linked_to(sf, qb_ids: Iterable[str]) -> pd.DataFrame:
    """Current Accounts whose External_Account_ID__c is one of ``qb_ids``, with billing Contacts."""
    accounts = records_frame(
        sf.query_in("Account", ACCOUNT_FIELDS, ACCOUNT_EXT_ID, qb_ids), ACCOUNT_FIELDS
    )
    return _with_contacts(sf, accounts)


# Above this many names, reading every unlinked Account's name once is cheaper than searching.
NAME_SEARCH_LIMIT = 200


def unlinked_account_names(sf, names: Iterable[str]) -> set[str]:
    """The names of the Accounts linked to no QuickBooks customer that QuickBooks would take for
    one of ``names``: equal up to case and surrounding spaces (R-ACC-11; "ACME INC " is the
    customer "Acme Inc"). SOQL compares text ignoring case but not spaces, so a few names are
    searched with ``LIKE`` (one query per URL-sized chunk) and compared here; many (a first run)
    read every unlinked Account's name once."""
    from sfqb.areas.customers import name_key

    wanted = {name_key(n) for n in names if str(n).strip()}
    if not wanted:
        return set()
    unlinked = soql.eq(ACCOUNT_EXT_ID, None)
    if len(wanted) > NAME_SEARCH_LIMIT:
        rows = sf.query(soql.select("Account", ["Id", "Name"], where=unlinked))
    else:
        searches = [
            soql.contains("Name", str(n).strip()) for n in sorted(set(names)) if str(n).strip()
        ]
        rows = (
            r
            for text in soql.select_any_of_chunks(
                "Account", ["Id", "Name"], searches, where=unlinked
            )
            for r in sf.query(text)
        )
    return {r["Name"] for r in rows if r.get("Name") and name_key(r["Name"]) in wanted}


def qb_customer_frame(records: Iterable[dict]) -> pd.DataFrame:
    # A Desktop credit limit (Decimal) as its exact text: XCom's Parquet carries no Decimal.
    frame = text_numbers(records_frame(records, QB_CUSTOMER_COLUMNS), ["CreditLimit"])
    frame = add_address_columns(frame, "BillAddr")
    return add_address_columns(frame, "ShipAddr")
