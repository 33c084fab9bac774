"""Echo-safety: every object read through python-quickbooks can be saved back unchanged
(api-notes 0 rule 3, 2.13: read-only fields and the SubTotal line are sent back on update)."""

from __future__ import annotations

import pytest
from quickbooks.objects.account import Account
from quickbooks.objects.customer import Customer
from quickbooks.objects.estimate import Estimate
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item
from quickbooks.objects.payment import Payment
from quickbooks.objects.salesreceipt import SalesReceipt
from quickbooks.objects.term import Term
from quickbooks.objects.trackingclass import Class

pytestmark = pytest.mark.sandbox


@pytest.mark.parametrize(
    "entity", [Customer, Item, Invoice, SalesReceipt, Estimate, Payment, Term, Class, Account]
)
def test_given_seeded_object_when_saved_back_unchanged_then_accepted(qb, entity):
    """A full update that echoes what the server sent is accepted and bumps SyncToken."""
    rows = entity.where("", order_by="Id", max_results=3, qb=qb)  # seeded rows
    assert rows, f"the seed has {entity.qbo_object_name} rows"
    original = rows[-1]
    before = original.to_json()
    saved = original.save(qb=qb)
    assert int(saved.SyncToken) == int(original.SyncToken) + 1
    fresh = entity.get(original.Id, qb=qb)
    assert fresh.SyncToken == saved.SyncToken
    for field in ("TotalAmt", "Balance", "DisplayName", "FullyQualifiedName", "Name"):
        if hasattr(original, field) and field in before:
            assert getattr(fresh, field) == getattr(original, field), field


def test_given_preferences_when_saved_back_then_accepted(qb):
    """Preferences (UpdateNoIdMixin) round-trips too."""
    from quickbooks.objects.preferences import Preferences

    prefs = Preferences.get(qb=qb)
    saved = prefs.save(qb=qb)
    assert int(saved.SyncToken) == int(prefs.SyncToken) + 1
