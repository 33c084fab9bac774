"""The preflight validations as pure functions over describe JSON, run through GX (R-PRE-3..5,
R-MAP-2)."""

from __future__ import annotations

import pytest

from sfqb.checks import package
from sfqb.checks import preflight as checks
from sfqb.mapping.maps import FieldMap, Row, active_maps, quickbooks_field_kinds
from sfqb.preferences import Preferences

pytestmark = pytest.mark.unit

TYPES = {
    **dict.fromkeys(("IsActive", "Sync_Me__c", "Is_Billing_Contact__c", "Is_Paid__c"), "boolean"),
    **dict.fromkeys(("Transaction_Date__c", "Due_Date__c", "Ship_Date__c"), "date"),
    "Quantity": "double",
    "UnitPrice": "currency",
}


def field(name: str, type_: str | None = None, **flags) -> dict:
    kind = type_ or TYPES.get(name, "string")
    return {
        "name": name,
        "label": name.removesuffix("__c").replace("_", " "),
        "type": kind,
        "updateable": True,
        "createable": True,
        **flags,
    }


def layout(layout_id: str, names) -> dict:
    items = [{"layoutComponents": [{"type": "Field", "value": n, "components": []}]} for n in names]
    return {
        "id": layout_id,
        "detailLayoutSections": [{"layoutRows": [{"layoutItems": items}]}],
        "editLayoutSections": [],
    }


def clean_org() -> tuple[dict, dict]:
    """Describes of every object the package and the default maps touch, every package field
    on the object's one layout."""
    maps = active_maps(Preferences())
    names: dict[str, set[str]] = {obj: set(fields) for obj, fields in package.CUSTOM_FIELDS.items()}
    for m in maps:
        for row in m.rows:
            obj, name = m.salesforce_field(m.salesforce_path(row))
            names.setdefault(obj, set()).add(name)
    describes = {
        obj: {
            "name": obj,
            "fields": [field(n, package.FIELD_TYPES.get(obj, {}).get(n)) for n in sorted(fs)],
        }
        for obj, fs in names.items()
    }
    layouts = {
        obj: {"layouts": [layout(f"00h{obj[:3]}", package.CUSTOM_FIELDS[obj])]}
        for obj in package.OBJECTS
    }
    return describes, layouts


def problems(describes, layouts, book=None, maps=None) -> list[str]:
    book = (
        {"Id": "01sSTD", "Name": "Standard Price Book", "IsActive": True} if book is None else book
    )
    maps = active_maps(Preferences()) if maps is None else maps
    return checks.problems(
        checks.package_fields_frame(describes, layouts),
        checks.pricebook_frame(book or None),
        checks.mapped_fields_frame(maps, describes, quickbooks_field_kinds()),
    )


def test_given_a_clean_org_when_validated_then_there_is_no_problem():
    """R-PRE-3, R-PRE-4, R-MAP-2: every package field on a layout, an active standard price
    book and every mapped field present and writable: nothing to report."""
    describes, layouts = clean_org()
    assert problems(describes, layouts) == []


def test_given_a_package_field_on_no_layout_when_validated_then_the_problem_names_field_layout_and_fix():
    """R-PRE-3: a package field missing from every page layout of its object fails, naming the
    field, the layouts and where to fix it."""
    describes, layouts = clean_org()
    layouts["Account"] = {
        "layouts": [
            layout("00hA1", [f for f in package.CUSTOM_FIELDS["Account"] if f != "Sync_Me__c"]),
            layout("00hA2", ["Name"]),
        ]
    }
    assert problems(describes, layouts) == [
        "Account.Sync_Me__c (Sync Me) is on none of its 2 page layouts (00hA1, 00hA2): add the "
        "package's section to your Account layouts with `python -m sfqb salesforce layouts` "
        "(docs/salesforce-package.md, step 4), or add the field in Setup > Object Manager > "
        "Account > Page Layouts (R-PRE-3)"
    ]


def test_given_a_package_object_field_on_no_layout_when_validated_then_the_fix_is_its_layout():
    """R-PRE-3, R-OPS-6: a field of a package object (whose layout the package ships) on no
    layout is fixed by deploying that layout, not by the standard-object layouts command."""
    describes, layouts = clean_org()
    layouts["Invoice__c"] = {"layouts": [layout("00hI1", ["Name"])]}
    found = [p for p in problems(describes, layouts) if p.startswith("Invoice__c.Status__c ")]
    assert found == [
        "Invoice__c.Status__c (Status) is on no page layout (00hI1): deploy the package's layout "
        "of the object, or add the field to one in Setup > Object Manager > Invoice__c > Page "
        "Layouts (R-PRE-3)"
    ]


def test_given_an_org_field_with_a_package_name_but_another_type_when_validated_then_it_is_named():
    """R-PRE-3: an org that already had a field of a package field's name (Terms__c as text,
    not the package's picklist) keeps its own on deploy or loses data to a conversion: preflight
    names the field, both types and the fix, once per field."""
    describes, layouts = clean_org()
    for f in describes["Account"]["fields"]:
        if f["name"] == "Terms__c":
            f["type"] = "string"

    assert problems(describes, layouts) == [
        "Account.Terms__c (Terms) is a string field in the org, not the package's picklist: the "
        "org had its own field of that name. The sync would read and write it as the package's "
        "type: rename the org's field (its API name) and deploy the package's, or convert it in "
        "Setup > Object Manager if its values fit (R-PRE-3)"
    ]


def test_given_a_field_inside_a_compound_component_when_validated_then_it_counts_as_on_the_layout():
    """R-PRE-3: layout components nest (address blocks); a field found anywhere counts."""
    describes, layouts = clean_org()
    fields = list(package.CUSTOM_FIELDS["Product2"])
    nested = layout("00hP", fields[1:])
    nested["detailLayoutSections"][0]["layoutRows"][0]["layoutItems"].append(
        {
            "layoutComponents": [
                {
                    "type": "Field",
                    "value": "Block",
                    "components": [{"type": "Field", "value": fields[0]}],
                }
            ]
        }
    )
    layouts["Product2"] = {"layouts": [nested]}
    assert problems(describes, layouts) == []


def test_given_the_package_not_deployed_when_validated_then_missing_objects_and_fields_are_named_once():
    """R-PRE-3: a missing custom object is one problem (not one per field); missing fields on a
    standard object are listed together."""
    describes, layouts = clean_org()
    describes["Invoice__c"] = None
    layouts.pop("Invoice__c")
    describes["Product2"]["fields"] = [
        f
        for f in describes["Product2"]["fields"]
        if f["name"] not in ("Quantity_On_Hand__c", "Quantity_Allocated__c")
    ]
    found = problems(describes, layouts)
    assert sorted(found) == [
        "Product2.Quantity_Allocated__c, Product2.Quantity_On_Hand__c do not exist in the org, or "
        "the sync's user cannot see them: deploy the sfqb package and assign its permission set "
        "SFQB_Integration to the sync's user (include/salesforce; see docs/salesforce-package.md, "
        "steps 2 and 5) (R-PRE-3)",
        "the object Invoice__c does not exist in the org, or the sync's user cannot see it: deploy "
        "the sfqb package and assign its permission set SFQB_Integration to the sync's user "
        "(include/salesforce; see docs/salesforce-package.md, steps 2 and 5) (R-PRE-3)",
    ]


@pytest.mark.parametrize(
    ("book", "expected"),
    [
        (
            {},
            "the org has no Standard Price Book (Pricebook2 with IsStandard = true): open the Price Books "
            "tab to have Salesforce create it, then activate it (R-PRE-4)",
        ),
        (
            {"Id": "01sSTD", "Name": "Standard Price Book", "IsActive": False},
            "the Standard Price Book (Standard Price Book, 01sSTD) is inactive: activate it on the Price Books "
            "tab (Standard Price Book > Edit > Active) (R-PRE-4)",
        ),
    ],
)
def test_given_no_or_an_inactive_standard_price_book_when_validated_then_it_fails_with_the_fix(
    book, expected
):
    """R-PRE-4: the Standard Price Book must exist and be active."""
    describes, layouts = clean_org()
    assert problems(describes, layouts, book=book) == [expected]


def test_given_mapped_fields_missing_incompatible_or_read_only_when_validated_then_each_row_is_named():
    """R-MAP-2: a mapped Salesforce field that does not exist, holds an incompatible type, or
    cannot be written is rejected, naming the map and its row."""
    describes, layouts = clean_org()
    account = {f["name"]: f for f in describes["Account"]["fields"]}
    account.pop("Website")
    account["Terms__c"] = field("Terms__c", "currency")
    describes["Account"]["fields"] = list(account.values())
    contact = {f["name"]: f for f in describes["Contact"]["fields"]}
    contact["Email"] = field("Email", "email", updateable=False, createable=False)
    describes["Contact"]["fields"] = list(contact.values())
    found = problems(describes, layouts)
    assert (
        "field map customer_to_account, row 4: the Salesforce field Account.Website does not exist in the "
        "org: create it, or change the mapping (R-MAP-2)" in found
    )
    assert (
        "field map customer_to_account, row 17: QuickBooks Customer.SalesTermRef.name (text) cannot be "
        "copied into Account.Terms__c (currency) without losing data: map it to a field of a compatible "
        "type (R-MAP-2)" in found
    )
    assert any(
        p.startswith("field map customer_to_contact, row 3: Contact.Email cannot be written")
        for p in found
    )
    # Account -> Customer reads Website and Terms__c too: text -> text stays fine, money -> text is fine.
    assert any("account_to_customer" in p and "Account.Website" in p for p in found)
    # Terms__c is a package field too: a currency Terms__c is not the package's (R-PRE-3).
    assert any(p.startswith("Account.Terms__c (Terms) is a currency field") for p in found)
    assert len(found) == 5


def test_given_a_map_naming_an_unknown_quickbooks_field_when_validated_then_it_is_rejected():
    """R-MAP-2: QuickBooks fields come from a known list per entity."""
    describes, layouts = clean_org()
    custom = FieldMap(
        "custom_pair",
        "salesforce.Account",
        "quickbooks.Customer",
        (Row("Name", "DisplayName"), Row("Name", "Nickname")),
    )
    assert problems(describes, layouts, maps=[custom]) == [
        "field map custom_pair, row 2: Customer.Nickname is not a QuickBooks Customer field sfqb "
        "knows (include/sfqb/mapping/quickbooks_fields.yaml; on Desktop also "
        "quickbooks_desktop_fields.yaml) (R-MAP-2)"
    ]


def test_given_several_problems_when_the_message_is_built_then_it_numbers_every_one():
    """R-PRE-5: one message lists every failed check."""
    message = checks.failure_message(["first fix", "second fix"])
    assert message.splitlines() == [
        "preflight: 2 problems with the Salesforce org; nothing was synced in this run. Fix them and run again:",
        "  1. first fix",
        "  2. second fix",
    ]
