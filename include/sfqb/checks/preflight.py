"""The preflight validations of the Salesforce org (R-PRE-3..5, R-MAP-2).

Three DataFrames are built from the org's metadata (pure functions over describe JSON), and
each is validated by a great-expectations suite:

- the package's custom fields: does the field exist, and is it on at least one page layout of
  its object (R-PRE-3)?
- the Standard Price Book: does it exist, and is it active (R-PRE-4)?
- the fields the run's field maps name: does each exist, with a type the value can be copied
  into, and can the sync user write the targets (R-MAP-2)?

``problems`` returns one sentence per problem, each saying how to fix it; the task fails the
run with all of them in one message (R-PRE-5).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import pandas as pd

from sfqb.checks import package
from sfqb.checks.gx import Check, failures
from sfqb.mapping.maps import SF_KINDS

# A value of the source kind can be copied into these target kinds without losing anything.
# (An id of one system means nothing as a reference in the other: ids copy only into text.)
COMPATIBLE = {
    "text": {"text"},
    "number": {"number", "text"},
    "boolean": {"boolean", "text"},
    "date": {"date", "text"},
    "datetime": {"datetime", "text"},
    "time": {"time", "text"},
    "id": {"text"},
}

# Custom rows only: text into a number field, checked value by value when the sync runs.
TEXT_TO_NUMBER = {"number"}

PACKAGE_DOC = "docs/salesforce-package.md"


# ---------------------------------------------------------------- metadata -> frames
def _layout_fields(layout: Mapping) -> set[str]:
    """Every field name placed on one DescribeLayout (detail and edit sections; compound
    fields such as an address contribute their components too)."""
    found: set[str] = set()

    def visit(components: Iterable[Mapping]) -> None:
        for component in components or []:
            if component.get("type") == "Field" and component.get("value"):
                found.add(component["value"])
            visit(component.get("components") or [])

    for key in ("detailLayoutSections", "editLayoutSections"):
        for section in layout.get(key) or []:
            for row in section.get("layoutRows") or []:
                for item in row.get("layoutItems") or []:
                    visit(item.get("layoutComponents") or [])
    return found


def package_fields_frame(
    describes: Mapping[str, Mapping | None],
    layouts: Mapping[str, Mapping | None],
    fields: Mapping[str, Iterable[str]] = package.CUSTOM_FIELDS,
) -> pd.DataFrame:
    """One row per package field: object, field, object_in_org, in_org, label, type (the org's,
    as describe reports it), type_ok (it is the package's type; missing when the field is not in
    the org), layout_count (layouts of the object that show it; missing when the field is not in
    the org) and layout_ids (all the object's layouts).

    ``describes``/``layouts``: object -> describe / describe-layouts JSON, None when the org has
    no such object."""
    rows = []
    for obj, names in fields.items():
        describe = describes.get(obj)
        present = {f["name"]: f for f in (describe or {}).get("fields", [])}
        obj_layouts = list(((layouts.get(obj) or {}).get("layouts")) or [])
        placed = [_layout_fields(layout) for layout in obj_layouts]
        ids = ", ".join(str(layout.get("id")) for layout in obj_layouts)
        for name in names:
            in_org = name in present
            rows.append(
                {
                    "object": obj,
                    "field": name,
                    "object_in_org": describe is not None,
                    "in_org": in_org,
                    "label": present[name].get("label") if in_org else None,
                    "type": present[name].get("type") if in_org else None,
                    "type_ok": (
                        present[name].get("type") == package.FIELD_TYPES[obj].get(name)
                        if in_org and name in package.FIELD_TYPES.get(obj, {})
                        else None
                    ),
                    "layout_count": sum(name in p for p in placed) if in_org else None,
                    "layout_total": len(obj_layouts),
                    "layout_ids": ids,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "object",
            "field",
            "object_in_org",
            "in_org",
            "label",
            "type",
            "type_ok",
            "layout_count",
            "layout_total",
            "layout_ids",
        ],
    )
    return frame.astype({"layout_count": "Int64", "type_ok": "object"})


def pricebook_frame(standard: Mapping | None) -> pd.DataFrame:
    """The org's standard price book as a frame of 0 or 1 rows: Id, Name, IsActive."""
    rows = [{k: standard.get(k) for k in ("Id", "Name", "IsActive")}] if standard else []
    return pd.DataFrame(rows, columns=["Id", "Name", "IsActive"]).astype({"IsActive": "object"})


def mapped_fields_frame(
    maps: Iterable,
    describes: Mapping[str, Mapping | None],
    qb_kinds: Mapping[str, Mapping[str, str]],
    no_place: Collection[tuple[str, str]] = frozenset(),
) -> pd.DataFrame:
    """One row per map row: its Salesforce field (exists? kind? writable?) and QuickBooks field
    (known? kind?), and whether the value can be copied from source to target.

    ``compatible`` and ``writable`` are missing where they cannot be decided (a field that does
    not exist; ``writable`` only concerns Salesforce targets). ``no_place``: the (entity, field)
    pairs the run's QuickBooks edition has no place for (QuickBooks Desktop's
    ``desktop_without``): ``qb_place`` is False for a custom row naming one (a default row
    naming one is left out by the edition, not refused)."""
    rows = []
    for field_map in maps:
        to_sf = field_map.to_salesforce
        entity = (field_map.source if to_sf else field_map.target).split(".", 1)[1]
        for number, row in enumerate(field_map.rows, start=1):
            qb_path = row.source if to_sf else row.target
            obj, name = field_map.salesforce_field(field_map.salesforce_path(row))
            described = {f["name"]: f for f in (describes.get(obj) or {}).get("fields", [])}
            sf_field = described.get(name)
            sf_kind = SF_KINDS.get(sf_field["type"], "other") if sf_field else None
            qb_kind = (qb_kinds.get(entity) or {}).get(qb_path)
            source_kind, target_kind = (qb_kind, sf_kind) if to_sf else (sf_kind, qb_kind)
            # A custom row writing a key field is that one problem (no type or access check too).
            key = _key_field(sf_field, qb_kind, to_sf) if row.custom else None
            compatible = None
            if source_kind and target_kind and key is None:
                # A custom row may also copy text into a number field: each value that is no
                # number holds its record back with a WARNING (sfqb.mapping.coerce).
                allowed = COMPATIBLE.get(source_kind, set()) | (
                    TEXT_TO_NUMBER if row.custom and source_kind == "text" else set()
                )
                compatible = target_kind in allowed
            writable = None
            if to_sf and sf_field and key is None:
                writable = bool(sf_field.get("updateable")) or (
                    row.when == "create" and bool(sf_field.get("createable"))
                )
            rows.append(
                {
                    "pair": field_map.pair,
                    "row": number,
                    "origin": row.origin,
                    "remaps_key": key is not None,
                    "key_reason": key,
                    "direction": "to_salesforce" if to_sf else "to_quickbooks",
                    "sf_object": obj,
                    "sf_field": name,
                    "sf_type": sf_field["type"] if sf_field else None,
                    # A missing object is the package check's one problem, not one per mapped field.
                    "sf_kind": sf_kind,
                    "in_org": (sf_field is not None) if describes.get(obj) is not None else None,
                    "qb_entity": entity,
                    "qb_field": qb_path,
                    "qb_kind": qb_kind,
                    "qb_known": qb_kind is not None,
                    "qb_place": (
                        (entity, qb_path) not in no_place if row.custom and qb_kind else None
                    ),
                    "compatible": compatible,
                    "writable": writable,
                }
            )
    columns = [
        "pair",
        "row",
        "origin",
        "remaps_key",
        "key_reason",
        "direction",
        "sf_object",
        "sf_field",
        "sf_type",
        "sf_kind",
        "in_org",
        "qb_entity",
        "qb_field",
        "qb_kind",
        "qb_known",
        "qb_place",
        "compatible",
        "writable",
    ]
    return pd.DataFrame(rows, columns=columns).astype(
        {"in_org": "object", "qb_place": "object", "compatible": "object", "writable": "object"}
    )


def _key_field(sf_field: Mapping | None, qb_kind: str | None, to_sf: bool) -> str | None:
    """Why a custom row's target is a key field of the live org (R-MAP-3), or None: Ids and
    references, External IDs, formula and auto-number fields; QuickBooks ids."""
    if to_sf and sf_field:
        for flag, what in (
            ("externalId", "an External ID"),
            ("calculated", "a formula (calculated) field"),
            ("autoNumber", "an auto-number field"),
        ):
            if sf_field.get(flag):
                return what
        if sf_field.get("type") in ("id", "reference"):
            return "an Id or a reference to another record"
    if not to_sf and qb_kind == "id":
        return "a QuickBooks reference (id)"
    return None


# ---------------------------------------------------------------- the suites
# Describe leaves out what the sync's user cannot see: "missing" may be a missing grant.
_DEPLOY_FIX = (
    "deploy the sfqb package and assign its permission set SFQB_Integration to the sync's "
    f"user (include/salesforce; see {PACKAGE_DOC}, steps 2 and 5) (R-PRE-3)"
)


def _missing_objects(rows: pd.DataFrame) -> list[str]:
    out = []
    for obj, group in rows.groupby("object", sort=False):
        if not group["object_in_org"].iloc[0]:
            out.append(
                f"the object {obj} does not exist in the org, or the sync's user cannot see it: "
                + _DEPLOY_FIX
            )
        else:
            names = ", ".join(f"{obj}.{f}" for f in group["field"])
            one = len(group) == 1
            out.append(
                f"{names} {'does' if one else 'do'} not exist in the org, or the sync's user "
                f"cannot see {'it' if one else 'them'}: " + _DEPLOY_FIX
            )
    return out


# The standard objects whose layouts are the org's own: the package adds its fields to them
# (``sfqb.checks.layouts``), it never deploys them.
_STANDARD_LAYOUT_OBJECTS = ("Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2")


def _off_layouts(rows: pd.DataFrame) -> list[str]:
    out = []
    for r in rows.itertuples():
        where = (
            f"none of its {r.layout_total} page layouts ({r.layout_ids})"
            if r.layout_total > 1
            else f"no page layout ({r.layout_ids or 'the object has none'})"
        )
        fix = (
            f"add the package's section to your {r.object} layouts with `python -m sfqb "
            f"salesforce layouts` ({PACKAGE_DOC}, step 4), or add the field"
            if r.object in _STANDARD_LAYOUT_OBJECTS
            else "deploy the package's layout of the object, or add the field to one"
        )
        out.append(
            f"{r.object}.{r.field} ({r.label}) is on {where}: {fix} in Setup > Object Manager > "
            f"{r.object} > Page Layouts (R-PRE-3)"
        )
    return out


def _other_types(rows: pd.DataFrame) -> list[str]:
    return [
        f"{r.object}.{r.field} ({r.label}) is a {r.type} field in the org, not the package's "
        f"{package.FIELD_TYPES[r.object][r.field]}: the org had its own field of that name. "
        "The sync would read and write it as the package's type: rename the org's field (its "
        "API name) and deploy the package's, or convert it in Setup > Object Manager if its "
        "values fit (R-PRE-3)"
        for r in rows.itertuples()
    ]


PACKAGE_CHECKS = [
    Check(
        "ExpectColumnValuesToBeInSet", {"column": "in_org", "value_set": [True]}, _missing_objects
    ),
    Check("ExpectColumnValuesToBeInSet", {"column": "type_ok", "value_set": [True]}, _other_types),
    Check(
        "ExpectColumnValuesToBeBetween", {"column": "layout_count", "min_value": 1}, _off_layouts
    ),
]


def _no_book(_: pd.DataFrame) -> list[str]:
    return [
        "the org has no Standard Price Book (Pricebook2 with IsStandard = true): open the "
        "Price Books tab to have Salesforce create it, then activate it (R-PRE-4)"
    ]


def _inactive_book(rows: pd.DataFrame) -> list[str]:
    return [
        f"the Standard Price Book ({r.Name}, {r.Id}) is inactive: activate it on the Price Books "
        f"tab (Standard Price Book > Edit > Active) (R-PRE-4)"
        for r in rows.itertuples()
    ]


PRICEBOOK_CHECKS = [
    Check("ExpectTableRowCountToEqual", {"value": 1}, _no_book),
    Check(
        "ExpectColumnValuesToBeInSet", {"column": "IsActive", "value_set": [True]}, _inactive_book
    ),
]


def _row(r) -> str:
    """Where a map row is: the custom file and line, or the default map's row number."""
    return f"{r.origin}: {r.pair}" if r.origin else f"field map {r.pair}, row {r.row}"


def _remapped_keys(rows: pd.DataFrame) -> list[str]:
    return [
        f"{_row(r)}: "
        f"{r.sf_object + '.' + r.sf_field if r.direction == 'to_salesforce' else r.qb_field} is "
        f"{r.key_reason}: key fields cannot be remapped (R-MAP-3)"
        for r in rows.itertuples()
    ]


def _unknown_qb(rows: pd.DataFrame) -> list[str]:
    return [
        f"{_row(r)}: {r.qb_entity}.{r.qb_field} is not a QuickBooks {r.qb_entity} field "
        "sfqb knows (include/sfqb/mapping/quickbooks_fields.yaml; on Desktop also "
        "quickbooks_desktop_fields.yaml) (R-MAP-2)"
        for r in rows.itertuples()
    ]


def _no_desktop_place(rows: pd.DataFrame) -> list[str]:
    return [
        f"{_row(r)}: QuickBooks Desktop has no place for {r.qb_entity}.{r.qb_field} (sfqb neither "
        "reads nor sends it there: include/sfqb/mapping/quickbooks_desktop_fields.yaml): remove "
        "the row, or map a field Desktop has (R-MAP-2)"
        for r in rows.itertuples()
    ]


def _absent_sf(rows: pd.DataFrame) -> list[str]:
    return [
        f"{_row(r)}: the Salesforce field {r.sf_object}.{r.sf_field} does not exist in the org: "
        f"create it, or change the mapping (R-MAP-2)"
        for r in rows.itertuples()
    ]


def _incompatible(rows: pd.DataFrame) -> list[str]:
    out = []
    for r in rows.itertuples():
        sf = f"{r.sf_object}.{r.sf_field} ({r.sf_type})"
        qb = f"QuickBooks {r.qb_entity}.{r.qb_field} ({r.qb_kind})"
        source, target = (qb, sf) if r.direction == "to_salesforce" else (sf, qb)
        out.append(
            f"{_row(r)}: {source} cannot be copied into {target} without losing data: map it to "
            f"a field of a compatible type (R-MAP-2)"
        )
    return out


def _read_only(rows: pd.DataFrame) -> list[str]:
    return [
        f"{_row(r)}: {r.sf_object}.{r.sf_field} cannot be written by the sync user (read-only, "
        f"calculated, or field-level security): grant edit access, or change the mapping (R-MAP-2)"
        for r in rows.itertuples()
    ]


MAPPING_CHECKS = [
    Check(
        "ExpectColumnValuesToBeInSet",
        {"column": "remaps_key", "value_set": [False]},
        _remapped_keys,
    ),
    Check("ExpectColumnValuesToBeInSet", {"column": "qb_known", "value_set": [True]}, _unknown_qb),
    Check(
        "ExpectColumnValuesToBeInSet",
        {"column": "qb_place", "value_set": [True]},
        _no_desktop_place,
    ),
    Check("ExpectColumnValuesToBeInSet", {"column": "in_org", "value_set": [True]}, _absent_sf),
    Check(
        "ExpectColumnValuesToBeInSet", {"column": "compatible", "value_set": [True]}, _incompatible
    ),
    Check("ExpectColumnValuesToBeInSet", {"column": "writable", "value_set": [True]}, _read_only),
]


def problems(
    package_fields: pd.DataFrame,
    pricebook: pd.DataFrame,
    mapped: pd.DataFrame,
    mapping_file: Iterable[str] = (),
) -> list[str]:
    """Every failed validation as a sentence that says how to fix it (empty: the org is ready);
    ``mapping_file``: the custom mapping file's own problems (``sfqb.mapping.custom``), first."""
    found = list(mapping_file)
    for frame, checks, suite in (
        (package_fields, PACKAGE_CHECKS, "package_fields"),
        (pricebook, PRICEBOOK_CHECKS, "standard_pricebook"),
        (mapped, MAPPING_CHECKS, "mapped_fields"),
    ):
        for failure in failures(frame, checks, suite=suite):
            found += failure.messages()
    return found


def failure_message(found: list[str]) -> str:
    """The one message a failed preflight ends the run with (R-PRE-5)."""
    lines = [
        f"preflight: {len(found)} problem{'s' if len(found) != 1 else ''} with the Salesforce org; "
        "nothing was synced in this run. Fix them and run again:"
    ]
    lines += [f"  {n}. {text}" for n, text in enumerate(found, start=1)]
    return "\n".join(lines)
