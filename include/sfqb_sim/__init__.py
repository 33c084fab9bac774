"""A deterministic, seeded business simulation of sfqb (docs/simulation.md): N simulated days of
business on both sandbox servers, random faults, ``sfqb_sync`` on the sandbox clock, and the
invariants checked after every run. ``python -m sfqb_sim`` / ``make soak``; docs/simulation.md."""
