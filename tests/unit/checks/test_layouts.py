"""The package's additions merged into an org's own page layouts (R-OPS-6, R-PRE-3).

The package never deploys a standard object's layout (a deploy would replace it whole);
``sfqb.checks.layouts`` adds the package's section and related lists to the layouts an admin
retrieved. These tests feed it a customised layout, like a real org's, and check that nothing
of it is lost or moved, that the package's fields land once, and that a second run changes
nothing.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from sfqb.checks import layouts
from sfqb.checks.layouts import LayoutError, add_to_layout, parse_additions

pytestmark = pytest.mark.unit

NS = "{http://soap.sforce.com/2006/04/metadata}"
FORCE_APP_LAYOUTS = (
    Path(__file__).resolve().parents[3]
    / "include"
    / "salesforce"
    / "force-app"
    / "main"
    / "default"
    / "layouts"
)

ADDITIONS = """<?xml version="1.0" encoding="UTF-8"?>
<Layout xmlns="http://soap.sforce.com/2006/04/metadata">
    <layoutSections>
        <customLabel>true</customLabel>
        <detailHeading>true</detailHeading>
        <editHeading>true</editHeading>
        <label>QuickBooks Sync</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>External_Account_ID__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Terms__c</field>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>Last_Sync_Date__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>Billing_Address_Block__c</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <relatedLists>
        <fields>NAME</fields>
        <fields>Invoice_Number__c</fields>
        <relatedList>Invoice__c.Account__c</relatedList>
    </relatedLists>
</Layout>
"""

# An Account layout as an org with years of admin work returns it: buttons, feed settings, a
# section of the customer's own, their own field, the package's Terms__c already placed by hand
# in another section, a Custom Links section, a mini layout, actions, related lists with
# columns and buttons, an element this code does not know, a comment and an xsi:nil attribute.
CUSTOMISED = """<?xml version="1.0" encoding="UTF-8"?>
<Layout xmlns="http://soap.sforce.com/2006/04/metadata" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
    <customButtons>Credit_Check</customButtons>
    <excludeButtons>Submit</excludeButtons>
    <feedLayout>
        <autocollapsePublisher>false</autocollapsePublisher>
        <fullWidthFeed>false</fullWidthFeed>
        <hideSidebar>false</hideSidebar>
    </feedLayout>
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>true</editHeading>
        <label>Account Information</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Required</behavior>
                <field>Name</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Region__c</field>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <emptySpace>true</emptySpace>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Phone</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <layoutSections>
        <customLabel>true</customLabel>
        <detailHeading>true</detailHeading>
        <editHeading>true</editHeading>
        <label>Customer Success</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Terms__c</field>
            </layoutItems>
            <layoutItems>
                <behavior>Edit</behavior>
                <field>Health_Score__c</field>
            </layoutItems>
        </layoutColumns>
        <style>OneColumn</style>
    </layoutSections>
    <!-- the admin's note: keep System Information last -->
    <layoutSections>
        <customLabel>false</customLabel>
        <detailHeading>true</detailHeading>
        <editHeading>false</editHeading>
        <label>System Information</label>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>CreatedById</field>
            </layoutItems>
        </layoutColumns>
        <layoutColumns>
            <layoutItems>
                <behavior>Readonly</behavior>
                <field>LastModifiedById</field>
            </layoutItems>
        </layoutColumns>
        <style>TwoColumnsTopToBottom</style>
    </layoutSections>
    <layoutSections>
        <customLabel>true</customLabel>
        <detailHeading>false</detailHeading>
        <editHeading>false</editHeading>
        <label>Custom Links</label>
        <layoutColumns>
            <layoutItems>
                <customLink>Credit_Report</customLink>
            </layoutItems>
        </layoutColumns>
        <layoutColumns/>
        <layoutColumns/>
        <style>CustomLinks</style>
    </layoutSections>
    <miniLayout>
        <fields>Name</fields>
        <fields>Phone</fields>
        <relatedLists>
            <relatedList>RelatedContactList</relatedList>
        </relatedLists>
    </miniLayout>
    <platformActionList>
        <actionListContext>Record</actionListContext>
        <platformActionListItems>
            <actionName>Edit</actionName>
            <actionType>StandardButton</actionType>
            <sortOrder>0</sortOrder>
        </platformActionListItems>
    </platformActionList>
    <quickActionList>
        <quickActionListItems>
            <quickActionName>FeedItem.TextPost</quickActionName>
        </quickActionListItems>
        <quickActionListItems>
            <quickActionName>LogACall</quickActionName>
        </quickActionListItems>
    </quickActionList>
    <relatedContent xsi:nil="true"/>
    <relatedLists>
        <fields>FULL_NAME</fields>
        <fields>CONTACT.EMAIL</fields>
        <relatedList>RelatedContactList</relatedList>
    </relatedLists>
    <relatedLists>
        <customButtons>New_Escalation</customButtons>
        <excludeButtons>NewCase</excludeButtons>
        <fields>CASES.CASE_NUMBER</fields>
        <relatedList>RelatedCaseList</relatedList>
        <sortField>CASES.CASE_NUMBER</sortField>
        <sortOrder>Desc</sortOrder>
    </relatedLists>
    <relatedLists>
        <relatedList>RelatedNoteList</relatedList>
    </relatedLists>
    <showEmailCheckbox>false</showEmailCheckbox>
    <showHighlightsPanel>false</showHighlightsPanel>
    <showInteractionLogPanel>false</showInteractionLogPanel>
    <showRunAssignmentRulesCheckbox>false</showRunAssignmentRulesCheckbox>
    <showSubmitAndAttachButton>false</showSubmitAndAttachButton>
    <someFutureSetting>
        <mode>Compact &amp; Wide</mode>
    </someFutureSetting>
</Layout>
"""

ACCOUNT = parse_additions("Account", ADDITIONS, "Account.xml")


def _tree(el: ET.Element) -> tuple:
    """An element as nested tuples: tag, attributes, stripped text, children (comments too)."""
    tag = el.tag if isinstance(el.tag, str) else f"comment:{el.text}"
    return (tag, sorted(el.attrib.items()), (el.text or "").strip(), [_tree(c) for c in el])


def _parse(text: str) -> ET.Element:
    return ET.XML(text, parser=ET.XMLParser(target=ET.TreeBuilder(insert_comments=True)))


def _label(el: ET.Element) -> str | None:
    return el.findtext(NS + "label")


def _placed(root: ET.Element) -> list[str]:
    return [
        i.findtext(NS + "field")
        for i in root.iter(NS + "layoutItems")
        if i.find(NS + "field") is not None
    ]


def test_given_a_customised_layout_when_the_package_is_added_then_nothing_of_it_is_lost_or_moved():
    """R-OPS-6: a deploy replaces a layout whole, so the merged layout must hold every element of
    the retrieved one, unchanged and in its order: taking the package's section and related
    list out of it gives back the original exactly (buttons, feed settings, sections, the
    customer's field, empty spaces, custom links, mini layout, actions, related lists with
    their columns and buttons, the unknown element, the comment, xsi:nil)."""
    merged = add_to_layout(CUSTOMISED, ACCOUNT, "Account-Account Layout.layout-meta.xml")
    root = _parse(merged.text)
    added = [s for s in root.findall(NS + "layoutSections") if _label(s) == "QuickBooks Sync"]
    invoices = [
        r
        for r in root.findall(NS + "relatedLists")
        if r.findtext(NS + "relatedList") == "Invoice__c.Account__c"
    ]
    assert len(added) == 1 and len(invoices) == 1
    root.remove(added[0])
    root.remove(invoices[0])

    assert _tree(root) == _tree(_parse(CUSTOMISED))


def test_given_a_customised_layout_when_the_package_is_added_then_its_section_follows_the_field_sections():
    """R-OPS-6: the section goes after the last section of fields (System Information), before
    Custom Links, so the sections stay one contiguous group as the Metadata API wants; the
    related list follows the layout's last related list."""
    root = _parse(add_to_layout(CUSTOMISED, ACCOUNT, "A-A.layout-meta.xml").text)
    names = [c.tag.removeprefix(NS) for c in root if isinstance(c.tag, str)]
    first = names.index("layoutSections")
    count = names.count("layoutSections")
    assert names[first : first + count] == ["layoutSections"] * count
    assert [_label(s) for s in root.findall(NS + "layoutSections")] == [
        "Account Information",
        "Customer Success",
        "System Information",
        "QuickBooks Sync",
        "Custom Links",
    ]
    assert [r.findtext(NS + "relatedList") for r in root.findall(NS + "relatedLists")] == [
        "RelatedContactList",
        "RelatedCaseList",
        "RelatedNoteList",
        "Invoice__c.Account__c",
    ]
    last_list = max(i for i, name in enumerate(names) if name == "relatedLists")
    assert names.index("relatedLists") == names.index("relatedContent") + 1
    assert names[last_list + 1 :] == [
        "showEmailCheckbox",
        "showHighlightsPanel",
        "showInteractionLogPanel",
        "showRunAssignmentRulesCheckbox",
        "showSubmitAndAttachButton",
        "someFutureSetting",
    ]


def test_given_a_package_field_already_placed_when_merged_then_it_is_not_added_twice():
    """R-OPS-6, R-PRE-3: Terms__c, which the admin put in a section of their own, stays there and
    is reported as already there; every other package field is added, each field once."""
    merged = add_to_layout(CUSTOMISED, ACCOUNT, "Account-Account Layout.layout-meta.xml")
    placed = _placed(_parse(merged.text))

    assert merged.fields_added == (
        "External_Account_ID__c",
        "Last_Sync_Date__c",
        "Billing_Address_Block__c",
    )
    assert merged.fields_present == ("Terms__c",)
    assert (merged.lists_added, merged.lists_present) == (("Invoice__c.Account__c",), ())
    assert len(placed) == len(set(placed))
    assert set(ACCOUNT.fields()) <= set(placed)
    sync = next(
        s
        for s in _parse(merged.text).findall(NS + "layoutSections")
        if _label(s) == "QuickBooks Sync"
    )
    columns = [[i.findtext(NS + "field") for i in c] for c in sync.findall(NS + "layoutColumns")]
    assert columns == [
        ["External_Account_ID__c"],
        ["Last_Sync_Date__c", "Billing_Address_Block__c"],
    ]
    behaviors = {
        i.findtext(NS + "field"): i.findtext(NS + "behavior") for i in sync.iter(NS + "layoutItems")
    }
    assert behaviors["Billing_Address_Block__c"] == "Readonly"


def test_given_a_merged_layout_when_merged_again_then_nothing_changes():
    """R-OPS-6: running the command on its own output adds nothing and writes the same text."""
    once = add_to_layout(CUSTOMISED, ACCOUNT, "Account-Account Layout.layout-meta.xml")
    twice = add_to_layout(once.text, ACCOUNT, "Account-Account Layout.layout-meta.xml")

    assert twice.text == once.text
    assert not twice.changed and twice.fields_added == () and twice.lists_added == ()
    assert set(twice.fields_present) == set(ACCOUNT.fields())
    assert twice.lists_present == ("Invoice__c.Account__c",)


def test_given_a_layout_merged_before_a_new_field_when_merged_then_only_that_field_joins_its_section():
    """R-OPS-6: a layout that has the "QuickBooks Sync" section from an earlier release gets the
    field the package gained in that section's column, not a second section."""
    older = ACCOUNT.sections[0]
    fewer = ET.fromstring(ET.tostring(older))
    for column in fewer.findall(NS + "layoutColumns"):
        for item in column.findall(NS + "layoutItems"):
            if item.findtext(NS + "field") == "Last_Sync_Date__c":
                column.remove(item)
    earlier = layouts.Additions("Account", (fewer,), ACCOUNT.related_lists)
    before = add_to_layout(CUSTOMISED, earlier, "A-A.layout-meta.xml")
    merged = add_to_layout(before.text, ACCOUNT, "A-A.layout-meta.xml")
    root = _parse(merged.text)
    syncs = [s for s in root.findall(NS + "layoutSections") if _label(s) == "QuickBooks Sync"]

    assert merged.fields_added == ("Last_Sync_Date__c",)
    assert len(syncs) == 1
    right = [i.findtext(NS + "field") for i in syncs[0].findall(NS + "layoutColumns")[1]]
    assert right == ["Billing_Address_Block__c", "Last_Sync_Date__c"]


def test_given_a_bare_layout_when_merged_then_missing_parts_go_in_metadata_api_order():
    """R-OPS-6: a layout with no related list gets the package's before the flags that sort after
    it; the output keeps the Metadata namespace as the default one (no ns0: prefixes), sf's
    declaration and four-space indentation."""
    bare = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Layout xmlns="http://soap.sforce.com/2006/04/metadata"><layoutSections><label>Info'
        "</label><layoutColumns><layoutItems><behavior>Required</behavior><field>Name</field>"
        "</layoutItems></layoutColumns><style>OneColumn</style></layoutSections>"
        "<showEmailCheckbox>false</showEmailCheckbox></Layout>"
    )
    text = add_to_layout(bare, ACCOUNT, "Account-Bare.layout-meta.xml").text
    names = [c.tag.removeprefix(NS) for c in _parse(text)]

    assert names == ["layoutSections", "layoutSections", "relatedLists", "showEmailCheckbox"]
    assert text.startswith(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<Layout xmlns="http://soap.sforce.com/2006/04/metadata">\n'
        "    <layoutSections>\n        <label>Info</label>\n"
    )
    assert "ns0" not in text and text.endswith("</Layout>\n")


def test_given_layouts_in_sfs_format_when_rendered_then_the_bytes_are_the_same():
    """R-OPS-6: the output is written the way sf writes a layout (declaration, default namespace,
    four spaces, <empty/> elements, xsi:nil kept), so a diff against the retrieved files shows
    the additions and little else: the package's own layouts come back byte for byte, and a
    merged layout's untouched parts are the original's lines."""
    for path in sorted(FORCE_APP_LAYOUTS.glob("*.layout-meta.xml")):
        text = path.read_text(encoding="utf-8")
        assert layouts.render(layouts.parse_layout(text, path.name)) == text, path.name
    merged = add_to_layout(CUSTOMISED, ACCOUNT, "Account-Account Layout.layout-meta.xml").text
    assert "        <layoutColumns/>\n" in merged and " />" not in merged
    assert '    <relatedContent xsi:nil="true"/>\n' in merged
    assert "<!-- the admin's note: keep System Information last -->" in merged


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<Layout xmlns='http://soap.sforce.com/2006/04/metadata'><layoutSections>",
            "malformed XML",
        ),
        ("<CustomField xmlns='http://soap.sforce.com/2006/04/metadata'/>", "not a page layout"),
        ("<Layout><layoutSections/></Layout>", "not a page layout"),
        (
            '<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]>'
            "<Layout xmlns='http://soap.sforce.com/2006/04/metadata'>&a;</Layout>",
            "document type",
        ),
    ],
)
def test_given_a_file_that_is_no_layout_when_merged_then_the_error_names_the_file(text, message):
    """R-OPS-6: malformed XML, another metadata type, a Layout outside the Metadata namespace and
    a document type (entities are never expanded) fail with the file's name."""
    with pytest.raises(LayoutError, match=f"^retrieved/Account-X.layout-meta.xml: .*{message}"):
        add_to_layout(
            text, ACCOUNT, "Account-X.layout-meta.xml", "retrieved/Account-X.layout-meta.xml"
        )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<label>X</label>", "additions hold only"),
        ("<layoutSections><style>OneColumn</style></layoutSections>", "without a <label>"),
        (
            "<layoutSections><label>S</label><layoutColumns><layoutItems><field>A__c</field>"
            "</layoutItems><layoutItems><field>A__c</field></layoutItems></layoutColumns>"
            "</layoutSections>",
            "field placed twice: A__c",
        ),
    ],
)
def test_given_additions_that_make_no_sense_when_parsed_then_the_error_names_the_file(
    body, message
):
    """R-OPS-6: an additions file holds sections of fields and related lists only, each field once."""
    text = f'<Layout xmlns="http://soap.sforce.com/2006/04/metadata">{body}</Layout>'
    with pytest.raises(LayoutError, match=f"^Account.xml: .*{message}"):
        parse_additions("Account", text, "Account.xml")


def test_given_a_merged_layout_when_summarised_then_the_line_names_added_and_present_fields():
    """R-OPS-6: the command's line per file says what it added and what was already there."""
    merged = add_to_layout(CUSTOMISED, ACCOUNT, "Account-Account Layout.layout-meta.xml")

    assert layouts.summary(merged) == (
        "Account-Account Layout.layout-meta.xml: fields added: 3 (External_Account_ID__c, "
        "Last_Sync_Date__c, Billing_Address_Block__c); fields already there: 1 (Terms__c); "
        "related lists added: 1 (Invoice__c.Account__c); related lists already there: none"
    )
