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
    ("params", "named"),
    [
        ({"areas": ["custmers"]}, "areas: unknown area 'custmers'"),
        ({"areas": "items"}, "areas: must be a list"),
        ({"resync_area": "items"}, "resync_from: needed too"),
        ({"resync_from": "2026-01-01"}, "resync_area: needed too"),
        ({"resync_area": "items", "resync_from": "yesterday"}, "resync_from: not a date"),
        (
            {"resync_area": "items", "resync_from": "2026-12-01"},
            "resync_from: 2026-12-01T00:00:00+00:00 is not before",
        ),
        (
            {"areas": ["customers"], "resync_area": "items", "resync_from": "2026-01-01"},
            "resync_area: 'items' is not among",
        ),
        (
            {"resync_area": "preflight", "resync_from": "2026-01-01"},
            "resync_area: unknown area 'preflight'",
        ),
    ],
)
def test_given_a_bad_param_when_parsed_then_the_error_names_it(params, named):
    """R-OPS-1: a bad param fails the run at begin_run, naming it."""
    with pytest.raises(RunParamsError, match=re.escape(named)):
        parse(params)


def test_given_a_backfill_run_with_a_resync_when_parsed_then_it_is_refused():
    """R-OPS-1: a backfill re-reads its own interval; a resync belongs to a manual run."""
    with pytest.raises(RunParamsError, match="resync_area: a backfill run"):
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
