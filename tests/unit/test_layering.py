"""The package's layers: a module may import its own layer and the layers below it, never one above.

From the bottom up (``LAYERS``; CONTRIBUTING.md describes each):

1. base: pure helpers every layer shares: what the run summary counts (``records``,
   ``outcomes``, ``report``, ``warning_state``), preferences, run parameters, windows, the query
   builders (``soql``, ``qbo_queries``), frame normalisation (``frames``), log masking.
2. hooks: the only code that talks to Salesforce and QuickBooks; they build queries with the
   base's builders and know nothing of mappings, checks or rules. The Web Connector service and
   its job queue (``qbwc``) sit here too: I/O with QuickBooks Desktop, which the Desktop adapter
   of the hooks codes against.
3. mapping: field maps and value coercion.
4. checks: data-quality and preflight validations, what the package adds to an org and to its
   page layouts.
5. areas: each area's rules, pure functions over DataFrames.
6. runtime: state in Airflow Variables, the run lease, alerts, the sync log page's reader.
7. steps: the I/O each task runs: extract through the hooks, plan with the areas, load, commit.
8. tasks: the TaskFlow glue the DAG files import.
9. cli: ``python -m sfqb``.

Imports inside functions count as much as those at the top: a lazy import is still a dependency.
On top of the order, the pure layers (base, mapping, checks, areas) never import a hook, and no
module of the product imports the sandbox or the simulation (they are not in its wheel).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

PACKAGE_DIR = Path(__file__).resolve().parents[2] / "include" / "sfqb"

# Lowest first. A name is a module or a subpackage (every module under it).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "sfqb",
            "sfqb.records",
            "sfqb.outcomes",
            "sfqb.warning_state",
            "sfqb.report",
            "sfqb.preferences",
            "sfqb.run_params",
            "sfqb.windows",
            "sfqb.soql",
            "sfqb.qbo_queries",
            "sfqb.frames",
            "sfqb.logsafety",
            "sfqb.provider",
        ),
    ),
    ("hooks", ("sfqb.hooks", "sfqb.qbwc")),
    ("mapping", ("sfqb.mapping",)),
    ("checks", ("sfqb.checks",)),
    ("areas", ("sfqb.areas",)),
    ("runtime", ("sfqb.state", "sfqb.lease", "sfqb.notify", "sfqb.synclog")),
    ("steps", ("sfqb.steps",)),
    ("tasks", ("sfqb.tasks",)),
    ("cli", ("sfqb.__main__",)),
]
PURE = ("base", "mapping", "checks", "areas")
NOT_IN_THE_PRODUCT = ("sfqb_sandbox", "sfqb_sim")


def module_names() -> dict[str, Path]:
    """Module name -> file, for every module of the package (a package by its ``__init__``)."""
    names = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


MODULES = module_names()


def layer_of(module: str) -> int | None:
    """Index in ``LAYERS`` of the longest name that is ``module`` or contains it."""
    best, best_length = None, -1
    for index, (_, names) in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best_length:
                best, best_length = index, len(name)
    return best


def imported(module: str, path: Path) -> set[str]:
    """The modules ``module`` imports: ``from sfqb import soql`` is ``sfqb.soql``; relative
    imports are resolved; names that are not modules count as their module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                found.add(candidate if candidate in MODULES else source)
    return found


def edges() -> list[tuple[str, str]]:
    return sorted(
        (module, target)
        for module, path in MODULES.items()
        for target in imported(module, path)
        if target != module
    )


def test_given_the_package_when_its_modules_are_listed_then_each_has_a_layer():
    """A new module must be placed: add it to ``LAYERS`` (and to CONTRIBUTING.md)."""
    assert [m for m in MODULES if layer_of(m) is None] == []


def test_given_every_import_in_the_package_when_checked_then_none_reaches_a_higher_layer():
    """A lower layer never imports a higher one: hooks know no rules, rules do no I/O."""
    upward = [
        f"{module} ({LAYERS[layer_of(module)][0]}) imports {target} ({LAYERS[layer_of(target)][0]})"
        for module, target in edges()
        if target.split(".")[0] == "sfqb" and layer_of(target) > layer_of(module)
    ]
    assert upward == []


def test_given_the_pure_layers_when_checked_then_they_import_no_hook():
    """Rules, checks, mappings and the base run without a connection: no hook below the steps."""
    pure = {index for index, (name, _) in enumerate(LAYERS) if name in PURE}
    hooks = [
        f"{module} imports {target}"
        for module, target in edges()
        if layer_of(module) in pure
        and any(target == io or target.startswith(io + ".") for io in ("sfqb.hooks", "sfqb.qbwc"))
    ]
    assert hooks == []


def test_given_the_product_package_when_checked_then_it_imports_no_sandbox_or_simulation():
    """The sandbox servers and the simulation are development tools outside the product's wheel."""
    outside = [
        f"{module} imports {target}"
        for module, target in edges()
        if target.split(".")[0] in NOT_IN_THE_PRODUCT
    ]
    assert outside == []


def test_given_an_upward_import_when_checked_then_the_layer_order_sees_it():
    """The check itself: an area importing a step, or a hook importing an area, is upward."""
    assert layer_of("sfqb.steps.customers") > layer_of("sfqb.areas.customers")
    assert layer_of("sfqb.areas.customers") > layer_of("sfqb.hooks.salesforce")
    assert layer_of("sfqb.soql") < layer_of("sfqb.hooks.quickbooks")
