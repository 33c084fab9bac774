"""The preflight's checks of custom mapping rows against describe (R-MAP-2, R-MAP-3, R-PRE-5)."""

from __future__ import annotations

import pytest

from sfqb.checks import preflight as checks
from sfqb.mapping.custom import parse_custom
from sfqb.mapping.maps import default_map, merge, quickbooks_field_kinds

pytestmark = pytest.mark.unit

FILE = """\
version: 1
maps:
  customer_to_account:
    - {source: Notes, target: QB_Notes__c}
    - {source: DisplayName, target: AccountNumber}
    - {source: Notes, target: Legacy_Key__c}
    - {source: Notes, target: Score_Formula__c}
    - {source: Notes, target: Missing__c}
    - {source: Notes, target: OwnerId}
  account_to_customer:
    - {source: Website, target: SalesTermRef.value}
    - {source: Unknown__c, target: Notes}
"""


def field(name: str, kind: str = "string", **flags) -> dict:
    return {
        "name": name,
        "label": name,
        "type": kind,
        "updateable": True,
        "createable": True,
        **flags,
    }


def mapped_problems() -> list[str]:
    found = parse_custom(FILE, "m.yaml")
    maps = [
        merge(default_map(pair), found.rows[pair])
        for pair in ("customer_to_account", "account_to_customer")
    ]
    account = {
        "fields": [
            *(
                field(n)
                for m in maps
                for r in m.rows
                if not r.custom
                for n in [r.target if m.to_salesforce else r.source]
                if "." not in n
            ),
            field("QB_Notes__c"),
            field("AccountNumber"),
            field("Website"),
            field("OwnerId", "reference"),
            field("Legacy_Key__c", externalId=True),
            field("Score_Formula__c", calculated=True, updateable=False),
        ]
    }
    contact = {
        "fields": [
            field(n)
            for n in (
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "MailingStreet",
                "MailingCity",
                "MailingState",
                "MailingPostalCode",
                "MailingCountry",
            )
        ]
    }
    frame = checks.mapped_fields_frame(
        maps, {"Account": account, "Contact": contact}, quickbooks_field_kinds()
    )
    return checks.problems(
        checks.package_fields_frame({}, {}, {}),
        checks.pricebook_frame({"Id": "01s", "Name": "Standard Price Book", "IsActive": True}),
        frame,
        found.problems,
    )


def test_given_custom_rows_when_checked_against_describe_then_each_bad_row_is_named_by_file_and_line():
    """R-MAP-2, R-MAP-3: a custom row writing an External ID, a formula field or a reference, or
    naming a field the org lacks, is a problem naming the file and line; valid custom rows (a
    custom field, a standard text field) pass; default rows are not treated as remaps."""
    found = mapped_problems()
    assert sorted(found) == sorted(
        [
            "m.yaml, line 6: customer_to_account: Account.Legacy_Key__c is an External ID: key fields cannot be "
            "remapped (R-MAP-3)",
            "m.yaml, line 7: customer_to_account: Account.Score_Formula__c is a formula (calculated) field: key fields "
            "cannot be remapped (R-MAP-3)",
            "m.yaml, line 9: customer_to_account: Account.OwnerId is an Id or a reference to another record: key fields "
            "cannot be remapped (R-MAP-3)",
            "m.yaml, line 11: account_to_customer: SalesTermRef.value is a QuickBooks reference (id): key fields cannot "
            "be remapped (R-MAP-3)",
            "m.yaml, line 8: customer_to_account: the Salesforce field Account.Missing__c does not exist in the org: "
            "create it, or change the mapping (R-MAP-2)",
            "m.yaml, line 12: account_to_customer: the Salesforce field Account.Unknown__c does not exist in the org: "
            "create it, or change the mapping (R-MAP-2)",
        ]
    ), found


def test_given_file_problems_when_the_preflight_reports_then_they_come_first_in_the_one_message():
    """R-PRE-5: the file's own problems and the org's are one numbered message."""
    message = checks.failure_message(
        ["m.yaml, line 3: unknown pair 'x'", "Account.Foo__c does not exist"]
    )
    assert message.splitlines()[1:] == [
        "  1. m.yaml, line 3: unknown pair 'x'",
        "  2. Account.Foo__c does not exist",
    ]


def test_given_a_custom_text_to_number_row_when_checked_then_it_passes_but_a_default_one_does_not():
    """R-MAP-2, section 7: a custom row may copy text into a number field (each value is checked
    when the sync runs); booleans into numbers stay incompatible; default rows keep the strict rule."""
    found = parse_custom(
        "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: Score__c}\n"
        "    - {source: Active, target: Rank__c}\n",
        "m.yaml",
    )
    fmap = merge(default_map("customer_to_account"), found.rows["customer_to_account"])
    account = {
        "fields": [field(r.target) for r in fmap.rows if not r.custom]
        + [field("Score__c", "double"), field("Rank__c", "double")]
    }
    frame = checks.mapped_fields_frame([fmap], {"Account": account}, quickbooks_field_kinds())
    custom = frame[frame["origin"] != ""].set_index("sf_field")
    assert custom.at["Score__c", "compatible"] is True
    assert custom.at["Rank__c", "compatible"] is False


def test_given_custom_rows_to_online_only_fields_when_a_desktop_run_checks_them_then_each_is_named():
    """R-MAP-2, R-MAP-1 on QuickBooks Desktop: a custom row to a field Desktop has no place for
    (a customer's Mobile phone, an invoice's sales-form custom field "Region") is refused by a
    Desktop run's preflight, naming the row, where Online accepts it; a row to a Desktop-only
    field (Credit Limit, a transaction's PO Number) is accepted on Desktop and unknown on
    Online; the default rows Desktop cannot hold (the invoice's customer memo) are not refused."""
    from sfqb.mapping.maps import desktop_without

    found = parse_custom(
        "version: 1\nmaps:\n"
        "  account_to_customer:\n"
        "    - {source: Phone, target: Mobile.FreeFormNumber}\n"
        "    - {source: AnnualRevenue, target: CreditLimit}\n"
        "  opportunity_to_transaction:\n"
        "    - {source: NextStep, target: CustomField.Region}\n"
        "    - {source: Name, target: PONumber}\n",
        "m.yaml",
    )
    maps = [
        merge(default_map(pair), found.rows[pair])
        for pair in ("account_to_customer", "opportunity_to_transaction")
    ]
    names = {r.source for m in maps for r in m.rows if "." not in r.source}
    kinds = {"Phone": "phone", "AnnualRevenue": "currency", "NextStep": "string"}
    describe = {"fields": [field(n, kinds.get(n, "string")) for n in sorted(names)]}
    describes = {"Account": describe, "Opportunity": describe, "Contact": describe}

    def refused(edition: str) -> list[str]:
        frame = checks.mapped_fields_frame(
            maps,
            describes,
            quickbooks_field_kinds(edition),
            desktop_without() if edition == "desktop" else frozenset(),
        )
        failed = checks.failures(frame, checks.MAPPING_CHECKS, suite="mapped_fields")
        return [message for failure in failed for message in failure.messages()]

    desktop = [p for p in refused("desktop") if "m.yaml" in p]
    assert len(desktop) == 2
    assert "Customer.Mobile.FreeFormNumber" in desktop[0] and "no place" in desktop[0]
    assert "Invoice.CustomField.Region" in desktop[1] and "no place" in desktop[1]
    online = [p for p in refused("online") if "m.yaml" in p]
    assert len(online) == 2 and all("is not a QuickBooks" in p for p in online)
    assert "Customer.CreditLimit" in online[0] and "Invoice.PONumber" in online[1]
