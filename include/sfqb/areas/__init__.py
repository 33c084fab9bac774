"""One module per sync area: its rules (SPEC.md) as pure functions over DataFrames."""
