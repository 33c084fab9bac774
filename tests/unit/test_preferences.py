"""Preferences: defaults, overrides, and errors that name the key (docs/rules.md section 8)."""

from __future__ import annotations

import datetime as dt

import pytest

from sfqb.preferences import Preferences, PreferencesError, parse_preferences

pytestmark = pytest.mark.unit


def test_given_no_variable_when_parsed_then_every_default_of_the_guide_applies():
    """docs/rules.md section 8: the defaults in brackets."""
    prefs = parse_preferences(None)
    assert prefs == Preferences()
    assert prefs.allow_salesforce_to_modify_quickbooks is False
    assert prefs.sync_accounts_without_won_opportunities is False
    assert prefs.sync_won_opportunities is True
    assert prefs.update_opportunities_from_quickbooks is True
    assert prefs.sync_items is True
    assert prefs.product_name_field == "Name"
    assert prefs.sync_inventory_quantities is False
    assert prefs.sync_invoices is True
    assert prefs.create_missing_opportunities is False
    assert prefs.migrate_historical_invoices is False
    assert prefs.quickbooks_edition == "online"


def test_given_json_overrides_when_parsed_then_values_are_typed():
    """docs/rules.md section 8: dates become dates, instants UTC datetimes."""
    prefs = parse_preferences(
        '{"allow_salesforce_to_modify_quickbooks": true, "migration_date": "2024-03-01",'
        ' "migrate_historical_invoices": true, "sync_start": "2026-01-01T09:00:00+01:00",'
        ' "product_name_field": "FullyQualifiedName"}'
    )
    assert prefs.allow_salesforce_to_modify_quickbooks is True
    assert prefs.migration_date == dt.date(2024, 3, 1)
    assert prefs.sync_start == dt.datetime(2026, 1, 1, 8, 0, tzinfo=dt.UTC)
    assert prefs.product_name_field == "FullyQualifiedName"


def test_given_a_typo_and_a_bad_value_when_parsed_then_one_error_names_both_keys():
    """docs/rules.md section 8: a bad value fails the run at its start with a message naming the
    key."""
    with pytest.raises(PreferencesError) as err:
        parse_preferences({"sync_itmes": False, "sync_invoices": "no"})
    message = str(err.value)
    assert "2 problem(s)" in message
    assert "sync_itmes: unknown preference" in message
    assert "sync_invoices: must be true or false, not 'no'" in message


def test_given_broken_json_when_parsed_then_the_error_says_where():
    """docs/rules.md section 8: a bad preference file fails with a readable message."""
    with pytest.raises(PreferencesError, match="not valid JSON .* line 1 column"):
        parse_preferences('{"sync_items": tru}')


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"sync_inventory_quantities": True}, "QuickBooks Desktop feature"),
        (
            {"product_name_field": "Sku"},
            "product_name_field: must be one of Name, FullyQualifiedName",
        ),
        ({"migrate_historical_invoices": True}, "migration_date: required"),
        ({"sync_start": "2026-01-01T00:00:00"}, "sync_start: needs a time zone"),
        ({"quickbooks_edition": "desktop2"}, "quickbooks_edition: must be one of"),
        ({"lookback_minutes": -5}, "lookback_minutes: must be a whole number"),
    ],
)
def test_given_inconsistent_preferences_when_parsed_then_the_rule_is_explained(raw, expected):
    """R-ITM-4 (inventory quantities are QBD-only), R-MIG-1 (a migration needs its date), R-ITM-2."""
    with pytest.raises(PreferencesError, match=expected):
        parse_preferences(raw)


def test_given_the_desktop_edition_when_parsed_then_it_is_accepted_with_its_desktop_rules():
    """R-QBD-1, R-ITM-4: ``quickbooks_edition: desktop`` is a supported edition (its own
    connection, quickbooks_desktop_default), and with it inventory quantities may be synced."""
    prefs = parse_preferences({"quickbooks_edition": "desktop", "sync_inventory_quantities": True})
    assert prefs.quickbooks_edition == "desktop" and not prefs.is_online
    assert prefs.sync_inventory_quantities is True
