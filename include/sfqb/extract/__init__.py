"""Reading: query builders (pure) and records -> typed DataFrames (normalisation)."""
