"""The explicit list of sync areas and their steps (``sfqb.steps.registry``)."""

from __future__ import annotations

import inspect

import pytest

from sfqb.run_params import AREAS
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
