"""Customers <-> Accounts and billing Contacts (docs/rules.md section 2): the pure rules.

Inputs are normalised frames (``sfqb.frames``); the output is a ``CustomerPlan``: what to
write to each system and what to skip, with reasons. No I/O and no clock here: the loads in
``sfqb.tasks.customers`` apply the plan and stamp the write time.

Both directions in one plan, so the conflict rule can see both sides: a linked pair changed in
both systems since the last sync takes QuickBooks' values (R-ACC-5).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from decimal import Decimal

import numpy as np
import pandas as pd

from sfqb.frames import is_true, isin, isna, map_like, missing, records
from sfqb.mapping.coerce import UNFIT, fit
from sfqb.mapping.maps import FieldMap, Row, apply_map, default_map
from sfqb.mapping.same import STORED_TEXT, Sameness, number_kind
from sfqb.outcomes import INFO, QB_CUSTOMER, SF_ACCOUNT, SF_CONTACT, WARNING, empty_skips, skips
from sfqb.preferences import Preferences

AREA = "customers"
# The first run's export of every customer and qualifying Account (R-GEN-6), once (sync state).
FIRST_EXPORT = "customers.export"
QB_STREAM = "quickbooks.Customer"
SF_STREAM = "salesforce.Account"
ACCOUNT_EXT_ID = "External_Account_ID__c"
CONTACT_EXT_ID = "External_Contact_ID__c"
# QBO DisplayName rules (api-notes 2.6.1): at most 500 characters; no colon, tab or newline.
DISPLAY_NAME_MAX = 500
DISPLAY_NAME_FORBIDDEN = (":", "\t", "\n", "\r")
# CompanyName (a copy of the Account name on new customers) keeps at most 100 characters.
COMPANY_NAME_MAX = 100
# Salesforce's Account Name keeps at most 255 characters (a QuickBooks DisplayName up to 500).
ACCOUNT_NAME_MAX = 255
# Targets that only reach an existing QuickBooks customer when modifying is allowed: with
# allow_salesforce_to_modify_quickbooks off, nothing reaches an existing customer at all.
QB_ADDRESS_PREFIXES = ("BillAddr.", "ShipAddr.")
# R-ACC-3 on QuickBooks Desktop: a customer whose JobStatus is anything but this is a job.
NO_JOB_STATUS = "None"
# R-ACC-7 on QuickBooks Desktop: QuickBooks -> Salesforce fills only the Address Block fields,
# never these standard address fields of the Account.
SF_ADDRESS_FIELDS = frozenset(
    f"{kind}{part}"
    for kind in ("Billing", "Shipping")
    for part in ("Street", "City", "State", "PostalCode", "Country")
)
# R-ACC-9 on QuickBooks Desktop: Credit Limit and Sales Rep (initials) both ways (QBO customers
# have neither). A custom row for the same target takes the place of these.
DESKTOP_TO_ACCOUNT = (
    Row("CreditLimit", "Credit_Limit__c"),
    Row("SalesRepRef.name", "Sales_Rep__c"),
)
DESKTOP_TO_CUSTOMER = (
    Row("Credit_Limit__c", "CreditLimit"),
    Row("Sales_Rep__c", "SalesRepRef.name"),
)
# A credit limit is money: compared as a number of cents (QuickBooks' "5000.00" is Salesforce's
# 5000.0), not as text (R-GEN-4).
MONEY_COLUMNS = frozenset({"CreditLimit", "Credit_Limit__c"})
MONEY = number_kind(Decimal("0.01"))


@dataclass
class CustomerPlan:
    """What the customer area writes in one run.

    - ``accounts``: Salesforce Account upserts by External_Account_ID__c (QB -> SF), with a
      ``level`` column: parents before sub-customers.
    - ``contacts``: billing Contact writes (QB -> SF), by Id (``contact_id``) when a Contact of
      the same person exists, else upserts by External_Contact_ID__c (R-ACC-10).
    - ``contact_releases``: Contacts that give up the billing role or the customer's link
      before those writes (``plan_contacts_from_qb``).
    - ``customer_creates`` / ``customer_updates``: QuickBooks writes (SF -> QB), keyed by the
      Salesforce Account Id; updates carry the QuickBooks Id and SyncToken.
    - ``clear_sync_me`` / ``clear_contact_sync_me``: Account and Contact Ids whose Sync_Me__c
      is cleared once they synced (R-GEN-9).
    - ``skips`` (not written, with reason) and ``notes`` (written, but with a warning).
    - ``retry``: keys of records held back by a value their target cannot take whole (read
      again next run: ``QB:<Id>`` for customers, Account Ids for accounts).
    """

    accounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    contacts: pd.DataFrame = field(default_factory=pd.DataFrame)
    contact_releases: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=RELEASE_COLUMNS)
    )
    customer_creates: pd.DataFrame = field(default_factory=pd.DataFrame)
    customer_updates: pd.DataFrame = field(default_factory=pd.DataFrame)
    clear_sync_me: list[str] = field(default_factory=list)
    clear_contact_sync_me: list[str] = field(default_factory=list)
    skips: pd.DataFrame = field(default_factory=empty_skips)
    notes: pd.DataFrame = field(default_factory=empty_skips)
    retry: list[str] = field(default_factory=list)

    def skip(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.skips = pd.concat([self.skips, frame], ignore_index=True)

    def note(self, frame: pd.DataFrame) -> None:
        if len(frame):
            self.notes = pd.concat([self.notes, frame], ignore_index=True)


# --- shared helpers ------------------------------------------------------------------------


def changed_fields(differs: np.ndarray, columns: list[str]) -> list[list[str]]:
    """Per row of ``differs`` (``_differ_by_column``'s answers: rows x ``columns``, R-GEN-4): the
    names of the columns whose value differs, a new list per row."""
    names = np.array(columns, dtype=object)
    if len(columns) > 62 or not len(differs):
        return [list(names[row]) for row in differs]
    # Each row's answers as the bits of one number: one list of names per distinct number (a few
    # hundred at most), copied for each row.
    patterns, which = np.unique(differs @ (1 << np.arange(len(columns))), return_inverse=True)
    bits = (patterns[:, None] >> np.arange(len(columns))) & 1
    lists = [list(names[row.astype(bool)]) for row in bits]
    return [lists[n].copy() for n in which.reshape(-1).tolist()]


def any_changed(wanted: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row of ``wanted`` (aligned with ``current`` by index): whether any of ``columns``
    differs as the two systems store it (``STORED_TEXT``, R-GEN-4), a column at a time."""
    return pd.Series(
        _differ_by_column(wanted, current, columns).any(axis=1), index=wanted.index, dtype=bool
    )


def _differ_by_column(wanted: pd.DataFrame, current: pd.DataFrame, columns: list[str]):
    """Per row of ``wanted`` (aligned with ``current`` by index) and column of ``columns``:
    whether the value differs as the two systems store it, as a bool matrix."""
    alike = Sameness()
    differs = np.zeros((len(wanted), len(columns)), dtype=bool)
    for n, column in enumerate(columns):
        theirs = (
            current[column].reindex(wanted.index).tolist()
            if column in current.columns
            else [None] * len(wanted)
        )
        kind = MONEY if column in MONEY_COLUMNS else STORED_TEXT
        differs[:, n] = alike.differ(wanted[column].tolist(), theirs, kind)
    return differs


def name_key(name) -> str:
    """A name as QuickBooks compares names for uniqueness: case and surrounding spaces ignored
    (api-notes 2.6.1: the emulator, like the stricter reading of the real service)."""
    return str(name).strip().casefold()


def display_name_problem(name) -> str | None:
    """Why QuickBooks would reject ``name`` as a DisplayName, or None (api-notes 2.6.1)."""
    if missing(name):
        return "the Account has no name"
    text = str(name)
    if len(text) > DISPLAY_NAME_MAX:
        return f"the name is {len(text)} characters; QuickBooks allows {DISPLAY_NAME_MAX}"
    bad = [repr(ch) for ch in DISPLAY_NAME_FORBIDDEN if ch in text]
    if bad:
        return f"the name contains {', '.join(bad)}, which QuickBooks does not allow in names"
    return None


# --- QuickBooks -> Salesforce ----------------------------------------------------------------


def unfit_values(
    wanted: pd.DataFrame, keys: pd.Series, limits, record: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mapped values coerced to their targets (``sfqb.mapping.coerce.fit``) and the rows that
    cannot be written whole: (the writable rows, WARNING skips of ``record`` keyed by ``keys``)."""
    if not limits or wanted.empty:
        return wanted, empty_skips()
    wanted, reasons = fit(wanted, limits)
    bad = ~isna(reasons)
    return wanted[~bad], skips(keys[bad.to_numpy()], reasons[bad], WARNING, record=record)


def edition_maps(maps: dict[str, FieldMap], desktop: bool) -> dict[str, FieldMap]:
    """The customer area's maps for the run's QuickBooks edition: on Online ``maps`` as they
    are; on Desktop (R-ACC-7, R-ACC-9) QuickBooks -> Salesforce writes no standard Billing or
    Shipping address field (the Address Block fields carry the address), Salesforce -> QuickBooks
    sets a customer's addresses only when it creates the customer, and Credit Limit and Sales
    Rep (initials) are synced both ways."""
    if not desktop:
        return maps
    out = dict(maps)
    if "customer_to_account" in maps:
        to_sf = maps["customer_to_account"]
        rows = [r for r in to_sf.rows if r.target not in SF_ADDRESS_FIELDS]
        rows += [r for r in DESKTOP_TO_ACCOUNT if r.target not in to_sf.target_fields]
        out["customer_to_account"] = replace(to_sf, rows=tuple(rows))
    if "account_to_customer" in maps:
        to_qb = maps["account_to_customer"]
        rows = [
            replace(r, when="create") if r.target.startswith(QB_ADDRESS_PREFIXES) else r
            for r in to_qb.rows
        ]
        rows += [r for r in DESKTOP_TO_CUSTOMER if r.target not in to_qb.target_fields]
        out["account_to_customer"] = replace(to_qb, rows=tuple(rows))
    return out


def jobs(qb: pd.DataFrame, desktop: bool = False) -> pd.Series:
    """R-ACC-3: which customers are jobs, which are not synced. QBO flags jobs and sub-customers
    alike (``Job`` with a ``ParentRef``), so there a job is a Project (``IsProject``). On
    QuickBooks Desktop a job is a customer whose JobStatus is anything but "None"; a
    sub-customer (JobStatus None or none at all, with a parent) is synced."""
    if not desktop:
        return is_true(qb["IsProject"])
    status = qb["JobStatus"] if "JobStatus" in qb.columns else pd.Series(pd.NA, index=qb.index)
    return map_like(status, lambda s: not missing(s) and str(s) != NO_JOB_STATUS).astype(bool)


def qb_customers_to_sync(
    qb: pd.DataFrame, desktop: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Active customers and sub-customers; inactive ones and jobs (``jobs``) are skipped
    (R-ACC-2/3)."""
    qb = qb.copy()
    active = is_true(qb["Active"])
    project = jobs(qb, desktop)
    skipped = pd.concat(
        [
            skips(
                "QB:" + qb.loc[~active, "Id"],
                "inactive in QuickBooks: not synced (R-ACC-2)",
                record=SF_ACCOUNT,
            ),
            skips(
                "QB:" + qb.loc[active & project, "Id"],
                (
                    "a QuickBooks job (its Job Status is not None): jobs are not synced (R-ACC-3)"
                    if desktop
                    else "a QuickBooks project (job): jobs are not synced (R-ACC-3)"
                ),
                record=SF_ACCOUNT,
            ),
        ],
        ignore_index=True,
    )
    return qb[active & ~project], skipped


def plan_accounts_from_qb(
    qb: pd.DataFrame,
    sf_linked: pd.DataFrame,
    account_map: FieldMap | None = None,
    unlinked_names: frozenset[str] = frozenset(),
    limits: dict | None = None,
    read_at: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Account upserts for QuickBooks customers whose mapped values differ from Salesforce.

    A customer with no Account yet whose name an unlinked Account already carries is not
    created again: a duplicate Account would split the customer's history. It is skipped with a
    warning asking a person to link the two (R-PRE-1 matches names only on the first run).

    Args:
        qb: customers to sync (``qb_customers_to_sync``), normalised with address columns.
        sf_linked: current Salesforce Accounts whose External_Account_ID__c is one of ``qb.Id``.
        unlinked_names: names of Accounts that are linked to no customer.
        limits: targets of custom rows -> kind and length (``sfqb.mapping.coerce``).
        read_at: QuickBooks' time of the extract's first answer (``sync_stamps``).
    Returns:
        (accounts, skips): accounts frame[External_Account_ID__c, level, parent_ext_id, is_new,
        Last_Sync_Date__c, <Account fields>], only rows with something to write (new accounts, or
        changed values: no echo, R-GEN-4).
    """
    account_map = account_map or default_map("customer_to_account")
    wanted, unfit = unfit_values(
        apply_map(qb, account_map), "QB:" + qb["Id"].astype(str), limits, SF_ACCOUNT
    )
    qb = qb.loc[wanted.index]
    wanted, too_long = without_long_names(wanted, qb)
    if len(too_long):
        unfit = pd.concat([unfit, too_long], ignore_index=True)
    qb = qb.loc[wanted.index]
    wanted[ACCOUNT_EXT_ID] = qb["Id"].astype(str).to_numpy()
    wanted["parent_ext_id"] = qb["ParentRef.value"].to_numpy()
    wanted["level"] = pd.to_numeric(qb["Level"], errors="coerce").fillna(0).astype(int).to_numpy()
    wanted["Last_Sync_Date__c"] = sync_stamps(_updated(qb), read_at).to_numpy()
    wanted = wanted.set_index(ACCOUNT_EXT_ID, drop=False)

    current = sf_linked.drop_duplicates(ACCOUNT_EXT_ID).set_index(ACCOUNT_EXT_ID, drop=False)
    is_new = ~isin(wanted.index, current.index)
    existing = wanted[~is_new]
    needs_write = accounts_to_update(existing, current, qb, account_map.target_fields)
    new = wanted[is_new]
    clash, skipped = name_clashes(new, unlinked_names)
    skipped = pd.concat([skipped, unfit], ignore_index=True) if len(unfit) else skipped
    new = new[~clash]
    orphans = waiting_for_parent(new, {k.removeprefix("QB:") for k in skipped["key"]})
    skipped = (
        pd.concat(
            [
                skipped,
                skips(
                    "QB:" + new.loc[orphans.index, ACCOUNT_EXT_ID],
                    "its parent customer "
                    + orphans
                    + " gets no Account in this run (see its warning): the sub-customer's "
                    "Account waits for its parent's (R-ACC-3)",
                    WARNING,
                    record=SF_ACCOUNT,
                ),
            ],
            ignore_index=True,
        )
        if len(orphans)
        else skipped
    )
    out = pd.concat([new.drop(index=orphans.index), existing[needs_write]])
    out["is_new"] = isin(out.index, new.index)
    return out.reset_index(drop=True).sort_values(["level", ACCOUNT_EXT_ID], kind="stable"), skipped


def without_long_names(wanted: pd.DataFrame, qb: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers whose name fits a Salesforce Account Name (ACCOUNT_NAME_MAX characters),
    and WARNING skips of the others: a name is never cut (``sfqb.mapping.coerce``'s rule)."""
    too_long = (
        wanted["Name"].map(lambda n: not missing(n) and len(str(n)) > ACCOUNT_NAME_MAX).astype(bool)
    )
    if not too_long.any():
        return wanted, empty_skips()
    return wanted[~too_long], skips(
        "QB:" + qb.loc[too_long, "Id"].astype(str),
        "the name has "
        + wanted.loc[too_long, "Name"].map(lambda n: str(len(str(n))))
        + " characters and a Salesforce Account Name keeps at most "
        f"{ACCOUNT_NAME_MAX}: {UNFIT} (shorten it in QuickBooks)",
        WARNING,
        record=SF_ACCOUNT,
    )


def accounts_to_update(
    existing: pd.DataFrame, current: pd.DataFrame, qb: pd.DataFrame, targets: list[str]
) -> pd.Series:
    """Per linked customer (``existing``, indexed by customer Id): is its Account written? Only
    when a mapped value or the parent differs (R-GEN-4) and QuickBooks changed since the last
    sync: a record read again (lookback, our own earlier write) must not undo a Salesforce
    edit (R-ACC-4, R-ACC-5)."""
    aligned = current.reindex(existing.index)
    diffs = any_changed(existing, aligned, targets)
    parent_changed = Sameness().differ(
        existing["parent_ext_id"].tolist(),
        aligned.get(
            "Parent.External_Account_ID__c", pd.Series(pd.NA, index=aligned.index)
        ).tolist(),
        STORED_TEXT,
    )
    needs_write = diffs | pd.Series(parent_changed, index=existing.index, dtype=bool)
    qb_rows = qb.assign(_key=qb["Id"].astype(str)).set_index("_key").reindex(existing.index)
    return needs_write & qb_changed_since_sync(qb_rows, aligned)


def name_clashes(
    new: pd.DataFrame, unlinked_names: frozenset[str]
) -> tuple[pd.Series, pd.DataFrame]:
    """R-PRE-1 after the first run: a new customer named like an Account that is linked to no
    customer (names differing only in case or surrounding spaces are one company to
    QuickBooks) gets no Account: a duplicate would split the customer's history. The mask of
    those, and their WARNING skips asking a person to link the two."""
    unlinked = {name_key(n): n for n in unlinked_names}
    clash = new["Name"].map(lambda n: not missing(n) and name_key(n) in unlinked).astype(bool)
    return clash, skips(
        "QB:" + new.loc[clash, ACCOUNT_EXT_ID],
        "Salesforce already has an Account named "
        + new.loc[clash, "Name"].map(lambda n: repr(unlinked[name_key(n)]))
        + " that is linked to no QuickBooks customer: link it (set its External Account ID to "
        + new.loc[clash, ACCOUNT_EXT_ID]
        + ") instead of creating a duplicate",
        WARNING,
        record=SF_ACCOUNT,
    )


def waiting_for_parent(new: pd.DataFrame, held: set[str]) -> pd.Series:
    """New Accounts (indexed by customer Id, with ``parent_ext_id``) whose parent customer is
    held back in this run, or whose parent waits itself (QuickBooks nests 5 levels): their
    parent's Id, for the sub-customer's skip reason. A sub-customer's Account needs its
    parent's, and without it its upsert would fail on the missing parent (R-ACC-3)."""
    parents = new["parent_ext_id"].map(lambda v: None if missing(v) else str(v))
    waiting = pd.Series(dtype="object")
    held = set(held)
    while True:
        now = parents[parents.isin(held) & ~parents.index.isin(waiting.index)]
        if now.empty:
            return waiting
        waiting = pd.concat([waiting, now])
        held |= set(now.index.astype(str))


PEOPLE_COLUMNS = [
    "Id",
    "AccountId",
    "FirstName",
    "LastName",
    CONTACT_EXT_ID,
    "Is_Billing_Contact__c",
    "LastModifiedDate",
]
RELEASE_COLUMNS: list[str] = ["Id", "customer_id", "Is_Billing_Contact__c", "clear_link", "reason"]


def person_key(first, last) -> tuple[str, ...]:
    """A person's name as compared for R-ACC-10: first and last name, case and surrounding
    spaces ignored (a missing first name is an empty one)."""
    return tuple("" if missing(v) else str(v).strip().casefold() for v in (first, last))


def person_keys(first, last) -> list[tuple[str, ...]]:
    """``person_key`` of each pair of two equally long columns, a column at a time: a text cell
    (nearly every one) is read directly, only the others go through the ``missing`` test (a
    first run compares the names of most of a million customers)."""
    return list(zip(_name_parts(first), _name_parts(last), strict=True))


def _name_parts(values) -> list[str]:
    cells = values.tolist() if isinstance(values, (pd.Series, np.ndarray)) else list(values)
    return [
        v.strip().casefold() if type(v) is str else "" if missing(v) else str(v).strip().casefold()
        for v in cells
    ]


def people_to_look_up(
    qb: pd.DataFrame, sf_linked: pd.DataFrame, contact_map: FieldMap | None = None
) -> list[str]:
    """Accounts whose Contacts the contact plan needs (R-ACC-10): those linked to a customer
    with a contact person whose billing Contact is missing or another person. Only they are
    read, so a run whose contact persons match their billing Contacts reads no Contacts."""
    contact_map = contact_map or default_map("customer_to_contact")
    wanted = apply_map(qb, contact_map)
    keys = pd.Series(
        person_keys(wanted["FirstName"], wanted["LastName"]),
        index=qb["Id"].astype(str).to_numpy(),
        dtype="object",
    )[~isna(wanted["LastName"]).to_numpy()]
    current = sf_linked.drop_duplicates(ACCOUNT_EXT_ID).set_index(ACCOUNT_EXT_ID)
    current = current.reindex(keys.index)
    have = person_keys(
        current.get("BillingContact.FirstName", pd.Series(pd.NA, index=current.index)),
        current.get("BillingContact.LastName", pd.Series(pd.NA, index=current.index)),
    )
    no_contact = isna(
        current.get("BillingContact.Id", pd.Series(pd.NA, index=current.index))
    ).to_numpy()
    other = np.array([k != h for k, h in zip(keys, have, strict=True)], dtype=bool)
    accounts = current["Id"][(no_contact | other) & ~isna(current["Id"]).to_numpy()]
    return sorted(set(accounts.astype(str)))


def plan_contacts_from_qb(
    qb: pd.DataFrame,
    sf_linked: pd.DataFrame,
    contact_map: FieldMap | None = None,
    limits: dict | None = None,
    read_at: str | None = None,
    people: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Billing Contact writes for the customers' contact persons (R-ACC-8, R-ACC-10), stamped
    like their Accounts (``sync_stamps``).

    A Contact is a person: it is updated in place only when it is the same person (first and
    last name, ``person_key``) as QuickBooks' contact person. When the Account's billing Contact
    is missing or another person, QuickBooks' person takes the billing role if QuickBooks changed
    since the last sync, or if this customer's person was never linked (a first-run matched pair:
    QuickBooks wins); then a Contact of the Account with that name is linked (the one already
    linked to the customer first), else one is created, and the old billing Contact is released
    (unticked, its link cleared). When QuickBooks did not change and the person was linked
    before, a different billing Contact is Salesforce's choice: it is left alone (the other
    direction sends it to QuickBooks when modifying is allowed). A customer with no family name
    has no contact person Salesforce can hold (LastName is required): skipped with a reason.

    Args:
        people: Contacts of the Accounts ``people_to_look_up`` names, and Contacts linked to the
            customers (External_Contact_ID__c), PEOPLE_COLUMNS.
    Returns:
        (contacts to write: the mapped fields, ``customer_id``, ``contact_id`` (the Contact to
        update, missing: create one), the links and ``Is_Billing_Contact__c``; releases:
        RELEASE_COLUMNS, Contacts that give up the billing role or the link first; skips).
    """
    contact_map = contact_map or default_map("customer_to_contact")
    targets = contact_map.target_fields
    people = people if people is not None else pd.DataFrame(columns=PEOPLE_COLUMNS)
    wanted, qb, skipped = wanted_contacts(qb, contact_map, limits, read_at)

    current = sf_linked.drop_duplicates(ACCOUNT_EXT_ID).set_index(ACCOUNT_EXT_ID)
    current_contacts = billing_contacts_now(current, wanted.index, targets)
    none = pd.Series(pd.NA, index=wanted.index, dtype="object")
    billing_id = current_contacts.get("BillingContact.Id", none)
    linked_people = people[~isna(people[CONTACT_EXT_ID])] if len(people) else people
    accounts_now = current.reindex(wanted.index)
    qb_rows = qb.assign(_key=qb["Id"].astype(str)).set_index("_key").reindex(wanted.index)
    in_place, switch = in_place_or_switch(
        wanted,
        current_contacts,
        targets,
        qb_newer=qb_changed_since_sync(qb_rows, accounts_now),
        ever_linked=linked_before(wanted, linked_people, people),
    )

    out = wanted[in_place | switch].copy()
    out["contact_id"] = (
        billing_id[in_place | switch].astype("object").where(in_place[in_place | switch], None)
    )
    linked_to = {str(r[CONTACT_EXT_ID]): r for r in records(linked_people)} if len(people) else {}
    releases = switch_billing_contacts(
        out,
        out.index[switch[out.index].to_numpy()],
        accounts_now,
        people,
        linked_to,
        current_contacts,
    )
    for customer_id in out.index[in_place[out.index].to_numpy()]:
        releases += released_in_place(customer_id, linked_to.get(customer_id), billing_id)
    out[CONTACT_EXT_ID] = out["customer_id"]
    out[ACCOUNT_EXT_ID] = out["customer_id"]
    out["Is_Billing_Contact__c"] = True
    released = pd.DataFrame(releases, columns=RELEASE_COLUMNS).drop_duplicates("Id")
    return out.reset_index(drop=True), released.reset_index(drop=True), skipped


def billing_contacts_now(current: pd.DataFrame, customer_ids: pd.Index, targets: list[str]):
    """The billing Contact of each customer's Account (``current``: the linked Accounts by
    External Account ID), its fields named as the contact map's ``targets``."""
    contact_columns = [c for c in current.columns if c.startswith("BillingContact.")]
    # Only the Contact's columns: the Account has fields of the same names (Phone).
    return (
        current[contact_columns]
        .rename(columns={f"BillingContact.{t}": t for t in targets})
        .reindex(customer_ids)
    )


def switch_billing_contacts(
    out: pd.DataFrame,
    customer_ids: pd.Index,
    accounts_now: pd.DataFrame,
    people: pd.DataFrame,
    linked_to: dict[str, dict],
    current_contacts: pd.DataFrame,
) -> list[dict]:
    """R-ACC-10: for each customer whose billing Contact switches to QuickBooks' person, sets in
    ``out`` the Contact that takes the role (``contact_id``, ``billing_contact_for``; None: a new
    one) and returns the Contacts that give up the role or the link (``released_by_switch``).
    The Contacts are indexed once by Account and name (``people_by_name``): no frame is
    filtered per customer (a first run can switch most of a million)."""
    none = pd.Series(pd.NA, index=current_contacts.index, dtype="object")
    contact_ids = current_contacts.index.tolist()  # lists: iterating Arrow text is slow
    billing_id = dict(
        zip(contact_ids, current_contacts.get("BillingContact.Id", none).tolist(), strict=True)
    )
    ext_id = dict(
        zip(
            contact_ids,
            current_contacts.get("BillingContact.External_Contact_ID__c", none).tolist(),
            strict=True,
        )
    )
    by_name = people_by_name(people)
    rows = out.loc[customer_ids]
    accounts = (
        accounts_now["Id"].reindex(customer_ids).tolist()
        if "Id" in accounts_now.columns
        else [None] * len(customer_ids)
    )
    targets: list = []
    releases: list[dict] = []
    persons = person_keys(rows["FirstName"], rows["LastName"])
    for customer_id, person, account_id in zip(
        customer_ids.tolist(), persons, accounts, strict=True
    ):
        linked = linked_to.get(customer_id)
        named = None if missing(account_id) else by_name.get(str(account_id), {}).get(person)
        target = billing_contact_for(customer_id, person, linked, named)
        targets.append(target)
        releases += released_by_switch(
            customer_id, target, billing_id.get(customer_id), ext_id.get(customer_id), linked
        )
    if targets:
        out.loc[customer_ids, "contact_id"] = pd.Series(targets, index=customer_ids, dtype=object)
    return releases


def people_by_name(people: pd.DataFrame) -> dict[str, dict[tuple, list[tuple]]]:
    """R-ACC-10: the Contacts of ``people`` by Account Id and ``person_key``, each as
    ``(Id, External_Contact_ID__c, LastModifiedDate)`` in the order read."""
    index: dict[str, dict[tuple, list[tuple]]] = {}
    if not len(people):
        return index
    columns = ["AccountId", "Id", CONTACT_EXT_ID, "LastModifiedDate"]
    for account, contact_id, ext, modified, person in zip(
        *(people[c].tolist() for c in columns),
        person_keys(people["FirstName"], people["LastName"]),
        strict=True,
    ):
        if not missing(account):
            by_person = index.setdefault(str(account), {})
            by_person.setdefault(person, []).append((contact_id, ext, modified))
    return index


def linked_before(
    wanted: pd.DataFrame, linked_people: pd.DataFrame, people: pd.DataFrame
) -> pd.Series:
    """R-ACC-10: per wanted contact, whether a Contact was ever linked to its customer (one of
    ``linked_people`` carries the customer's Id as External Contact ID); never: a first-run
    matched pair, where QuickBooks' person wins."""
    return (
        isin(wanted["customer_id"], set(linked_people[CONTACT_EXT_ID].astype(str)))
        if len(people)
        else pd.Series(False, index=wanted.index)
    )


def in_place_or_switch(
    wanted: pd.DataFrame,
    current_contacts: pd.DataFrame,
    targets: list[str],
    *,
    qb_newer: pd.Series,
    ever_linked: pd.Series,
) -> tuple[pd.Series, pd.Series]:
    """R-ACC-10 (with R-ACC-5's conflict rule): per wanted contact (index: customer Id), whether
    the Account's billing Contact (``current_contacts``) is updated in place: it is the same
    person and not linked to the customer yet, or its values differ and QuickBooks changed since
    the last sync (``qb_newer``); and whether QuickBooks' person takes the role instead: the
    billing Contact is missing, or another person while QuickBooks changed or this customer's
    person was never linked (``ever_linked``)."""
    none = pd.Series(pd.NA, index=wanted.index, dtype="object")
    billing_id = current_contacts.get("BillingContact.Id", none)
    has_contact = ~isna(billing_id)
    ext_id = current_contacts.get("BillingContact.External_Contact_ID__c", none)
    same_person = pd.Series(
        [
            ours == theirs
            for ours, theirs in zip(
                person_keys(wanted["FirstName"], wanted["LastName"]),
                person_keys(
                    current_contacts.get("FirstName", none), current_contacts.get("LastName", none)
                ),
                strict=True,
            )
        ],
        index=wanted.index,
        dtype=bool,
    )
    diffs = any_changed(wanted, current_contacts, targets)
    unlinked = isna(ext_id) | (ext_id.astype("object") != wanted["customer_id"])
    in_place = has_contact & same_person & (unlinked | (diffs & qb_newer))
    switch = (~has_contact | ~same_person) & (~has_contact | qb_newer | ~ever_linked)
    return in_place, switch


def released_in_place(customer_id: str, linked: dict | None, billing_id: pd.Series) -> list[dict]:
    """R-ACC-10: when the billing Contact is the same person, updated in place, while another
    Contact (``linked``) still holds the customer's link, that Contact gives the link up."""
    if linked is not None and linked["Id"] != billing_id.get(customer_id):
        return [
            {
                "Id": linked["Id"],
                "customer_id": customer_id,
                "Is_Billing_Contact__c": pd.NA,
                "clear_link": True,
                "reason": "the link moves to the billing Contact of the same name",
            }
        ]
    return []


def wanted_contacts(
    qb: pd.DataFrame, contact_map: FieldMap, limits: dict | None, read_at: str | None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The billing Contact each customer's contact person calls for (mapped targets plus
    ``customer_id`` and ``Last_Sync_Date__c``, indexed by customer Id), the customers kept, and
    the skips: a value its target cannot take whole (WARNING), and a contact with no family
    name, which Salesforce cannot hold (LastName is required, R-ACC-8)."""
    wanted, unfit = unfit_values(
        apply_map(qb, contact_map), "QB:" + qb["Id"].astype(str) + " contact", limits, SF_CONTACT
    )
    qb = qb.loc[wanted.index]
    wanted["customer_id"] = qb["Id"].astype(str).to_numpy()
    wanted["Last_Sync_Date__c"] = sync_stamps(_updated(qb), read_at).to_numpy()
    no_person = isna(wanted["LastName"])
    skipped = pd.concat(
        [
            skips(
                "QB:" + wanted.loc[no_person & ~isna(wanted["FirstName"]), "customer_id"],
                "the QuickBooks contact has no family name: no billing Contact synced",
                record=SF_CONTACT,
            ),
            unfit,
        ],
        ignore_index=True,
    )
    return wanted[~no_person].set_index("customer_id", drop=False), qb, skipped


def billing_contact_for(
    customer_id: str, person: tuple, linked: dict | None, named: list[tuple] | None
):
    """R-ACC-10: the Contact that takes the billing role for the customer's contact person
    (``person``, a ``person_key``): the Contact linked to the customer (``linked``) when it is
    that person, else the most recently modified of the Account's Contacts with that name
    (``named``: ``people_by_name``'s entries, None when none) that is linked to no other
    customer (of equal times the later read; one never modified counts as the latest); None:
    one is created."""
    if linked is not None and person_key(linked["FirstName"], linked["LastName"]) == person:
        return linked["Id"]
    best: tuple | None = None
    for contact_id, ext, modified in named or ():
        if not (missing(ext) or str(ext) == customer_id):
            continue
        if best is None or missing(modified) or (not missing(best[1]) and modified >= best[1]):
            best = (contact_id, modified)
    return best[0] if best is not None else None


def released_by_switch(customer_id: str, target, old, old_link, linked: dict | None) -> list[dict]:
    """R-ACC-10: the Contacts that give up their role when another person (``target``, None:
    a new Contact) becomes the customer's billing Contact: the old billing Contact (``old``,
    whose External Contact ID is ``old_link``) is unticked, and its link cleared when it held the
    customer's; a Contact linked to the customer (``linked``) that is neither loses the link."""
    releases = []
    if not missing(old) and old != target:
        releases.append(
            {
                "Id": old,
                "customer_id": customer_id,
                "Is_Billing_Contact__c": False,
                "clear_link": old_link == customer_id,
                "reason": "another person is the customer's contact in QuickBooks",
            }
        )
    if linked is not None and linked["Id"] not in (target, old):
        releases.append(
            {
                "Id": linked["Id"],
                "customer_id": customer_id,
                "Is_Billing_Contact__c": pd.NA,
                "clear_link": True,
                "reason": "no longer the customer's contact person in QuickBooks",
            }
        )
    return releases


# --- Salesforce -> QuickBooks ----------------------------------------------------------------


def sf_accounts_to_sync(sf: pd.DataFrame, prefs: Preferences) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts with a closed/won opportunity, or all with the preference (R-ACC-1)."""
    if prefs.sync_accounts_without_won_opportunities:
        return sf, empty_skips()
    won = is_true(sf["HasWonOpportunity"])
    unlinked_without_won = ~won & isna(sf[ACCOUNT_EXT_ID])
    return (
        sf[won | ~isna(sf[ACCOUNT_EXT_ID])],
        skips(
            sf.loc[unlinked_without_won, "Id"],
            "no closed/won opportunity yet: not sent to QuickBooks (R-ACC-1)",
            record=QB_CUSTOMER,
        ),
    )


def plan_customers_from_sf(
    sf: pd.DataFrame,
    qb_linked: pd.DataFrame,
    terms: dict[str, str],
    prefs: Preferences,
    customer_map: FieldMap | None = None,
    limits: dict | None = None,
    copied: frozenset[str] = frozenset(),
    sales_reps: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """QuickBooks customer creates and updates for changed Accounts.

    Args:
        sf: accounts to sync (``sf_accounts_to_sync``) with ``BillingContact.*`` columns.
        qb_linked: current QuickBooks customers whose Id is one of ``sf.External_Account_ID__c``,
            with dotted columns and derived address columns. A pair whose customer was edited
            in QuickBooks since the last sync is a conflict: QuickBooks wins (R-ACC-5).
        terms: QuickBooks term name -> Id (R-ACC-9).
        copied: QuickBooks Ids whose values this run copies to Salesforce (their Account or
            billing Contact): their differences are not sent back in the same run (R-ACC-10).
        sales_reps: QuickBooks Desktop sales rep initials -> Id (R-ACC-9), for a map with a
            ``SalesRepRef.name`` row (``edition_maps``).
    Returns:
        (creates, updates, skips, notes). creates: frame[key (Account Id), payload (JSON text),
        billing_contact_id]; updates: frame[key, Id, SyncToken, payload (JSON text of the
        sparse body), changed]. Payloads travel as JSON text: XCom stores frames as Parquet,
        where dicts with different keys would gain each other's keys.
    """
    customer_map = customer_map or default_map("account_to_customer")
    wanted, unfit = wanted_customers(sf, customer_map, limits)
    sf = sf.loc[wanted.index]
    unknown_terms = resolve_terms(wanted, terms)
    names = {"SalesTermRef.name": "SalesTermRef.value"}
    if "SalesRepRef.name" in wanted.columns:
        unknown_terms = pd.concat(
            [unknown_terms, resolve_sales_reps(wanted, sales_reps or {})], ignore_index=True
        )
        names["SalesRepRef.name"] = "SalesRepRef.value"
    targets = [t for t in customer_map.target_fields if t not in names]
    targets += names.values()
    is_new = isna(wanted["qb_id"])
    left_out = set(unknown_terms["key"])
    for column in names.values():
        leave_alone(wanted, is_new, left_out, column, qb_linked)
    if "CreditLimit" in wanted.columns:  # QBD: qbXML cannot clear a credit limit (R-ACC-9)
        no_limit = set(wanted.loc[isna(wanted["CreditLimit"]), "key"])
        leave_alone(wanted, is_new, no_limit, "CreditLimit", qb_linked)
    creates, create_skips, create_notes = plan_creates(wanted[is_new], targets)
    update_targets = set(customer_map.for_updates().target_fields) | set(names.values())
    updates, update_skips = plan_updates(
        wanted[~is_new],
        qb_linked,
        sf,
        [t for t in targets if t in update_targets],
        prefs,
        copied,
    )
    return (
        creates.reset_index(drop=True),
        updates.reset_index(drop=True),
        _concat([unfit, *create_skips, *update_skips]),
        _concat([unknown_terms, *create_notes, several_billing_contacts(sf)]),
    )


def several_billing_contacts(sf: pd.DataFrame) -> pd.DataFrame:
    """R-ACC-6: an Account holds one billing Contact; a real org whose package Flow
    (SFQB_One_Billing_Contact) is not active can hold several. The sync uses the most
    recently modified (``BillingContact.Id``); a WARNING note per such Account names the
    others, until someone unticks them."""
    others = sf.get("BillingContact.Others")
    if others is None:
        return empty_skips()
    several = ~isna(others)
    return skips(
        sf.loc[several, "Id"],
        "several billing Contacts: "
        + sf.loc[several, "BillingContact.Id"].astype(str)
        + " (the most recently modified) is used, "
        + others[several].astype(str)
        + " not; untick all but one, or activate the package's Flow SFQB_One_Billing_Contact "
        "that keeps one (R-ACC-6)",
        WARNING,
        record=SF_ACCOUNT,
    )


def wanted_customers(
    sf: pd.DataFrame, customer_map: FieldMap, limits: dict | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customer each Account calls for (mapped targets plus ``key``, ``qb_id``,
    ``parent_qb_id``, ``billing_contact_id``), and WARNING skips of the Accounts with a value
    their target cannot take whole (``unfit_values``). A linked Account is mapped with the
    update rows only: create-only rows (R-ACC-6's billing Contact precedence) fill new
    customers alone."""
    wanted = apply_map(sf, customer_map)
    linked_mask = ~isna(sf[ACCOUNT_EXT_ID]).to_numpy()
    for column, values in apply_map(sf, customer_map.for_updates()).items():
        wanted.loc[linked_mask, column] = values[linked_mask]
    wanted, unfit = unfit_values(wanted, sf["Id"], limits, QB_CUSTOMER)
    taken = ["Id", ACCOUNT_EXT_ID, "Parent.External_Account_ID__c", "BillingContact.Id"]
    sf = sf.loc[wanted.index, taken]  # those columns only: a row selection copies each
    wanted["key"] = sf["Id"].to_numpy()
    wanted["qb_id"] = sf[ACCOUNT_EXT_ID].to_numpy()
    wanted["parent_qb_id"] = sf["Parent.External_Account_ID__c"].to_numpy()
    wanted["billing_contact_id"] = sf["BillingContact.Id"].to_numpy()
    return wanted, unfit


def _resolve(wanted: pd.DataFrame, ref: str, ids: dict[str, str], unknown: str) -> pd.DataFrame:
    """A ``<ref>.name`` of ``wanted`` that must name a QuickBooks list entry (``ids``: name ->
    Id, compared ignoring case and surrounding spaces): ``<ref>.value`` is set (in place), and a
    name QuickBooks does not know is left out with a WARNING note (returned) ending in
    ``unknown``."""
    folded = {name.strip().lower(): id_ for name, id_ in ids.items()}
    names = wanted[f"{ref}.name"]
    found = map_like(
        names, lambda n: pd.NA if missing(n) else folded.get(str(n).strip().lower(), pd.NA)
    )
    bad = ~isna(names) & isna(found)
    notes = skips(
        wanted.loc[bad, "key"],
        wanted.loc[bad, f"{ref}.name"].map(repr).map(unknown.format),
        WARNING,
        record=QB_CUSTOMER,
    )
    wanted[f"{ref}.value"] = found
    wanted.loc[bad, f"{ref}.name"] = pd.NA
    return notes


def resolve_terms(wanted: pd.DataFrame, terms: dict[str, str]) -> pd.DataFrame:
    """R-ACC-9: Terms must name a QuickBooks term (``terms``: name -> Id): ``SalesTermRef``;
    unknown Terms are a WARNING note, left out (``_resolve``)."""
    return _resolve(
        wanted, "SalesTermRef", terms, "Terms {} do not exist in QuickBooks: left out (R-ACC-9)"
    )


def resolve_sales_reps(wanted: pd.DataFrame, reps: dict[str, str]) -> pd.DataFrame:
    """R-ACC-9 on QuickBooks Desktop: a Sales Rep must be the initials of a QuickBooks sales rep
    (``reps``: initials -> Id): ``SalesRepRef``; unknown initials are a WARNING note, left out
    (``_resolve``)."""
    return _resolve(
        wanted,
        "SalesRepRef",
        reps,
        "Sales Rep {} is the initials of no QuickBooks sales rep: left out (R-ACC-9)",
    )


def leave_alone(
    wanted: pd.DataFrame, is_new: pd.Series, keys: set, column: str, qb_linked: pd.DataFrame
) -> None:
    """R-ACC-9, R-GEN-4: a value QuickBooks does not know is left out, so a linked customer
    keeps its own (``column`` of ``wanted`` takes the customer's current value, in place): it is
    no difference to send."""
    rows = ~is_new & wanted["key"].isin(keys)
    if not rows.any() or column not in qb_linked.columns:
        return
    current = qb_linked.assign(_id=qb_linked["Id"].astype(str)).set_index("_id")[column]
    wanted.loc[rows, column] = wanted.loc[rows, "qb_id"].astype(str).map(current)


def plan_creates(
    new: pd.DataFrame, targets: list[str]
) -> tuple[pd.DataFrame, list[pd.DataFrame], list[pd.DataFrame]]:
    """QuickBooks customers to create for unlinked Accounts (``wanted_customers``' rows):
    (creates: frame[key, payload, billing_contact_id], skips, notes). A name QuickBooks would
    refuse (api-notes 2.6.1) or one several new Accounts share (QuickBooks names are unique,
    case and surrounding spaces ignored) is not sent; a name too long for Company name is sent
    with an empty Company name and a note."""
    skipped, notes = [], []
    bad_name = new["DisplayName"].map(display_name_problem)
    has_bad = ~isna(bad_name)
    skipped.append(
        skips(
            new.loc[has_bad, "key"],
            "not sent to QuickBooks: " + bad_name[has_bad],
            WARNING,
            record=QB_CUSTOMER,
        )
    )
    new = new[~has_bad]
    shared = new["DisplayName"].map(name_key).duplicated(keep=False).astype(bool)
    skipped.append(
        skips(
            new.loc[shared, "key"],
            "several Accounts to create share the name "
            + new.loc[shared, "DisplayName"].map(repr)
            + " (QuickBooks ignores case and surrounding spaces), and QuickBooks names are unique: "
            "rename all but one",
            WARNING,
            record=QB_CUSTOMER,
        )
    )
    new = new[~shared].copy()
    if "CompanyName" in new.columns:
        long_company = (
            new["CompanyName"]
            .map(lambda n: not missing(n) and len(str(n)) > COMPANY_NAME_MAX)
            .astype(bool)
        )
        notes.append(
            skips(
                new.loc[long_company, "key"],
                "the name has "
                + new.loc[long_company, "CompanyName"].map(lambda n: str(len(str(n))))
                + f" characters and QuickBooks' Company name keeps at most {COMPANY_NAME_MAX}: the "
                "customer's Display name carries the whole name, its Company name is left empty",
                WARNING,
                record=QB_CUSTOMER,
            )
        )
        new.loc[long_company, "CompanyName"] = pd.NA
    creates = pd.DataFrame(
        {
            "key": new["key"],
            "payload": [
                json.dumps(_customer_payload(row, targets, parent))
                for row, parent in zip(records(new), new["parent_qb_id"].tolist(), strict=True)
            ],
            "billing_contact_id": new["billing_contact_id"],
        }
    )
    return creates, skipped, notes


def plan_updates(
    linked: pd.DataFrame,
    qb_linked: pd.DataFrame,
    sf: pd.DataFrame,
    targets: list[str],
    prefs: Preferences,
    copied: frozenset[str],
) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Sparse QuickBooks updates for linked Accounts (``wanted_customers``' rows) whose update
    targets differ from their customer's (R-GEN-4): (updates: frame[key, Id, SyncToken,
    payload, changed], skips). A differing pair is not sent when its customer is gone, when
    QuickBooks wins it (``quickbooks_wins``: R-ACC-5, R-ACC-10) or when modifying QuickBooks is
    off (R-ACC-4)."""
    updates = pd.DataFrame(columns=["key", "Id", "SyncToken", "payload", "changed"])
    if not len(linked):
        return updates, []
    # Only the columns read below: reindexing every column of a million customers costs seconds.
    read = dict.fromkeys([*targets, "SyncToken", "SalesTermRef.value", "MetaData.LastUpdatedTime"])
    read_columns = [c for c in qb_linked.columns if c in read and c != "Id"]
    current = qb_linked.set_index("Id")[read_columns].reindex(linked["qb_id"].astype(str))
    current.index = linked.index
    current["SalesTermRef.value"] = current.get(
        "SalesTermRef.value", pd.Series(pd.NA, index=current.index)
    )
    compare = [t for t in targets if t in linked.columns]
    diffs = _differ_by_column(linked, current, compare)
    gone = isna(current["SyncToken"])
    skipped = [
        skips(
            linked.loc[gone, "key"],
            "its QuickBooks customer "
            + linked.loc[gone, "qb_id"].astype(str)
            + " was not found (deleted or merged in QuickBooks?)",
            WARNING,
            record=QB_CUSTOMER,
        )
    ]
    differs = pd.Series(diffs.any(axis=1), index=linked.index, dtype=bool) & ~gone
    conflict, conflict_skips = quickbooks_wins(
        linked,
        differs,
        current,
        sf.loc[linked.index, sf.columns.intersection(["Last_Sync_Date__c"])],
        copied,
    )
    skipped += conflict_skips
    blocked = differs & ~conflict & (not prefs.allow_salesforce_to_modify_quickbooks)
    skipped.append(
        skips(
            linked.loc[blocked, "key"],
            "changes not sent to QuickBooks: allow_salesforce_to_modify_quickbooks is off "
            "(R-ACC-4)",
            record=QB_CUSTOMER,
        )
    )
    send = differs & ~conflict & ~blocked
    if send.any():
        rows = linked[send]
        changed = pd.Series(
            changed_fields(diffs[send.to_numpy()], compare), index=rows.index, dtype="object"
        )
        updates = pd.DataFrame(
            {
                "key": rows["key"],
                "Id": rows["qb_id"].astype(str),
                "SyncToken": current.loc[send, "SyncToken"].astype(str),
                "changed": changed,
                "payload": [
                    json.dumps(
                        _customer_payload(row, whole_addresses(fields, targets), None, sparse=True)
                    )
                    for row, fields in zip(records(rows), changed, strict=True)
                ],
            }
        )
    return updates, skipped


def quickbooks_wins(
    linked: pd.DataFrame,
    differs: pd.Series,
    current: pd.DataFrame,
    sf_rows: pd.DataFrame,
    copied: frozenset[str],
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """R-ACC-5, the conflict rule: of the pairs whose Account ``differs`` from its customer,
    those QuickBooks wins, and the INFO skips saying why. A pair changed in both systems since
    the last sync (``qb_changed_since_sync``) keeps QuickBooks' values; so does a pair whose
    QuickBooks values this run copies to Salesforce (``copied``: nothing read from QuickBooks is
    sent back to it, R-ACC-10)."""
    both = differs.copy()  # the dates are read only where the pair differs
    both[differs] = qb_changed_since_sync(current[differs], sf_rows[differs])
    coming = differs & ~both & isin(linked["qb_id"].astype(str), copied)
    return both | coming, [
        skips(
            linked.loc[both, "key"],
            "changed in both systems since the last sync: QuickBooks' values win (R-ACC-5)",
            record=QB_CUSTOMER,
        ),
        skips(
            linked.loc[coming, "key"],
            "QuickBooks' values are copied to this Account or its billing Contact in this run: "
            "nothing read from QuickBooks is sent back to it (R-ACC-5, R-ACC-10)",
            record=QB_CUSTOMER,
        ),
    ]


def qb_changed_since_sync(qb_current: pd.DataFrame, sf_rows: pd.DataFrame) -> pd.Series:
    """R-ACC-5: was the QuickBooks customer edited after the sync last wrote this pair?

    True when its ``MetaData.LastUpdatedTime`` is later than the Account's Last_Sync_Date__c
    (or the Account was never stamped). The loads stamp Last_Sync_Date__c after their
    QuickBooks write returns, so the sync's own writes never count as a QuickBooks edit.
    Both frames are aligned on the same index.
    """
    # ISO 8601 whatever the form of each value (Intuit's offsets, Salesforce's +0000, with or
    # without milliseconds): pandas' inferred format would make the odd one out NaT, a "change".
    updated = pd.to_datetime(
        qb_current.get("MetaData.LastUpdatedTime"), utc=True, errors="coerce", format="ISO8601"
    )
    synced = pd.to_datetime(
        sf_rows.get("Last_Sync_Date__c"), utc=True, errors="coerce", format="ISO8601"
    )
    never = synced.isna()
    return (never | (updated > synced)).fillna(True).astype(bool)


def _updated(qb: pd.DataFrame) -> pd.Series:
    return qb.get("MetaData.LastUpdatedTime", pd.Series(pd.NA, index=qb.index, dtype=object))


def sync_stamps(last_updated: pd.Series, read_at: str | None) -> pd.Series:
    """R-GEN-7 on Intuit's clock, for Salesforce writes that copy QuickBooks customers:
    ``Last_Sync_Date__c`` = the later of the customer's ``LastUpdatedTime`` and ``read_at`` (the
    QuickBooks time of the extract's first answer), as Salesforce datetimes (None when neither
    is known: the load then stamps QuickBooks' time of the write).

    Both are QuickBooks times, so R-ACC-5's comparison never meets the worker's clock: the copied
    version is never newer than the stamp (the sync's own read is no "QuickBooks edit"), and an
    edit made after the extract read the customer, even while the run is still loading, is newer
    than the stamp and wins on the next run. ``read_at`` is at most seconds to minutes before
    the Salesforce write."""
    updated = pd.to_datetime(last_updated, utc=True, errors="coerce", format="ISO8601")
    if read_at:
        read = pd.Timestamp(read_at).tz_convert("UTC")
        updated = updated.where(updated > read, read)
    text = updated.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    return text.astype(object).where(updated.notna(), None)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty_skips()


def whole_addresses(changed: list[str], targets: list[str]) -> list[str]:
    """The targets a sparse update sends: the changed ones, and every part of an address one of
    whose parts changed. QuickBooks replaces an address object whole in a sparse update, so a
    changed city alone would clear the street (R-ACC-7)."""
    prefixes = {t.split(".")[0] for t in changed if t.startswith(QB_ADDRESS_PREFIXES)}
    return list(dict.fromkeys([*changed, *(t for t in targets if t.split(".")[0] in prefixes)]))


@functools.lru_cache(maxsize=64)
def _target_paths(targets: tuple[str, ...]) -> tuple[tuple[str, str | None, tuple, str], ...]:
    """Per dotted target: (target, the address it is the street of or None, parents, leaf),
    split once for every payload of a run rather than once per customer."""
    out = []
    for target in targets:
        *parents, leaf = target.split(".")
        street_of = target.split(".")[0] if target.endswith(".Street") else None
        out.append((target, street_of, tuple(parents), leaf))
    return tuple(out)


def _customer_payload(row: dict, targets: list[str], parent_qb_id, *, sparse: bool = False) -> dict:
    """A QuickBooks Customer body from mapped dotted targets (addresses as Line1..Line5)."""
    from sfqb.frames import split_street

    payload: dict = {}
    for target, street_of, parents, leaf in _target_paths(tuple(targets)):
        value = row.get(target, pd.NA)
        if street_of is not None:
            lines = split_street(value)
            if lines or sparse:
                payload.setdefault(street_of, {}).update(lines or {"Line1": ""})
            continue
        if missing(value):
            if not sparse:
                continue
            value = ""  # a sparse update clears the field
        if isinstance(value, Decimal):  # a Credit Limit as Salesforce reads it: exact text
            value = str(value)
        node = payload
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    for ref in ("SalesTermRef", "SalesRepRef"):
        if ref in payload:
            payload[ref].pop("name", None)
            if not payload[ref].get("value"):
                payload.pop(ref)
    if not missing(parent_qb_id):
        payload["ParentRef"] = {"value": str(parent_qb_id)}
        payload["Job"] = True
    return payload


# --- the whole area ----------------------------------------------------------------------------


@dataclass
class CustomerInputs:
    """What the extract hands the transform (all normalised frames).

    - ``qb_changed``: QuickBooks customers changed in the QB window (active or not), with
      BillAddr/ShipAddr derived columns.
    - ``sf_changed``: Salesforce Accounts changed in the SF window, ticked Sync_Me__c, or with
      a newly won opportunity / changed billing contact (``steps.customers_extract``'s
      ACCOUNT_FIELDS + mapped fields).
    - ``sf_linked``: current Accounts whose External_Account_ID__c is a changed customer's Id.
    - ``qb_linked``: current QuickBooks customers linked to the changed Accounts.
    - ``terms``: QuickBooks term name -> Id.
    - ``sales_reps``: QuickBooks Desktop sales rep initials -> Id (empty on Online, R-ACC-9).
    - ``desktop``: the company is QuickBooks Desktop (its rules: ``jobs``, ``edition_maps``).
    - ``unlinked_names``: names of unlinked Accounts that equal a changed customer's name.
    - ``qb_read_at``: QuickBooks' time (ISO) of the extract's first answer about customers
      (``sync_stamps``); None when unknown.
    """

    qb_changed: pd.DataFrame
    sf_changed: pd.DataFrame
    sf_linked: pd.DataFrame
    qb_linked: pd.DataFrame
    terms: dict[str, str]
    unlinked_names: frozenset[str] = frozenset()
    qb_read_at: str | None = None
    people: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PEOPLE_COLUMNS))
    sales_reps: dict[str, str] = field(default_factory=dict)
    desktop: bool = False
    ticked_contacts: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["Id", "AccountId"])
    )


def case_only_difference(sf_name, qb_name) -> bool:
    """R-ACC-11: two names QuickBooks takes for the same (``name_key``) that are not written
    the same."""
    return (
        not missing(sf_name)
        and not missing(qb_name)
        and str(sf_name) != str(qb_name)
        and name_key(sf_name) == name_key(qb_name)
    )


def same_name_link(account_id, account_name, customer_id, customer_name) -> str:
    """The R-ACC-11 warning for linking an Account to a customer whose name differs only in
    case or surrounding spaces: it names both records."""
    return (
        f"Salesforce Account {account_id} {str(account_name)!r} is linked to QuickBooks customer "
        f"{customer_id} {str(customer_name)!r}: the names differ only in case or surrounding "
        "spaces, which QuickBooks takes for the same name (R-ACC-11); if they are different "
        "companies, rename one and clear the Account's External Account ID"
    )


def linked_by_load(clashes: pd.DataFrame, qb: pd.DataFrame, creates: pd.DataFrame) -> pd.DataFrame:
    """Name clashes (a new customer named like an unlinked Account) whose Account is sent to
    QuickBooks in the same run are no one's to fix: QuickBooks refuses that create as a duplicate
    name and the load links the Account to this customer (R-GEN-3). Those become INFO: when the
    two names differ in case or surrounding spaces, the load's link is the WARNING naming both
    records (R-ACC-11, ``steps.customers._adopt_duplicates``), once."""
    if clashes.empty or creates.empty:
        return clashes
    created = {
        name_key(name): (k, name)
        for k, name in zip(
            creates["key"].tolist(),
            [json.loads(p).get("DisplayName") for p in creates["payload"].tolist()],
            strict=True,
        )
    }
    names = qb.assign(_id=qb["Id"].astype(str)).set_index("_id")["DisplayName"]
    out = clashes.copy()
    for i, key in enumerate(out["key"]):
        customer_id = str(key).removeprefix("QB:")
        customer_name = names.get(customer_id)
        if missing(customer_name) or name_key(customer_name) not in created:
            continue
        account_id, account_name = created[name_key(customer_name)]
        case = (
            " (the names differ in case or spaces: the load warns, R-ACC-11)"
            if case_only_difference(account_name, customer_name)
            else ""
        )
        out.loc[out.index[i], "level"] = INFO
        out.loc[out.index[i], "reason"] = (
            f"the unlinked Salesforce Account {account_id} of the same name is sent to QuickBooks "
            f"in this run; QuickBooks refuses it as a duplicate and the load links the two{case}"
        )
    return out


def plan_customers(
    inputs: CustomerInputs,
    prefs: Preferences,
    maps: dict[str, FieldMap] | None = None,
    limits: dict[str, dict] | None = None,
) -> CustomerPlan:
    """Both directions of docs/rules.md section 2 for one run. ``maps``: pair -> the effective map
    (defaults when absent); ``limits``: pair -> its custom targets' kinds and lengths."""
    maps, limits = maps or {}, limits or {}
    plan = CustomerPlan()
    qb, qb_skips = qb_customers_to_sync(inputs.qb_changed, inputs.desktop)
    plan.skip(qb_skips)
    plan.accounts, clashes = plan_accounts_from_qb(
        qb,
        inputs.sf_linked,
        maps.get("customer_to_account"),
        unlinked_names=inputs.unlinked_names,
        limits=limits.get("customer_to_account"),
        read_at=inputs.qb_read_at,
    )
    clashing = set(clashes["key"].str.removeprefix("QB:"))
    plan.contacts, plan.contact_releases, contact_skips = plan_contacts_from_qb(
        qb[~isin(qb["Id"].astype(str), clashing)],
        inputs.sf_linked,
        maps.get("customer_to_contact"),
        limits=limits.get("customer_to_contact"),
        read_at=inputs.qb_read_at,
        people=inputs.people,
    )
    plan.skip(contact_skips)
    # Pairs whose QuickBooks values this run copies to Salesforce: nothing this run read from
    # QuickBooks goes back to it (QuickBooks wins; no flip-flop, R-ACC-5, R-ACC-10).
    copied = set(plan.accounts.get(ACCOUNT_EXT_ID, pd.Series(dtype="object")).astype(str)) | set(
        plan.contacts.get("customer_id", pd.Series(dtype="object")).astype(str)
    )

    sf, sf_skips = sf_accounts_to_sync(inputs.sf_changed, prefs)
    plan.skip(sf_skips)
    creates, updates, skipped, notes = plan_customers_from_sf(
        sf,
        inputs.qb_linked,
        inputs.terms,
        prefs,
        maps.get("account_to_customer"),
        limits=limits.get("account_to_customer"),
        copied=frozenset(copied),
        sales_reps=inputs.sales_reps,
    )
    plan.customer_creates, plan.customer_updates = creates, updates
    plan.skip(linked_by_load(clashes, qb, creates))
    plan.skip(skipped)
    plan.note(notes)
    # Read again next run (R-GEN-5): records held back by a value their target cannot take
    # whole, and every record skipped with a warning (a person may fix it; retries space out
    # to daily while it keeps failing, R-GEN-9).
    unfit = plan.skips["reason"].str.contains(UNFIT, regex=False).fillna(False).astype(bool)
    warned = (plan.skips["level"] == WARNING).fillna(False).astype(bool)
    plan.retry = sorted(set(plan.skips.loc[unfit | warned, "key"].str.removesuffix(" contact")))
    failed_keys = set(plan.skips.loc[plan.skips["level"] == WARNING, "key"])
    ticked = is_true(inputs.sf_changed["Sync_Me__c"])
    plan.clear_sync_me = [
        key for key in inputs.sf_changed.loc[ticked, "Id"] if key not in failed_keys
    ]
    # A ticked Contact replays its Account (R-GEN-9): cleared when the Account went through.
    plan.clear_contact_sync_me = [
        str(c)
        for c, a in zip(
            inputs.ticked_contacts["Id"], inputs.ticked_contacts["AccountId"], strict=True
        )
        if str(a) not in failed_keys
    ]
    return plan
