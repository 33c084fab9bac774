"""Running expectations with great-expectations: quiet, file-free, rows reported (R-PRE-5)."""

from __future__ import annotations

import pandas as pd
import pytest

from sfqb.checks.gx import Check, failures

pytestmark = pytest.mark.unit


def rows_named(rows: pd.DataFrame) -> list[str]:
    return [f"bad: {name}" for name in rows["name"]]


CHECKS = [
    Check(
        "ExpectColumnValuesToNotBeNull", {"column": "name"}, lambda rows: [f"{len(rows)} missing"]
    ),
    Check("ExpectColumnValuesToBeUnique", {"column": "name"}, rows_named),
    Check("ExpectTableRowCountToBeBetween", {"min_value": 1}, lambda rows: ["empty"]),
]


def test_given_a_frame_with_bad_rows_when_validated_then_each_failed_check_gets_its_own_rows():
    """R-PRE-5: every failed expectation is reported with the rows that broke it (labels kept)."""
    frame = pd.DataFrame({"name": ["a", None, "b", "a"]}, index=[10, 11, 12, 13])
    found = failures(frame, CHECKS, suite="unit")
    assert [f.check.expectation for f in found] == [
        "ExpectColumnValuesToNotBeNull",
        "ExpectColumnValuesToBeUnique",
    ]
    assert list(found[0].rows.index) == [11]
    assert found[1].messages() == ["bad: a", "bad: a"]


def test_given_a_clean_frame_when_validated_then_nothing_fails():
    """R-PRE-5: a passing suite reports nothing."""
    assert failures(pd.DataFrame({"name": ["a", "b"]}), CHECKS, suite="unit") == []


def test_given_an_empty_frame_when_a_table_check_fails_then_the_whole_frame_is_passed_on():
    """R-PRE-4 style table checks (row counts) have no failing rows: the explanation gets the frame."""
    found = failures(pd.DataFrame({"name": []}), CHECKS, suite="unit")
    assert [m for f in found for m in f.messages()] == ["empty"]


def test_given_a_validation_when_run_then_no_file_or_progress_bar_is_left(
    tmp_path, monkeypatch, capfd
):
    """GX leaves no files in the working directory and prints nothing (no progress bars)."""
    monkeypatch.chdir(tmp_path)
    failures(pd.DataFrame({"name": ["a", "a"]}), CHECKS, suite="quiet")
    out, err = capfd.readouterr()
    assert list(tmp_path.iterdir()) == []
    assert (out, err) == ("", "")


def test_given_a_check_on_a_missing_column_when_validated_then_it_raises_naming_the_check():
    """A suite that cannot run is a bug to surface, never a pass."""
    with pytest.raises(RuntimeError, match="could not run"):
        failures(pd.DataFrame({"other": [1]}), CHECKS[:1], suite="broken")


def test_given_a_fresh_process_when_warmed_up_then_gx_is_imported_on_another_thread_and_quiet():
    """R-PRE-5 (the preflight checks run on great-expectations): ``warm_up`` imports GX on a
    background thread, with GX's INFO chatter silenced first, so the preflight's describe calls
    and the import overlap. A fresh interpreter, as GX may be imported in this one already."""
    import subprocess
    import sys

    code = (
        "import logging, sys, threading\n"
        "from sfqb.checks.gx import warm_up\n"
        "assert 'great_expectations' not in sys.modules\n"
        "thread = warm_up()\n"
        "assert thread is not threading.current_thread()\n"
        "thread.join()\n"
        "print('great_expectations' in sys.modules,"
        " logging.getLogger('great_expectations').level == logging.WARNING)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]
