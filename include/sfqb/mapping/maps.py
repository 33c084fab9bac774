"""Load a field map and apply it to a frame (docs/rules.md section 7).

A map is a list of rows ``{source, target}``. Applying it copies each source column to its
target column; where several rows fill one target, the last row with a value wins. Values are
copied as they are: coercion to the target's type is the caller's (and never silently lossy).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

DEFAULTS_DIR = Path(__file__).with_name("defaults")


@dataclass(frozen=True)
class Row:
    source: str
    target: str
    # "always", or "create": the row fills a new record only (e.g. Account Name -> Customer
    # CompanyName: a default for new customers, never a reason to rewrite an existing one).
    when: str = "always"
    # Where a custom row comes from ("<file>, line <n>"); empty for a default row.
    origin: str = ""

    @property
    def custom(self) -> bool:
        return bool(self.origin)


@dataclass(frozen=True)
class FieldMap:
    pair: str
    source: str
    target: str
    rows: tuple[Row, ...]
    # Prefixes of Salesforce field paths that name a related record: prefix -> its object
    # (``BillingContact.Email`` is the Email of the Account's billing Contact).
    related: tuple[tuple[str, str], ...] = ()

    def for_updates(self) -> FieldMap:
        """The map without its create-only rows."""
        rows = tuple(row for row in self.rows if row.when != "create")
        return FieldMap(self.pair, self.source, self.target, rows, self.related)

    @property
    def to_salesforce(self) -> bool:
        """True when the map writes Salesforce (its target is a Salesforce object)."""
        return self.target.startswith("salesforce.")

    def salesforce_path(self, row: Row) -> str:
        """The Salesforce side of one row: its target when the map writes Salesforce, else its
        source."""
        return row.target if self.to_salesforce else row.source

    def salesforce_field(self, path: str) -> tuple[str, str]:
        """(object, field) of a Salesforce field path of this map."""
        obj = (self.target if self.to_salesforce else self.source).split(".", 1)[1]
        prefix, _, rest = path.partition(".")
        return (
            (dict(self.related)[prefix], rest)
            if rest and prefix in dict(self.related)
            else (obj, path)
        )

    @property
    def source_fields(self) -> list[str]:
        return list(dict.fromkeys(row.source for row in self.rows))

    @property
    def target_fields(self) -> list[str]:
        return list(dict.fromkeys(row.target for row in self.rows))


@cache
def default_map(pair: str) -> FieldMap:
    """The default map of ``pair`` (a file name in ``mapping/defaults`` without ``.yaml``)."""
    path = DEFAULTS_DIR / f"{pair}.yaml"
    data = yaml.safe_load(path.read_text())
    return FieldMap(
        pair=data["pair"],
        source=data["source"],
        target=data["target"],
        rows=tuple(
            Row(str(r["source"]), str(r["target"]), str(r.get("when", "always")))
            for r in data["rows"]
        ),
        related=tuple((str(k), str(v)) for k, v in (data.get("related") or {}).items()),
    )


def pair_names() -> list[str]:
    """Every pair with a default map (the file names in ``mapping/defaults``)."""
    return sorted(path.stem for path in DEFAULTS_DIR.glob("*.yaml"))


# The maps each area uses (R-MAP-1); items only when the item sync is on.
AREA_MAPS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_to_account", "customer_to_contact", "account_to_customer"),
    "items": ("item_to_product",),
    "opportunities": ("opportunity_to_transaction", "opportunity_product_to_line"),
    "transactions": ("transaction_to_opportunity", "transaction_line_to_opportunity_product"),
    "invoices": ("invoice_to_invoice", "invoice_line_to_invoice_item"),
}
# Maps a custom mapping may not change (R-MAP-4).
FIXED_PAIRS = ("item_to_product", *AREA_MAPS["invoices"])


def merge(default: FieldMap, custom_rows) -> FieldMap:
    """Defaults + custom rows (R-MAP-1/3): a custom row whose target a default row fills takes
    the place of every default row for that target (the first one's position: "the last row
    with a value wins" keeps its order); the other custom rows are added at the end."""
    by_target = {row.target: row for row in custom_rows}
    rows: list[Row] = []
    placed: set[str] = set()
    for row in default.rows:
        if row.target not in by_target:
            rows.append(row)
        elif row.target not in placed:
            rows.append(by_target[row.target])
            placed.add(row.target)
    rows += [row for target, row in by_target.items() if target not in placed]
    return FieldMap(default.pair, default.source, default.target, tuple(rows), default.related)


def effective_map(pair: str, prefs=None, *, strict: bool = True) -> FieldMap:
    """The map of ``pair`` a run applies: its defaults plus the custom rows of the file the
    preference ``custom_mappings_path`` names (docs/rules.md section 7). ``strict``: raise
    MappingError when the file has problems (the preflight lists them; no area runs with them)."""
    from sfqb.mapping.custom import custom_rows

    return merge(default_map(pair), custom_rows(prefs, strict=strict).get(pair, ()))


def effective_maps(prefs, pairs=None, *, strict: bool = True) -> dict[str, FieldMap]:
    """pair -> effective map, for ``pairs`` (default: every pair)."""
    return {pair: effective_map(pair, prefs, strict=strict) for pair in (pairs or pair_names())}


def active_maps(prefs, *, strict: bool = True) -> list[FieldMap]:
    """The field maps this run will apply, given the preferences (docs/rules.md section 7)."""
    areas = ["customers"]
    areas += ["items"] if prefs.sync_items else []
    areas += ["opportunities"] if prefs.sync_won_opportunities else []
    areas += (
        ["transactions"]
        if prefs.sync_won_opportunities and prefs.update_opportunities_from_quickbooks
        else []
    )
    areas += ["invoices"] if prefs.sync_invoices else []
    return [
        effective_map(pair, prefs, strict=strict)
        for area in areas
        for pair in AREA_MAPS.get(area, ())
    ]


# Salesforce describe types -> the kinds the compatibility rule speaks of.
SF_KINDS = {
    **dict.fromkeys(
        (
            "string",
            "textarea",
            "phone",
            "url",
            "email",
            "picklist",
            "multipicklist",
            "combobox",
            "encryptedstring",
        ),
        "text",
    ),
    **dict.fromkeys(("double", "currency", "percent", "int", "long"), "number"),
    **dict.fromkeys(("id", "reference"), "id"),
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "address": "compound",
    "location": "compound",
}


@cache
def _quickbooks_fields() -> dict[str, dict[str, str]]:
    return yaml.safe_load(DEFAULTS_DIR.with_name("quickbooks_fields.yaml").read_text())


@cache
def _desktop_fields() -> dict[str, dict]:
    return yaml.safe_load(DEFAULTS_DIR.with_name("quickbooks_desktop_fields.yaml").read_text())


@cache
def quickbooks_field_kinds(edition: str = "online") -> dict[str, dict[str, str]]:
    """Entity -> field path -> kind (text, number, boolean, date, datetime, id): the QuickBooks
    fields a map may name (``mapping/quickbooks_fields.yaml``; ``text(N)`` is text). On
    ``desktop``, also the fields only Desktop has (``quickbooks_desktop_fields.yaml``,
    ``with``); those it has no place for are ``desktop_without``'s."""
    kinds = {
        entity: {path: str(kind).split("(")[0] for path, kind in fields.items()}
        for entity, fields in _quickbooks_fields().items()
    }
    if edition == "desktop":
        for entity, differs in _desktop_fields().items():
            extra = {path: str(kind).split("(")[0] for path, kind in differs["with"].items()}
            kinds[entity] = {**kinds.get(entity, {}), **extra}
    return kinds


@cache
def desktop_without() -> frozenset[tuple[str, str]]:
    """(entity, field path) of the Online fields QuickBooks Desktop has no place for."""
    return frozenset(
        (entity, path)
        for entity, differs in _desktop_fields().items()
        for path in differs["without"]
    )


@cache
def quickbooks_field_lengths() -> dict[str, dict[str, int]]:
    """Entity -> field path -> the most characters QuickBooks Online keeps (``text(N)``)."""
    return {
        entity: {
            path: int(str(kind).split("(")[1].rstrip(")"))
            for path, kind in fields.items()
            if "(" in str(kind)
        }
        for entity, fields in _quickbooks_fields().items()
    }


def apply_map(frame: pd.DataFrame, field_map: FieldMap) -> pd.DataFrame:
    """Target columns for every row of ``frame`` (same index). Missing source columns count as
    empty (a record without a billing contact has no ``BillingContact.*`` columns)."""
    out = pd.DataFrame(index=frame.index)
    for row in field_map.rows:
        if row.source in frame.columns:
            values = frame[row.source]
        else:
            values = pd.Series(pd.NA, index=frame.index, dtype="object")
        if row.target in out.columns:
            out[row.target] = values.combine_first(out[row.target])
        else:
            out[row.target] = values
    return out
