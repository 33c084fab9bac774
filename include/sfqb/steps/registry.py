"""The sync areas and their steps: one explicit list, in the order of R-GEN-8.

An area's steps module (``sfqb.steps.<area>``) has the four functions its tasks call, in this
order: ``extract(run)`` reads through the hooks, ``plan(run, extracted)`` applies the area's
pure rules, ``load(run, plan)`` writes, ``commit(run, extracted, report)`` moves the watermarks
(docs/architecture.md section 1). The extract and the plan hand on payloads the module types as
``Extract`` and ``Plan`` (``TypedDict``s: XCom carries them). ``AreaSteps`` states that contract
and mypy checks every module of ``area_steps`` against it. A new area is a steps module, a line
in ``_STEPS`` and in ``sfqb.run_params.AREAS``, and a task group in ``dags/sfqb_sync.py``.

Each module is imported when a task asks for it, not before: a steps module imports pandas and
the hooks, which a DAG file never does (its parse stays fast).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sfqb.run_params import AREAS, RunContext

if TYPE_CHECKING:  # pandas comes with these: the task files import this module at parse
    from sfqb.outcomes import AreaReport
    from sfqb.steps import customers, invoices, items, opportunities, transactions

Extract = TypeVar("Extract")
"""The area's extract payload: a ``TypedDict`` built on ``sfqb.steps.common.AreaExtract``."""
Plan = TypeVar("Plan")
"""The area's plan payload: a ``TypedDict`` of the writes and the skips."""


class AreaSteps(Protocol[Extract, Plan]):
    """What the task chain of ``sfqb.tasks.area`` calls, typed by the area's two payloads (each
    area's ``Extract`` and ``Plan``, in its steps module). The steps also take keyword arguments
    (their hooks and state, for tests and benchmarks); the tasks pass none."""

    def extract(self, run: RunContext) -> Extract:
        """What changed since the area's committed watermarks (and last run's failures)."""
        ...

    def plan(self, run: RunContext, extracted: Extract) -> Plan:
        """The writes and the skips with their reasons; no I/O."""
        ...

    def load(self, run: RunContext, plan: Plan) -> AreaReport:
        """The area report: one outcome per record, warnings."""
        ...

    def commit(self, run: RunContext, extracted: Extract, report: AreaReport) -> dict[str, str]:
        """The records to retry saved, the watermarks moved (after a successful load only):
        stream -> its new watermark."""
        ...


def _items() -> AreaSteps[items.Extract, items.Plan]:
    from sfqb.steps import items

    return items


def _customers() -> AreaSteps[customers.Extract, customers.Plan]:
    from sfqb.steps import customers

    return customers


def _opportunities() -> AreaSteps[opportunities.Extract, opportunities.Plan]:
    from sfqb.steps import opportunities

    return opportunities


def _transactions() -> AreaSteps[transactions.Extract, transactions.Plan]:
    from sfqb.steps import transactions

    return transactions


def _invoices() -> AreaSteps[invoices.Extract, invoices.Plan]:
    from sfqb.steps import invoices

    return invoices


_STEPS: dict[str, Callable[[], AreaSteps[Any, Any]]] = {
    "items": _items,
    "customers": _customers,
    "opportunities": _opportunities,
    "transactions": _transactions,
    "invoices": _invoices,
}
assert tuple(_STEPS) == AREAS, "sfqb.run_params.AREAS and the registry list the same areas"


def area_steps(area: str) -> AreaSteps[Any, Any]:
    """The steps of ``area`` (one of ``sfqb.run_params.AREAS``)."""
    try:
        return _STEPS[area]()
    except KeyError:
        raise KeyError(f"no sync area {area!r}; the areas: {', '.join(AREAS)}") from None
