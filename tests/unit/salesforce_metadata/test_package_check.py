"""scripts/package_check.py (`make package-check`): what it reads from the Salesforce CLI's output
and how it compares it with the package (R-OPS-6).

The CLI itself is not run here (it needs npm and Node.js 22; `make package-check` runs it): these
tests feed the script's reading and comparing functions small package.xml files and converted
folders, and a fake installation for the install step's shortcut.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location(
    "package_check", ROOT / "scripts" / "package_check.py"
)
assert _spec is not None and _spec.loader is not None
package_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(package_check)

NS = "http://soap.sforce.com/2006/04/metadata"


def _package_xml(path: Path, members: dict[str, list[str]], version: str = "59.0") -> Path:
    types = "".join(
        "<types>"
        + "".join(f"<members>{m}</members>" for m in names)
        + f"<name>{kind}</name></types>"
        for kind, names in members.items()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Package xmlns="{NS}">{types}'
        f"<version>{version}</version></Package>\n"
    )
    return path


def _file(path: Path, text: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_given_a_converted_package_xml_missing_a_member_when_compared_then_the_member_is_named(
    tmp_path,
):
    """R-OPS-6: a member the manifest lists and the CLI's package.xml lacks, and one the
    CLI's package.xml has beyond the manifest, are each named with their type."""
    manifest, version = package_check.read_package_xml(
        _package_xml(
            tmp_path / "manifest.xml",
            {"CustomField": ["Account.Terms__c", "Account.Sync_Me__c"], "Flow": ["F"]},
        )
    )
    written, _ = package_check.read_package_xml(
        _package_xml(
            tmp_path / "package.xml",
            {
                "CustomField": ["Account.Terms__c"],
                "Flow": ["F"],
                "Layout": ["Account-Account Layout"],
            },
        )
    )

    problems = package_check.compare(manifest, written, "manifest", "converted")

    assert version == "59.0"
    assert problems == [
        "CustomField Account.Sync_Me__c: in manifest, not in converted",
        "Layout Account-Account Layout: in converted, not in manifest",
    ]
    assert package_check.compare(manifest, manifest, "a", "b") == []


def test_given_the_shipped_project_when_its_sources_are_listed_then_they_are_the_manifest_members():
    """R-OPS-6: the script names force-app's components as package.xml does (Object.Field,
    Object.Rule, layout names with their object), so it can compare them with the manifest."""
    project = ROOT / "include" / "salesforce"
    manifest, _ = package_check.read_package_xml(project / "manifest" / "package.xml")

    sources, unknown = package_check.source_members(project / "force-app")

    assert unknown == []
    assert package_check.compare(manifest, sources, "manifest", "force-app") == []
    assert "Opportunity.Transaction_Type_Locked_Once_Synced" in sources["ValidationRule"]


def test_given_a_source_file_of_no_known_type_when_listed_then_it_is_reported(tmp_path):
    """R-OPS-6: a file the script cannot name a component for is reported, not skipped."""
    _file(tmp_path / "main/default/objects/Account/fields/Terms__c.field-meta.xml")
    _file(tmp_path / "main/default/classes/Helper.cls")

    members, unknown = package_check.source_members(tmp_path)

    assert members == {"CustomField": {"Account.Terms__c"}}
    assert unknown == ["main/default/classes/Helper.cls"]


def test_given_converted_files_when_read_then_custom_objects_fields_rules_and_files_are_members(
    tmp_path,
):
    """R-OPS-6: in Metadata API format a standard object's file only holds the package's fields
    (it is not a CustomObject member); a custom object's file is one, and holds its fields; a
    component per file elsewhere; package.xml is not a component; a stray file is reported."""
    _file(
        tmp_path / "objects/Account.object",
        f'<CustomObject xmlns="{NS}"><fields><fullName>Terms__c</fullName></fields>'
        "<validationRules><fullName>Locked</fullName></validationRules></CustomObject>",
    )
    _file(
        tmp_path / "objects/Invoice__c.object",
        f'<CustomObject xmlns="{NS}"><fields><fullName>Status__c</fullName></fields>'
        "<label>Invoice</label></CustomObject>",
    )
    _file(tmp_path / "layouts/Invoice__c-Invoice Layout.layout")
    _file(tmp_path / "flows/SFQB_One_Billing_Contact.flow")
    _file(tmp_path / "permissionsets/SFQB_Integration.permissionset")
    _file(tmp_path / "standardValueSets/OpportunityStage.standardValueSet")
    _package_xml(tmp_path / "package.xml", {})
    _file(tmp_path / "classes/Helper.cls")

    members, unknown = package_check.converted_members(tmp_path)

    assert members == {
        "CustomField": {"Account.Terms__c", "Invoice__c.Status__c"},
        "ValidationRule": {"Account.Locked"},
        "CustomObject": {"Invoice__c"},
        "Layout": {"Invoice__c-Invoice Layout"},
        "Flow": {"SFQB_One_Billing_Contact"},
        "PermissionSet": {"SFQB_Integration"},
        "StandardValueSet": {"OpportunityStage"},
    }
    assert unknown == ["classes/Helper.cls"]


def test_given_the_cache_when_the_cli_environment_is_built_then_nothing_points_at_the_users_home(
    tmp_path, monkeypatch
):
    """R-OPS-6: the CLI's home and XDG folders are in the cache, telemetry, update checks and
    autoupdate are off (both autoupdate variables: the CLI reads one, its update hook the
    other), and the cache's Node.js comes first on PATH."""
    monkeypatch.setenv("HOME", "/home/someone")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/home/someone/.config")

    env = package_check.cli_env(tmp_path)

    assert env["HOME"] == str(tmp_path / "home")
    assert all(env[f"XDG_{x}_HOME"].startswith(str(tmp_path)) for x in ("CONFIG", "CACHE", "DATA"))
    assert env["SF_DISABLE_TELEMETRY"] == "true"
    assert env["SF_AUTOUPDATE_DISABLE"] == env["SF_DISABLE_AUTOUPDATE"] == "true"
    assert env["SF_SKIP_NEW_VERSION_CHECK"] == "true"
    assert env["PATH"].startswith(str(tmp_path / "node_modules" / "node" / "bin"))


def _fake_install(cache: Path, node_version: str) -> None:
    node, sf = package_check.tools(cache)
    _file(node, f"#!/bin/sh\necho {node_version}\n")
    node.chmod(0o755)
    _file(sf)
    _file(sf.parent.parent / "package.json", '{"version": "2.150.6"}')
    _file(cache / ".installed", package_check.pins_digest() + "\n")


def test_given_a_cache_stamped_with_the_pinned_versions_when_installing_then_npm_is_not_run(
    tmp_path, monkeypatch
):
    """R-OPS-6: a second `make package-check` reuses the cache: with the stamp equal to the
    pins' digest and both tools present, npm is never called (here it is not even found)."""
    _fake_install(tmp_path, "v22.23.3")
    monkeypatch.setattr(package_check.shutil, "which", lambda name: None)

    said = package_check.install(tmp_path)

    assert said == f"Node.js v22.23.3, Salesforce CLI 2.150.6: already installed in {tmp_path}"


def test_given_a_cache_holding_node_20_when_installing_then_the_check_fails_naming_node_22(
    tmp_path,
):
    """R-OPS-6: the CLI's conversion crashes on Node.js 20, so an older Node.js in the cache
    fails the step with a message saying 22 is needed."""
    _fake_install(tmp_path, "v20.20.2")

    with pytest.raises(package_check.CheckFailed, match="needs 22"):
        package_check.install(tmp_path)


def test_given_a_stale_stamp_and_no_npm_when_installing_then_the_check_fails_asking_for_npm(
    tmp_path, monkeypatch
):
    """R-OPS-6: changed pins (the stamp no longer matches) mean a new install, which needs npm."""
    _fake_install(tmp_path, "v22.23.3")
    (tmp_path / ".installed").write_text("an older digest\n")
    monkeypatch.setattr(package_check.shutil, "which", lambda name: None)

    with pytest.raises(package_check.CheckFailed, match="npm is not on PATH"):
        package_check.install(tmp_path)


def test_given_a_converted_object_file_that_is_not_xml_when_read_then_it_is_reported(tmp_path):
    """R-OPS-6: a broken file in the CLI's output is reported by name, not a crash."""
    _file(tmp_path / "objects/Account.object", f'<CustomObject xmlns="{NS}"><fields>')

    members, unknown = package_check.converted_members(tmp_path)

    assert members == {}
    assert len(unknown) == 1 and unknown[0].startswith("objects/Account.object (")
