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


def test_given_rows_at_the_target_size_when_checked_then_each_plan_says_whether_it_holds():
    """The planning target (10 s of CPU and 4 GiB at 1M rows) is checked on the 1M rows only,
    memory by the peak RSS during the plan when known, else the process max RSS after it."""
    from bench.planning import _target_lines, targets

    def row(area: str, size: int, cpu: float, peak: float | None) -> dict:
        return {
            "scenario": "initial",
            "area": area,
            "size": size,
            "rows": size,
            "cpu_seconds": cpu,
            "peak_traced_mib": None,
            "peak_rss_mib_plan": peak,
            "max_rss_mib_after": 5000.0,
        }

    rows = [
        row("items", 100_000, 99.0, 9999.0),  # not the target size: not checked
        row("items", 1_000_000, 9.5, 3000.0),
        row("invoices", 1_000_000, 12.0, None),
        {"scenario": "second", "area": "items", "empty": True},
    ]

    checked = targets(rows)

    assert [(c["area"], c["cpu_holds"], c["memory_holds"]) for c in checked["plans"]] == [
        ("items", True, True),
        ("invoices", False, False),
    ]
    assert checked["plans"][1]["memory_measure"] == "process max RSS after the plan"
    assert not checked["holds"]
    assert "**Does not hold**: 1 of 2 plans" in "\n".join(_target_lines(checked))
    assert "Not checked" in "\n".join(_target_lines(targets(rows[:1])))
