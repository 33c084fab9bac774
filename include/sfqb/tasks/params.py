"""The params of ``sfqb_sync``: Airflow renders them as the Trigger DAG form (R-OPS-1).

Scheduled runs take the defaults (every area, no resync). What the form needs to draw each
field is in the schema, and Airflow checks it when a run is created (from the form nothing else
can be picked; from the command line or the REST API a value of the wrong form is refused then,
with Airflow's message). ``begin_run`` checks the rest (``sfqb.run_params``), one sentence per
bad param: the resync area and date go together, the date is before the run, the area is among
those run.

How Airflow 3.3's form draws them (``airflow/ui``, FlexibleForm):

- an ``array`` with a top-level ``examples`` list is a multi-select of those values
  (``items.enum`` alone gives a text box); ``values_display`` labels them;
- a ``string`` with ``enum`` is a drop-down; ``null`` in the enum is its empty choice, labelled
  ``values_display["null"]`` (without a label the option reads "null"); the drop-down can
  also be cleared, which sends null too;
- a ``string`` with ``format: date`` is a date picker;
- a field whose ``type`` leaves out ``null`` is required: the form refuses to trigger while
  it is empty.
"""

from __future__ import annotations

from airflow.sdk import Param

from sfqb.run_params import AREAS, PARAM_AREAS, PARAM_RESYNC_AREA, PARAM_RESYNC_FROM, TITLES

AREA_LABELS = {
    "items": "Items: QuickBooks items to Products",
    "customers": "Customers: customers and Accounts, both ways",
    "opportunities": "Opportunities: won deals to QuickBooks",
    "transactions": "Transactions: QuickBooks changes back to Opportunities",
    "invoices": "Invoices: QuickBooks invoices and payments to Salesforce",
}
NO_RESYNC = "No full resync"


def run_params() -> dict:
    """Fresh Param objects for one DAG (Airflow sets a run's values on them in place, so a
    module-level dict would carry one run's values into the next parse in the same process)."""
    return {
        PARAM_AREAS: Param(
            list(AREAS),
            type="array",
            items={"type": "string", "enum": list(AREAS)},
            examples=list(AREAS),
            values_display=AREA_LABELS,
            title=TITLES[PARAM_AREAS],
            description="The areas this run syncs, in this order; the others are skipped. The "
            "org check (preflight) always runs.",
        ),
        PARAM_RESYNC_AREA: Param(
            None,
            type=["null", "string"],
            enum=[None, *AREAS],
            values_display={"null": NO_RESYNC, **AREA_LABELS},
            title=TITLES[PARAM_RESYNC_AREA],
            description="Re-read this area's records changed since the day below, whatever "
            "was synced already (its watermarks do not move; other areas sync as usual). "
            "It must be one of the areas to run.",
        ),
        PARAM_RESYNC_FROM: Param(
            None,
            type=["null", "string"],
            format="date",
            title=TITLES[PARAM_RESYNC_FROM],
            description="The day (UTC, from midnight) the full resync re-reads from; needed "
            "with a full resync area, empty without one.",
        ),
    }
