"""Custom field mappings: a versioned YAML file of rows per pair, on top of the defaults
(docs/rules.md section 7, R-MAP-1..4; the format is in docs/mapping.md).

``load_custom(path)`` reads the file and checks what can be checked without the org: the YAML,
the version, pair names, the fixed pairs (R-MAP-4), each row's shape, removals, expressions and
key fields (R-MAP-3). Every problem names the file and the line of the offending row (YAML
node marks). The rows that pass are what ``sfqb.mapping.maps.effective_map`` merges; the
preflight then checks them against the live org (R-MAP-2) and lists everything in one message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sfqb.mapping.maps import FIXED_PAIRS, Row, default_map, pair_names

VERSION = 1
ROW_KEYS = ("source", "target", "when")
WHENS = ("always", "create")
# A field path: an API name, dotted for nested QuickBooks fields and related Salesforce records
# (``BillingContact.Email``); ``CustomField.<name>`` names may hold spaces. Anything else
# (operators, quotes, brackets) would be a transformation: only field-to-field copies (R-MAP-3).
FIELD_PATH = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z0-9_][A-Za-z0-9_ ]*)*$")

# Key fields a custom row may not write (R-MAP-3): Ids, External IDs and the sync's link fields,
# and what QuickBooks computes. The preflight adds what describe knows (External ID, formula,
# auto-number and reference fields of the live org).
SALESFORCE_KEYS = frozenset(
    {
        "Id",
        "External_Account_ID__c",
        "External_Contact_ID__c",
        "External_Transaction_ID__c",
        "External_Transaction_Number__c",
        "External_Line_ID__c",
        "External_Line_Index__c",
        "External_Item_ID__c",
        "External_Invoice_ID__c",
        "External_Invoice_Line_ID__c",
        "Last_Sync_Date__c",
        "Sync_Me__c",
        "Is_Billing_Contact__c",
        "Transaction_Type__c",
    }
)
QUICKBOOKS_KEYS = frozenset(
    {
        "Id",
        "SyncToken",
        "PrivateNote",
        "Balance",
        "BalanceWithJobs",
        "TotalAmt",
        "Amount",
        "LineNum",
        "Job",
        "Active",
    }
)
QUICKBOOKS_KEY_PREFIXES = (
    "MetaData.",
    "CustomerRef.",
    "ParentRef.",
    "SalesItemLineDetail.ItemRef.",
    "Line.",
)


class MappingError(ValueError):
    """The custom mapping file cannot be used; the message lists every problem with its line."""


@dataclass
class CustomMappings:
    """What one file holds: the valid rows per pair, and every problem found (with lines)."""

    path: Path | None
    rows: dict[str, tuple[Row, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def key_field(pair: str, target: str) -> str | None:
    """Why ``target`` of ``pair`` is a key field a custom row may not write, or None."""
    to_sf = default_map(pair).to_salesforce
    if to_sf and target in SALESFORCE_KEYS:
        return f"{target} is an Id or a link field of the sync"
    if not to_sf and (target in QUICKBOOKS_KEYS or target.startswith(QUICKBOOKS_KEY_PREFIXES)):
        return f"{target} is an Id, a link field of the sync or computed by QuickBooks"
    return None


def _scalar(node) -> str | None:
    if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:null":
        return str(node.value)
    return None


def _row_problems(pair: str, items: dict[str, yaml.Node], seen: dict[str, int]) -> list[str]:
    """Problems of one row (empty: the row is valid)."""
    fmap = default_map(pair)
    out = [
        f"unknown key {key!r} (a row has source, target and optionally when)"
        for key in items
        if key not in ROW_KEYS
    ]
    source, target = _scalar(items.get("source")), _scalar(items.get("target"))
    when = _scalar(items.get("when")) or "always"
    if "target" not in items or not target:
        out.append("a row needs a target field")
    if "source" not in items or not source:
        out.append(
            "a row needs a source field: default rows can be overridden but not removed (R-MAP-3)"
        )
    if when not in WHENS:
        out.append(f"when must be always or create, not {when!r}")
    for side, value in (("source", source), ("target", target)):
        if value and not FIELD_PATH.match(value):
            out.append(
                f"{side} {value!r} is not a field name: only field-to-field copies, no "
                "transformations (R-MAP-3)"
            )
    sf_side = "target" if fmap.to_salesforce else "source"
    sf_path = target if fmap.to_salesforce else source
    if sf_path and FIELD_PATH.match(sf_path) and "." in sf_path:
        prefix = sf_path.split(".", 1)[0]
        related = dict(fmap.related)
        if sf_side == "target" or prefix not in related:
            allowed = ", ".join(f"{k} ({v})" for k, v in related.items()) or "none"
            obj = fmap.target if fmap.to_salesforce else fmap.source
            out.append(
                f"{sf_side} {sf_path!r}: a field of {obj.split('.', 1)[1]} itself"
                + ("" if sf_side == "target" else f" or of its related records: {allowed}")
            )
    if target:
        why = key_field(pair, target)
        if why:
            out.append(f"{why}: key fields cannot be remapped (R-MAP-3)")
        if target in seen:
            out.append(f"{target} is already mapped by the row on line {seen[target]}")
    return out


def parse_custom(text: str, path: Path | str) -> CustomMappings:
    """The rows and problems of a custom mapping file's text (``path`` names it in messages)."""
    found = CustomMappings(Path(path))

    def problem(node, message: str) -> None:
        found.problems.append(f"{path}, line {node.start_mark.line + 1}: {message}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark else ""
        found.problems.append(
            f"{path}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"
        )
        return found
    if root is None:
        found.problems.append(f"{path}: the file is empty (expected version: {VERSION} and maps:)")
        return found
    if not isinstance(root, yaml.MappingNode):
        problem(root, f"expected a mapping with version: {VERSION} and maps:")
        return found
    top = {key.value: value for key, value in root.value}
    for key, _ in root.value:
        if key.value not in ("version", "maps"):
            problem(key, f"unknown key {key.value!r} (expected version and maps)")
    if _scalar(top.get("version")) != str(VERSION):
        problem(
            top.get("version", root), f"version must be {VERSION} (the format of docs/mapping.md)"
        )
    maps = top.get("maps")
    if isinstance(maps, yaml.ScalarNode) and _scalar(maps) is None:
        return found  # "maps:" with nothing under it: defaults only
    if not isinstance(maps, yaml.MappingNode):
        problem(maps or root, "maps: must be a mapping of pair name -> list of rows")
        return found
    known = pair_names()
    for pair_node, rows_node in maps.value:
        pair = pair_node.value
        if pair not in known:
            problem(
                pair_node,
                f"unknown pair {pair!r} (pairs: "
                f"{', '.join(p for p in known if p not in FIXED_PAIRS)})",
            )
            continue
        if pair in FIXED_PAIRS:
            problem(
                pair_node,
                f"{pair}: the Product and Invoice__c mappings are fixed and cannot be "
                "customised (R-MAP-4)",
            )
            continue
        if not isinstance(rows_node, yaml.SequenceNode):
            problem(rows_node, f"{pair}: expected a list of rows ({{source: ..., target: ...}})")
            continue
        seen: dict[str, int] = {}
        rows = []
        for item in rows_node.value:
            line = item.start_mark.line + 1
            if not isinstance(item, yaml.MappingNode):
                problem(item, f"{pair}: a row must be a mapping {{source: ..., target: ...}}")
                continue
            items = {key.value: value for key, value in item.value}
            bad = _row_problems(pair, items, seen)
            for message in bad:
                problem(item, f"{pair}: {message}")
            source, target = _scalar(items.get("source")), _scalar(items.get("target"))
            if target and target not in seen:
                seen[target] = line
            if not bad and source and target:
                rows.append(
                    Row(
                        source,
                        target,
                        _scalar(items.get("when")) or "always",
                        origin=f"{path}, line {line}",
                    )
                )
        found.rows[pair] = tuple(rows)
    return found


def load_custom(path: Path) -> CustomMappings:
    """``parse_custom`` of the file at ``path``; a missing file is one problem."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        return CustomMappings(
            Path(path),
            problems=[
                f"custom_mappings_path: cannot read {path} ({exc.strerror or exc}); see "
                "docs/mapping.md"
            ],
        )
    return parse_custom(text, path)


_CACHE: dict[tuple[str, int], CustomMappings] = {}


def custom_mappings(prefs) -> CustomMappings:
    """The custom mappings the preferences name (none when ``custom_mappings_path`` is empty);
    read again whenever the file changes."""
    path = prefs.custom_mappings_file if prefs is not None else None
    if path is None:
        return CustomMappings(None)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return load_custom(path)
    key = (str(path), stamp)
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = load_custom(path)
    return _CACHE[key]


def custom_rows(prefs, *, strict: bool = True) -> dict[str, tuple[Row, ...]]:
    """pair -> custom rows; ``strict``: MappingError when the file has any problem."""
    found = custom_mappings(prefs)
    if strict and found.problems:
        raise MappingError(
            f"custom field mappings: {len(found.problems)} problem(s):\n  - "
            + "\n  - ".join(found.problems)
        )
    return found.rows
