"""The package's additions to an org's own page layouts of standard objects (R-OPS-6).

A Metadata API deploy replaces a page layout whole, so the package never deploys a layout of a
standard object: that would drop whatever the org had put on it (related lists, buttons, its
own fields). What the package wants on those layouts, the "QuickBooks Sync" section and the
Invoice related lists, lives in ``include/salesforce/layout-additions/<Object>.xml``, a partial
Layout in the Metadata namespace that is never deployed as it is. ``add_to_layout`` merges it
into a layout an administrator retrieved from the org:

* everything the layout had stays, in its order (sections, fields, related lists, buttons,
  actions, elements this module does not know);
* the additions' section goes after the layout's last section of fields (before a Custom Links
  section), so the layout's sections stay one contiguous group, as the Metadata API wants;
  a related list goes after the layout's last related list;
* a package field already on the layout, in any section, is not added again, and a related list
  already there neither; a section of the same label gets only the fields it lacks. Merging a
  merged layout again changes nothing.

``python -m sfqb salesforce layouts`` runs it over a folder of retrieved layouts; the sandbox
org merges the same additions into its stock layouts, so it looks like an org whose admin did.
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sfqb.checks.package import CUSTOM_OBJECTS

MD_NS = "http://soap.sforce.com/2006/04/metadata"
LAYOUT_SUFFIX = ".layout-meta.xml"
ADDITIONS_SUFFIX = ".xml"
# include/salesforce/layout-additions of this checkout (the CLI's --additions overrides it).
DEFAULT_ADDITIONS = Path(__file__).resolve().parents[2] / "salesforce" / "layout-additions"

_NS = "{" + MD_NS + "}"
_SECTION = _NS + "layoutSections"
_COLUMN = _NS + "layoutColumns"
_ITEM = _NS + "layoutItems"
_RELATED = _NS + "relatedLists"
_EMPTY_ELEMENT = re.compile(r"<([^<>!?/][^<>]*?) />")


class LayoutError(ValueError):
    """A file that cannot be merged: not XML, not a page layout, or additions that make no
    sense. The message starts with the file's name."""


@dataclass(frozen=True)
class Additions:
    """What the package adds to every layout of one object: sections (``layoutSections``
    elements) and related lists (``relatedLists`` elements), in the order they are added."""

    object: str
    sections: tuple[ET.Element, ...]
    related_lists: tuple[ET.Element, ...]

    def fields(self) -> list[str]:
        """The package fields the sections place, in order."""
        return [name for section in self.sections for _, name, _ in _section_fields(section)]

    def list_names(self) -> list[str]:
        return [_related_name(r) for r in self.related_lists]


@dataclass(frozen=True)
class Merged:
    """One layout after ``add_to_layout``: its text, and what was added or already there."""

    name: str
    text: str
    fields_added: tuple[str, ...]
    fields_present: tuple[str, ...]
    lists_added: tuple[str, ...]
    lists_present: tuple[str, ...]

    @property
    def changed(self) -> bool:
        return bool(self.fields_added or self.lists_added)


def layout_object(file_name: str) -> str:
    """The object of a source-format layout file: ``Account`` for
    ``Account-Account Layout.layout-meta.xml`` (an object's API name holds no hyphen)."""
    return Path(file_name).name.removesuffix(LAYOUT_SUFFIX).partition("-")[0]


def parse_xml(text: str, where: str) -> ET.Element:
    """The root element of ``text``, comments kept; ``where`` names the file in errors.

    Metadata files never carry a document type, so one is refused before parsing: no entity can
    then be declared, let alone expanded (defusedxml's stance, without the dependency). The
    standard library's parser never fetches external entities in any case.
    """
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        raise LayoutError(f"{where}: a document type declaration is not allowed in metadata")
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    try:
        parser.feed(text)
        return parser.close()
    except ET.ParseError as exc:
        raise LayoutError(f"{where}: malformed XML: {exc}") from None


def parse_layout(text: str, where: str) -> ET.Element:
    """The ``Layout`` root of a layout file's text, or a LayoutError naming ``where``."""
    root = parse_xml(text, where)
    if root.tag != _NS + "Layout":
        raise LayoutError(
            f"{where}: not a page layout: its root is <{_display(root.tag)}>, not <Layout> in "
            f"the Metadata namespace {MD_NS}"
        )
    return root


def parse_additions(object_name: str, text: str, where: str) -> Additions:
    """The additions of one object from a partial Layout: only ``layoutSections`` (each with a
    label and items that name a field) and ``relatedLists``, no field placed twice."""
    root = parse_layout(text, where)
    sections, related = [], []
    for child in _elements(root):
        if child.tag == _SECTION:
            if not _child_text(child, "label"):
                raise LayoutError(f"{where}: a layoutSections element without a <label>")
            for item in child.iter(_ITEM):
                if not _child_text(item, "field"):
                    raise LayoutError(
                        f"{where}: section {_child_text(child, 'label')!r} has an "
                        "item that names no field"
                    )
            sections.append(child)
        elif child.tag == _RELATED:
            if not _related_name(child):
                raise LayoutError(f"{where}: a relatedLists element without a <relatedList>")
            related.append(child)
        else:
            raise LayoutError(
                f"{where}: <{_display(child.tag)}>: additions hold only layoutSections and "
                "relatedLists"
            )
    additions = Additions(object_name, tuple(sections), tuple(related))
    for what, names in (("field", additions.fields()), ("related list", additions.list_names())):
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise LayoutError(f"{where}: {what} placed twice: {', '.join(twice)}")
    return additions


def read_additions(directory: Path) -> dict[str, Additions]:
    """Object -> its additions, from ``<Object>.xml`` files of ``directory``."""
    if not directory.is_dir():
        raise LayoutError(f"{directory}: no such folder of layout additions")
    return {
        path.name.removesuffix(ADDITIONS_SUFFIX): parse_additions(
            path.name.removesuffix(ADDITIONS_SUFFIX), _read(path), str(path)
        )
        for path in sorted(directory.glob("*" + ADDITIONS_SUFFIX))
    }


def find_layouts(directory: Path) -> list[Path]:
    """Every source-format layout file under ``directory``, at any depth (``sf project retrieve
    start --output-dir`` puts them in ``<dir>/main/default/layouts``), sorted."""
    return sorted(p for p in directory.rglob("*" + LAYOUT_SUFFIX) if p.is_file())


def add_to_layout(text: str, additions: Additions, name: str, where: str | None = None) -> Merged:
    """The layout ``text`` (file ``name``) with ``additions`` merged in (see the module's
    docstring); the input is parsed, never changed. Raises LayoutError naming ``where`` (the
    file's path; ``name`` when not given)."""
    where = where or name
    root = parse_layout(text, where)
    placed = {n.lower() for n in _layout_fields(root)}
    added: list[str] = []
    present: list[str] = []
    for section in additions.sections:
        wanted = list(_section_fields(section))
        missing = [(col, field, item) for col, field, item in wanted if field.lower() not in placed]
        present += [field for _, field, _ in wanted if field.lower() in placed]
        if missing:
            _add_section(root, section, missing)
            added += [field for _, field, _ in missing]
            placed.update(field.lower() for _, field, _ in missing)
    lists_added: list[str] = []
    lists_present: list[str] = []
    for related in additions.related_lists:
        existing = {_related_name(r) for r in root.findall(_RELATED)}
        if _related_name(related) in existing:
            lists_present.append(_related_name(related))
            continue
        root.insert(_insertion_index(root, "relatedLists"), copy.deepcopy(related))
        lists_added.append(_related_name(related))
    try:
        text = render(root)
    except ValueError as exc:  # an element outside every namespace (xmlns="")
        raise LayoutError(f"{where}: {exc}") from None
    return Merged(
        name=name,
        text=text,
        fields_added=tuple(added),
        fields_present=tuple(present),
        lists_added=tuple(lists_added),
        lists_present=tuple(lists_present),
    )


@dataclass(frozen=True)
class FolderResult:
    """``merge_folder``'s answer: the merged layouts, the files left out (one message each) and
    the files that could not be read (one message each, naming the file)."""

    merged: tuple[Merged, ...]
    left_out: tuple[str, ...]
    errors: tuple[str, ...]


def merge_folder(retrieved: Path, additions: dict[str, Additions]) -> FolderResult:
    """``add_to_layout`` over every layout file under ``retrieved``: a layout of an object the
    package adds nothing to is left out, with a message; two files of one name (they would be
    written to one place) and files that are not layouts are errors."""
    paths = find_layouts(retrieved)
    if not paths:
        return FolderResult(
            (),
            (),
            (
                f"{retrieved}: no *{LAYOUT_SUFFIX} file in it or below it: retrieve the layouts "
                'first (sf project retrieve start --metadata "Layout:Account-Account Layout" '
                f"... --output-dir {retrieved} --target-org <org>)",
            ),
        )
    merged: list[Merged] = []
    left_out: list[str] = []
    errors: list[str] = []
    seen: dict[str, Path] = {}
    for path in paths:
        if path.name in seen:
            errors.append(f"{path}: the same layout as {seen[path.name]}: keep one of them")
            continue
        seen[path.name] = path
        obj = layout_object(path.name)
        if obj in CUSTOM_OBJECTS:
            left_out.append(f"{path}: left out: the package deploys its own {obj} layout")
            continue
        if obj not in additions:
            left_out.append(
                f"{path}: left out: the package adds nothing to {obj} layouts (it adds to "
                f"{', '.join(sorted(additions))})"
            )
            continue
        try:
            merged.append(add_to_layout(_read(path), additions[obj], path.name, str(path)))
        except LayoutError as exc:
            errors.append(str(exc))
    return FolderResult(tuple(merged), tuple(left_out), tuple(errors))


def summary(merged: Merged) -> str:
    """One line on what ``add_to_layout`` did to a layout, for the command's output."""

    def names(found: tuple[str, ...]) -> str:
        return f"{len(found)} ({', '.join(found)})" if found else "none"

    parts = [
        f"fields added: {names(merged.fields_added)}",
        f"fields already there: {names(merged.fields_present)}",
    ]
    if merged.lists_added or merged.lists_present:
        parts += [
            f"related lists added: {names(merged.lists_added)}",
            f"related lists already there: {names(merged.lists_present)}",
        ]
    return f"{merged.name}: " + "; ".join(parts)


def render(root: ET.Element) -> str:
    """A layout as ``sf`` writes one: the XML declaration, the Metadata namespace as the default
    namespace (no ``ns0:`` prefixes), four-space indentation, ``<empty/>`` elements, a final
    newline; so a diff against the retrieved file shows little but the additions."""
    tree = copy.deepcopy(root)
    ET.indent(tree, space="    ")
    body = ET.tostring(tree, encoding="unicode", default_namespace=MD_NS)
    # ElementTree writes "<tag />"; a tag holds no raw "<" or ">" (values are escaped), and
    # "<!" (a comment) is left alone.
    body = _EMPTY_ELEMENT.sub(r"<\1/>", body)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"


# ------------------------------------------------------------------------------------ helpers


def _add_section(root: ET.Element, section: ET.Element, missing: list) -> None:
    """Put the ``missing`` (column, field, item) of ``section`` on the layout: into its section
    of the same label when it has one, else as a new section holding only them."""
    label = _child_text(section, "label")
    same = next((s for s in root.findall(_SECTION) if _child_text(s, "label") == label), None)
    if same is None:
        new = copy.deepcopy(section)
        keep = {field for _, field, _ in missing}
        for column in new.findall(_COLUMN):
            for item in column.findall(_ITEM):
                if _child_text(item, "field") not in keep:
                    column.remove(item)
        root.insert(_section_index(root), new)
        return
    columns = same.findall(_COLUMN)
    if not columns:
        column = ET.Element(_COLUMN)
        same.insert(_insertion_index(same, "layoutColumns"), column)
        columns = [column]
    for col, _, item in missing:
        columns[min(col, len(columns) - 1)].append(copy.deepcopy(item))


def _section_index(root: ET.Element) -> int:
    """Where a new section goes: after the last section that is not a Custom Links one; before
    the first section when every section holds custom links; by element order when none."""
    children = list(root)
    sections = [i for i, c in enumerate(children) if c.tag == _SECTION]
    fields = [i for i in sections if _child_text(children[i], "style") != "CustomLinks"]
    if fields:
        return fields[-1] + 1
    if sections:
        return sections[0]
    return _insertion_index(root, "layoutSections")


def _insertion_index(parent: ET.Element, name: str) -> int:
    """After the last ``name`` child of ``parent``; when there is none, before the first
    element whose name sorts after ``name`` (Metadata API order); else at the end."""
    children = list(parent)
    same = [i for i, c in enumerate(children) if c.tag == _NS + name]
    if same:
        return same[-1] + 1
    for i, child in enumerate(children):
        if isinstance(child.tag, str) and child.tag.startswith(_NS) and _local(child.tag) > name:
            return i
    return len(children)


def _section_fields(section: ET.Element) -> Iterator[tuple[int, str, ET.Element]]:
    """(column index, field, item) of each field item of a section, column by column."""
    for col, column in enumerate(section.findall(_COLUMN)):
        for item in column.findall(_ITEM):
            field = _child_text(item, "field")
            if field:
                yield col, field, item


def _layout_fields(root: ET.Element) -> Iterable[str]:
    """Every field a layout item names, anywhere in the layout."""
    for item in root.iter(_ITEM):
        field = _child_text(item, "field")
        if field:
            yield field


def _related_name(related: ET.Element) -> str:
    return _child_text(related, "relatedList") or ""


def _child_text(el: ET.Element, tag: str) -> str | None:
    child = el.find(_NS + tag)
    return None if child is None else (child.text or "").strip()


def _elements(root: ET.Element) -> list[ET.Element]:
    """The child elements of ``root``, comments left out."""
    return [c for c in root if isinstance(c.tag, str)]


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _display(tag: str) -> str:
    return tag.removeprefix(_NS)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise LayoutError(f"{path}: not UTF-8 text ({exc.reason})") from None
