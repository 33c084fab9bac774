"""Manual-run params (R-OPS-1): defaults, narrowing, resync of one area, errors naming the
param, and the trigger form's schema."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sfqb.run_params import (
    AREAS,
    RunParamsError,
    area_run,
    area_selected,
    describe,
    parse_run_params,
)

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 26, 4, 0, tzinfo=dt.UTC)


def parse(params, run_type="manual"):
    return parse_run_params(params, upper_bound=NOW, run_type=run_type)


def test_given_no_params_when_parsed_then_every_area_runs_without_resync():
    """R-OPS-1: scheduled runs take the defaults: all areas, no resync."""
    assert parse(None) == {"areas": list(AREAS), "resync": None}
    assert parse({"areas": list(AREAS), "resync_area": None, "resync_from": None}) == parse({})


def test_given_some_areas_in_any_order_when_parsed_then_they_keep_run_order():
    """R-OPS-1, R-GEN-8: the selected areas run in the usual order."""
    assert parse({"areas": ["invoices", "customers"]})["areas"] == ["customers", "invoices"]


def test_given_a_resync_date_when_parsed_then_it_is_midnight_utc_for_that_area():
    """R-OPS-1: a full resync of one area from a date."""
    got = parse({"resync_area": "items", "resync_from": "2026-01-31"})
    assert got["resync"] == {"area": "items", "from": "2026-01-31T00:00:00+00:00"}


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        (
            {"areas": ["custmers"]},
            'Areas to run (areas) has "custmers", which is not an area: choose from items, '
            "customers, opportunities, transactions, invoices.",
        ),
        (
            {"areas": "items"},
            'Areas to run (areas) is "items": give a list of areas, such as ["customers", '
            '"invoices"], from these: items, customers, opportunities, transactions, invoices.',
        ),
        (
            {"resync_area": "items"},
            "Full resync: from (resync_from) is empty but Full resync: area (resync_area) is "
            "set: give the day (UTC) to re-read items from, or clear Full resync: area.",
        ),
        (
            {"resync_from": "2026-01-01"},
            "Full resync: area (resync_area) is empty but Full resync: from (resync_from) is "
            "set: pick the area to re-read from that day, or clear Full resync: from.",
        ),
        (
            {"resync_area": "items", "resync_from": "yesterday"},
            'Full resync: from (resync_from) is "yesterday", which is not a date: give a day as '
            "YYYY-MM-DD (UTC).",
        ),
        (
            {"resync_area": "items", "resync_from": "2026-12-01"},
            "Full resync: from (resync_from) is 2026-12-01, which is not before this run's start "
            "(2026-11-26 04:00 UTC): pick an earlier day.",
        ),
        (
            {"areas": ["customers"], "resync_area": "items", "resync_from": "2026-01-01"},
            "Full resync: area (resync_area) is items, which is not among Areas to run (areas): "
            "add it there, or resync one of the areas this run runs.",
        ),
        (
            {"resync_area": "preflight", "resync_from": "2026-01-01"},
            'Full resync: area (resync_area) is "preflight", which is not an area: choose one of '
            "items, customers, opportunities, transactions, invoices, or leave it empty for no "
            "full resync.",
        ),
    ],
)
def test_given_a_bad_param_when_parsed_then_the_error_is_one_sentence_naming_it_and_what_it_may_be(
    params, sentence
):
    """R-OPS-1: a bad param fails the run at begin_run with one sentence naming the param as
    the form shows it (and its key in the run's conf) and what it may be."""
    with pytest.raises(RunParamsError) as caught:
        parse(params)
    assert str(caught.value) == sentence


def test_given_two_bad_params_when_parsed_then_each_gets_its_sentence():
    """R-OPS-1: every bad param is named at once, one sentence each."""
    with pytest.raises(RunParamsError) as caught:
        parse({"areas": ["x"], "resync_from": "2026-01-01"})
    assert str(caught.value).count("Areas to run (areas)") == 1
    assert "Full resync: area (resync_area) is empty" in str(caught.value)


def test_given_a_backfill_run_with_a_resync_when_parsed_then_it_is_refused():
    """R-OPS-1: a backfill re-reads its own interval; a resync belongs to a manual run."""
    with pytest.raises(RunParamsError, match="a backfill run re-reads its own hours"):
        parse({"resync_area": "items", "resync_from": "2026-01-01"}, run_type="backfill")


def test_given_a_resync_run_when_each_area_sees_it_then_only_that_area_gets_resync_from():
    """R-OPS-1: the resync reaches that area's streams only; other windows are incremental."""
    run = {"run_id": "r", "resync_from": "stale"} | parse(
        {"areas": ["items", "customers"], "resync_area": "customers", "resync_from": "2026-01-01"}
    )
    assert area_run(run, "customers")["resync_from"] == "2026-01-01T00:00:00+00:00"
    assert "resync_from" not in area_run(run, "items")
    assert area_selected(run, "items") and not area_selected(run, "invoices")
    assert area_selected(run, "preflight")
    assert (
        describe(run)
        == "areas items, customers; full resync of customers from 2026-01-01T00:00:00+00:00"
    )


def test_given_a_run_built_outside_begin_run_when_an_area_sees_it_then_it_is_unchanged():
    """R-OPS-1: benchmarks and step tests set resync_from themselves; every area runs."""
    run = {"run_id": "r", "resync_from": "2026-01-01T00:00:00+00:00"}
    assert area_run(run, "items") is run
    assert all(area_selected(run, a) for a in AREAS)
    assert describe(run) == "all areas"


def test_given_the_trigger_form_when_values_are_checked_then_its_schema_allows_defaults_and_refuses_unknown_areas():
    """R-OPS-1: the params render as a typed form; its schema refuses what it can."""
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    from sfqb.tasks.params import run_params

    assert ParamsDict(run_params()).validate() == {
        "areas": list(AREAS),
        "resync_area": None,
        "resync_from": None,
    }
    good = ParamsDict(run_params())
    good.update({"areas": ["items"], "resync_area": "items", "resync_from": "2026-01-01"})
    assert good.validate()["resync_area"] == "items"
    for bad in ({"areas": ["nope"]}, {"resync_area": "nope"}, {"resync_from": "01/02/2026"}):
        params = ParamsDict(run_params())
        (name,) = bad
        with pytest.raises(ParamValidationError, match=f"Invalid input for param {name}: "):
            params.update(bad)
            params.validate()


def test_given_a_run_that_set_param_values_when_the_params_are_made_again_then_they_are_the_defaults():
    """R-OPS-1: each parse of the DAG gets its own Param objects: one run's values never leak into the
    next run's defaults in the same process."""
    from airflow.sdk.definitions.param import ParamsDict

    from sfqb.tasks.params import run_params

    used = ParamsDict(run_params())
    used.update({"areas": ["items"]})
    assert ParamsDict(run_params()).validate()["areas"] == list(AREAS)


def test_given_the_trigger_form_when_drawn_then_areas_is_a_multi_select_and_the_resync_area_has_a_named_empty_choice():
    """R-OPS-1: Airflow 3.3 draws an array as a multi-select only with a top-level ``examples``
    list (``items.enum`` checks the values); a drop-down's null choice reads
    ``values_display["null"]`` (else "null"); a date picker needs ``format: date``. Every field
    has a title and a description, and no description names a rule."""
    from sfqb.tasks.params import NO_RESYNC, run_params

    params = run_params()
    areas = params["areas"].schema
    assert areas["type"] == "array" and areas["examples"] == list(AREAS)
    assert areas["items"] == {"type": "string", "enum": list(AREAS)}
    assert set(areas["values_display"]) == set(AREAS)
    resync = params["resync_area"].schema
    assert resync["enum"] == [None, *AREAS] and "null" in resync["type"]
    assert resync["values_display"]["null"] == NO_RESYNC
    assert params["resync_from"].schema["format"] == "date"
    for name, param in params.items():
        assert param.schema["title"] and param.description, name
        assert not re.search(r"R-[A-Z]+-\d", param.description), name


def test_given_the_migration_form_when_drawn_then_the_date_is_required_and_the_rest_has_defaults():
    """R-MIG-1: the migration's form requires the migration date (a date picker whose type
    leaves out null); the other fields have valid defaults; titles are what messages name."""
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    from sfqb.areas.migration import TITLES
    from sfqb.tasks.migration import migration_params

    params = migration_params()
    date = params["migration_date"].schema
    assert date["type"] == "string" and date["format"] == "date"
    with pytest.raises(ParamValidationError, match="Invalid input for param migration_date"):
        ParamsDict(migration_params()).validate()
    given = ParamsDict(migration_params())
    given.update({"migration_date": "2025-01-01"})
    assert given.validate() == {
        "migration_date": "2025-01-01",
        "create_missing_opportunities": "from preferences",
        "dry_run": False,
        "chunk_size": 1000,
    }
    for name, param in params.items():
        assert param.schema["title"] == TITLES[name] and param.description, name
        assert not re.search(r"R-[A-Z]+-\d", param.description), name
