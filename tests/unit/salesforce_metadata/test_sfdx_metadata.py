"""The SFDX project in include/salesforce is valid Metadata API source (R-OPS-6).

No org is reachable here, so every file is checked against a table of its Metadata API type:
the elements each type (and each nested type) allows, the ones it requires, the enum values
and the per-field-type rules a deploy enforces (Text needs length, Lookup needs referenceTo,
relationshipName and deleteConstraint, ...). The tables follow the Metadata API Developer
Guide (CustomField, CustomObject, Layout, StandardValueSet, PermissionSet, Package) for API
59.0. Cross-file checks then tie the package to the field inventory the project relies on.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[3] / "include" / "salesforce"
SRC = ROOT / "force-app" / "main" / "default"
ADDITIONS = ROOT / "layout-additions"
NS = "{http://soap.sforce.com/2006/04/metadata}"

# ------------------------------------------------------------------ the type tables
# type -> (allowed child elements, required child elements); nested complex types are named
# by the element that holds them (context "CustomField.valueSet" and so on).
ALLOWED: dict[str, set[str]] = {
    "CustomField": {
        "fullName",
        "businessOwnerGroup",
        "businessOwnerUser",
        "businessStatus",
        "caseSensitive",
        "complianceGroup",
        "customDataType",
        "defaultValue",
        "deleteConstraint",
        "deprecated",
        "description",
        "displayFormat",
        "displayLocationInDecimal",
        "encrypted",
        "encryptionScheme",
        "externalDeveloperName",
        "externalId",
        "fieldManageability",
        "formula",
        "formulaTreatBlanksAs",
        "inlineHelpText",
        "isAIPredictionField",
        "isConvertLeadDisabled",
        "isFilteringDisabled",
        "isNameField",
        "isSortingDisabled",
        "label",
        "length",
        "lookupFilter",
        "maskChar",
        "maskType",
        "metadataRelationshipControllingField",
        "populateExistingRows",
        "precision",
        "referenceTargetField",
        "referenceTo",
        "relationshipLabel",
        "relationshipName",
        "relationshipOrder",
        "reparentableMasterDetail",
        "required",
        "restrictedAdminField",
        "scale",
        "securityClassification",
        "startingNumber",
        "stripMarkup",
        "summarizedField",
        "summaryFilterItems",
        "summaryForeignKey",
        "summaryOperation",
        "trackFeedHistory",
        "trackHistory",
        "trackTrending",
        "translateData",
        "type",
        "unique",
        "valueSet",
        "visibleLines",
        "writeRequiresMasterRead",
    },
    "ValueSet": {
        "controllingField",
        "restricted",
        "valueSetDefinition",
        "valueSetName",
        "valueSettings",
    },
    "ValueSetValuesDefinition": {"sorted", "value"},
    "CustomValue": {"fullName", "color", "default", "description", "isActive", "label"},
    "CustomObject": {
        "actionOverrides",
        "allowInChatterGroups",
        "businessProcesses",
        "compactLayoutAssignment",
        "compactLayouts",
        "customHelp",
        "customHelpPage",
        "customSettingsType",
        "dataStewardGroup",
        "dataStewardUser",
        "deploymentStatus",
        "deprecated",
        "description",
        "enableActivities",
        "enableBulkApi",
        "enableDataTranslation",
        "enableDivisions",
        "enableEnhancedLookup",
        "enableFeeds",
        "enableHistory",
        "enableLicensing",
        "enableReports",
        "enableSearch",
        "enableSharing",
        "enableStreamingApi",
        "eventType",
        "externalDataSource",
        "externalName",
        "externalRepository",
        "externalSharingModel",
        "fieldSets",
        "fields",
        "fullName",
        "gender",
        "historyRetentionPolicy",
        "household",
        "indexes",
        "label",
        "listViews",
        "nameField",
        "pluralLabel",
        "profileSearchLayouts",
        "publishBehavior",
        "recordTypeTrackFeedHistory",
        "recordTypeTrackHistory",
        "recordTypes",
        "searchLayouts",
        "sharingModel",
        "sharingReasons",
        "sharingRecalculations",
        "startsWith",
        "validationRules",
        "visibility",
        "webLinks",
    },
    "NameField": {
        "description",
        "displayFormat",
        "label",
        "startingNumber",
        "trackFeedHistory",
        "trackHistory",
        "type",
    },
    "Layout": {
        "customButtons",
        "customConsoleComponents",
        "emailDefault",
        "excludeButtons",
        "feedLayout",
        "headers",
        "layoutSections",
        "miniLayout",
        "multilineLayoutFields",
        "platformActionList",
        "quickActionList",
        "relatedContent",
        "relatedLists",
        "relatedObjects",
        "runAssignmentRulesDefault",
        "showEmailCheckbox",
        "showHighlightsPanel",
        "showInteractionLogPanel",
        "showKnowledgeComponent",
        "showRunAssignmentRulesCheckbox",
        "showSolutionSection",
        "showSubmitAndAttachButton",
        "summaryLayout",
    },
    "LayoutSection": {
        "customLabel",
        "detailHeading",
        "editHeading",
        "label",
        "layoutColumns",
        "style",
    },
    "LayoutColumn": {"layoutItems", "reserved"},
    "LayoutItem": {
        "analyticsCloudComponent",
        "behavior",
        "canvas",
        "component",
        "customLink",
        "emptySpace",
        "field",
        "height",
        "page",
        "reportChartComponent",
        "scontrol",
        "showLabel",
        "showScrollbars",
        "width",
    },
    "RelatedListItem": {
        "customButtons",
        "excludeButtons",
        "fields",
        "relatedList",
        "sortField",
        "sortOrder",
    },
    "StandardValueSet": {"groupingStringEnum", "sorted", "standardValue"},
    "StandardValue": {
        "fullName",
        "color",
        "default",
        "description",
        "isActive",
        "label",
        "allowEmail",
        "closed",
        "converted",
        "cssExposed",
        "forecastCategory",
        "groupingString",
        "highPriority",
        "probability",
        "reverseRole",
        "reviewed",
        "won",
    },
    "PermissionSet": {
        "applicationVisibilities",
        "classAccesses",
        "customMetadataTypeAccesses",
        "customPermissions",
        "customSettingAccesses",
        "description",
        "externalDataSourceAccesses",
        "fieldPermissions",
        "flowAccesses",
        "hasActivationRequired",
        "label",
        "license",
        "objectPermissions",
        "pageAccesses",
        "recordTypeVisibilities",
        "tabSettings",
        "userPermissions",
    },
    "PermissionSetFieldPermissions": {"editable", "field", "readable"},
    "PermissionSetObjectPermissions": {
        "allowCreate",
        "allowDelete",
        "allowEdit",
        "allowRead",
        "modifyAllRecords",
        "object",
        "viewAllFields",
        "viewAllRecords",
    },
    "Package": {
        "fullName",
        "apiAccessLevel",
        "description",
        "namespacePrefix",
        "objectPermissions",
        "postInstallClass",
        "setupWeblink",
        "types",
        "uninstallClass",
        "version",
    },
    "Flow": {
        "apiVersion",
        "description",
        "environments",
        "interviewLabel",
        "label",
        "processMetadataValues",
        "processType",
        "recordUpdates",
        "start",
        "status",
    },
    "ValidationRule": {
        "fullName",
        "active",
        "description",
        "errorConditionFormula",
        "errorDisplayField",
        "errorMessage",
    },
    "PackageTypeMembers": {"members", "name"},
}
REQUIRED: dict[str, set[str]] = {
    "CustomField": {"fullName", "label", "type"},
    "ValueSet": {"valueSetDefinition"},
    "ValueSetValuesDefinition": {"value"},
    "CustomValue": {"fullName", "default", "label"},
    "CustomObject": {"label", "pluralLabel", "nameField", "deploymentStatus", "sharingModel"},
    "NameField": {"label", "type"},
    "Layout": {"layoutSections"},
    "LayoutSection": {"label", "layoutColumns", "style"},
    "LayoutColumn": set(),
    "LayoutItem": set(),
    "RelatedListItem": {"relatedList"},
    "StandardValueSet": {"sorted", "standardValue"},
    "StandardValue": {"fullName", "default", "label"},
    "PermissionSet": {"label"},
    "PermissionSetFieldPermissions": {"editable", "field", "readable"},
    "PermissionSetObjectPermissions": {
        "allowCreate",
        "allowDelete",
        "allowEdit",
        "allowRead",
        "modifyAllRecords",
        "object",
        "viewAllRecords",
    },
    "Package": {"types", "version"},
    "ValidationRule": {"fullName", "active", "errorConditionFormula", "errorMessage"},
    "Flow": {"apiVersion", "label", "processType", "start", "status"},
    "PackageTypeMembers": {"members", "name"},
}
# Elements that may repeat; every other element appears at most once.
REPEATABLE = {
    "value",
    "standardValue",
    "layoutSections",
    "layoutColumns",
    "layoutItems",
    "relatedLists",
    "fields",
    "excludeButtons",
    "customButtons",
    "fieldPermissions",
    "objectPermissions",
    "types",
    "members",
    "referenceTo",
    "processMetadataValues",
    "recordUpdates",
}

ENUMS = {
    "Flow.processType": {"AutoLaunchedFlow"},
    "Flow.status": {"Active", "Draft", "Obsolete", "InvalidDraft"},
    "Flow.environments": {"Default", "Slack"},
    "CustomField.type": {
        "AutoNumber",
        "Lookup",
        "MasterDetail",
        "MetadataRelationship",
        "Checkbox",
        "Currency",
        "Date",
        "DateTime",
        "Email",
        "EncryptedText",
        "ExternalLookup",
        "IndirectLookup",
        "Number",
        "Percent",
        "Phone",
        "Picklist",
        "MultiselectPicklist",
        "Summary",
        "Text",
        "TextArea",
        "LongTextArea",
        "Url",
        "Hierarchy",
        "File",
        "Html",
        "Location",
        "Time",
    },
    "CustomField.deleteConstraint": {"SetNull", "Restrict", "Cascade"},
    "CustomObject.deploymentStatus": {"InDevelopment", "Deployed"},
    "CustomObject.sharingModel": {
        "Private",
        "Read",
        "ReadWrite",
        "ReadWriteTransfer",
        "FullAccess",
        "ControlledByParent",
        "ControlledByCampaign",
        "ControlledByLeadOrContact",
    },
    "CustomObject.externalSharingModel": {
        "Private",
        "Read",
        "ReadWrite",
        "ReadWriteTransfer",
        "FullAccess",
        "ControlledByParent",
    },
    "CustomObject.startsWith": {"Consonant", "Vowel", "Special"},
    "CustomObject.visibility": {"Public", "Protected", "PackageProtected"},
    "CustomObject.compactLayoutAssignment": None,  # free text (a compact layout name)
    "NameField.type": {"Text", "AutoNumber"},
    "LayoutSection.style": {
        "TwoColumnsTopToBottom",
        "TwoColumnsLeftToRight",
        "OneColumn",
        "CustomLinks",
    },
    "LayoutItem.behavior": {"Edit", "Required", "Readonly"},
    "StandardValue.forecastCategory": {"Omitted", "Pipeline", "BestCase", "Forecast", "Closed"},
}
BOOLEAN_ELEMENTS = {
    "active",
    "caseSensitive",
    "externalId",
    "required",
    "unique",
    "trackFeedHistory",
    "trackHistory",
    "trackTrending",
    "reparentableMasterDetail",
    "writeRequiresMasterRead",
    "restricted",
    "sorted",
    "default",
    "isActive",
    "closed",
    "won",
    "customLabel",
    "detailHeading",
    "editHeading",
    "allowInChatterGroups",
    "enableActivities",
    "enableBulkApi",
    "enableFeeds",
    "enableHistory",
    "enableLicensing",
    "enableReports",
    "enableSearch",
    "enableSharing",
    "enableStreamingApi",
    "showEmailCheckbox",
    "showHighlightsPanel",
    "showInteractionLogPanel",
    "showRunAssignmentRulesCheckbox",
    "showSubmitAndAttachButton",
    "editable",
    "readable",
    "allowCreate",
    "allowDelete",
    "allowEdit",
    "allowRead",
    "modifyAllRecords",
    "viewAllRecords",
    "hasActivationRequired",
}
INTEGER_ELEMENTS = {
    "length",
    "precision",
    "scale",
    "visibleLines",
    "relationshipOrder",
    "probability",
    "startingNumber",
}

# Which nested type each element holds, per parent type.
NESTED = {
    ("CustomField", "valueSet"): "ValueSet",
    ("ValueSet", "valueSetDefinition"): "ValueSetValuesDefinition",
    ("ValueSetValuesDefinition", "value"): "CustomValue",
    ("CustomObject", "nameField"): "NameField",
    ("Layout", "layoutSections"): "LayoutSection",
    ("LayoutSection", "layoutColumns"): "LayoutColumn",
    ("LayoutColumn", "layoutItems"): "LayoutItem",
    ("Layout", "relatedLists"): "RelatedListItem",
    ("StandardValueSet", "standardValue"): "StandardValue",
    ("PermissionSet", "fieldPermissions"): "PermissionSetFieldPermissions",
    ("PermissionSet", "objectPermissions"): "PermissionSetObjectPermissions",
    ("Package", "types"): "PackageTypeMembers",
}

# SFDX source layout: directory pattern -> (root element, file name suffix).
SOURCE_KINDS = {
    "field": ("CustomField", ".field-meta.xml"),
    "object": ("CustomObject", ".object-meta.xml"),
    "layout": ("Layout", ".layout-meta.xml"),
    "standardValueSet": ("StandardValueSet", ".standardValueSet-meta.xml"),
    "permissionset": ("PermissionSet", ".permissionset-meta.xml"),
    "validationRule": ("ValidationRule", ".validationRule-meta.xml"),
    "flow": ("Flow", ".flow-meta.xml"),
}

API_NAME = re.compile(r"^[A-Za-z](?:[A-Za-z0-9]|_(?!_))*[A-Za-z0-9]$")


def _local(tag: str) -> str:
    return tag.removeprefix(NS)


def _check_element(el: ET.Element, kind: str, where: str, problems: list[str]) -> None:
    """Check one element of Metadata type ``kind`` and recurse into its nested types."""
    names = [_local(c.tag) for c in el]
    for name in names:
        if name not in ALLOWED[kind]:
            problems.append(f"{where}: <{name}> is not an element of {kind}")
    for name in REQUIRED[kind] - set(names):
        problems.append(f"{where}: {kind} requires <{name}>")
    for name in set(names):
        if names.count(name) > 1 and name not in REPEATABLE:
            problems.append(f"{where}: <{name}> appears {names.count(name)} times in {kind}")
    for child in el:
        name = _local(child.tag)
        value = (child.text or "").strip()
        nested = NESTED.get((kind, name))
        if nested:
            _check_element(child, nested, f"{where}/{name}", problems)
            continue
        if len(child):
            continue  # complex types we do not use deeply (none today)
        if name in BOOLEAN_ELEMENTS and value not in ("true", "false"):
            problems.append(f"{where}/{name}: {value!r} is not a boolean")
        if name in INTEGER_ELEMENTS and not value.isdigit():
            problems.append(f"{where}/{name}: {value!r} is not an integer")
        allowed = ENUMS.get(f"{kind}.{name}")
        if allowed and value not in allowed:
            problems.append(f"{where}/{name}: {value!r} is not one of {sorted(allowed)}")
    # Retrieve emits fullName first, then the rest in alphabetical order; keep files in it.
    rest = [n for n in names if n != "fullName"]
    if names and "fullName" in names and names[0] != "fullName":
        problems.append(f"{where}: <fullName> must come first")
    if rest != sorted(rest):
        problems.append(f"{where}: elements are not in Metadata API (alphabetical) order")


def _source_files() -> list[tuple[str, Path]]:
    files = []
    for kind, (_, suffix) in SOURCE_KINDS.items():
        files += [(kind, p) for p in sorted(SRC.rglob(f"*{suffix}"))]
    return files


def _parse(path: Path) -> ET.Element:
    return ET.parse(path).getroot()


def _fields() -> dict[str, dict[str, ET.Element]]:
    out: dict[str, dict[str, ET.Element]] = {}
    for path in sorted(SRC.glob("objects/*/fields/*.field-meta.xml")):
        out.setdefault(path.parent.parent.name, {})[path.name.split(".")[0]] = _parse(path)
    return out


def _text(el: ET.Element, tag: str) -> str | None:
    child = el.find(NS + tag)
    return None if child is None else (child.text or "").strip()


# The field inventory of the brief / guide: object -> field -> metadata type (and extras).
INVENTORY: dict[str, dict[str, tuple]] = {
    "Account": {
        "External_Account_ID__c": ("Text", 255, "ext"),
        "Last_Sync_Date__c": ("DateTime",),
        "Sync_Me__c": ("Checkbox",),
        "Billing_Address_Block__c": ("LongTextArea", "TextArea"),
        "Shipping_Address_Block__c": ("LongTextArea", "TextArea"),
        "Credit_Limit__c": ("Currency",),
        "Sales_Rep__c": ("Text", 5),
        "Terms__c": ("Picklist", "unrestricted"),
    },
    "Contact": {
        "External_Account_ID__c": ("Text",),
        "External_Contact_ID__c": ("Text", "ext"),
        "Is_Billing_Contact__c": ("Checkbox",),
        "Last_Sync_Date__c": ("DateTime",),
        "Sync_Me__c": ("Checkbox",),
    },
    "Opportunity": {
        "Billing_Address_Block__c": ("LongTextArea", "TextArea"),
        "Shipping_Address_Block__c": ("LongTextArea", "TextArea"),
        "Class__c": ("Text", "Picklist"),
        "Due_Date__c": ("Date",),
        "Ship_Date__c": ("Date",),
        "Transaction_Date__c": ("Date",),
        "External_Transaction_ID__c": ("Text", "ext"),
        "External_Transaction_Number__c": ("Text",),
        "Last_Sync_Date__c": ("DateTime",),
        "PO_Number__c": ("Text",),
        "Sales_Rep__c": ("Text",),
        "Shipping_Method__c": ("Picklist", "unrestricted"),
        "Sync_Me__c": ("Checkbox",),
        "Terms__c": ("Picklist", "unrestricted"),
        "Transaction_Type__c": ("Picklist", "restricted"),
    },
    "OpportunityLineItem": {
        "External_Line_ID__c": ("Text", "ext"),
        "External_Line_Index__c": ("Number",),
    },
    "Product2": {
        "External_Item_ID__c": ("Text", "ext"),
        "Last_Sync_Date__c": ("DateTime",),
        "Quantity_On_Hand__c": ("Number",),
        "Quantity_Allocated__c": ("Number",),
    },
    "Invoice__c": {
        "Account__c": ("Lookup",),
        "Billing_Address_Block__c": ("LongTextArea", "TextArea"),
        "Shipping_Address_Block__c": ("LongTextArea", "TextArea"),
        "Class__c": ("Text", "Picklist"),
        "Due_Date__c": ("Date",),
        "External_Invoice_ID__c": ("Text", "ext"),
        "Invoice_Date__c": ("Date",),
        "Invoice_Number__c": ("Text",),
        "Is_Paid__c": ("Checkbox",),
        "Last_Sync_Date__c": ("DateTime",),
        "Outstanding_Balance__c": ("Currency",),
        "PO_Number__c": ("Text",),
        "Sales_Rep__c": ("Text",),
        "Ship_Date__c": ("Date",),
        "Shipping_Method__c": ("Text", "Picklist"),
        "Subtotal__c": ("Currency",),
        "Sync_Me__c": ("Checkbox",),
        "Terms__c": ("Text", "Picklist"),
        "Status__c": ("Picklist",),
    },
    "Invoice_Item__c": {
        "Invoice__c": ("MasterDetail",),
        "Amount__c": ("Currency",),
        "Description__c": ("TextArea", "LongTextArea"),
        "External_Invoice_Line_ID__c": ("Text", "ext"),
        "Product__c": ("Lookup",),
        "Quantity__c": ("Number",),
        "Rate__c": ("Currency", "Number"),
    },
    "Invoice_Opportunity_Link__c": {
        "External_ID__c": ("Text", "ext"),
        "Invoice__c": ("MasterDetail",),
        "Opportunity__c": ("MasterDetail",),
    },
}
CUSTOM_OBJECTS = ("Invoice__c", "Invoice_Item__c", "Invoice_Opportunity_Link__c")
# The standard objects the sync creates and updates (never deletes): Opportunities too, as
# placeholders of invoices that have none; line items and price entries follow their parents.
STANDARD_WRITTEN = ("Account", "Contact", "Opportunity", "Product2")
STANDARD_OBJECTS = ("Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2")


# ------------------------------------------------------------------ tests: file structure


def test_given_the_project_when_sfdx_project_json_is_read_then_it_names_a_default_package_directory():
    """R-OPS-6: `sf project deploy start` needs sfdx-project.json with one default package dir."""
    data = json.loads((ROOT / "sfdx-project.json").read_text())
    allowed = {
        "packageDirectories",
        "namespace",
        "sfdcLoginUrl",
        "sourceApiVersion",
        "name",
        "packageAliases",
        "plugins",
        "pushPackageDirectoriesSequentially",
        "replacements",
        "sourceBehaviorOptions",
        "signupTargetLoginUrl",
        "oauthLocalPort",
    }
    assert set(data) <= allowed
    dirs = data["packageDirectories"]
    assert [d for d in dirs if d.get("default")] == [d for d in dirs if d["path"] == "force-app"]
    assert all((ROOT / d["path"]).is_dir() for d in dirs)
    assert re.fullmatch(r"\d{2}\.0", data["sourceApiVersion"])


def test_given_every_source_file_when_parsed_then_its_root_and_namespace_match_its_type():
    """R-OPS-6: each -meta.xml file is well-formed, UTF-8, and its root names its type."""
    files = _source_files()
    assert len(files) > 60
    for kind, path in files:
        raw = path.read_bytes()
        assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), path
        root = _parse(path)
        assert root.tag == NS + SOURCE_KINDS[kind][0], path
    # nothing else in the package directory that the CLI would try (and fail) to deploy
    suffixes = tuple(s for _, s in SOURCE_KINDS.values())
    strays = [p for p in SRC.rglob("*") if p.is_file() and not p.name.endswith(suffixes)]
    assert strays == []


def test_given_every_source_file_when_checked_against_the_type_table_then_no_element_is_wrong():
    """R-OPS-6: elements allowed/required per Metadata API type, enums, booleans, order."""
    problems: list[str] = []
    for _, path in _source_files():
        root = _parse(path)
        _check_element(root, _local(root.tag), path.name, problems)
    assert problems == []


def test_given_a_bad_file_when_checked_against_the_type_table_then_the_checker_reports_it():
    """The checker itself catches an unknown element, a missing required one and a bad enum."""
    bad = ET.fromstring(
        f'<CustomField xmlns="{NS[1:-1]}"><fullName>X__c</fullName><lable>X</lable>'
        "<type>Txt</type></CustomField>"
    )
    problems: list[str] = []
    _check_element(bad, "CustomField", "bad", problems)
    assert any("<lable> is not an element" in p for p in problems)
    assert any("requires <label>" in p for p in problems)
    assert any("'Txt' is not one of" in p for p in problems)


# ------------------------------------------------------------------ tests: custom fields


def test_given_each_field_file_when_read_then_full_name_matches_the_file_and_is_a_valid_api_name():
    """R-OPS-6: CustomField fullName equals the file name; API names follow Salesforce rules."""
    for obj, fields in _fields().items():
        for name, el in fields.items():
            assert _text(el, "fullName") == name
            assert name.endswith("__c") and API_NAME.match(name[:-3]), name
            assert len(name) - 3 <= 40, name
            assert 0 < len(_text(el, "label") or "") <= 40, (obj, name)
            assert len(_text(el, "description") or "") <= 1000, (obj, name)


def test_given_each_field_type_when_checked_then_its_type_specific_elements_are_right():
    """R-OPS-6: Text needs length <= 255, LongTextArea length and visibleLines, numbers need
    precision >= scale, Checkbox a defaultValue and no required, Picklist a value set."""
    for obj, fields in _fields().items():
        for name, el in fields.items():
            kind = _text(el, "type")
            where = f"{obj}.{name}"
            has = {_local(c.tag) for c in el}
            if kind == "Text":
                assert 1 <= int(_text(el, "length")) <= 255, where
            if kind == "LongTextArea":
                assert 256 <= int(_text(el, "length")) <= 131072, where
                assert int(_text(el, "visibleLines")) >= 2, where
            if kind == "TextArea":
                assert "length" not in has, where
            if kind in ("Number", "Currency", "Percent"):
                precision, scale = int(_text(el, "precision")), int(_text(el, "scale"))
                assert 1 <= precision <= 18 and 0 <= scale <= precision, where
            else:
                assert not {"precision", "scale"} & has, where
            if kind == "Checkbox":
                assert _text(el, "defaultValue") in ("true", "false"), where
                assert not {"required", "length", "unique", "externalId"} & has, where
            if kind in ("Picklist", "MultiselectPicklist"):
                values = el.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")
                names = [_text(v, "fullName") for v in values]
                assert names and len(names) == len(set(names)), where
                assert all(_text(v, "label") for v in values), where
                assert sum(_text(v, "default") == "true" for v in values) <= 1, where
                assert not {"length", "externalId", "unique"} & has, where
            else:
                assert "valueSet" not in has, where
            if kind not in ("Lookup", "MasterDetail"):
                assert not {"referenceTo", "relationshipName", "deleteConstraint"} & has, where


def test_given_external_id_fields_when_checked_then_each_is_external_unique_and_case_insensitive():
    """R-GEN-3: upserts key on External IDs, so each one is externalId + unique (and a Text)."""
    found = set()
    for obj, fields in _fields().items():
        for name, el in fields.items():
            if _text(el, "externalId") == "true":
                found.add(f"{obj}.{name}")
                assert _text(el, "type") in ("Text", "Number", "Email", "AutoNumber")
                assert _text(el, "unique") == "true", f"{obj}.{name}"
                assert _text(el, "caseSensitive") in (None, "false"), f"{obj}.{name}"
    assert found == {  # one per synced record kind
        "Account.External_Account_ID__c",
        "Contact.External_Contact_ID__c",
        "Opportunity.External_Transaction_ID__c",
        "OpportunityLineItem.External_Line_ID__c",
        "Product2.External_Item_ID__c",
        "Invoice__c.External_Invoice_ID__c",
        "Invoice_Item__c.External_Invoice_Line_ID__c",
        "Invoice_Opportunity_Link__c.External_ID__c",
    }


def test_given_relationship_fields_when_checked_then_lookups_and_master_details_are_complete():
    """R-OPS-6: Lookup needs referenceTo, relationshipName, deleteConstraint; MasterDetail
    needs referenceTo and relationshipName, relationshipOrder on a junction, and no
    deleteConstraint/required; relationship names are unique on each parent."""
    by_parent: dict[str, list[str]] = {}
    for obj, fields in _fields().items():
        masters = [n for n, el in fields.items() if _text(el, "type") == "MasterDetail"]
        for name, el in fields.items():
            kind = _text(el, "type")
            if kind not in ("Lookup", "MasterDetail"):
                continue
            where = f"{obj}.{name}"
            rel = _text(el, "relationshipName")
            assert _text(el, "referenceTo") and rel and API_NAME.match(rel), where
            by_parent.setdefault(_text(el, "referenceTo"), []).append(rel)
            if kind == "Lookup":
                assert _text(el, "deleteConstraint") in ("SetNull", "Restrict"), where
                assert _text(el, "required") in (None, "false"), where
            else:
                assert _text(el, "deleteConstraint") is None and _text(el, "required") is None
                if len(masters) > 1:
                    assert _text(el, "relationshipOrder") in ("0", "1"), where
    for parent, names in by_parent.items():
        assert len(names) == len(set(names)), parent
    orders = sorted(
        _text(el, "relationshipOrder")
        for el in _fields()["Invoice_Opportunity_Link__c"].values()
        if _text(el, "type") == "MasterDetail"
    )
    assert orders == ["0", "1"]


def test_given_the_field_inventory_when_compared_with_the_package_then_every_field_exists_as_typed():
    """R-OPS-6, guide field tables: every inventory field exists with its type, lengths and
    picklist restriction; no object carries an unexpected field."""
    fields = _fields()
    assert set(fields) == set(INVENTORY)
    for obj, expected in INVENTORY.items():
        assert set(fields[obj]) == set(expected), obj
        for name, spec in expected.items():
            el = fields[obj][name]
            types = {s for s in spec if isinstance(s, str) and s[0].isupper()}
            assert _text(el, "type") in types, f"{obj}.{name}"
            if "ext" in spec:
                assert _text(el, "externalId") == "true", f"{obj}.{name}"
            lengths = [s for s in spec if isinstance(s, int)]
            if lengths:
                assert int(_text(el, "length")) == lengths[0], f"{obj}.{name}"
            restricted = el.find(f"{NS}valueSet/{NS}restricted")
            if "restricted" in spec:
                assert restricted is not None and restricted.text == "true", f"{obj}.{name}"
            if "unrestricted" in spec:
                assert restricted is None or restricted.text == "false", f"{obj}.{name}"


def test_given_the_picklists_when_read_then_they_carry_the_values_the_sync_uses():
    """R-OPP-2, R-ACC-9, R-OPP-4: Transaction Type, Terms, Shipping Method and Status values."""

    def values(obj: str, name: str) -> list[str]:
        el = _fields()[obj][name]
        return [
            _text(v, "fullName")
            for v in el.findall(f"{NS}valueSet/{NS}valueSetDefinition/{NS}value")
        ]

    assert values("Opportunity", "Transaction_Type__c") == [
        "None",
        "Invoice",
        "Sales Receipt",
        "Sales Order",
    ]
    terms = ["Due on receipt", "Net 15", "Net 30", "Net 60"]
    assert values("Account", "Terms__c") == terms == values("Opportunity", "Terms__c")
    assert values("Opportunity", "Shipping_Method__c") == ["UPS", "FedEx", "USPS", "DHL", "Pickup"]
    assert values("Invoice__c", "Status__c") == ["Open", "Paid", "Voided", "Deleted"]


# ------------------------------------------------------------------ tests: custom objects


def test_given_the_custom_objects_when_read_then_each_has_label_name_field_and_sharing():
    """R-OPS-6: CustomObject needs label, pluralLabel, nameField, deploymentStatus and
    sharingModel; master-detail children are ControlledByParent; the enterprise trio
    (sharing, bulk API, streaming API) is set together."""
    fields = _fields()
    for obj in CUSTOM_OBJECTS:
        el = _parse(SRC / "objects" / obj / f"{obj}.object-meta.xml")
        assert _text(el, "deploymentStatus") == "Deployed"
        has_master = any(_text(f, "type") == "MasterDetail" for f in fields[obj].values())
        assert (_text(el, "sharingModel") == "ControlledByParent") == has_master, obj
        if has_master:
            assert _text(el, "externalSharingModel") == "ControlledByParent", obj
        trio = {_text(el, t) for t in ("enableSharing", "enableBulkApi", "enableStreamingApi")}
        assert len(trio) == 1, obj
        name_field = el.find(NS + "nameField")
        if _text(name_field, "type") == "AutoNumber":
            assert re.search(r"\{0+\}", _text(name_field, "displayFormat") or ""), obj
    invoice = _parse(SRC / "objects" / "Invoice__c" / "Invoice__c.object-meta.xml")
    assert _text(invoice, "label") == "Invoice"
    assert _text(invoice.find(NS + "nameField"), "label") == "Invoice Name"
    item = _parse(SRC / "objects" / "Invoice_Item__c" / "Invoice_Item__c.object-meta.xml")
    assert _text(item.find(NS + "nameField"), "label") == "Invoice Item Number"
    assert _text(item.find(NS + "nameField"), "type") == "AutoNumber"


def test_given_the_invoice_objects_when_read_then_the_relationships_are_as_the_guide_says():
    """R-INV-1, R-INV-2: Invoice Item is a detail of Invoice (relationship Invoice_Items);
    the link object is a junction of Invoice (primary) and Opportunity (secondary)."""
    fields = _fields()
    item = fields["Invoice_Item__c"]["Invoice__c"]
    assert (_text(item, "type"), _text(item, "referenceTo"), _text(item, "relationshipName")) == (
        "MasterDetail",
        "Invoice__c",
        "Invoice_Items",
    )
    link = fields["Invoice_Opportunity_Link__c"]
    assert (
        _text(link["Invoice__c"], "referenceTo"),
        _text(link["Invoice__c"], "relationshipOrder"),
    ) == ("Invoice__c", "0")
    assert (
        _text(link["Opportunity__c"], "referenceTo"),
        _text(link["Opportunity__c"], "relationshipOrder"),
    ) == ("Opportunity", "1")
    assert _text(fields["Invoice_Item__c"]["Product__c"], "referenceTo") == "Product2"
    assert _text(fields["Invoice__c"]["Account__c"], "referenceTo") == "Account"


# ------------------------------------------------------------------ tests: stages


def test_given_the_stage_value_set_when_read_then_migrated_is_closed_won_and_standard_stages_remain():
    """R-INV-3, R-MIG-2: "Migrated" is a closed/won stage (probability 100); the standard
    stages are kept because a StandardValueSet deploy replaces the whole list."""
    el = _parse(SRC / "standardValueSets" / "OpportunityStage.standardValueSet-meta.xml")
    stages = {_text(v, "fullName"): v for v in el.findall(NS + "standardValue")}
    migrated = stages["Migrated"]
    assert (
        _text(migrated, "closed"),
        _text(migrated, "won"),
        _text(migrated, "probability"),
        _text(migrated, "forecastCategory"),
    ) == ("true", "true", "100", "Closed")
    assert {
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    } <= set(stages)
    for name, v in stages.items():
        assert {"closed", "won", "probability", "forecastCategory"} <= {_local(c.tag) for c in v}, (
            name
        )
        assert _text(v, "won") == "false" or _text(v, "closed") == "true", name
        assert 0 <= int(_text(v, "probability")) <= 100, name


# ------------------------------------------------------------------ tests: layouts


def _layouts() -> dict[str, tuple[str, ET.Element]]:
    """The layouts force-app deploys: object -> (layout name, root)."""
    out = {}
    for path in sorted((SRC / "layouts").glob("*.layout-meta.xml")):
        obj, _, name = path.name.removesuffix(".layout-meta.xml").partition("-")
        out[obj] = (name, _parse(path))
    return out


def _additions() -> dict[str, ET.Element]:
    """What the package adds to each standard object's own layouts: object -> partial Layout."""
    return {p.name.removesuffix(".xml"): _parse(p) for p in sorted(ADDITIONS.glob("*.xml"))}


def _placements() -> dict[str, ET.Element]:
    """Where each object's package fields are placed: its own layout for a package object, the
    layout additions for a standard object."""
    return {**{obj: el for obj, (_, el) in _layouts().items()}, **_additions()}


def test_given_the_package_when_its_layouts_are_listed_then_none_is_a_standard_objects_layout():
    """R-OPS-6: a deploy replaces a layout whole, so force-app and the manifest hold the layouts
    of the package's own objects only; what goes on the standard objects' layouts lives in
    layout-additions, outside every package directory (never deployed), one file per object."""
    listed = {
        (m.text or "").partition("-")[0]
        for t in _parse(ROOT / "manifest" / "package.xml").findall(NS + "types")
        if _text(t, "name") == "Layout"
        for m in t.findall(NS + "members")
    }
    assert set(_layouts()) == set(CUSTOM_OBJECTS) == listed
    assert list(ADDITIONS.glob("*.xml")) and not list(ADDITIONS.glob("*-meta.xml"))
    dirs = json.loads((ROOT / "sfdx-project.json").read_text())["packageDirectories"]
    assert all(ROOT / d["path"] not in (ADDITIONS, *ADDITIONS.parents) for d in dirs)
    assert set(_additions()) == set(STANDARD_OBJECTS)


def test_given_the_layout_additions_when_read_then_each_package_field_of_its_object_is_placed_once():
    """R-OPS-6, R-PRE-3: the additions place every package field of their standard object, no
    other field, and none twice; they hold sections and related lists only, valid per the
    Layout type table (Metadata API order included)."""
    fields = _fields()
    problems: list[str] = []
    for obj, el in _additions().items():
        _check_element(el, "Layout", f"layout-additions/{obj}.xml", problems)
        placed = [_text(i, "field") for i in el.iter(NS + "layoutItems")]
        assert sorted(placed) == sorted(fields[obj]), obj
        assert {_local(c.tag) for c in el} <= {"layoutSections", "relatedLists"}, obj
    assert problems == []


def test_given_the_stock_layouts_of_an_org_when_the_additions_are_merged_then_each_is_valid():
    """R-OPS-6: what `python -m sfqb salesforce layouts` writes for a fresh org's layouts (the
    sandbox's stock ones) is a valid Layout per the type table, in Metadata API order, and
    carries every package field of its object."""
    from sfqb.checks.layouts import add_to_layout, layout_object, read_additions
    from sfqb_sandbox.salesforce.schema import STOCK_LAYOUTS

    additions = read_additions(ADDITIONS)
    fields = _fields()
    stock = sorted(STOCK_LAYOUTS.glob("*.layout-meta.xml"))
    assert {layout_object(p.name) for p in stock} == set(STANDARD_OBJECTS)
    problems: list[str] = []
    for path in stock:
        obj = layout_object(path.name)
        merged = add_to_layout(path.read_text(), additions[obj], path.name)
        root = ET.fromstring(merged.text)
        _check_element(root, "Layout", path.name, problems)
        assert set(fields[obj]) <= {_text(i, "field") for i in root.iter(NS + "layoutItems")}
    assert problems == []


def test_given_the_layouts_when_read_then_every_package_object_has_one_and_columns_match_style():
    """R-PRE-3, R-OPS-6: a layout (package objects) or layout additions (standard objects) per
    object of the package; a section's column count fits its style; every field item has a
    behavior; no field appears twice."""
    placements = _placements()
    assert set(placements) == set(STANDARD_OBJECTS) | set(CUSTOM_OBJECTS)
    for obj, el in placements.items():
        seen: list[str] = []
        for section in el.findall(NS + "layoutSections"):
            cols = section.findall(NS + "layoutColumns")
            style = _text(section, "style")
            assert len(cols) == (
                1 if style == "OneColumn" else 2 if style.startswith("Two") else len(cols)
            ), (obj, _text(section, "label"))
            for item in section.iter(NS + "layoutItems"):
                if _text(item, "field"):
                    assert _text(item, "behavior") in ("Edit", "Required", "Readonly")
                    seen.append(_text(item, "field"))
        assert len(seen) == len(set(seen)), obj


def test_given_the_layouts_when_compared_with_the_fields_then_every_package_field_shows():
    """R-PRE-3: every package custom field is on its object's layout or layout additions (the
    preflight checks exactly this against describe layouts) and every custom field placed
    exists."""
    fields = _fields()
    placements = _placements()
    for obj, names in fields.items():
        on_layout = {(_text(i, "field") or "") for i in placements[obj].iter(NS + "layoutItems")}
        assert set(names) <= on_layout, (obj, set(names) - on_layout)
        custom_on_layout = {n for n in on_layout if n.endswith("__c")}
        assert custom_on_layout <= set(names), obj


def test_given_the_layouts_when_read_then_required_system_fields_are_required_on_them():
    """R-OPS-6: a deploy rejects a layout without the object's required fields as Required."""
    required = {
        "Invoice__c": {"Name"},
        "Invoice_Item__c": {"Invoice__c"},
        "Invoice_Opportunity_Link__c": {"Invoice__c", "Opportunity__c"},
    }
    layouts = _layouts()
    assert set(layouts) == set(required)
    for obj, (_, el) in layouts.items():
        behaviors = {_text(i, "field"): _text(i, "behavior") for i in el.iter(NS + "layoutItems")}
        for name in required[obj]:
            assert behaviors.get(name) == "Required", (obj, name)


def test_given_the_layout_related_lists_when_read_then_no_column_is_a_long_text_field():
    """R-OPS-6: a related list cannot show a long or rich text area field: such a column fails
    the deploy of the layout."""
    fields = _fields()
    wide = []
    for obj, el in _placements().items():
        for rel in el.findall(NS + "relatedLists"):
            child = (_text(rel, "relatedList") or "").split(".")[0]
            for column in rel.findall(NS + "fields"):
                f = fields.get(child, {}).get(column.text or "")
                if f is not None and _text(f, "type") in ("LongTextArea", "Html"):
                    wide.append(f"{obj}: {child}.{column.text}")

    assert wide == []


def test_given_the_layout_related_lists_when_read_then_custom_ones_name_child_and_field():
    """R-INV-2: the Invoice layout and the Opportunity and Account additions list the invoice
    children."""
    fields = _fields()
    found = set()
    for obj, el in _placements().items():
        for rel in el.findall(NS + "relatedLists"):
            name = _text(rel, "relatedList")
            if "." in name:
                child, field = name.split(".")
                assert _text(fields[child][field], "referenceTo") == obj, name
                found.add(name)
            else:
                assert name.startswith("Related") and name.endswith("List"), name
    assert {
        "Invoice_Item__c.Invoice__c",
        "Invoice_Opportunity_Link__c.Invoice__c",
        "Invoice_Opportunity_Link__c.Opportunity__c",
        "Invoice__c.Account__c",
    } <= found


# ------------------------------------------------------------------ tests: permissions, manifest


def test_given_the_permission_set_when_read_then_it_covers_every_non_required_package_field():
    """R-OPS-6: deployed fields are invisible without field-level security; the permission set
    grants it for every package field except master-detail ones (always visible, and FLS on
    required fields does not deploy), and full access to the three custom objects."""
    el = _parse(SRC / "permissionsets" / "SFQB_Integration.permissionset-meta.xml")
    granted = {
        _text(p, "field"): (_text(p, "readable"), _text(p, "editable"))
        for p in el.findall(NS + "fieldPermissions")
    }
    expected = {
        f"{obj}.{name}"
        for obj, fields in _fields().items()
        for name, f in fields.items()
        if _text(f, "type") != "MasterDetail"
    }
    assert set(granted) == expected
    assert set(granted.values()) == {("true", "true")}
    flags = ("allowRead", "allowCreate", "allowEdit", "allowDelete")
    objects = {
        _text(p, "object"): tuple(_text(p, f) == "true" for f in flags)
        for p in el.findall(NS + "objectPermissions")
    }
    assert objects == {
        **dict.fromkeys(CUSTOM_OBJECTS, (True, True, True, True)),
        **dict.fromkeys(STANDARD_WRITTEN, (True, True, True, False)),
    }


def test_given_the_permission_set_when_its_dependencies_are_checked_then_each_master_is_readable():
    """R-OPS-6: Salesforce refuses to deploy a permission set that grants access to a
    master-detail child without Read on its master (Invoice_Opportunity_Link__c needs Read on
    Opportunity); every master of a package object is readable in it."""
    el = _parse(SRC / "permissionsets" / "SFQB_Integration.permissionset-meta.xml")
    readable = {
        _text(p, "object")
        for p in el.findall(NS + "objectPermissions")
        if _text(p, "allowRead") == "true"
    }
    masters = {
        f"{obj}.{name}": _text(f, "referenceTo")
        for obj, fields in _fields().items()
        for name, f in fields.items()
        if _text(f, "type") == "MasterDetail"
    }

    assert masters and {k: m for k, m in masters.items() if m not in readable} == {}


def test_given_the_validation_rules_when_read_then_they_name_fields_of_their_object():
    """R-OPP-6: the package enforces "Transaction Type cannot change once synced" with a
    validation rule; its formula and error field name fields of its own object (a deploy fails
    on an unknown field), and its fullName is its file's name."""
    fields = _fields()
    rules = sorted(SRC.glob("objects/*/validationRules/*.validationRule-meta.xml"))
    names = {}
    for path in rules:
        el = _parse(path)
        obj = path.parent.parent.name
        names[f"{obj}.{_text(el, 'fullName')}"] = path.name.split(".")[0]
        formula = _text(el, "errorConditionFormula") or ""
        used = set(re.findall(r"\b([A-Za-z][A-Za-z0-9_]*__c)\b", formula))
        used.add(_text(el, "errorDisplayField") or "")
        assert used <= set(fields[obj]), (path.name, used - set(fields[obj]))

    assert names == {
        "Opportunity.Transaction_Type_Locked_Once_Synced": "Transaction_Type_Locked_Once_Synced"
    }


def test_given_the_manifest_when_compared_with_the_sources_then_it_lists_exactly_them():
    """R-OPS-6: manifest/package.xml (for --manifest deploys) matches the source files."""
    el = _parse(ROOT / "manifest" / "package.xml")
    problems: list[str] = []
    _check_element(el, "Package", "package.xml", problems)
    assert problems == []
    listed = {
        (_text(t, "name"), (m.text or ""))
        for t in el.findall(NS + "types")
        for m in t.findall(NS + "members")
    }
    expected = {("CustomField", f"{obj}.{name}") for obj, fs in _fields().items() for name in fs}
    expected |= {("CustomObject", o) for o in CUSTOM_OBJECTS}
    expected |= {
        ("Layout", p.name.removesuffix(".layout-meta.xml"))
        for p in (SRC / "layouts").glob("*.layout-meta.xml")
    }
    expected |= {("StandardValueSet", "OpportunityStage"), ("PermissionSet", "SFQB_Integration")}
    expected |= {("Flow", p.name.split(".")[0]) for p in (SRC / "flows").glob("*.flow-meta.xml")}
    expected |= {
        (
            "ValidationRule",
            f"{p.parent.parent.name}.{p.name.removesuffix('.validationRule-meta.xml')}",
        )
        for p in SRC.glob("objects/*/validationRules/*.validationRule-meta.xml")
    }
    assert listed == expected
    version = json.loads((ROOT / "sfdx-project.json").read_text())["sourceApiVersion"]
    assert _text(el, "version") == version
