"""The params of ``sfqb_sync``: Airflow renders them as the Trigger DAG form (R-OPS-1).

Scheduled runs take the defaults (every area, no resync). ``begin_run`` checks the values again
(``sfqb.run_params``), including what a schema cannot say: the resync area and date go
together, the date is before the run, the area is among those run.
"""

from __future__ import annotations

from airflow.sdk import Param

from sfqb.run_params import AREAS, PARAM_AREAS, PARAM_RESYNC_AREA, PARAM_RESYNC_FROM


def run_params() -> dict:
    """Fresh Param objects for one DAG (Airflow sets a run's values on them in place, so a
    module-level dict would carry one run's values into the next parse in the same process)."""
    return {
        PARAM_AREAS: Param(
            list(AREAS),
            type="array",
            items={"type": "string", "enum": list(AREAS)},
            uniqueItems=True,
            title="Areas to run",
            description="The areas this run syncs; the others are skipped. The org check "
            "(preflight) always runs.",
        ),
        PARAM_RESYNC_AREA: Param(
            None,
            type=["null", "string"],
            enum=[None, *AREAS],
            title="Full resync: area",
            description="Re-read this area's records changed since 'Full resync: from' (its "
            "watermarks do not move; other areas sync as usual).",
        ),
        PARAM_RESYNC_FROM: Param(
            None,
            type=["null", "string"],
            format="date",
            title="Full resync: from",
            description="The date (UTC) the full resync reads from.",
        ),
    }
