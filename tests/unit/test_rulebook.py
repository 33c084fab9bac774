"""The rulebook, docs/rules.md, and the citations of it stay in step.

Code, tests and docs cite rules by ID (``R-<AREA>-<N>``; ``R-INV-1..7`` cites 1 to 7) and
sections as "docs/rules.md section N"; API facts as ``api-notes N.N`` (docs/api-notes.md). These
tests fail when a citation points nowhere: an ID the rulebook does not define, a rule no test
covers, a **Tests:** line in the rulebook that drifted from the tests, or a reference to a
document outside the repository (an issue number, the old external specification).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULEBOOK = ROOT / "docs" / "rules.md"
API_NOTES = ROOT / "docs" / "api-notes.md"
THIS_FILE = Path(__file__).resolve()

# Where citations live: the code, DAGs, plugins, benchmarks, scripts, tests and docs, plus the
# files at the top of the repository (README.md, Makefile, docker-compose.yaml, ...).
CITING_DIRS = ("include", "dags", "plugins", "bench", "scripts", "tests", "docs")
# Never scanned: version control, the virtualenv, caches and what runs leave behind.
SKIP_DIRS = {
    ".git",
    ".venv",
    ".airflow",
    ".sandbox",
    ".demo",
    ".soak",
    ".pytest_cache",
    ".ruff_cache",
    ".cache",
    "__pycache__",
    "node_modules",
    "build",
    "dist",
    "logs",
    "config",
    "tmp",
}

# Rules with no test today, on purpose. QuickBooks Desktop (docs/rules.md section 10) is not
# synced yet: the preferences refuse quickbooks_edition "desktop". The Web Connector service and
# its queue exist (R-QBD-1, R-QBD-8); the sync's own Desktop rules wait for the Desktop adapter.
# Remove an ID here when its first test lands.
KNOWN_GAPS: set[str] = set()

RULE_ID = re.compile(r"\bR-([A-Z]+)-(\d+)(?:\.\.(\d+))?")
RULE_HEADING = re.compile(r"^### (R-[A-Z]+-\d+)\b", re.M)
SECTION_HEADING = re.compile(r"^## (\d+)\. ", re.M)
SECTION_CITATION = re.compile(r"rules\.md\]?\(?[\w./]*\)? section (\d+)")
OUTSIDE_REFERENCES = {
    "an issue number": re.compile(r"\bissues?\s+#?\d+", re.I),
    "the external SPEC": re.compile(r"\bSPEC\b"),
    "a path outside the repository": re.compile(r"\.\./shared\b|/work/shared\b"),
    "a design note outside the repository": re.compile(
        r"\bARCHITECTURE\b|\bairflow-notes\b|\bstyle-anchors\b|\btooling-notes\b|product guide"
    ),
}
API_NOTES_CITATION = re.compile(
    r"\bapi-notes\s+(\d+(?:\.\d+)*)((?:\s*(?:/|,|–|-|and)\s*\d+\.\d+(?:\.\d+)*)*)"
)


def cited_ids(text: str) -> set[str]:
    """Every rule ID ``text`` cites; a range ``R-X-a..b`` cites a to b."""
    ids = set()
    for m in RULE_ID.finditer(text):
        low = int(m.group(2))
        high = int(m.group(3) or low)
        ids.update(f"R-{m.group(1)}-{n}" for n in range(low, high + 1))
    return ids


def text_files(top: Path) -> Iterator[Path]:
    """The text files under ``top`` (a file or a folder), skipping SKIP_DIRS and egg-info."""
    if top.is_file():
        yield top
        return
    for path in sorted(top.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIP_DIRS or p.endswith(".egg-info") for p in parts) or not path.is_file():
            continue
        yield path


def read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None


def citing_files() -> dict[Path, str]:
    """The files that may cite rules: CITING_DIRS and the repository's top-level files."""
    tops = [ROOT / d for d in CITING_DIRS if (ROOT / d).exists()]
    tops += [p for p in sorted(ROOT.iterdir()) if p.is_file()]
    files = {}
    for top in tops:
        for path in text_files(top):
            text = read(path)
            if text is not None:
                files[path] = text
    return files


def repository_files() -> dict[Path, str]:
    """Every text file of the repository but SKIP_DIRS, for references to outside documents."""
    return {p: t for p in text_files(ROOT) if (t := read(p)) is not None}


def rulebook_rules() -> dict[str, str]:
    """Rule ID -> its block of docs/rules.md (the heading up to the next heading)."""
    text = RULEBOOK.read_text(encoding="utf-8")
    starts = [(m.start(), m.group(1)) for m in RULE_HEADING.finditer(text)]
    ends = [m.start() for m in re.finditer(r"^#{1,3} ", text, re.M)]
    blocks = {}
    for start, rule in starts:
        end = min((e for e in ends if e > start), default=len(text))
        blocks[rule] = text[start:end]
    return blocks


def listed_tests(block: str) -> set[str]:
    """The files a rule's **Tests:** line names (backquoted paths under tests/)."""
    m = re.search(r"^- \*\*Tests:\*\*(.*?)(?=^\S|^- |\Z)", block, re.M | re.S)
    assert m, f"no **Tests:** line in:\n{block}"
    return set(re.findall(r"`(tests/[^`]+)`", m.group(1)))


def files_citing() -> dict[str, set[str]]:
    """Rule ID -> the files under tests/ that cite it (this file excluded: it cites none)."""
    cites: dict[str, set[str]] = {}
    for path in text_files(ROOT / "tests"):
        if path.resolve() == THIS_FILE or path.suffix != ".py":
            continue
        for rule in cited_ids(path.read_text(encoding="utf-8")):
            cites.setdefault(rule, set()).add(path.relative_to(ROOT).as_posix())
    return cites


def line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def test_given_the_rulebook_when_read_then_each_rule_is_defined_once_under_numbered_sections():
    """docs/rules.md: every rule heading is unique, and the sections run 0 to 10 in order."""
    text = RULEBOOK.read_text(encoding="utf-8")
    headings = RULE_HEADING.findall(text)
    assert len(headings) == len(set(headings)), "a rule is defined twice"
    assert [int(n) for n in SECTION_HEADING.findall(text)] == list(range(11))


def test_given_the_repository_when_scanned_then_every_cited_rule_id_is_defined_in_the_rulebook():
    """Code, DAGs, plugins, bench, scripts, tests and docs cite only rules docs/rules.md defines."""
    defined = set(rulebook_rules())
    unknown = [
        f"{path.relative_to(ROOT)}: {rule}"
        for path, text in citing_files().items()
        for rule in sorted(cited_ids(text) - defined)
    ]
    assert not unknown, "rule IDs docs/rules.md does not define:\n" + "\n".join(unknown)


def test_given_every_rule_when_the_tests_are_scanned_then_each_is_cited_by_a_test_or_a_known_gap():
    """Each rule of docs/rules.md is named by some file under tests/, except KNOWN_GAPS; and a
    known gap that got a test must leave KNOWN_GAPS."""
    cites = files_citing()
    untested = {rule for rule in rulebook_rules() if rule not in cites}
    assert untested - KNOWN_GAPS == set(), f"rules no test cites: {sorted(untested - KNOWN_GAPS)}"
    assert KNOWN_GAPS - untested == set(), (
        f"tested now, remove from KNOWN_GAPS: {sorted(KNOWN_GAPS - untested)}"
    )


def test_given_a_rule_when_its_tests_line_is_read_then_it_names_exactly_the_test_files_citing_it():
    """A rule's **Tests:** line in docs/rules.md lists every file under tests/ that cites the
    rule, and no other file."""
    cites = files_citing()
    drift = []
    for rule, block in rulebook_rules().items():
        listed, actual = listed_tests(block), cites.get(rule, set())
        if listed != actual:
            drift.append(
                f"{rule}: add {sorted(actual - listed) or '-'}; drop {sorted(listed - actual) or '-'}"
            )
    assert not drift, "docs/rules.md **Tests:** lines out of step:\n" + "\n".join(drift)


def test_given_a_section_citation_when_checked_then_the_rulebook_has_that_section():
    """ "docs/rules.md section N" names a section docs/rules.md has."""
    sections = set(SECTION_HEADING.findall(RULEBOOK.read_text(encoding="utf-8")))
    missing = [
        f"{path.relative_to(ROOT)}:{line_of(text, m.start())}: section {m.group(1)}"
        for path, text in citing_files().items()
        for m in SECTION_CITATION.finditer(text)
        if m.group(1) not in sections
    ]
    assert not missing, "sections docs/rules.md does not have:\n" + "\n".join(missing)


def test_given_the_repository_when_scanned_then_nothing_points_at_issues_or_outside_documents():
    """Nothing in the repository (outside .git, .venv, caches and run leftovers) cites an issue
    number, the external SPEC document or a path beside the repository: the reader of a clone
    could not follow it. This file is skipped, as it spells the patterns."""
    found = [
        f"{path.relative_to(ROOT)}:{line_of(text, m.start())}: {what}: {m.group(0)!r}"
        for path, text in repository_files().items()
        if path.resolve() != THIS_FILE
        for what, pattern in OUTSIDE_REFERENCES.items()
        for m in pattern.finditer(text)
    ]
    assert not found, "references to documents outside the repository:\n" + "\n".join(found)


@pytest.mark.skipif(not API_NOTES.exists(), reason="docs/api-notes.md is not merged yet")
def test_given_an_api_notes_citation_when_checked_then_docs_api_notes_has_that_section():
    """``api-notes N.N`` (also ``api-notes 2.4/2.5``, ``3.2, 3.8``, ``2.2–2.10``) names a section
    heading of docs/api-notes.md."""
    headings = set(
        re.findall(
            r"^#+\s+(?:§\s*)?(\d+(?:\.\d+)*)\.?(?=\s|$)",
            API_NOTES.read_text(encoding="utf-8"),
            re.M,
        )
    )
    missing = []
    for path, text in citing_files().items():
        for m in API_NOTES_CITATION.finditer(text):
            numbers = [m.group(1), *re.findall(r"\d+(?:\.\d+)+", m.group(2))]
            missing += [
                f"{path.relative_to(ROOT)}:{line_of(text, m.start())}: api-notes {n}"
                for n in numbers
                if n not in headings
            ]
    assert not missing, "sections docs/api-notes.md does not have:\n" + "\n".join(missing)


CODE_LINE = re.compile(r"^- \*\*Code:\*\*(.*?)(?=^\S|^- |\Z)", re.M | re.S)
# `sfqb.module` optionally followed by ``(`name`, `name`: a note, ...)``
CODE_MODULE = re.compile(r"`(sfqb(?:\.\w+)*)`(?:\s*\(([^)]*)\))?")
CODE_PATH = re.compile(r"`((?:include|dags|plugins|bench|scripts)/[\w./-]+)`")


def module_source(dotted: str) -> Path | None:
    """The file of a product module or package, found without importing it."""
    base = ROOT / "include" / Path(*dotted.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def top_level_names(source: Path) -> set[str]:
    """Functions, classes and assigned names a module defines, and their methods (a rulebook
    entry may name ``Class.method`` or only ``method``)."""
    import ast

    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return names


def test_given_a_rule_when_its_code_line_is_read_then_every_module_and_function_exists():
    """A rule's **Code:** line in docs/rules.md names modules (``sfqb.x.y``), files and, in
    brackets after a module, functions, classes, constants or submodules that exist: a module moved or a
    function renamed fails here until the rulebook follows."""
    stale = []
    for rule, block in rulebook_rules().items():
        m = CODE_LINE.search(block)
        assert m, f"{rule}: no **Code:** line"
        for path in CODE_PATH.findall(m.group(1)):
            if not (ROOT / path).exists():
                stale.append(f"{rule}: no file {path}")
        for module, names in CODE_MODULE.findall(m.group(1)):
            source = module_source(module)
            if source is None:
                stale.append(f"{rule}: no module {module}")
                continue
            defined = top_level_names(source)
            for name in re.findall(r"`([\w.]+)`", names):
                if name.split(".")[-1] not in defined and not module_source(f"{module}.{name}"):
                    stale.append(f"{rule}: {module} has no {name}")
    assert not stale, "docs/rules.md **Code:** lines out of step:\n" + "\n".join(stale)
