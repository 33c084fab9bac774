"""The package inventory sfqb validates against is the SFDX package it ships (R-PRE-3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfqb.checks import package

pytestmark = pytest.mark.unit

OBJECTS = (
    Path(__file__).resolve().parents[3]
    / "include"
    / "salesforce"
    / "force-app"
    / "main"
    / "default"
    / "objects"
)


def test_given_the_sfdx_project_when_compared_with_the_inventory_then_every_custom_field_is_listed():
    """R-PRE-3: the fields preflight looks for are exactly the package's custom fields."""
    on_disk = {
        obj.name: {
            f.name.removesuffix(".field-meta.xml")
            for f in (obj / "fields").glob("*.field-meta.xml")
        }
        for obj in OBJECTS.iterdir()
    }
    assert {obj: set(fields) for obj, fields in package.CUSTOM_FIELDS.items()} == on_disk


def test_given_the_sfdx_project_when_compared_with_the_inventory_then_the_custom_objects_match():
    """R-PRE-3: the package's own objects (a missing one means the package is not deployed)."""
    on_disk = {
        obj.name for obj in OBJECTS.iterdir() if (obj / f"{obj.name}.object-meta.xml").exists()
    }
    assert set(package.CUSTOM_OBJECTS) == on_disk


def test_given_the_sfdx_project_when_its_field_types_are_described_then_the_inventory_agrees():
    """R-PRE-3: the type preflight expects of each package field is the describe type of the
    field the package defines (as the sandbox org, which reads the same files, describes it)."""
    from sfqb_sandbox.salesforce.schema import load_schema

    schema = load_schema()
    described = {
        obj: {name: schema.object(obj).field(name).type for name in fields}
        for obj, fields in package.FIELD_TYPES.items()
    }

    assert described == package.FIELD_TYPES
