"""How the customers load groups its Salesforce writes into calls (R-GEN-3, issue 14)."""

from __future__ import annotations

import pandas as pd
import pytest

from sfqb.areas.customers import ACCOUNT_EXT_ID
from sfqb.steps.customers import upsert_waves

pytestmark = pytest.mark.unit


def _accounts(rows: list[tuple[str, str | None]]) -> pd.DataFrame:
    return pd.DataFrame({ACCOUNT_EXT_ID: [r[0] for r in rows], "parent_ext_id": [r[1] for r in rows]})


def test_given_changed_customers_at_mixed_levels_whose_parents_are_not_written_when_grouped_then_one_wave():
    """R-ACC-3 / R-GEN-3: sub-customers whose parent Account exists already go in the same call
    as top-level customers (was one call per QuickBooks level)."""
    waves = upsert_waves(_accounts([("1", None), ("7", "3"), ("9", "8"), ("2", None)]))
    assert list(waves) == [0, 0, 0, 0]


def test_given_a_new_parent_and_its_descendants_when_grouped_then_each_follows_its_parent():
    """R-ACC-3: a sub-customer whose parent is upserted in the same load waits for it."""
    waves = upsert_waves(_accounts([("30", "20"), ("20", "10"), ("10", None), ("11", "99"), ("21", "10")]))
    assert list(waves) == [2, 1, 0, 0, 1]
