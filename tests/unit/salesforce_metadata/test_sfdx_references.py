"""The files of the SFDX project name only what exists, and grant what Salesforce accepts (R-OPS-6).

A deploy fails on a layout that names a field its object does not have, on a permission set
whose object permissions skip a dependency (Edit without Read), or on field-level security for
a required or master-detail field; a Flow that names a missing field fails its activation. No
org is reachable here, so each check below is a function that reads the project and returns its
problems (an empty list when the project is right); the tests run it on the shipped project and
on a small broken project, to show it names what is wrong. `make package-check` runs this file
with the rest of tests/unit/salesforce_metadata. Checks that test_sfdx_metadata.py already makes
(custom fields on layouts, the permission set's field list, readable masters, picklist values of
custom fields, validation rule formulas, the manifest) are not repeated here.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

SRC = (
    Path(__file__).resolve().parents[3]
    / "include"
    / "salesforce"
    / "force-app"
    / "main"
    / "default"
)
NS = "{http://soap.sforce.com/2006/04/metadata}"

# Fields every object has (the Metadata API names them on layouts and in Flows as here).
SYSTEM_FIELDS = frozenset(
    {
        "Id",
        "IsDeleted",
        "CreatedById",
        "CreatedDate",
        "LastModifiedById",
        "LastModifiedDate",
        "SystemModstamp",
    }
)
# Standard fields of the standard objects the package touches, as a layout names them (compound
# names such as BillingAddress and Contact's Name stand for their parts), from the Object
# Reference for API 59.0. Not every standard field: the ones a layout or Flow is likely to use.
STANDARD_FIELDS: dict[str, frozenset[str]] = {
    "Account": frozenset(
        {
            "AccountNumber",
            "AccountSource",
            "AnnualRevenue",
            "BillingAddress",
            "Description",
            "DunsNumber",
            "Fax",
            "Industry",
            "Jigsaw",
            "NaicsCode",
            "NaicsDesc",
            "Name",
            "NumberOfEmployees",
            "OwnerId",
            "Ownership",
            "ParentId",
            "Phone",
            "Rating",
            "ShippingAddress",
            "Sic",
            "SicDesc",
            "Site",
            "TickerSymbol",
            "Tradestyle",
            "Type",
            "Website",
            "YearStarted",
        }
    ),
    "Contact": frozenset(
        {
            "AccountId",
            "AssistantName",
            "AssistantPhone",
            "Birthdate",
            "Department",
            "Description",
            "DoNotCall",
            "Email",
            "Fax",
            "HasOptedOutOfEmail",
            "HasOptedOutOfFax",
            "HomePhone",
            "IndividualId",
            "Jigsaw",
            "LeadSource",
            "MailingAddress",
            "MobilePhone",
            "Name",
            "OtherAddress",
            "OtherPhone",
            "OwnerId",
            "Phone",
            "ReportsToId",
            "Title",
        }
    ),
    "Opportunity": frozenset(
        {
            "AccountId",
            "Amount",
            "CampaignId",
            "CloseDate",
            "ContractId",
            "Description",
            "ExpectedRevenue",
            "ForecastCategoryName",
            "IsPrivate",
            "LeadSource",
            "Name",
            "NextStep",
            "OwnerId",
            "Pricebook2Id",
            "Probability",
            "StageName",
            "TotalOpportunityQuantity",
            "Type",
        }
    ),
    "OpportunityLineItem": frozenset(
        {
            "Description",
            "Discount",
            "ListPrice",
            "Name",
            "OpportunityId",
            "PricebookEntryId",
            "Product2Id",
            "ProductCode",
            "Quantity",
            "ServiceDate",
            "Subtotal",
            "TotalPrice",
            "UnitPrice",
        }
    ),
    "Product2": frozenset(
        {
            "Description",
            "DisplayUrl",
            "ExternalDataSourceId",
            "ExternalId",
            "Family",
            "IsActive",
            "Name",
            "ProductCode",
            "QuantityUnitOfMeasure",
            "StockKeepingUnit",
        }
    ),
}
# What an object permission needs besides itself (Salesforce turns the rest on, or refuses the
# deploy): Create, Edit and View All need Read; Delete needs Edit; Modify All needs all of them.
PERMISSION_NEEDS = {
    "allowCreate": ("allowRead",),
    "allowEdit": ("allowRead",),
    "allowDelete": ("allowRead", "allowEdit"),
    "viewAllRecords": ("allowRead",),
    "modifyAllRecords": ("allowRead", "allowEdit", "allowDelete", "viewAllRecords"),
}


# ------------------------------------------------------------------ reading the project


def _parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(NS + tag)
    return None if child is None else (child.text or "").strip()


def _local(tag: str) -> str:
    return tag.removeprefix(NS)


def _package_fields(src: Path) -> dict[str, dict[str, ET.Element]]:
    """Object -> the package's custom fields on it (file name -> parsed file)."""
    out: dict[str, dict[str, ET.Element]] = {}
    for path in sorted(src.glob("objects/*/fields/*.field-meta.xml")):
        out.setdefault(path.parent.parent.name, {})[path.name.split(".")[0]] = _parse(path)
    return out


def known_fields(src: Path) -> dict[str, set[str]]:
    """Object -> every field name a file of the project may use on it: the package's custom
    fields, the object's standard fields and the system fields. A custom object of the package
    also has Name, and OwnerId unless a master owns its records (Controlled by Parent)."""
    known = {obj: set(names) | SYSTEM_FIELDS for obj, names in STANDARD_FIELDS.items()}
    for path in sorted(src.glob("objects/*/*.object-meta.xml")):
        obj = path.parent.name
        own = {"Name"} | SYSTEM_FIELDS
        if _text(_parse(path), "sharingModel") != "ControlledByParent":
            own.add("OwnerId")
        known[obj] = known.get(obj, set()) | own
    for obj, names in _package_fields(src).items():
        known.setdefault(obj, set()).update(names)
    return known


# ------------------------------------------------------------------ the checks


def layout_problems(src: Path) -> list[str]:
    """Every field a layout shows, and every column and sort field of its custom related
    lists, is a field of that object (of the child object, for a related list)."""
    known = known_fields(src)
    problems = []
    for path in sorted(src.glob("layouts/*.layout-meta.xml")):
        obj = path.name.partition("-")[0]
        layout = _parse(path)
        if obj not in known:
            problems.append(f"{path.name}: no list of the fields of {obj}")
            continue
        for item in layout.iter(NS + "layoutItems"):
            field = _text(item, "field")
            if field and field not in known[obj]:
                problems.append(f"{path.name}: {obj} has no field {field}")
        for rel in layout.findall(NS + "relatedLists"):
            child, _, _ = (_text(rel, "relatedList") or "").partition(".")
            if child not in known:
                continue  # a standard related list (RelatedContactList): its own column names
            columns = [c.text or "" for c in rel.findall(NS + "fields")]
            columns += [_text(rel, "sortField") or "NAME"]
            for column in columns:
                if column != "NAME" and column not in known[child]:
                    problems.append(f"{path.name}: related list {child} has no field {column}")
    return problems


def object_permission_problems(src: Path) -> list[str]:
    """Each object permission a permission set grants comes with the ones it depends on."""
    problems = []
    for path in sorted(src.glob("permissionsets/*.permissionset-meta.xml")):
        for perm in _parse(path).findall(NS + "objectPermissions"):
            obj = _text(perm, "object")
            granted = {_local(c.tag) for c in perm if (c.text or "").strip() == "true"}
            for flag in sorted(granted & set(PERMISSION_NEEDS)):
                for need in PERMISSION_NEEDS[flag]:
                    if need not in granted:
                        problems.append(f"{path.name}: {obj} grants {flag} without {need}")
    return problems


def field_permission_problems(src: Path) -> list[str]:
    """No field-level security for a required or master-detail field (Salesforce refuses it:
    such a field is always visible), and no Edit without Read."""
    fields = _package_fields(src)
    problems = []
    for path in sorted(src.glob("permissionsets/*.permissionset-meta.xml")):
        for perm in _parse(path).findall(NS + "fieldPermissions"):
            name = _text(perm, "field") or ""
            obj, _, field = name.partition(".")
            el = fields.get(obj, {}).get(field)
            if el is not None and _text(el, "type") == "MasterDetail":
                problems.append(f"{path.name}: {name} is master-detail, it takes no field access")
            elif el is not None and _text(el, "required") == "true":
                problems.append(f"{path.name}: {name} is required, it takes no field access")
            if _text(perm, "editable") == "true" and _text(perm, "readable") != "true":
                problems.append(f"{path.name}: {name} is editable but not readable")
    return problems


def standard_value_set_problems(src: Path) -> list[str]:
    """A standard value set (the stage list) has values, each once, each with a label, and at
    most one default."""
    problems = []
    for path in sorted(src.glob("standardValueSets/*.standardValueSet-meta.xml")):
        values = [
            (_text(v, "fullName") or "", v) for v in _parse(path).findall(NS + "standardValue")
        ]
        names = [name for name, _ in values]
        if not names:
            problems.append(f"{path.name}: no values")
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{path.name}: {name!r} appears {names.count(name)} times")
        problems += [f"{path.name}: {n!r} has no label" for n, v in values if not _text(v, "label")]
        defaults = [n for n, v in values if _text(v, "default") == "true"]
        if len(defaults) > 1:
            problems.append(f"{path.name}: {len(defaults)} defaults ({', '.join(defaults)})")
    return problems


RECORD_REFERENCE = re.compile(r"\$Record(?:__Prior)?\.([A-Za-z][A-Za-z0-9_]*)")


def flow_problems(src: Path) -> list[str]:
    """A Flow's start and record elements name objects the project knows, and every field they
    filter on, assign or read from the triggering record ($Record.Field) exists on them."""
    known = known_fields(src)
    problems = []
    for path in sorted(src.glob("flows/*.flow-meta.xml")):
        flow = _parse(path)
        start = flow.find(NS + "start")
        trigger = _text(start, "object") if start is not None else None
        elements = [start] if start is not None else []
        elements += [
            el
            for kind in ("recordLookups", "recordUpdates", "recordCreates", "recordDeletes")
            for el in flow.findall(NS + kind)
        ]
        for el in elements:
            obj = _text(el, "object")
            if obj is None:
                continue
            if obj not in known:
                problems.append(f"{path.name}: unknown object {obj}")
                continue
            names = [_text(f, "field") or "" for f in el.findall(NS + "filters")]
            names += [_text(a, "field") or "" for a in el.findall(NS + "inputAssignments")]
            names += [q.text or "" for q in el.findall(NS + "queriedFields")]
            for name in names:
                if name not in known[obj]:
                    problems.append(f"{path.name}: {obj} has no field {name}")
        if trigger in known:
            text = ET.tostring(flow, encoding="unicode")
            for name in sorted(set(RECORD_REFERENCE.findall(text)) - known[trigger]):
                problems.append(f"{path.name}: $Record is a {trigger}, which has no field {name}")
    return problems


# ------------------------------------------------------------------ a broken project


def _write(root: Path, relative: str, body: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n{body.replace("<M>", f"{NS[1:-1]}")}\n',
        encoding="utf-8",
    )


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A tiny project with one mistake of each kind the checks look for."""
    _write(
        tmp_path,
        "objects/Invoice__c/Invoice__c.object-meta.xml",
        '<CustomObject xmlns="<M>"><sharingModel>ReadWrite</sharingModel></CustomObject>',
    )
    _write(
        tmp_path,
        "objects/Invoice_Item__c/Invoice_Item__c.object-meta.xml",
        '<CustomObject xmlns="<M>"><sharingModel>ControlledByParent</sharingModel></CustomObject>',
    )
    _write(
        tmp_path,
        "objects/Invoice_Item__c/fields/Invoice__c.field-meta.xml",
        '<CustomField xmlns="<M>"><fullName>Invoice__c</fullName><type>MasterDetail</type>'
        "</CustomField>",
    )
    _write(
        tmp_path,
        "objects/Invoice_Item__c/fields/Amount__c.field-meta.xml",
        '<CustomField xmlns="<M>"><fullName>Amount__c</fullName><required>true</required>'
        "<type>Currency</type></CustomField>",
    )
    _write(
        tmp_path,
        "layouts/Invoice_Item__c-Invoice Item Layout.layout-meta.xml",
        '<Layout xmlns="<M>"><layoutSections><layoutColumns>'
        "<layoutItems><field>Amount__c</field></layoutItems>"
        "<layoutItems><field>OwnerId</field></layoutItems>"
        "</layoutColumns></layoutSections></Layout>",
    )
    _write(
        tmp_path,
        "layouts/Account-Account Layout.layout-meta.xml",
        '<Layout xmlns="<M>"><layoutSections><layoutColumns>'
        "<layoutItems><field>Name</field></layoutItems>"
        "<layoutItems><field>Sitee</field></layoutItems>"
        "</layoutColumns></layoutSections>"
        "<relatedLists><relatedList>RelatedContactList</relatedList></relatedLists></Layout>",
    )
    _write(
        tmp_path,
        "layouts/Invoice__c-Invoice Layout.layout-meta.xml",
        '<Layout xmlns="<M>"><layoutSections><layoutColumns>'
        "<layoutItems><field>OwnerId</field></layoutItems>"
        "</layoutColumns></layoutSections><relatedLists><fields>NAME</fields>"
        "<fields>Amount__c</fields><fields>Rate__c</fields>"
        "<relatedList>Invoice_Item__c.Invoice__c</relatedList></relatedLists></Layout>",
    )
    _write(
        tmp_path,
        "layouts/Lead-Lead Layout.layout-meta.xml",
        '<Layout xmlns="<M>"><layoutSections/></Layout>',
    )
    flags = sorted({"allowRead", *PERMISSION_NEEDS})

    def object_permission(obj: str, *on: str) -> str:
        body = "".join(f"<{f}>{'true' if f in on else 'false'}</{f}>" for f in flags)
        return f"<objectPermissions>{body}<object>{obj}</object></objectPermissions>"

    _write(
        tmp_path,
        "permissionsets/Broken.permissionset-meta.xml",
        '<PermissionSet xmlns="<M>">'
        "<fieldPermissions><editable>true</editable><field>Invoice_Item__c.Invoice__c</field>"
        "<readable>true</readable></fieldPermissions>"
        "<fieldPermissions><editable>false</editable><field>Invoice_Item__c.Amount__c</field>"
        "<readable>true</readable></fieldPermissions>"
        "<fieldPermissions><editable>true</editable><field>Account.Site</field>"
        "<readable>false</readable></fieldPermissions>"
        + object_permission("Invoice__c", "allowRead", "allowCreate", "allowEdit")
        + object_permission("Invoice_Item__c", "allowEdit")
        + object_permission("Account", "allowRead", "allowDelete")
        + object_permission("Contact", "allowRead", "allowEdit", "allowDelete", "modifyAllRecords")
        + "</PermissionSet>",
    )
    stage = "<standardValue><fullName>{0}</fullName><default>{1}</default><label>{2}</label></standardValue>"
    _write(
        tmp_path,
        "standardValueSets/OpportunityStage.standardValueSet-meta.xml",
        '<StandardValueSet xmlns="<M>">'
        + stage.format("Open", "true", "Open")
        + stage.format("Won", "true", "Won")
        + stage.format("Open", "false", "Open again")
        + stage.format("Lost", "false", "")
        + "</StandardValueSet>",
    )
    _write(
        tmp_path,
        "flows/Broken.flow-meta.xml",
        '<Flow xmlns="<M>"><recordUpdates><filters><field>AccountId</field><value>'
        "<elementReference>$Record.Acount_Id</elementReference></value></filters>"
        "<inputAssignments><field>Is_Billing__c</field></inputAssignments>"
        "<object>Contact</object></recordUpdates>"
        "<recordLookups><object>Customer__c</object></recordLookups>"
        "<start><filters><field>AccountId</field></filters><object>Contact</object></start>"
        "</Flow>",
    )
    return tmp_path


# ------------------------------------------------------------------ tests


def test_given_the_package_layouts_when_their_fields_are_looked_up_then_each_exists_on_its_object():
    """R-OPS-6: a layout that names a field its object lacks (a typo in a standard field, a
    custom field not in the package, OwnerId on a master-detail child) does not deploy."""
    assert layout_problems(SRC) == []


def test_given_a_layout_naming_missing_fields_when_checked_then_each_is_named(broken):
    """R-OPS-6: the layout check names the missing field, its layout and its object, for a
    layout item and for a related-list column; it does not guess at objects it has no list of."""
    assert layout_problems(broken) == [
        "Account-Account Layout.layout-meta.xml: Account has no field Sitee",
        "Invoice_Item__c-Invoice Item Layout.layout-meta.xml: Invoice_Item__c has no field OwnerId",
        "Invoice__c-Invoice Layout.layout-meta.xml: related list Invoice_Item__c has no field Rate__c",
        "Lead-Lead Layout.layout-meta.xml: no list of the fields of Lead",
    ]


def test_given_the_package_permission_set_when_its_object_permissions_are_checked_then_each_dependency_is_granted():
    """R-OPS-6: Create, Edit and View All come with Read, Delete with Edit, Modify All with
    all of them, as Salesforce requires of a permission set."""
    assert object_permission_problems(SRC) == []


def test_given_object_permissions_missing_a_dependency_when_checked_then_each_gap_is_named(broken):
    """R-OPS-6: Edit without Read, Delete without Edit, Modify All without View All."""
    assert object_permission_problems(broken) == [
        "Broken.permissionset-meta.xml: Invoice_Item__c grants allowEdit without allowRead",
        "Broken.permissionset-meta.xml: Account grants allowDelete without allowEdit",
        "Broken.permissionset-meta.xml: Contact grants modifyAllRecords without viewAllRecords",
    ]


def test_given_the_package_permission_set_when_its_field_permissions_are_checked_then_none_is_refused():
    """R-OPS-6: no field access for master-detail or required fields, no Edit without Read."""
    assert field_permission_problems(SRC) == []


def test_given_field_permissions_salesforce_refuses_when_checked_then_each_is_named(broken):
    """R-OPS-6: field access on a master-detail field, on a required field, and Edit without
    Read each fail the deploy of a permission set."""
    assert field_permission_problems(broken) == [
        "Broken.permissionset-meta.xml: Invoice_Item__c.Invoice__c is master-detail, it takes no field access",
        "Broken.permissionset-meta.xml: Invoice_Item__c.Amount__c is required, it takes no field access",
        "Broken.permissionset-meta.xml: Account.Site is editable but not readable",
    ]


def test_given_the_package_stage_list_when_checked_then_each_value_is_unique_labelled_and_one_is_default_at_most():
    """R-OPS-6: the OpportunityStage value set has each stage once, a label on each, and at
    most one default."""
    assert standard_value_set_problems(SRC) == []


def test_given_a_stage_list_with_repeats_and_two_defaults_when_checked_then_each_fault_is_named(
    broken,
):
    """R-OPS-6: a repeated value, a value without a label and a second default are named."""
    name = "OpportunityStage.standardValueSet-meta.xml"
    assert standard_value_set_problems(broken) == [
        f"{name}: 'Open' appears 2 times",
        f"{name}: 'Lost' has no label",
        f"{name}: 2 defaults (Open, Won)",
    ]


def test_given_the_package_flow_when_its_field_references_are_looked_up_then_each_exists():
    """R-OPS-6: the billing-contact Flow filters, assigns and reads Contact fields that
    exist (AccountId, Is_Billing_Contact__c, Id); a missing one fails its activation."""
    assert flow_problems(SRC) == []


def test_given_a_flow_naming_missing_fields_when_checked_then_each_is_named(broken):
    """R-OPS-6: an assigned field, a $Record reference and an object that do not exist."""
    assert flow_problems(broken) == [
        "Broken.flow-meta.xml: unknown object Customer__c",
        "Broken.flow-meta.xml: Contact has no field Is_Billing__c",
        "Broken.flow-meta.xml: $Record is a Contact, which has no field Acount_Id",
    ]
