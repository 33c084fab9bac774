"""The sandbox's Salesforce schema: standard objects plus the package parsed from SFDX.

Covers api-notes 3.2 (key prefixes, system fields), 3.8 (describe and describe-layouts shape)
and 3.11 (object rules that show in the schema: required and read-only fields).
"""

from __future__ import annotations

import json
import shutil
import time

import pytest

from sfqb.checks.package import FIELD_TYPES
from sfqb_sandbox.salesforce import schema as schema_module
from sfqb_sandbox.salesforce.ids import to18
from sfqb_sandbox.salesforce.schema import (
    STOCK_LAYOUTS,
    SYSTEM_FIELD_NAMES,
    FieldDef,
    LayoutDef,
    default_metadata_root,
    layout_from_xml,
    load_schema,
)

pytestmark = pytest.mark.unit

# The package's fields on each standard object (the ones its layout additions place).
PACKAGE_FIELDS = {
    obj: list(fields)
    for obj, fields in FIELD_TYPES.items()
    if obj in ("Account", "Contact", "Opportunity", "OpportunityLineItem", "Product2")
}


@pytest.fixture(scope="module")
def schema():
    return load_schema()


def _names(fields) -> list[str]:
    return [f.name for f in fields]


def test_given_the_schema_when_loaded_then_every_object_has_its_api_notes_key_prefix(schema):
    """api-notes 3.2: key prefixes of the standard objects; custom objects get a0I/a0J/a0K."""
    expected = {
        "Account": "001",
        "Contact": "003",
        "Opportunity": "006",
        "Product2": "01t",
        "Pricebook2": "01s",
        "PricebookEntry": "01u",
        "OpportunityLineItem": "00k",
        "OpportunityContactRole": "00K",
        "User": "005",
        "Invoice__c": "a0I",
        "Invoice_Item__c": "a0J",
        "Invoice_Opportunity_Link__c": "a0K",
    }
    for name, prefix in expected.items():
        assert schema.objects[name].key_prefix == prefix
        assert schema.by_key_prefix(prefix).name == name
    prefixes = [o.key_prefix for o in schema.objects.values()]
    assert len(prefixes) == len(set(prefixes))
    assert schema.by_key_prefix("zzz") is None


def test_given_any_object_when_its_fields_are_read_then_the_system_fields_are_read_only(schema):
    """api-notes 3.2: Id, IsDeleted, CreatedDate, ... SystemModstamp on every object."""
    for obj in schema.objects.values():
        for name in SYSTEM_FIELD_NAMES:
            f = obj.fields[name]
            assert not f.createable and not f.updateable, (obj.name, name)
        assert obj.fields["Id"].type == "id" and obj.fields["Id"].id_lookup
        assert obj.fields["SystemModstamp"].type == "datetime"


def test_given_mixed_case_names_when_looked_up_then_objects_and_fields_are_found(schema):
    """api-notes 3.3/3.5: SOQL and REST names are case-insensitive."""
    assert schema.object("invoice__C").name == "Invoice__c"
    assert schema.object("nope") is None
    account = schema.object("ACCOUNT")
    assert account.field("external_account_id__c").name == "External_Account_ID__c"
    assert account.field("billingcity").name == "BillingCity"
    assert account.field("Missing__c") is None


def test_given_the_standard_objects_when_required_fields_are_listed_then_they_match_the_api(schema):
    """api-notes 3.11: Account.Name, Contact.LastName, Opportunity Name/StageName/CloseDate,
    line OpportunityId/Quantity, entry Pricebook2Id/Product2Id; master-detail fields on the
    package's detail objects; a custom Text name defaults to the record id."""
    required = {name: _names(schema.objects[name].required_on_create()) for name in schema.objects}
    assert required["Account"] == ["Name"]
    assert required["Contact"] == ["LastName"]
    assert sorted(required["Opportunity"]) == ["CloseDate", "Name", "StageName"]
    assert sorted(required["OpportunityLineItem"]) == ["OpportunityId", "Quantity"]
    assert sorted(required["PricebookEntry"]) == ["Pricebook2Id", "Product2Id"]
    assert sorted(required["OpportunityContactRole"]) == ["ContactId", "OpportunityId"]
    assert required["Invoice__c"] == []
    assert required["Invoice_Item__c"] == ["Invoice__c"]
    assert sorted(required["Invoice_Opportunity_Link__c"]) == ["Invoice__c", "Opportunity__c"]


def test_given_read_only_standard_fields_when_described_then_they_are_not_writable(schema):
    """api-notes 3.11: IsClosed/IsWon/HasOpportunityLineItem, line Product2Id/ListPrice/
    ProductCode, entry Name/ProductCode, Pricebook2.IsStandard, Contact.Name are read-only;
    the line's OpportunityId and the entry's references are create-only."""
    read_only = {
        "Opportunity": ["IsClosed", "IsWon", "HasOpportunityLineItem"],
        "OpportunityLineItem": ["Product2Id", "ListPrice", "ProductCode", "Name"],
        "PricebookEntry": ["Name", "ProductCode"],
        "Pricebook2": ["IsStandard"],
        "Contact": ["Name"],
    }
    for obj, names in read_only.items():
        for name in names:
            f = schema.objects[obj].fields[name]
            assert not f.createable and not f.updateable, (obj, name)
    for obj, name in [
        ("OpportunityLineItem", "OpportunityId"),
        ("PricebookEntry", "Pricebook2Id"),
        ("PricebookEntry", "Product2Id"),
    ]:
        f = schema.objects[obj].fields[name]
        assert f.createable and not f.updateable, (obj, name)
    assert schema.objects["Contact"].fields["Name"].calculated


def test_given_compound_addresses_when_described_then_parts_point_at_a_read_only_compound(schema):
    """api-notes 3.8: BillingAddress/MailingAddress are type address and not writable; the
    parts (BillingStreet, ...) are ordinary fields that name their compound."""
    for obj, prefixes in {
        "Account": ("Billing", "Shipping"),
        "Contact": ("Mailing", "Other"),
    }.items():
        fields = schema.objects[obj].fields
        for prefix in prefixes:
            compound = fields[f"{prefix}Address"]
            assert compound.type == "address" and not compound.createable
            for part in ("Street", "City", "State", "PostalCode", "Country"):
                f = fields[prefix + part]
                assert f.createable and f.compound_field_name == f"{prefix}Address"
    assert schema.objects["Account"].fields["BillingCity"].length == 40


def test_given_the_package_fields_when_parsed_then_metadata_types_map_to_describe_types(schema):
    """api-notes 3.8: Text -> string (length), Checkbox -> boolean (defaulted, not nillable),
    Number -> double, Currency -> currency, LongTextArea -> textarea (not filterable),
    Date/DateTime, Picklist (values, restriction), Lookup/MasterDetail -> reference."""
    account = schema.objects["Account"].fields
    assert (account["Sales_Rep__c"].type, account["Sales_Rep__c"].length) == ("string", 5)
    sync = account["Sync_Me__c"]
    assert (sync.type, sync.nillable, sync.defaulted_on_create, sync.default_value) == (
        "boolean",
        False,
        True,
        False,
    )
    assert (account["Credit_Limit__c"].type, account["Credit_Limit__c"].scale) == ("currency", 2)
    block = account["Billing_Address_Block__c"]
    assert block.type == "textarea" and not block.filterable and block.length >= 255
    assert account["Last_Sync_Date__c"].type == "datetime"
    terms = account["Terms__c"]
    assert terms.type == "picklist" and not terms.restricted_picklist
    assert terms.picklist_values == ("Due on receipt", "Net 15", "Net 30", "Net 60")
    opp = schema.objects["Opportunity"].fields
    assert opp["Transaction_Type__c"].restricted_picklist
    assert opp["Due_Date__c"].type == "date"
    index = schema.objects["OpportunityLineItem"].fields["External_Line_Index__c"]
    assert (index.type, index.precision, index.scale) == ("double", 18, 0)
    assert schema.objects["Invoice__c"].fields["Status__c"].default_value == "Open"
    number = schema.objects["Invoice_Item__c"].fields["Name"]
    assert (number.auto_number, number.createable, number.display_format) == (
        True,
        False,
        "II-{0000000}",
    )
    invoice_name = schema.objects["Invoice__c"].fields["Name"]
    assert (invoice_name.type, invoice_name.length, invoice_name.name_field) == ("string", 80, True)
    assert all(
        f.custom
        for o in schema.objects.values()
        for f in o.fields.values()
        if f.name.endswith("__c")
    )


def test_given_external_id_fields_when_parsed_then_they_are_unique_id_lookups(schema):
    """R-GEN-3, api-notes 3.5.1: upsert keys are externalId, unique, idLookup, case-insensitive."""
    externals = {
        (o.name, f.name)
        for o in schema.objects.values()
        for f in o.fields.values()
        if f.external_id
    }
    assert ("Account", "External_Account_ID__c") in externals
    assert ("Invoice_Opportunity_Link__c", "External_ID__c") in externals
    assert len(externals) == 8
    for obj, name in externals:
        f = schema.objects[obj].fields[name]
        assert f.unique and f.id_lookup and not f.case_sensitive and f.type == "string"


def test_given_relationships_when_parsed_then_lookups_and_children_are_linked(schema):
    """api-notes 3.8: reference fields carry referenceTo and relationshipName (X__r for custom
    ones); parents list childRelationships, master-detail ones cascading on delete."""
    item = schema.objects["Invoice_Item__c"].fields["Invoice__c"]
    assert (
        item.type,
        item.reference_to,
        item.relationship_name,
        item.nillable,
        item.updateable,
        item.cascade_delete,
    ) == ("reference", ("Invoice__c",), "Invoice__r", False, False, True)
    link = schema.objects["Invoice_Opportunity_Link__c"].fields
    assert (link["Invoice__c"].relationship_order, link["Opportunity__c"].relationship_order) == (
        0,
        1,
    )
    children = {
        (c.child_sobject, c.field): c for c in schema.objects["Invoice__c"].child_relationships
    }
    assert children[("Invoice_Item__c", "Invoice__c")].relationship_name == "Invoice_Items__r"
    assert children[("Invoice_Item__c", "Invoice__c")].cascade_delete
    opp_children = {c.relationship_name for c in schema.objects["Opportunity"].child_relationships}
    assert {
        "OpportunityLineItems",
        "OpportunityContactRoles",
        "Invoice_Opportunity_Links__r",
    } <= opp_children
    account = {c.relationship_name: c for c in schema.objects["Account"].child_relationships}
    assert account["Contacts"].field == "AccountId"
    assert not account["Invoices__r"].cascade_delete  # a lookup, SetNull
    assert schema.objects["Account"].fields["ParentId"].relationship_name == "Parent"


def test_given_the_stage_value_set_when_loaded_then_stage_name_offers_migrated(schema):
    """R-INV-3, R-MIG-2: "Migrated" is a closed/won stage and a valid StageName value."""
    stages = {s.name: s for s in schema.stages}
    migrated = stages["Migrated"]
    assert (migrated.closed, migrated.won, migrated.probability) == (True, True, 100)
    assert stages["Closed Lost"].closed and not stages["Closed Lost"].won
    assert stages["Prospecting"].forecast_category_name == "Pipeline"
    stage_name = schema.objects["Opportunity"].fields["StageName"]
    assert "Migrated" in stage_name.picklist_values and stage_name.restricted_picklist
    assert [s.sort_order for s in schema.stages] == list(range(1, len(schema.stages) + 1))


def test_given_an_object_when_described_then_the_json_has_the_api_notes_keys(schema):
    """api-notes 3.8: object describe keys, urls, master record type, field keys."""
    body = json.loads(json.dumps(schema.objects["Account"].describe("59.0")))
    assert {
        "name",
        "label",
        "keyPrefix",
        "custom",
        "createable",
        "updateable",
        "deletable",
        "queryable",
        "fields",
        "childRelationships",
        "recordTypeInfos",
        "urls",
    } <= set(body)
    assert body["urls"]["describe"] == "/services/data/v59.0/sobjects/Account/describe"
    assert body["urls"]["layouts"] == "/services/data/v59.0/sobjects/Account/describe/layouts"
    master = body["recordTypeInfos"][0]
    assert master["master"] and master["recordTypeId"] == "012000000000000AAA"
    field = next(f for f in body["fields"] if f["name"] == "External_Account_ID__c")
    assert {
        "name",
        "type",
        "label",
        "length",
        "nillable",
        "createable",
        "updateable",
        "externalId",
        "idLookup",
        "unique",
        "custom",
        "calculated",
        "defaultedOnCreate",
        "filterable",
        "sortable",
        "picklistValues",
        "referenceTo",
        "relationshipName",
        "caseSensitive",
        "restrictedPicklist",
        "soapType",
    } <= set(field)
    assert (field["type"], field["externalId"], field["unique"], field["custom"]) == (
        "string",
        True,
        True,
        True,
    )
    industry = next(f for f in body["fields"] if f["name"] == "Type")
    assert industry["picklistValues"][0] == {
        "active": True,
        "defaultValue": False,
        "label": "Prospect",
        "validFor": None,
        "value": "Prospect",
    }
    stage = schema.objects["OpportunityStage"].describe("59.0")
    assert not stage["createable"] and stage["queryable"]


def test_given_a_package_object_when_its_layouts_are_described_then_every_package_field_shows(
    schema,
):
    """R-PRE-3, api-notes 3.8: describe layouts lists the SFDX layout; each package field is a
    layoutComponent of type Field under detailLayoutSections; the mapping names the layout."""
    for obj in schema.objects.values():
        body = json.loads(json.dumps(obj.describe_layouts("59.0")))
        layout = body["layouts"][0]
        assert to18(layout["id"]) == layout["id"] and layout["id"].startswith("00h")
        assert body["recordTypeMappings"][0]["layoutId"] == layout["id"]
        assert body["recordTypeSelectorRequired"] == [False]
        shown = {
            c["value"]
            for s in layout["detailLayoutSections"]
            for r in s["layoutRows"]
            for i in r["layoutItems"]
            for c in i["layoutComponents"]
            if c["type"] == "Field"
        }
        custom = {f.name for f in obj.fields.values() if f.custom}
        assert custom <= shown, (obj.name, custom - shown)
        assert all(obj.field(name) is not None for name in shown), obj.name


def test_given_the_account_layout_when_described_then_columns_and_behaviors_follow_the_file(schema):
    """api-notes 3.8: two-column sections render as rows of two items; Required and Readonly
    behaviors set required/editable; a short column is padded with a placeholder."""
    account = schema.objects["Account"]
    assert [layout.name for layout in account.layouts] == ["Account Layout"]
    layout = account.describe_layouts("59.0")["layouts"][0]
    sections = {s["heading"]: s for s in layout["detailLayoutSections"]}
    sync = sections["QuickBooks Sync"]
    assert sync["columns"] == 2 and sync["rows"] == len(sync["layoutRows"])
    items = {
        i["layoutComponents"][0]["value"]: i
        for r in sync["layoutRows"]
        for i in r["layoutItems"]
        if i["layoutComponents"]
    }
    assert not items["Billing_Address_Block__c"]["editableForUpdate"]
    assert items["Terms__c"]["editableForUpdate"]
    name = next(
        i
        for r in sections["Account Information"]["layoutRows"]
        for i in r["layoutItems"]
        if i["layoutComponents"] and i["layoutComponents"][0]["value"] == "Name"
    )
    assert name["required"] and name["layoutComponents"][0]["details"]["name"] == "Name"
    assert any(i["placeholder"] for r in sync["layoutRows"] for i in r["layoutItems"])
    assert "Invoice__c.Account__c" in account.layouts[0].related_lists


def test_given_the_standard_objects_when_loaded_then_their_layouts_are_an_orgs_with_the_package_added(
    schema,
):
    """R-OPS-6, R-PRE-3: the package ships no standard-object layout, so the sandbox's are a
    fresh org's stock layouts with the package's additions merged in by the product's own
    transform: every stock section, field and related list (Cases, Notes & Attachments, Stage
    History, Price Books) is still there, in order, followed by "QuickBooks Sync" and the
    Invoice related lists; Custom Links sections hold no field and describe none."""
    for path in sorted(STOCK_LAYOUTS.glob("*.layout-meta.xml")):
        obj_name, stock = layout_from_xml(path.name, path.read_text())
        obj = schema.objects[obj_name]
        assert [layout.name for layout in obj.layouts] == [stock.name], obj_name
        layout = obj.layouts[0]
        package = PACKAGE_FIELDS[obj_name]
        assert layout.sections[: len(stock.sections)] == stock.sections, obj_name
        assert [h for h, _ in layout.sections[len(stock.sections) :]] == ["QuickBooks Sync"]
        assert sorted(layout.sections[-1][1]) == sorted(package), obj_name
        assert layout.related_lists[: len(stock.related_lists)] == stock.related_lists
        headings = [
            s["heading"] for s in obj.describe_layouts("59.0")["layouts"][0]["detailLayoutSections"]
        ]
        assert "Custom Links" not in headings and headings[-1] == "QuickBooks Sync"
    lists = {name: schema.objects[name].layouts[0].related_lists for name in PACKAGE_FIELDS}
    assert {"RelatedCaseList", "RelatedNoteList", "Invoice__c.Account__c"} <= set(lists["Account"])
    assert "RelatedOpportunityHistoryList" in lists["Opportunity"]
    assert "Invoice_Opportunity_Link__c.Opportunity__c" in lists["Opportunity"]
    assert "RelatedPricebookEntryList" in lists["Product2"]


def test_given_another_metadata_root_when_loaded_then_its_additions_and_own_layouts_are_used(
    tmp_path,
):
    """R-OPS-6: the sandbox merges the layout additions of the project it reads (a field taken
    out of them is on no layout), and a standard object's layout of the same name in that
    project's source (an org's retrieved layout) replaces the stock one."""
    root = tmp_path / "salesforce"
    shutil.copytree(default_metadata_root(), root)
    contact = root / "layout-additions" / "Contact.xml"
    contact.write_text(
        contact.read_text().replace("<field>Sync_Me__c</field>", "<field>Title</field>")
    )
    own = (
        root
        / "force-app"
        / "main"
        / "default"
        / "layouts"
        / "Account-Account Layout.layout-meta.xml"
    )
    own.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Layout xmlns="http://soap.sforce.com/2006/04/metadata"><layoutSections>'
        "<label>Only</label><layoutColumns><layoutItems><behavior>Required</behavior>"
        "<field>Name</field></layoutItems></layoutColumns><style>OneColumn</style>"
        "</layoutSections></Layout>\n"
    )

    loaded = load_schema(root)

    assert "Sync_Me__c" not in loaded.objects["Contact"].layouts[0].fields()
    assert "Title" in loaded.objects["Contact"].layouts[0].fields()
    assert [(layout.name, layout.fields()) for layout in loaded.objects["Account"].layouts] == [
        ("Account Layout", ["Name"])
    ]


def test_given_an_object_without_a_shipped_layout_when_described_then_a_default_one_is_built(
    schema,
):
    """api-notes 3.8: describe layouts works for every object (Pricebook2 has no SFDX layout)."""
    body = schema.objects["Pricebook2"].describe_layouts("59.0")
    values = [
        c["value"]
        for s in body["layouts"][0]["detailLayoutSections"]
        for r in s["layoutRows"]
        for i in r["layoutItems"]
        for c in i["layoutComponents"]
    ]
    assert "Name" in values and "IsStandard" in values and "Id" not in values


def test_given_a_hand_built_layout_when_described_then_sections_render_as_one_column(schema):
    """The server may build a LayoutDef from name and sections alone (no column detail)."""
    account = schema.objects["Account"]
    layout = LayoutDef(name="Slim", sections=(("Only", ("Name", "Terms__c")),))
    body = account.describe_layout(layout)
    section = body["detailLayoutSections"][0]
    assert (section["columns"], section["rows"]) == (1, 2)
    assert layout.fields() == ["Name", "Terms__c"]


def test_given_the_schema_when_loaded_twice_then_it_is_cached_and_fast():
    """Brief: load_schema() parses in well under 0.3 s and is cached per metadata root."""
    schema_module._load.cache_clear()
    start = time.perf_counter()
    first = load_schema()
    elapsed = time.perf_counter() - start
    assert elapsed < 0.3
    assert load_schema() is first
    assert load_schema(default_metadata_root()) is first


def test_given_an_env_override_when_a_field_is_added_to_the_sfdx_copy_then_the_schema_has_it(
    tmp_path, monkeypatch
):
    """One source of truth: a new field file in the SFDX project appears in the schema;
    SFQB_SALESFORCE_METADATA points the sandbox at another project."""
    root = tmp_path / "salesforce"
    shutil.copytree(default_metadata_root(), root)
    fields = root / "force-app" / "main" / "default" / "objects" / "Account" / "fields"
    (fields / "Region__c.field-meta.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        "    <fullName>Region__c</fullName>\n    <label>Region</label>\n"
        "    <length>20</length>\n    <type>Text</type>\n</CustomField>\n"
    )
    monkeypatch.setenv("SFQB_SALESFORCE_METADATA", str(root))
    assert default_metadata_root() == root
    region = load_schema().objects["Account"].field("region__c")
    assert (region.type, region.length, region.custom) == ("string", 20, True)
    assert load_schema(root) is load_schema()


def test_given_a_missing_metadata_root_when_loading_then_the_error_names_the_fix(tmp_path):
    """A wrong SFQB_SALESFORCE_METADATA fails loudly instead of giving an org with no package."""
    with pytest.raises(FileNotFoundError, match="SFQB_SALESFORCE_METADATA"):
        load_schema(tmp_path / "nowhere")


def test_given_an_unsupported_field_type_when_parsed_then_the_error_names_the_field(tmp_path):
    """A field type the sandbox cannot model fails loudly instead of being skipped."""
    import xml.etree.ElementTree as ET

    el = ET.fromstring(
        '<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">'
        "<fullName>Geo__c</fullName><label>Geo</label><type>Location</type></CustomField>"
    )
    with pytest.raises(ValueError, match=r"Account\.Geo__c"):
        schema_module.parse_custom_field(el, "Account")


def test_given_a_field_def_when_described_then_unknown_extras_keep_their_defaults():
    """FieldDef works with only name, label and type (what the server's tests construct)."""
    body = FieldDef(name="X__c", label="X", type="string", length=10).describe()
    assert (body["name"], body["length"], body["nillable"], body["picklistValues"]) == (
        "X__c",
        10,
        True,
        [],
    )
    assert body["soapType"] == "xsd:string"
