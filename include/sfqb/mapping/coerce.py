"""Type coercion of mapped values that never loses data silently (docs/rules.md section 7).

A map copies values field to field; before they are written, the values of custom rows are
made what their target holds: numbers, booleans and dates become text for a text target, text
becomes a number (as exact text, "1200") for a number target when it is one. A value that
cannot be written whole (text longer than the target keeps, text that is not a number) is never
cut or dropped: the record gets a WARNING naming the field and the lengths, is not written, and
is retried next run.

``limits``: target field -> ``{"kind", "length", "label"}`` (``target_limits`` builds it from
describe for Salesforce targets and from ``quickbooks_fields.yaml`` for QuickBooks ones).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

import pandas as pd

from sfqb.frames import missing
from sfqb.mapping.maps import SF_KINDS, FieldMap, quickbooks_field_kinds, quickbooks_field_lengths

# Every reason ``fit`` gives contains this: the areas find the records to retry by it.
UNFIT = "not written, nothing is changed silently"


def target_limits(field_map: FieldMap, describe: Mapping | None = None) -> dict[str, dict]:
    """Kind, length and label of the targets of ``field_map``'s custom rows: from ``describe``
    (the target object's describe JSON) when the map writes Salesforce, else from the known
    QuickBooks fields."""
    targets = [row.target for row in field_map.rows if row.custom]
    entity = field_map.target.split(".", 1)[1]
    out: dict[str, dict] = {}
    if field_map.to_salesforce:
        fields = {f["name"]: f for f in (describe or {}).get("fields", [])}
        for target in targets:
            f = fields.get(target)
            if f:
                out[target] = {
                    "kind": SF_KINDS.get(f["type"], "other"),
                    "length": int(f.get("length") or 0),
                    "label": f"{entity}.{target}",
                }
    else:
        kinds, lengths = (
            quickbooks_field_kinds().get(entity, {}),
            quickbooks_field_lengths().get(entity, {}),
        )
        for target in targets:
            if target in kinds:
                out[target] = {
                    "kind": kinds[target],
                    "length": lengths.get(target, 0),
                    "label": f"QuickBooks {entity}.{target}",
                }
    return out


def limits_for(maps, describe=None) -> dict[str, dict]:
    """pair -> ``target_limits`` of each map with custom rows (none without: default rows keep
    their own rules). ``describe(object)`` is called once per Salesforce object such rows write."""
    out = {}
    for field_map in maps:
        if any(row.custom for row in field_map.rows):
            obj = field_map.target.split(".", 1)[1]
            out[field_map.pair] = target_limits(
                field_map, describe(obj) if field_map.to_salesforce else None
            )
    return out


def as_text(value) -> str:
    """A value as the text a text field stores (True -> "true", Decimal('2.50') -> "2.50")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fit_value(value, limit: Mapping) -> tuple[object, str | None]:
    """One value made what its target holds, and why it cannot be written whole (or None)."""
    if missing(value):
        return value, None
    kind = limit.get("kind")
    if kind == "text":
        text = as_text(value)
        length = int(limit.get("length") or 0)
        if length and len(text) > length:
            return value, (
                f"{limit['label']} would get {len(text)} characters and keeps at most {length}: "
                f"{UNFIT} (shorten the value or map a longer field)"
            )
        return text, None
    if kind == "number" and isinstance(value, str):
        try:
            # As exact text: both APIs take numbers as text, and XCom's Parquet cannot carry
            # Decimal.
            number = Decimal(value.replace(",", "").strip())
            if not number.is_finite():
                raise InvalidOperation
            return str(number), None
        except InvalidOperation:
            return value, f"{limit['label']} is a number and {value!r} is not one: {UNFIT}"
    return value, None


def fit(values: pd.DataFrame, limits: Mapping[str, Mapping]) -> tuple[pd.DataFrame, pd.Series]:
    """``values`` (mapped target columns) coerced to their targets; and per row why it cannot be
    written (missing when it can): every problem of the row, joined."""
    out = values.copy()
    reasons = pd.Series([[] for _ in range(len(values))], index=values.index, dtype="object")
    for target, limit in limits.items():
        if target not in out.columns:
            continue
        pairs = [fit_value(v, limit) for v in out[target]]
        out[target] = pd.Series([p[0] for p in pairs], index=out.index, dtype="object")
        for index, (_, reason) in zip(out.index, pairs, strict=True):
            if reason:
                reasons.at[index].append(reason)
    joined = reasons.map(lambda r: "; ".join(r) if r else pd.NA).astype("object")
    return out, joined
