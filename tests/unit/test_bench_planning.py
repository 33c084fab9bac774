"""bench.planning's growing of real extracts: the copies must keep every reference
between an extract's frames and lists, or the grown plans stop being copies of the captured one."""

from __future__ import annotations

import pandas as pd
import pytest

from bench.planning import grow


def test_given_an_id_list_beside_a_frame_when_grown_then_each_copy_keeps_the_list_pointing_at_its_rows():
    """R-OPP-1 in the benchmark: the opportunities extract lists its inactive QuickBooks
    customers by Id; grown, copy k's list holds copy k's Ids, as its frames do (kept as it was,
    every copy's opportunity of an inactive customer would be planned as a create)."""
    extract = {
        "opportunities": pd.DataFrame(
            {"Account.External_Account_ID__c": ["887", "12"]}, dtype=object
        ),
        "inactive_customers": ["887"],
    }

    grown = grow("opportunities", extract, copies=3)

    ids = grown["opportunities"]["Account.External_Account_ID__c"].tolist()
    assert len(ids) == 6 and len(set(ids)) == 6
    assert grown["inactive_customers"] == [ids[0], ids[2], ids[4]]


def test_given_a_list_with_no_growing_rule_when_grown_then_the_benchmark_stops_naming_it():
    """A new list in an area's extract must get a rule before the benchmark can be trusted."""
    with pytest.raises(ValueError, match="'held_ids' is a list with no growing rule"):
        grow("opportunities", {"held_ids": ["1"]}, copies=2)


def test_given_two_plans_equal_in_value_when_digested_then_their_digests_are_equal():
    """The digest of a plan is a function of its outputs' values alone (not of object ids)."""
    from decimal import Decimal

    from bench.planning import digest

    def plan() -> dict:
        return {
            "skips": pd.DataFrame({"key": ["a", "b"], "level": [pd.NA, "WARNING"]}, dtype=object),
            "products": [{"Name": "x", "UnitPrice": Decimal("1.50")}],
            "retry": ["b"],
        }

    assert digest(plan()) == digest(plan())


def test_given_plans_that_differ_only_in_type_scale_or_order_when_digested_then_they_differ():
    """What a load could send differently is told apart: Decimal 1.5 and 1.50, "1" and 1, None
    and pd.NA, and the order of rows and of a record's keys."""
    from decimal import Decimal

    from bench.planning import digest

    base = digest({"v": [Decimal("1.5")]})["*"]
    assert digest({"v": [Decimal("1.50")]})["*"] != base
    assert digest({"v": ["1"]})["*"] != digest({"v": [1]})["*"]
    assert digest({"v": [None]})["*"] != digest({"v": [pd.NA]})["*"]
    frame = pd.DataFrame({"key": ["a", "b"]})
    assert digest({"f": frame})["*"] != digest({"f": frame.iloc[::-1]})["*"]
    assert digest({"v": [{"a": 1, "b": 2}]})["*"] != digest({"v": [{"b": 2, "a": 1}]})["*"]
