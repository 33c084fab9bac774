"""What each distribution ships: the product's wheel holds the sfqb package and nothing else.

``pyproject.toml`` builds the product (sfqb); ``include/pyproject.toml`` builds the development
tools (the sandbox servers, sfqb_sandbox, and the simulation, sfqb_sim), which tests, the demo and
the benchmarks install beside it. Both select their packages with setuptools' ``packages.find``;
these tests run the same discovery (``setuptools.find_packages``) on each configuration, so a
glob such as ``sfqb*`` (which matches ``sfqb_sim``) cannot carry a development tool into the
product again. Building the wheels (``uv build --wheel . include``) lists the same packages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from setuptools import find_packages

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DEV_TOOLS = ("sfqb_sandbox", "sfqb_sim")


def packages(project_dir: Path) -> tuple[dict, list[str]]:
    """The project's configuration and the packages its wheel would hold."""
    config = tomllib.loads((project_dir / "pyproject.toml").read_text())
    find = config["tool"]["setuptools"]["packages"]["find"]
    found = []
    for where in find.get("where", ["."]):
        found += find_packages(
            str(project_dir / where),
            include=find.get("include", ("*",)),
            exclude=find.get("exclude", ()),
        )
    return config, sorted(found)


def root_of(package: str) -> str:
    return package.split(".")[0]


def test_given_the_product_wheel_when_its_packages_are_found_then_only_sfqb_is_in_it():
    """The product ships the sfqb package, every subpackage of it, and no development tool."""
    config, found = packages(ROOT)
    assert {root_of(p) for p in found} == {"sfqb"}
    assert "sfqb.hooks" in found and "sfqb.steps" in found
    assert not any(p.startswith(DEV_TOOLS) for p in found)
    assert not any(
        target.startswith(DEV_TOOLS) for target in config["project"].get("scripts", {}).values()
    )


def test_given_the_development_tools_when_their_packages_are_found_then_they_hold_no_sfqb():
    """The sandbox and the simulation are one distribution of their own, beside the product."""
    config, found = packages(ROOT / "include")
    assert {root_of(p) for p in found} == set(DEV_TOOLS)
    assert "sfqb" in config["project"]["dependencies"]
    assert config["project"]["scripts"]["sfqb-sandbox"] == "sfqb_sandbox.__main__:main"


def test_given_every_package_under_include_when_counted_then_one_distribution_holds_it():
    """No package is left out of both, and none is in both."""
    _, product = packages(ROOT)
    _, tools = packages(ROOT / "include")
    everything = find_packages(str(ROOT / "include"))
    assert sorted(product + tools) == sorted(everything)
