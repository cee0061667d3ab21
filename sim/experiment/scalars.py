"""A stored experiment's runs reduced to one number per output: the quantity both the
sensitivity analysis (:mod:`sim.experiment.analyze`) and the experiment figures
(:mod:`sim.plot_experiment`) work on."""

from __future__ import annotations

import pandas as pd

from sim.experiment.spec import ExperimentError

# Analysed and drawn when the user names no outputs.
HEADLINE_OUTPUTS = ("npl_ratio", "default_rate", "online_share_new", "unmet_demand_share",
                    "avg_rate_new", "new_loans")
STATISTICS = ("mean", "last")


def run_scalars(frame: pd.DataFrame, outputs: list[str], statistic: str = "mean") -> pd.DataFrame:
    """One row per (point, replicate): each output's mean over reported quarters, or last."""
    if statistic not in STATISTICS:
        raise ExperimentError(f"unknown statistic '{statistic}'; allowed: {', '.join(STATISTICS)}")
    ordered = frame.sort_values(["point", "replicate", "quarter"], kind="stable")
    grouped = ordered.groupby(["point", "replicate"], sort=True)[list(outputs)]
    return (grouped.mean() if statistic == "mean" else grouped.last()).reset_index()
