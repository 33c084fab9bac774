"""What a manual run of ``sfqb_sync`` may narrow (R-OPS-1): which areas run, and a full
resync of one area from a date. Pure functions: the DAG declares the params
(``sfqb.tasks.params``), ``begin_run`` checks them here and records the result in the run.

The run carries ``"areas"`` (the selected areas, in run order) and ``"resync"``
(``{"area", "from"}`` or None). Each area's tasks see ``area_run(run, area)``: the resync area
gets ``run["resync_from"]`` (its streams re-read from that date and move no watermark, see
``sfqb.steps.common.run_windows``), every other area gets none.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, NotRequired, TypedDict

# The areas a run can narrow to, in their run order (R-GEN-8). Preflight always runs: it
# checks the org before any write, whatever else the run does.
AREAS = ("items", "customers", "opportunities", "transactions", "invoices")
PARAM_AREAS, PARAM_RESYNC_AREA, PARAM_RESYNC_FROM = "areas", "resync_area", "resync_from"
# The trigger form's title of each param: messages name a param as the form shows it.
TITLES = {
    PARAM_AREAS: "Areas to run",
    PARAM_RESYNC_AREA: "Full resync: area",
    PARAM_RESYNC_FROM: "Full resync: from",
}


def named(param: str) -> str:
    """A param as a person finds it in the form and in the run's conf: ``Areas to run (areas)``."""
    return f"{TITLES[param]} ({param})" if param in TITLES else param


class RunContext(TypedDict):
    """The run every task and step receives (by XCom, so JSON: instants are ISO strings with
    an offset). ``begin_run`` makes it once per DAG run (``sfqb.steps.common.run_context``)."""

    run_id: str
    run_type: str
    """``manual``, ``scheduled``, ``backfill``, ..."""
    backfill: bool
    upper_bound: str
    """Where every extract window of the run ends (the DAG run's ``run_after``)."""
    data_interval_start: str | None
    data_interval_end: str | None
    install_date: str
    """Nothing older is synced, apart from the customers and items of the first run (R-GEN-6)."""
    preferences: dict[str, Any]
    """The validated preferences as JSON (``sfqb.preferences.Preferences.as_json``)."""
    areas: NotRequired[list[str]]
    """The areas this run runs (the run params); all when absent."""
    resync: NotRequired[dict[str, str] | None]
    """``{"area", "from"}``: a full resync of one area (the run params)."""
    resync_from: NotRequired[str]
    """Set by ``area_run`` for the resync area's own steps only."""


class RunParamsError(ValueError):
    """The run's params cannot be used; the message names every bad param and why."""


def _resync_start(value: Any) -> dt.datetime:
    """A date (midnight UTC) or an instant with a time zone."""
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime.combine(value, dt.time(), dt.UTC)
    else:
        text = str(value)
        parsed = (
            dt.datetime.fromisoformat(text)
            if "T" in text
            else dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        )
    if parsed.tzinfo is None:
        raise ValueError("needs a time zone, e.g. 2026-01-31T00:00:00+00:00")
    return parsed.astimezone(dt.UTC)


def parse_run_params(params: dict | None, *, upper_bound: dt.datetime, run_type: str) -> dict:
    """Check a run's params; returns ``{"areas": [...], "resync": {"area", "from"} | None}``.

    Missing params take their defaults (every area, no resync): scheduled runs use them.

    Raises:
        RunParamsError: one sentence per bad param, naming it and what it may be.
    """
    params = params or {}
    problems: list[str] = []
    known = ", ".join(AREAS)
    areas = params.get(PARAM_AREAS)
    if areas is None:
        areas = list(AREAS)
    elif not isinstance(areas, list | tuple) or not all(isinstance(a, str) for a in areas):
        problems.append(
            f"{named(PARAM_AREAS)} is {json.dumps(areas)}: give a list of areas, such as "
            '["customers", "invoices"], from these: '
            f"{known}."
        )
        areas = []
    else:
        unknown = [a for a in areas if a not in AREAS]
        if unknown:
            problems.append(
                f"{named(PARAM_AREAS)} has {_quoted(unknown)}, which "
                f"{'is not an area' if len(unknown) == 1 else 'are not areas'}: choose from "
                f"{known}."
            )
    area = params.get(PARAM_RESYNC_AREA) or None
    start_value = params.get(PARAM_RESYNC_FROM) or None
    resync = None
    if area is not None and area not in AREAS:
        problems.append(
            f"{named(PARAM_RESYNC_AREA)} is {_quoted([area])}, which is not an area: choose "
            f"one of {known}, or leave it empty for no full resync."
        )
    elif area is not None and area not in areas:
        problems.append(
            f"{named(PARAM_RESYNC_AREA)} is {area}, which is not among {named(PARAM_AREAS)}: "
            "add it there, or resync one of the areas this run runs."
        )
    if area is None and start_value is not None:
        problems.append(
            f"{named(PARAM_RESYNC_AREA)} is empty but {named(PARAM_RESYNC_FROM)} is set: pick "
            f"the area to re-read from that day, or clear {TITLES[PARAM_RESYNC_FROM]}."
        )
    elif area is not None and start_value is None:
        problems.append(
            f"{named(PARAM_RESYNC_FROM)} is empty but {named(PARAM_RESYNC_AREA)} is set: give "
            f"the day (UTC) to re-read {area} from, or clear {TITLES[PARAM_RESYNC_AREA]}."
        )
    elif area is not None:
        try:
            start = _resync_start(start_value)
        except (TypeError, ValueError):
            problems.append(
                f"{named(PARAM_RESYNC_FROM)} is {_quoted([start_value])}, which is not a date: "
                "give a day as YYYY-MM-DD (UTC)."
            )
        else:
            if start >= upper_bound:
                problems.append(
                    f"{named(PARAM_RESYNC_FROM)} is {_day_or_instant(start)}, which is not "
                    f"before this run's start ({upper_bound.astimezone(dt.UTC):%Y-%m-%d %H:%M} "
                    "UTC): pick an earlier day."
                )
            elif run_type == "backfill":
                problems.append(
                    f"{named(PARAM_RESYNC_AREA)} is set, but a backfill run re-reads its own "
                    "hours and cannot carry a full resync: start the resync with Trigger DAG."
                )
            elif area in AREAS:
                resync = {"area": area, "from": start.isoformat()}
    if problems:
        raise RunParamsError(" ".join(problems))
    return {"areas": [a for a in AREAS if a in areas], "resync": resync}


def _quoted(values) -> str:
    """Values as a person reads them in a message: ``"custmers"``, ``"a" and "b"``."""
    texts = [json.dumps(v) if isinstance(v, str) else json.dumps(v, default=str) for v in values]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def _day_or_instant(value: dt.datetime) -> str:
    return value.date().isoformat() if value.time() == dt.time() else value.isoformat()


def area_selected(run: RunContext, area: str) -> bool:
    """Whether this run runs ``area`` (a run without ``"areas"`` runs them all)."""
    return area not in AREAS or area in run.get("areas", AREAS)


def area_run(run: RunContext, area: str) -> RunContext:
    """The run as one area's steps see it: ``resync_from`` set for the resync area only."""
    if "resync" not in run:
        return run  # built outside begin_run (benchmarks, step tests): taken as is
    resync = run["resync"]
    out = run.copy()
    out.pop("resync_from", None)
    if resync and resync["area"] == area:
        out["resync_from"] = resync["from"]
    return out


def describe(run: RunContext) -> str:
    """One line for the log and the summary: what this run was asked to do."""
    areas = run.get("areas", list(AREAS))
    text = "all areas" if list(areas) == list(AREAS) else f"areas {', '.join(areas) or '(none)'}"
    resync = run.get("resync")
    if resync:
        text += f"; full resync of {resync['area']} from {resync['from']}"
    return text
