"""The explicit list of sync areas and their steps (``sfqb.steps.registry``)."""

from __future__ import annotations

import datetime as dt
import inspect
import typing

import pytest

from sfqb.run_params import AREAS
from sfqb.state import InMemoryVariables, SyncState
from sfqb.steps.registry import area_steps

pytestmark = pytest.mark.unit


def test_given_the_registry_when_each_area_is_asked_then_its_steps_have_the_four_task_functions():
    """R-GEN-8: every area of the run order has steps, and each takes what its task passes:
    extract(run), plan(run, extracted), load(run, plan), commit(run, extracted, report)."""
    wanted = {
        "extract": ["run"],
        "plan": ["run", "extracted"],
        "load": ["run", "plan"],
        "commit": ["run", "extracted", "report"],
    }

    for area in AREAS:
        steps = area_steps(area)
        assert steps.__name__ == f"sfqb.steps.{area}"
        for name, positional in wanted.items():
            params = inspect.signature(getattr(steps, name)).parameters.values()
            takes = [p.name for p in params if p.default is inspect.Parameter.empty]
            assert takes == positional, (area, name, takes)


def test_given_an_unknown_area_when_asked_then_the_error_names_the_areas():
    """R-GEN-8: a misspelt area fails with the list of the real ones."""
    with pytest.raises(KeyError, match="no sync area 'item'; the areas: items, customers"):
        area_steps("item")


def _keys(payload_type) -> tuple[set[str], set[str]]:
    """(required, optional) keys of a TypedDict whose module postpones annotations (there,
    ``__required_keys__`` cannot see ``NotRequired``)."""
    hints = typing.get_type_hints(payload_type, include_extras=True)
    optional = {k for k, h in hints.items() if typing.get_origin(h) is typing.NotRequired}
    return set(hints) - optional, optional


SWITCHED_OFF = {
    "items": {"sync_items": False},
    "opportunities": {"sync_won_opportunities": False},
    "transactions": {"update_opportunities_from_quickbooks": False},
    "invoices": {"sync_invoices": False},
}


@pytest.mark.parametrize("area", sorted(SWITCHED_OFF))
def test_given_an_area_switched_off_when_it_runs_then_its_payloads_have_exactly_their_typed_keys(
    area,
):
    """R-GEN-2, R-GEN-8: what an area's extract and plan hand on by XCom has the keys its
    ``Extract`` and ``Plan`` declare, no more and none missing, so a step never reads a key the
    other did not write; and a switched-off area reads nothing (its hooks are never touched) and
    commits no window."""
    now = dt.datetime(2026, 11, 25, tzinfo=dt.UTC).isoformat()
    run = {
        "run_id": "r1",
        "upper_bound": now,
        "install_date": now,
        "preferences": SWITCHED_OFF[area],
    }
    steps = area_steps(area)
    state = SyncState(InMemoryVariables())

    extracted = steps.extract(run, sf=object(), qb=object(), state=state)
    planned = steps.plan(run, extracted)

    for payload, payload_type in ((extracted, steps.Extract), (planned, steps.Plan)):
        required, optional = _keys(payload_type)
        assert required <= set(payload) <= required | optional, (area, payload_type.__name__)
    assert extracted["windows"] == {}
    assert steps.commit(run, extracted, steps.load(run, planned, sf=object()), state=state) == {}
