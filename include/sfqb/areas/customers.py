"""Customers <-> Accounts and billing Contacts (SPEC section 2): the rules, as pure functions.

Inputs are normalised frames (``sfqb.extract.frames``); the output is a ``CustomerPlan``: what to
write to each system and what to skip, with reasons. No I/O and no clock here: the loads in
``sfqb.tasks.customers`` apply the plan and stamp the write time.

Both directions in one plan, so the conflict rule can see both sides: a linked pair changed in
both systems since the last sync takes QuickBooks' values (R-ACC-5).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sfqb.extract.frames import is_true, isin, isna, missing, records
from sfqb.mapping.coerce import UNFIT, fit
from sfqb.mapping.maps import FieldMap, apply_map, default_map
from sfqb.outcomes import INFO, WARNING, empty_skips, skips
from sfqb.preferences import Preferences

AREA = "customers"
QB_STREAM = "quickbooks.Customer"
SF_STREAM = "salesforce.Account"
ACCOUNT_EXT_ID = "External_Account_ID__c"
CONTACT_EXT_ID = "External_Contact_ID__c"
# QBO DisplayName rules (api-spec 2.6.1): at most 500 characters; no colon, tab or newline.
DISPLAY_NAME_MAX = 500
DISPLAY_NAME_FORBIDDEN = (":", "\t", "\n", "\r")
# CompanyName (a copy of the Account name on new customers) keeps at most 100 characters.
COMPANY_NAME_MAX = 100
# Salesforce's Account Name keeps at most 255 characters (a QuickBooks DisplayName up to 500).
ACCOUNT_NAME_MAX = 255
# Targets that only reach an existing QuickBooks customer when modifying is allowed: with
# allow_salesforce_to_modify_quickbooks off, nothing reaches an existing customer at all.
QB_ADDRESS_PREFIXES = ("BillAddr.", "ShipAddr.")

QB_COLUMNS = [
    "Id", "SyncToken", "DisplayName", "Active", "Job", "IsProject", "ParentRef.value", "Level",
    "GivenName", "FamilyName", "PrimaryEmailAddr.Address", "PrimaryPhone.FreeFormNumber",
    "MetaData.LastUpdatedTime",
]
SF_ACCOUNT_COLUMNS = [
    "Id", "Name", ACCOUNT_EXT_ID, "Sync_Me__c", "HasWonOpportunity", "Parent.External_Account_ID__c",
    "BillingContact.Id", "BillingContact.External_Contact_ID__c",
]


@dataclass
class CustomerPlan:
    """What the customer area writes in one run.

    - ``accounts``: Salesforce Account upserts by External_Account_ID__c (QB -> SF), with a
      ``level`` column: parents before sub-customers.
    - ``contacts``: billing Contact writes (QB -> SF), by Id when the account has a billing
      contact, else upserts by External_Contact_ID__c.
    - ``customer_creates`` / ``customer_updates``: QuickBooks writes (SF -> QB), keyed by the
      Salesforce Account Id; updates carry the QuickBooks Id and SyncToken.
    - ``clear_sync_me``: Account Ids whose Sync_Me__c is cleared once they synced (R-GEN-9).
    - ``skips`` (not written, with reason) and ``notes`` (written, but with a warning).
    - ``retry``: keys of records held back by a value their target cannot take whole (read
      again next run: ``QB:<Id>`` for customers, Account Ids for accounts).
    """

    accounts: pd.DataFrame = field(default_factory=pd.DataFrame)
    contacts: pd.DataFrame = field(default_factory=pd.DataFrame)
    customer_creates: pd.DataFrame = field(default_factory=pd.DataFrame)
    customer_updates: pd.DataFrame = field(default_factory=pd.DataFrame)
    clear_sync_me: list[str] = field(default_factory=list)
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

def _same(a, b) -> bool:
    """Equal as the two systems store values: missing == missing, text compared as text."""
    if missing(a) and missing(b):
        return True
    if missing(a) or missing(b):
        return False
    return str(a) == str(b)


def changed_fields(wanted: pd.DataFrame, current: pd.DataFrame, columns: list[str]) -> pd.Series:
    """Per row of ``wanted`` (aligned with ``current`` by index): the columns whose value differs
    (``_same`` per value, vectorised per column: 5,000 rows x 30 columns in a fraction of a second)."""
    differs = np.zeros((len(wanted), len(columns)), dtype=bool)
    for n, column in enumerate(columns):
        mine = wanted[column]
        theirs = (current[column].reindex(wanted.index) if column in current.columns
                  else pd.Series(pd.NA, index=wanted.index, dtype="object"))
        mine_na, theirs_na = isna(mine).to_numpy(), isna(theirs).to_numpy()
        both = ~mine_na & ~theirs_na
        differs[:, n] = mine_na != theirs_na
        differs[both, n] = mine[both].map(str).to_numpy() != theirs[both].map(str).to_numpy()
    names = np.array(columns, dtype=object)
    return pd.Series([list(names[row]) for row in differs], index=wanted.index, dtype="object")


def name_key(name) -> str:
    """A name as QuickBooks compares names for uniqueness: case and surrounding spaces ignored
    (api-spec 2.6.1: the emulator, like the stricter reading of the real service)."""
    return str(name).strip().casefold()


def display_name_problem(name) -> str | None:
    """Why QuickBooks would reject ``name`` as a DisplayName, or None (api-spec 2.6.1)."""
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

def unfit_values(wanted: pd.DataFrame, keys: pd.Series, limits) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mapped values coerced to their targets (``sfqb.mapping.coerce.fit``) and the rows that
    cannot be written whole: (the writable rows, WARNING skips keyed by ``keys``)."""
    if not limits or wanted.empty:
        return wanted, empty_skips()
    wanted, reasons = fit(wanted, limits)
    bad = ~isna(reasons)
    return wanted[~bad], skips(keys[bad.to_numpy()], reasons[bad], WARNING)


def qb_customers_to_sync(qb: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Active customers and sub-customers; inactive ones and projects are skipped (R-ACC-2/3)."""
    qb = qb.copy()
    active = is_true(qb["Active"])
    project = is_true(qb["IsProject"])
    skipped = pd.concat(
        [
            skips("QB:" + qb.loc[~active, "Id"], "inactive in QuickBooks: not synced (R-ACC-2)"),
            skips(
                "QB:" + qb.loc[active & project, "Id"],
                "a QuickBooks project (job): jobs are not synced (R-ACC-3)",
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
        Last_Sync_Date__c, <Account fields>], only rows with something to write (new accounts, or changed values:
        no echo, R-GEN-4).
    """
    account_map = account_map or default_map("customer_to_account")
    targets = account_map.target_fields
    wanted, unfit = unfit_values(apply_map(qb, account_map), "QB:" + qb["Id"].astype(str), limits)
    qb = qb.loc[wanted.index]
    too_long = wanted["Name"].map(lambda n: not missing(n) and len(str(n)) > ACCOUNT_NAME_MAX).astype(bool)
    if too_long.any():
        unfit = pd.concat([unfit, skips(
            "QB:" + qb.loc[too_long, "Id"].astype(str),
            "the name has " + wanted.loc[too_long, "Name"].map(lambda n: str(len(str(n))))
            + f" characters and a Salesforce Account Name keeps at most {ACCOUNT_NAME_MAX}: {UNFIT} "
              "(shorten it in QuickBooks)",
            WARNING,
        )], ignore_index=True)
        wanted = wanted[~too_long]
    qb = qb.loc[wanted.index]
    wanted[ACCOUNT_EXT_ID] = qb["Id"].astype(str).to_numpy()
    wanted["parent_ext_id"] = qb["ParentRef.value"].to_numpy()
    wanted["level"] = pd.to_numeric(qb["Level"], errors="coerce").fillna(0).astype(int).to_numpy()
    wanted["Last_Sync_Date__c"] = sync_stamps(_updated(qb), read_at).to_numpy()
    wanted = wanted.set_index(ACCOUNT_EXT_ID, drop=False)

    current = sf_linked.drop_duplicates(ACCOUNT_EXT_ID).set_index(ACCOUNT_EXT_ID, drop=False)
    is_new = ~isin(wanted.index, current.index)
    existing = wanted[~is_new]
    aligned = current.reindex(existing.index)
    diffs = changed_fields(existing, aligned, targets)
    parent_changed = [
        not _same(p, q)
        for p, q in zip(
            existing["parent_ext_id"],
            aligned.get("Parent.External_Account_ID__c", pd.Series(pd.NA, index=aligned.index)),
            strict=True,
        )
    ]
    needs_write = diffs.map(bool) | pd.Series(parent_changed, index=existing.index, dtype=bool)
    # Only a QuickBooks edit made after the last sync overwrites Salesforce: a record read again
    # (lookback, our own earlier write) must not undo a Salesforce edit (R-ACC-4/5, R-GEN-4).
    qb_rows = qb.assign(_key=qb["Id"].astype(str)).set_index("_key").reindex(existing.index)
    needs_write &= qb_changed_since_sync(qb_rows, aligned)
    new = wanted[is_new]
    # Names differing only in case or surrounding spaces are one company to QuickBooks.
    unlinked = {name_key(n): n for n in unlinked_names}
    clash = new["Name"].map(lambda n: not missing(n) and name_key(n) in unlinked).astype(bool)
    skipped = skips(
        "QB:" + new.loc[clash, ACCOUNT_EXT_ID],
        "Salesforce already has an Account named " + new.loc[clash, "Name"].map(lambda n: repr(unlinked[name_key(n)]))
        + " that is linked to no QuickBooks customer: link it (set its External Account ID to "
        + new.loc[clash, ACCOUNT_EXT_ID] + ") instead of creating a duplicate",
        WARNING,
    )
    out = pd.concat([new[~clash], existing[needs_write]])
    out["is_new"] = isin(out.index, new.index)
    skipped = pd.concat([skipped, unfit], ignore_index=True) if len(unfit) else skipped
    return out.reset_index(drop=True).sort_values(["level", ACCOUNT_EXT_ID], kind="stable"), skipped


def plan_contacts_from_qb(
    qb: pd.DataFrame,
    sf_linked: pd.DataFrame,
    contact_map: FieldMap | None = None,
    limits: dict | None = None,
    read_at: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Billing Contact writes for the customers' contact persons (R-ACC-8), stamped like
    their Accounts (``sync_stamps``).

    A customer with no family name has no contact person Salesforce can hold (LastName is
    required): it is skipped with a reason. The account's existing billing Contact is updated
    in place; otherwise one is created, keyed by External_Contact_ID__c = the customer's Id.
    """
    contact_map = contact_map or default_map("customer_to_contact")
    targets = contact_map.target_fields
    wanted, unfit = unfit_values(apply_map(qb, contact_map), "QB:" + qb["Id"].astype(str) + " contact", limits)
    qb = qb.loc[wanted.index]
    wanted["customer_id"] = qb["Id"].astype(str).to_numpy()
    wanted["Last_Sync_Date__c"] = sync_stamps(_updated(qb), read_at).to_numpy()
    no_person = isna(wanted["LastName"])
    skipped = pd.concat([skips(
        "QB:" + wanted.loc[no_person & ~isna(wanted["FirstName"]), "customer_id"],
        "the QuickBooks contact has no family name: no billing Contact synced",
    ), unfit], ignore_index=True)
    wanted = wanted[~no_person].set_index("customer_id", drop=False)

    current = sf_linked.drop_duplicates(ACCOUNT_EXT_ID).set_index(ACCOUNT_EXT_ID)
    contact_columns = [c for c in current.columns if c.startswith("BillingContact.")]
    # Only the Contact's columns: the Account has fields of the same names (Phone).
    current_contacts = (
        current[contact_columns]
        .rename(columns={f"BillingContact.{t}": t for t in targets})
        .reindex(wanted.index)
    )
    has_contact = ~isna(current_contacts.get("BillingContact.Id", pd.Series(pd.NA, index=wanted.index)))
    diffs = changed_fields(wanted, current_contacts, targets)
    ext_id = current_contacts.get(
        "BillingContact.External_Contact_ID__c", pd.Series(pd.NA, index=wanted.index)
    )
    needs_link = isna(ext_id) | (ext_id.astype("object") != wanted["customer_id"])
    accounts_now = current.reindex(wanted.index)
    qb_rows = qb.assign(_key=qb["Id"].astype(str)).set_index("_key").reindex(wanted.index)
    qb_newer = qb_changed_since_sync(qb_rows, accounts_now)
    write = ~has_contact | (diffs.map(bool) & qb_newer) | needs_link
    out = wanted[write].copy()
    out["contact_id"] = current_contacts.loc[write, "BillingContact.Id"].to_numpy() if len(out) else []
    out[CONTACT_EXT_ID] = out["customer_id"]
    out[ACCOUNT_EXT_ID] = out["customer_id"]
    out["Is_Billing_Contact__c"] = True
    return out.reset_index(drop=True), skipped


# --- Salesforce -> QuickBooks ----------------------------------------------------------------

def sf_accounts_to_sync(sf: pd.DataFrame, prefs: Preferences) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accounts with a closed/won opportunity, or all with the preference (R-ACC-1)."""
    if prefs.sync_accounts_without_won_opportunities:
        return sf, empty_skips()
    won = is_true(sf["HasWonOpportunity"])
    unlinked_without_won = ~won & isna(sf[ACCOUNT_EXT_ID])
    return (
        sf[won | ~isna(sf[ACCOUNT_EXT_ID])],
        skips(sf.loc[unlinked_without_won, "Id"], "no closed/won opportunity yet: not sent to QuickBooks (R-ACC-1)"),
    )


def plan_customers_from_sf(
    sf: pd.DataFrame,
    qb_linked: pd.DataFrame,
    terms: dict[str, str],
    prefs: Preferences,
    customer_map: FieldMap | None = None,
    limits: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """QuickBooks customer creates and updates for changed Accounts.

    Args:
        sf: accounts to sync (``sf_accounts_to_sync``) with ``BillingContact.*`` columns.
        qb_linked: current QuickBooks customers whose Id is one of ``sf.External_Account_ID__c``,
            with dotted columns and derived address columns. A pair whose customer was edited
            in QuickBooks since the last sync is a conflict: QuickBooks wins (R-ACC-5).
        terms: QuickBooks term name -> Id (R-ACC-9).
    Returns:
        (creates, updates, skips, notes). creates: frame[key (Account Id), payload (JSON text),
        billing_contact_id]; updates: frame[key, Id, SyncToken, payload (JSON text of the
        sparse body), changed]. Payloads travel as JSON text: XCom stores frames as Parquet,
        where dicts with different keys would gain each other's keys.
    """
    customer_map = customer_map or default_map("account_to_customer")
    targets = customer_map.target_fields
    wanted = apply_map(sf, customer_map)
    # Linked Accounts are compared with the update rows only (no create-only precedence).
    linked_mask = ~isna(sf[ACCOUNT_EXT_ID]).to_numpy()
    for column, values in apply_map(sf, customer_map.for_updates()).items():
        wanted.loc[linked_mask, column] = values[linked_mask]
    wanted, unfit = unfit_values(wanted, sf["Id"], limits)
    sf = sf.loc[wanted.index]
    wanted["key"] = sf["Id"].to_numpy()
    wanted["qb_id"] = sf[ACCOUNT_EXT_ID].to_numpy()
    wanted["parent_qb_id"] = sf["Parent.External_Account_ID__c"].to_numpy()
    wanted["billing_contact_id"] = sf["BillingContact.Id"].to_numpy()

    skipped, notes = [unfit], []
    # Terms must name a QuickBooks term (R-ACC-9): unknown ones are dropped with a warning.
    term_names = {name.lower(): tid for name, tid in terms.items()}
    term_ids = wanted["SalesTermRef.name"].map(lambda n: pd.NA if missing(n) else term_names.get(str(n).lower(), pd.NA))
    unknown = ~isna(wanted["SalesTermRef.name"]) & isna(term_ids)
    notes.append(
        skips(
            wanted.loc[unknown, "key"],
            "Terms " + wanted.loc[unknown, "SalesTermRef.name"].map(repr) + " do not exist in QuickBooks: left out (R-ACC-9)",
            WARNING,
        )
    )
    wanted["SalesTermRef.value"] = term_ids
    wanted.loc[unknown, "SalesTermRef.name"] = pd.NA
    targets = [t for t in targets if t != "SalesTermRef.name"] + ["SalesTermRef.value"]

    is_new = isna(wanted["qb_id"])
    new = wanted[is_new]
    bad_name = new["DisplayName"].map(display_name_problem)
    has_bad = ~isna(bad_name)
    skipped.append(skips(new.loc[has_bad, "key"], "not sent to QuickBooks: " + bad_name[has_bad], WARNING))
    new = new[~has_bad]
    shared = new["DisplayName"].map(name_key).duplicated(keep=False).astype(bool)
    skipped.append(
        skips(new.loc[shared, "key"],
              "several Accounts to create share the name " + new.loc[shared, "DisplayName"].map(repr)
              + " (QuickBooks ignores case and surrounding spaces), and QuickBooks names are unique: "
                "rename all but one", WARNING)
    )
    new = new[~shared].copy()
    if "CompanyName" in new.columns:
        long_company = new["CompanyName"].map(lambda n: not missing(n) and len(str(n)) > COMPANY_NAME_MAX).astype(bool)
        notes.append(skips(
            new.loc[long_company, "key"],
            "the name has " + new.loc[long_company, "CompanyName"].map(lambda n: str(len(str(n))))
            + f" characters and QuickBooks' Company name keeps at most {COMPANY_NAME_MAX}: the customer's "
              "Display name carries the whole name, its Company name is left empty",
            WARNING,
        ))
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

    linked = wanted[~is_new]
    updates = pd.DataFrame(columns=["key", "Id", "SyncToken", "payload", "changed"])
    if len(linked):
        update_targets = set(customer_map.for_updates().target_fields) | {"SalesTermRef.value"}
        targets = [t for t in targets if t in update_targets]
        current = qb_linked.set_index("Id").reindex(linked["qb_id"].astype(str))
        current.index = linked.index
        current["SalesTermRef.value"] = current.get("SalesTermRef.value", pd.Series(pd.NA, index=current.index))
        compare = [t for t in targets if t in linked.columns]
        diffs = changed_fields(linked, current, compare)
        gone = isna(current["SyncToken"])
        skipped.append(
            skips(linked.loc[gone, "key"], "its QuickBooks customer " + linked.loc[gone, "qb_id"].astype(str)
                  + " was not found (deleted or merged in QuickBooks?)", WARNING)
        )
        differs = diffs.map(bool) & ~gone
        conflict = differs & qb_changed_since_sync(current, sf.loc[linked.index])
        skipped.append(
            skips(linked.loc[conflict, "key"],
                  "changed in both systems since the last sync: QuickBooks' values win (R-ACC-5)")
        )
        blocked = differs & ~conflict & (not prefs.allow_salesforce_to_modify_quickbooks)
        skipped.append(
            skips(
                linked.loc[blocked, "key"],
                "changes not sent to QuickBooks: allow_salesforce_to_modify_quickbooks is off (R-ACC-4)",
            )
        )
        send = differs & ~conflict & ~blocked
        if send.any():
            rows = linked[send]
            updates = pd.DataFrame(
                {
                    "key": rows["key"],
                    "Id": rows["qb_id"].astype(str),
                    "SyncToken": current.loc[send, "SyncToken"].astype(str),
                    "changed": diffs[send],
                    "payload": [
                        json.dumps(_customer_payload(row, changed, None, sparse=True))
                        for row, changed in zip(records(rows), diffs[send], strict=True)
                    ],
                }
            )
    return (
        creates.reset_index(drop=True),
        updates.reset_index(drop=True),
        _concat(skipped),
        _concat(notes),
    )


def qb_changed_since_sync(qb_current: pd.DataFrame, sf_rows: pd.DataFrame) -> pd.Series:
    """R-ACC-5: was the QuickBooks customer edited after the sync last wrote this pair?

    True when its ``MetaData.LastUpdatedTime`` is later than the Account's Last_Sync_Date__c
    (or the Account was never stamped). The loads stamp Last_Sync_Date__c after their
    QuickBooks write returns, so the sync's own writes never count as a QuickBooks edit.
    Both frames are aligned on the same index.
    """
    # ISO 8601 whatever the form of each value (Intuit's offsets, Salesforce's +0000, with or
    # without milliseconds): pandas' inferred format would make the odd one out NaT, a "change".
    updated = pd.to_datetime(qb_current.get("MetaData.LastUpdatedTime"), utc=True, errors="coerce", format="ISO8601")
    synced = pd.to_datetime(sf_rows.get("Last_Sync_Date__c"), utc=True, errors="coerce", format="ISO8601")
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


def _customer_payload(row: dict, targets: list[str], parent_qb_id, *, sparse: bool = False) -> dict:
    """A QuickBooks Customer body from mapped dotted targets (addresses as Line1..Line5)."""
    from sfqb.extract.frames import split_street

    payload: dict = {}
    for target in targets:
        value = row.get(target, pd.NA)
        if target.endswith(".Street"):
            prefix = target.split(".")[0]
            lines = split_street(value)
            if lines or sparse:
                payload.setdefault(prefix, {}).update(lines or {"Line1": ""})
            continue
        if missing(value):
            if not sparse:
                continue
            value = ""  # a sparse update clears the field
        node = payload
        *parents, leaf = target.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    if "SalesTermRef" in payload:
        payload["SalesTermRef"].pop("name", None)
        if not payload["SalesTermRef"].get("value"):
            payload.pop("SalesTermRef")
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
      a newly won opportunity / changed billing contact (SF_ACCOUNT_COLUMNS + mapped fields).
    - ``sf_linked``: current Accounts whose External_Account_ID__c is a changed customer's Id.
    - ``qb_linked``: current QuickBooks customers linked to the changed Accounts.
    - ``terms``: QuickBooks term name -> Id.
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


def linked_by_load(clashes: pd.DataFrame, qb: pd.DataFrame, creates: pd.DataFrame) -> pd.DataFrame:
    """Name clashes (a new customer named like an unlinked Account) whose Account is sent to
    QuickBooks in the same run are no one's to fix: QuickBooks refuses that create as a duplicate
    name and the load links the Account to this customer (R-GEN-3). Those become INFO."""
    if clashes.empty or creates.empty:
        return clashes
    created = {name_key(json.loads(p).get("DisplayName")) for p in creates["payload"]}
    names = qb.assign(_id=qb["Id"].astype(str)).set_index("_id")["DisplayName"]
    linking = clashes["key"].str.removeprefix("QB:").map(names).map(
        lambda n: not missing(n) and name_key(n) in created).astype(bool)
    out = clashes.copy()
    out.loc[linking, "level"] = INFO
    out.loc[linking, "reason"] = ("an unlinked Salesforce Account of the same name is sent to QuickBooks in "
                                  "this run; QuickBooks refuses it as a duplicate and the load links the two")
    return out


def plan_customers(
    inputs: CustomerInputs, prefs: Preferences, maps: dict[str, FieldMap] | None = None,
    limits: dict[str, dict] | None = None,
) -> CustomerPlan:
    """Both directions of SPEC section 2 for one run. ``maps``: pair -> the effective map
    (defaults when absent); ``limits``: pair -> its custom targets' kinds and lengths."""
    maps, limits = maps or {}, limits or {}
    plan = CustomerPlan()
    qb, qb_skips = qb_customers_to_sync(inputs.qb_changed)
    plan.skip(qb_skips)
    plan.accounts, clashes = plan_accounts_from_qb(
        qb, inputs.sf_linked, maps.get("customer_to_account"), unlinked_names=inputs.unlinked_names,
        limits=limits.get("customer_to_account"), read_at=inputs.qb_read_at,
    )
    clashing = set(clashes["key"].str.removeprefix("QB:"))
    plan.contacts, contact_skips = plan_contacts_from_qb(
        qb[~isin(qb["Id"].astype(str), clashing)], inputs.sf_linked, maps.get("customer_to_contact"),
        limits=limits.get("customer_to_contact"), read_at=inputs.qb_read_at,
    )
    plan.skip(contact_skips)

    sf, sf_skips = sf_accounts_to_sync(inputs.sf_changed, prefs)
    plan.skip(sf_skips)
    creates, updates, skipped, notes = plan_customers_from_sf(
        sf, inputs.qb_linked, inputs.terms, prefs, maps.get("account_to_customer"),
        limits=limits.get("account_to_customer"),
    )
    plan.customer_creates, plan.customer_updates = creates, updates
    plan.skip(linked_by_load(clashes, qb, creates))
    plan.skip(skipped)
    plan.note(notes)
    unfit = plan.skips["reason"].str.contains(UNFIT, regex=False).fillna(False)
    plan.retry = sorted(set(plan.skips.loc[unfit.astype(bool), "key"].str.removesuffix(" contact")))
    failed_keys = set(plan.skips.loc[plan.skips["level"] == WARNING, "key"])
    ticked = is_true(inputs.sf_changed["Sync_Me__c"])
    plan.clear_sync_me = [
        key for key in inputs.sf_changed.loc[ticked, "Id"] if key not in failed_keys
    ]
    return plan


