"""One module per sync area: its rules (docs/rules.md) as pure functions over DataFrames."""
