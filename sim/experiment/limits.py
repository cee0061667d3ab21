"""Limits that protect the user from a design too large to run by mistake."""

# Designs with more runs are refused unless the limit is raised (sim sweep --max-runs).
DEFAULT_MAX_RUNS = 100_000
