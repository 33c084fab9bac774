"""Custom field mappings: the file, the merge, coercion, the CLI and the reference doc
(docs/rules.md section 7)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from sfqb.mapping.coerce import UNFIT, fit, target_limits
from sfqb.mapping.custom import MappingError, load_custom, parse_custom
from sfqb.mapping.maps import active_maps, default_map, effective_map, merge
from sfqb.preferences import PROJECT_ROOT, Preferences, PreferencesError, parse_preferences

pytestmark = pytest.mark.unit

GOOD = """\
version: 1
maps:
  customer_to_account:
    - {source: Notes, target: QB_Notes__c}
    - {source: Mobile.FreeFormNumber, target: Phone}
  account_to_customer:
    - source: BillingContact.Title
      target: Title
      when: create
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mappings.yaml"
    path.write_text(text)
    return path


def problems_of(text: str) -> list[str]:
    return parse_custom(text, "m.yaml").problems


def test_given_an_override_and_an_added_row_when_merged_then_the_override_takes_the_default_rows_place():
    """R-MAP-1, R-MAP-3: a custom row for a default target replaces every default row of that
    target, at the first one's position; a new target is added at the end; nothing is removed."""
    found = parse_custom(GOOD, "m.yaml")
    assert found.problems == []
    merged = merge(default_map("customer_to_account"), found.rows["customer_to_account"])
    defaults = default_map("customer_to_account")
    assert [r.target for r in merged.rows] == [*defaults.target_fields, "QB_Notes__c"]
    phone = next(r for r in merged.rows if r.target == "Phone")
    assert (phone.source, phone.origin) == ("Mobile.FreeFormNumber", "m.yaml, line 5")
    assert merged.rows[-1].custom and not merged.rows[0].custom
    # Account -> Customer: two default rows fill PrimaryPhone; a row for Title is simply added.
    to_qb = merge(default_map("account_to_customer"), found.rows["account_to_customer"])
    assert to_qb.rows[-1] == found.rows["account_to_customer"][0]
    assert to_qb.rows[-1].when == "create" and to_qb.rows[-1].origin == "m.yaml, line 7"
    assert len(to_qb.rows) == len(default_map("account_to_customer").rows) + 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: [x\n",
            "m.yaml, line 5: not valid YAML",
        ),
        ("version: 2\nmaps: {}\n", "m.yaml, line 1: version must be 1"),
        ("- a\n- b\n", "m.yaml, line 1: expected a mapping with version: 1 and maps:"),
        ("version: 1\nmaps:\n  invoices: []\n", "m.yaml, line 3: unknown pair 'invoices'"),
        (
            "version: 1\nmaps:\n  item_to_product:\n    - {source: Name, target: ProductCode}\n",
            "m.yaml, line 3: item_to_product: the Product and Invoice__c mappings are fixed and cannot be customised (R-MAP-4)",
        ),
        (
            "version: 1\nmaps:\n  invoice_to_invoice: []\n",
            "m.yaml, line 3: invoice_to_invoice: the Product and Invoice__c",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {target: Phone}\n",
            "m.yaml, line 4: customer_to_account: a row needs a source field: default rows can be overridden but not removed (R-MAP-3)",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: , target: Phone}\n",
            "m.yaml, line 4: customer_to_account: a row needs a source field",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes}\n",
            "m.yaml, line 4: customer_to_account: a row needs a target field",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: \"DisplayName + '!'\", target: Name}\n",
            "only field-to-field copies, no transformations (R-MAP-3)",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: External_Account_ID__c}\n",
            "m.yaml, line 4: customer_to_account: External_Account_ID__c is an Id or a link field of the sync: key fields "
            "cannot be remapped (R-MAP-3)",
        ),
        (
            "version: 1\nmaps:\n  transaction_line_to_opportunity_product:\n    - {source: LineNum, target: External_Line_ID__c}\n",
            "key fields cannot be remapped (R-MAP-3)",
        ),
        (
            "version: 1\nmaps:\n  opportunity_to_transaction:\n    - {source: Name, target: PrivateNote}\n",
            "m.yaml, line 4: opportunity_to_transaction: PrivateNote is an Id, a link field of the sync or computed by QuickBooks",
        ),
        (
            "version: 1\nmaps:\n  opportunity_to_transaction:\n    - {source: Account.Industry, target: PrivateNote}\n",
            "source 'Account.Industry': a field of Opportunity itself or of its related records: PrimaryContact (Contact)",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: Parent.Name}\n",
            "target 'Parent.Name': a field of Account itself",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: A__c, when: sometimes}\n",
            "when must be always or create, not 'sometimes'",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: A__c, transform: upper}\n",
            "unknown key 'transform'",
        ),
        (
            "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: A__c}\n    - {source: Title, target: A__c}\n",
            "m.yaml, line 5: customer_to_account: A__c is already mapped by the row on line 4",
        ),
    ],
)
def test_given_an_invalid_custom_mapping_when_read_then_it_is_rejected_with_its_message_and_line(
    text, expected
):
    """R-MAP-3, R-MAP-4: every invalid file or row is one problem naming the file and line."""
    found = problems_of(text)
    assert any(expected in p for p in found), found


def test_given_a_file_with_problems_when_the_areas_ask_for_their_maps_then_they_get_a_mapping_error(
    tmp_path,
):
    """R-MAP-2: the areas never run with a file the preflight would reject; the preflight itself
    reads the valid rows (strict=False) and lists the problems."""
    path = write(tmp_path, GOOD + "  nope: []\n")
    prefs = Preferences(custom_mappings_path=str(path))
    with pytest.raises(MappingError, match=r"line 10: unknown pair 'nope'"):
        effective_map("customer_to_account", prefs)
    lenient = effective_map("customer_to_account", prefs, strict=False)
    assert lenient.rows[-1].target == "QB_Notes__c"
    assert [m.pair for m in active_maps(prefs, strict=False)][:3] == [
        "customer_to_account",
        "customer_to_contact",
        "account_to_customer",
    ]


def test_given_a_changed_file_when_read_again_then_the_new_rows_apply(tmp_path):
    """Section 7: changes to the file take effect on the next run (no restart)."""
    path = write(tmp_path, GOOD)
    prefs = Preferences(custom_mappings_path=str(path))
    assert effective_map("customer_to_account", prefs).rows[-1].target == "QB_Notes__c"
    path.write_text(
        "version: 1\nmaps:\n  customer_to_account:\n    - {source: Notes, target: Memo__c}\n"
    )
    import os

    os.utime(path, ns=(1, 1))
    assert effective_map("customer_to_account", prefs).rows[-1].target == "Memo__c"


def test_given_no_file_or_a_missing_one_when_configured_then_defaults_apply_or_the_key_is_named(
    tmp_path,
):
    """Section 8: empty custom_mappings_path means defaults only; a path to no file is a
    preferences error naming the key; relative paths are resolved against the project root."""
    assert effective_map("customer_to_account", Preferences()) == default_map("customer_to_account")
    with pytest.raises(PreferencesError, match=r"custom_mappings_path: no file at .*nowhere\.yaml"):
        parse_preferences({"custom_mappings_path": str(tmp_path / "nowhere.yaml")})
    assert (
        Preferences(custom_mappings_path="conf/m.yaml").custom_mappings_file
        == PROJECT_ROOT / "conf" / "m.yaml"
    )
    assert (
        load_custom(tmp_path / "gone.yaml")
        .problems[0]
        .startswith("custom_mappings_path: cannot read")
    )


def test_given_values_for_custom_targets_when_fitted_then_they_are_coerced_and_long_text_is_held_back():
    """Section 7: numbers, booleans and dates become text for text targets, text becomes a number
    for number targets; a text longer than its target, or text that is no number, makes the row's
    reason (naming field and lengths); nothing is cut."""
    limits = {
        "Notes__c": {"kind": "text", "length": 5, "label": "Account.Notes__c"},
        "Score__c": {"kind": "number", "length": 0, "label": "Account.Score__c"},
    }
    values = pd.DataFrame(
        {
            "Notes__c": [Decimal("2.50"), True, "toolong", None],
            "Score__c": ["1,200", None, "12", "many"],
        }
    )
    out, reasons = fit(values, limits)
    assert list(out["Notes__c"][:2]) == ["2.50", "true"]
    assert out.at[2, "Notes__c"] == "toolong"  # never cut
    assert out.at[0, "Score__c"] == "1200"
    assert pd.isna(reasons[0]) and pd.isna(reasons[1])
    assert reasons[2].startswith(
        "Account.Notes__c would get 7 characters and keeps at most 5: " + UNFIT
    )
    assert reasons[3] == f"Account.Score__c is a number and 'many' is not one: {UNFIT}"


def test_given_custom_rows_when_their_limits_are_read_then_salesforce_comes_from_describe_and_quickbooks_from_the_list():
    """Section 7: Salesforce lengths come from describe; QuickBooks lengths from quickbooks_fields.yaml."""
    found = parse_custom(
        GOOD + "  opportunity_to_transaction:\n    - {source: Name, target: DocNumber}\n", "m.yaml"
    )
    to_sf = merge(default_map("customer_to_account"), found.rows["customer_to_account"])
    describe = {
        "fields": [
            {"name": "QB_Notes__c", "type": "string", "length": 80},
            {"name": "Phone", "type": "phone", "length": 40},
        ]
    }
    assert target_limits(to_sf, describe) == {
        "QB_Notes__c": {"kind": "text", "length": 80, "label": "Account.QB_Notes__c"},
        "Phone": {"kind": "text", "length": 40, "label": "Account.Phone"},
    }
    to_qb = merge(
        default_map("opportunity_to_transaction"), found.rows["opportunity_to_transaction"]
    )
    assert target_limits(to_qb) == {
        "DocNumber": {"kind": "text", "length": 21, "label": "QuickBooks Invoice.DocNumber"}
    }


def test_given_a_file_when_mapping_show_runs_then_it_prints_the_effective_map_marking_custom_rows(
    tmp_path, capsys
):
    """Section 7: ``python -m sfqb mapping show PAIR --file F`` needs no Airflow database and
    shows defaults and custom rows (overrides name the default source they replace)."""
    from sfqb.__main__ import main

    path = write(tmp_path, GOOD)
    assert main(["mapping", "show", "customer_to_account", "--file", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"custom mappings: {path}" in out
    assert "customer_to_account: quickbooks.Customer -> salesforce.Account" in out
    lines = out.splitlines()
    phone = next(line for line in lines if "-> Phone" in line)
    assert phone.split() == [
        "Mobile.FreeFormNumber",
        "->",
        "Phone",
        "always",
        "custom,",
        "overrides",
        "PrimaryPhone.FreeFormNumber",
        "(" + str(path) + ",",
        "line",
        "5)",
    ]
    assert any(
        line.split()[:3] == ["DisplayName", "->", "Name"] and line.endswith("default")
        for line in lines
    )
    assert main(["mapping", "show", "nope", "--file", str(path)]) == 2
    bad = write(tmp_path, "version: 1\nmaps:\n  nope: []\n")
    assert main(["mapping", "show", "--file", str(bad)]) == 1
    assert "line 3: unknown pair 'nope'" in capsys.readouterr().err


def test_given_the_default_maps_when_the_reference_is_generated_then_docs_mapping_md_holds_it():
    """R-MAP-1: docs/mapping.md carries the generated table of every default map; regenerate it
    with ``python -m sfqb mapping docs`` (this test fails when it is out of date)."""
    from sfqb.mapping.report import DOC_END, DOC_START, reference

    doc = (PROJECT_ROOT / "docs" / "mapping.md").read_text()
    generated = doc[doc.index(DOC_START) : doc.index(DOC_END) + len(DOC_END)] + "\n"
    assert generated == reference()
    assert "### `item_to_product`: quickbooks.Item -> salesforce.Product2 (fixed" in generated
