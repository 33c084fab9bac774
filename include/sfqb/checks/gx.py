"""Run expectations on a DataFrame with great-expectations 1.x, quietly.

A ``Check`` names a GX expectation class and its arguments, plus how to explain a failure to a
person (the failing rows in, sentences out). ``failures`` validates a frame against a list of
checks in an ephemeral context: no files are written, no analytics are sent, no progress bars
are printed and GX's own INFO chatter stays out of the task log. GX is imported on first use
(it costs seconds), never when a DAG file is parsed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import count
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

_names = count()


@dataclass(frozen=True)
class Check:
    """One expectation and the sentences a failure turns into.

    ``expectation`` is a class name of ``great_expectations.expectations``; ``explain`` receives
    the failing rows (the whole frame for table-level expectations, such as a row count)."""

    expectation: str
    kwargs: Mapping[str, Any]
    explain: Callable[[pd.DataFrame], list[str]]


@dataclass(frozen=True)
class Failure:
    check: Check
    rows: pd.DataFrame
    observed: Any = None

    def messages(self) -> list[str]:
        return self.check.explain(self.rows)


def _gx():
    # Before the first import: GX logs ~200 INFO lines per validation otherwise.
    gx_log = logging.getLogger("great_expectations")
    if gx_log.level == logging.NOTSET:
        gx_log.setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def warm_up() -> threading.Thread:
    """Import GX on a background thread and return it: a step about to wait on the network
    before its first check (preflight's describe calls) gets the seconds of the import done
    meanwhile. Join it before the first check; an import that fails there fails again, with
    its error, in ``failures``."""

    def run() -> None:
        try:
            _gx()
        except Exception:  # failures() imports again and raises it
            log.debug("great-expectations did not import in the background", exc_info=True)

    thread = threading.Thread(target=run, name="sfqb-gx-import", daemon=True)
    thread.start()
    return thread


def _context(gx):
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _exception(info) -> str | None:
    """The error message of an expectation that could not be computed (GX reports it either
    flat or per metric), else None."""
    if not info:
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message"))
    nested = [v for v in info.values() if isinstance(v, dict) and v.get("raised_exception")]
    return str(nested[0].get("exception_message")) if nested else None


def failures(frame: pd.DataFrame, checks: Sequence[Check], *, suite: str) -> list[Failure]:
    """Validate ``frame`` against ``checks`` (one GX suite); the failed checks with their rows."""
    if not checks:
        return []
    gx = _gx()
    context = _context(gx)
    tag = f"{suite}_{next(_names)}"
    batch = context.data_sources.add_pandas(f"sfqb_{tag}").add_dataframe_asset(tag)
    definition = batch.add_batch_definition_whole_dataframe("whole")
    expectations = [
        getattr(gx.expectations, c.expectation)(**c.kwargs, meta={"sfqb_check": i})
        for i, c in enumerate(checks)
    ]
    gx_suite = context.suites.add(gx.ExpectationSuite(name=tag, expectations=expectations))
    validation = context.validation_definitions.add(
        gx.ValidationDefinition(name=tag, data=definition, suite=gx_suite)
    )
    # GX reports row labels: make them positions. It hashes every column it is given: give it
    # only the checked ones (the failing rows are taken from ``frame`` whole); a checked column
    # the frame lacks is left for GX to report.
    columns = [c.kwargs.get("column") for c in checks]
    if None not in columns and set(columns) <= set(frame.columns):
        checked = frame[list(dict.fromkeys(columns))]
    else:
        checked = frame
    plain = checked.reset_index(drop=True)
    result = validation.run(batch_parameters={"dataframe": plain}, result_format="COMPLETE")
    found = []
    for outcome in sorted(result.results, key=lambda r: r.expectation_config.meta["sfqb_check"]):
        if outcome.success:
            continue
        check = checks[outcome.expectation_config.meta["sfqb_check"]]
        error = _exception(outcome.exception_info)
        if error:
            raise RuntimeError(
                f"{suite}: the check {check.expectation}{dict(check.kwargs)} could not run: {error}"
            )
        positions = outcome.result.get("unexpected_index_list")
        rows = frame.iloc[list(positions)] if positions is not None else frame
        found.append(Failure(check, rows, outcome.result.get("observed_value")))
    log.debug("%s: %d checks, %d failed", suite, len(checks), len(found))
    return found
