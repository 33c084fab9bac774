"""Field maps as text: ``python -m sfqb mapping show`` (the effective maps, custom rows marked)
and ``python -m sfqb mapping docs`` (the reference table of the defaults in docs/mapping.md).
"""

from __future__ import annotations

from sfqb.mapping.custom import custom_mappings
from sfqb.mapping.maps import FIXED_PAIRS, FieldMap, default_map, effective_map, pair_names

DOC_START = "<!-- generated: python -m sfqb mapping docs -->"
DOC_END = "<!-- end of generated reference -->"


def _origin(field_map: FieldMap, row) -> str:
    if not row.custom:
        return "default"
    replaced = [r.source for r in default_map(field_map.pair).rows if r.target == row.target]
    what = f"overrides {', '.join(replaced)}" if replaced else "added"
    return f"custom, {what} ({row.origin})"


def show_map(field_map: FieldMap) -> str:
    """One effective map as an aligned table: source -> target, when, and where each row is from."""
    fixed = " (fixed, R-MAP-4)" if field_map.pair in FIXED_PAIRS else ""
    lines = [f"{field_map.pair}: {field_map.source} -> {field_map.target}{fixed}"]
    width = max((len(r.source) for r in field_map.rows), default=6)
    twidth = max((len(r.target) for r in field_map.rows), default=6)
    for row in field_map.rows:
        lines.append(
            f"  {row.source:<{width}} -> {row.target:<{twidth}}  {row.when:<6}  "
            f"{_origin(field_map, row)}"
        )
    return "\n".join(lines) + "\n"


def show(prefs, pair: str | None = None) -> tuple[str, list[str]]:
    """(the effective maps of every pair, or of ``pair``; the custom file's problems). The maps
    hold the file's valid rows: what a run would apply once the problems are fixed.

    Raises:
        KeyError: ``pair`` is not a pair name.
    """
    pairs = pair_names()
    if pair is not None and pair not in pairs:
        raise KeyError(f"unknown pair {pair!r} (pairs: {', '.join(pairs)})")
    found = custom_mappings(prefs)
    head = (
        f"custom mappings: {found.path}\n\n"
        if found.path
        else "custom mappings: none (defaults only)\n\n"
    )
    body = "\n".join(
        show_map(effective_map(p, prefs, strict=False)) for p in ([pair] if pair else pairs)
    )
    return head + body, found.problems


def _cell(text: str) -> str:
    return f"`{text}`"


def update_doc(path) -> bool:
    """Rewrite the generated part of the doc at ``path`` (between the markers); True if it
    changed."""
    from pathlib import Path

    doc = Path(path)
    text = doc.read_text()
    new = (
        text[: text.index(DOC_START)] + reference() + text[text.index(DOC_END) + len(DOC_END) + 1 :]
    )
    doc.write_text(new)
    return new != text


def reference() -> str:
    """The Markdown reference table of every default map (between DOC_START and DOC_END)."""
    out = [DOC_START, ""]
    for pair in pair_names():
        fmap = default_map(pair)
        fixed = " (fixed: not customisable, R-MAP-4)" if pair in FIXED_PAIRS else ""
        related = ", ".join(f"`{k}.` = the {v}" for k, v in fmap.related)
        out += [f"### `{pair}`: {fmap.source} -> {fmap.target}{fixed}", ""]
        if related:
            out += [f"Related records: {related}.", ""]
        out += ["| source | target | when |", "|---|---|---|"]
        out += [f"| {_cell(r.source)} | {_cell(r.target)} | {r.when} |" for r in fmap.rows]
        out.append("")
    out.append(DOC_END)
    return "\n".join(out) + "\n"
