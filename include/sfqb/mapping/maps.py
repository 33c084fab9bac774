"""Load a field map and apply it to a frame (SPEC section 7).

A map is a list of rows ``{source, target}``. Applying it copies each source column to its
target column; where several rows fill one target, the last row with a value wins. Values are
copied as they are: coercion to the target's type is the caller's (and never silently lossy).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

DEFAULTS_DIR = Path(__file__).with_name("defaults")


@dataclass(frozen=True)
class Row:
    source: str
    target: str
    # "always", or "create": the row fills a new record only (e.g. Account Name -> Customer
    # CompanyName: a default for new customers, never a reason to rewrite an existing one).
    when: str = "always"


@dataclass(frozen=True)
class FieldMap:
    pair: str
    source: str
    target: str
    rows: tuple[Row, ...]

    def for_updates(self) -> FieldMap:
        """The map without its create-only rows."""
        rows = tuple(row for row in self.rows if row.when != "create")
        return FieldMap(self.pair, self.source, self.target, rows)

    @property
    def source_fields(self) -> list[str]:
        return list(dict.fromkeys(row.source for row in self.rows))

    @property
    def target_fields(self) -> list[str]:
        return list(dict.fromkeys(row.target for row in self.rows))


@cache
def default_map(pair: str) -> FieldMap:
    """The default map of ``pair`` (a file name in ``mapping/defaults`` without ``.yaml``)."""
    path = DEFAULTS_DIR / f"{pair}.yaml"
    data = yaml.safe_load(path.read_text())
    return FieldMap(
        pair=data["pair"],
        source=data["source"],
        target=data["target"],
        rows=tuple(
            Row(str(r["source"]), str(r["target"]), str(r.get("when", "always"))) for r in data["rows"]
        ),
    )


def apply_map(frame: pd.DataFrame, field_map: FieldMap) -> pd.DataFrame:
    """Target columns for every row of ``frame`` (same index). Missing source columns count as
    empty (a record without a billing contact has no ``BillingContact.*`` columns)."""
    out = pd.DataFrame(index=frame.index)
    for row in field_map.rows:
        if row.source in frame.columns:
            values = frame[row.source]
        else:
            values = pd.Series(pd.NA, index=frame.index, dtype="object")
        if row.target in out.columns:
            out[row.target] = values.combine_first(out[row.target])
        else:
            out[row.target] = values
    return out
