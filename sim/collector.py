"""Mesa's ``DataCollector`` interface over the model's own preallocated results.

Mesa's ``DataCollector`` calls Python reporters every step and appends rows; this model
records its quarterly table, lender table and group table into preallocated arrays in
phase 10 (:class:`sim.recorder.Recorder`) and a panel of sampled SMEs
(:class:`sim.panel.Panel`). :class:`QuarterlyCollector` gives them the names a Mesa user
reaches for, so notebooks written for Mesa models work unchanged.
"""

from __future__ import annotations

__all__ = ["QuarterlyCollector"]


class QuarterlyCollector:
    """``model.datacollector``: the run's tables so far, as Mesa's DataCollector names
    them. Quarters not reached yet are NaN in the model and table frames and absent from
    the agent (panel) frame."""

    TABLES = ("lenders", "groups")

    def __init__(self, model):
        self.model = model

    def get_model_vars_dataframe(self):
        """The quarterly table, indexed by quarter (``pd.PeriodIndex``, freq ``Q``)."""
        from sim.results import with_period_index

        quarterly, _, _ = self.model.recorder.to_frames(self.model)
        return with_period_index(quarterly)

    def get_agent_vars_dataframe(self):
        """The SME panel, indexed by (quarter, uid) as Mesa indexes (Step, AgentID)."""
        import pandas as pd

        panel = self.model.panel.to_frame()
        quarters = pd.PeriodIndex(panel["quarter"], freq="Q")
        return panel.drop(columns="quarter").set_index([quarters, panel["uid"]]).drop(
            columns="uid").rename_axis(["quarter", "uid"])

    def get_table_dataframe(self, table_name: str):
        """``"lenders"`` (one row per lender and quarter) or ``"groups"`` (long form)."""
        if table_name not in self.TABLES:
            raise KeyError(f"no table {table_name!r}; tables: {', '.join(self.TABLES)}")
        _, groups, lenders = self.model.recorder.to_frames(self.model)
        return lenders if table_name == "lenders" else groups
