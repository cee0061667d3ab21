"""A panel of SMEs: a fixed random sample of the firms open when the reported quarters
begin, followed quarter by quarter (Mesa's agent-level data, for firm-level questions a
national table cannot answer).

The sample is drawn once, before the first reported quarter (after any burn-in), from
the open firms' slots with its own generator (stream ``S_PANEL``), so it is the same in
both engines and does not move any other draw. Each reported quarter the engine reads
the sampled slots (:meth:`sim.engines.SMEEngine.panel_state`); a firm whose slot now
holds another uid has exited, and its later rows say so with missing values.
"""

from __future__ import annotations

import numpy as np

from sim.categories import CHANNELS, DEBT_CHANNELS, REGIONS, SECTORS, SIZES, STAGES
from sim.quarters import quarter_label
from sim.rng import S_PANEL

__all__ = ["Panel", "draw_sample", "empty_frame", "panel_columns", "STATE_COLUMNS"]

#: firm fields read as they are stored (name: unit, meaning); see sim/population.py
PANEL_FIRM_FIELDS: dict[str, tuple[str, str]] = {
    "age": ("quarters", "age since entry (saturates at 255)"),
    "log_revenue": ("log 万元", "log of quarterly revenue before shocks"),
    "cash": ("万元", "cash holdings"),
    "collateral": ("万元", "pledgeable assets"),
    "digital": ("0-1", "share of activity visible as digital data"),
    "informal_debt": ("万元", "informal debt"),
    "history": ("quarters", "quarters of on-time repayment"),
}
#: yes/no fields (name: meaning)
PANEL_FLAGS: dict[str, str] = {
    "alive": "the firm is open",
    "bureau": "has a credit-bureau file",
    "defaulted_before": "has defaulted at least once",
    "distressed": "could not meet debt service this quarter",
    "tax_file": "banks can read its tax-payment records",
}
#: categories, as codes in the engines and as names in the panel
PANEL_CATEGORIES = {"sector": SECTORS, "region": REGIONS, "size": SIZES, "stage": STAGES}
#: debt outstanding (performing and non-performing) by channel, 万元
PANEL_DEBT = tuple(f"debt_{CHANNELS[c]}" for c in DEBT_CHANNELS)
#: every column an engine's panel_state returns besides the uid
STATE_COLUMNS = (*PANEL_CATEGORIES, *PANEL_FIRM_FIELDS, *PANEL_FLAGS, *PANEL_DEBT,
                 "non_performing")


def panel_columns() -> dict[str, tuple[str, str]]:
    """The panel table's columns: name → (unit, meaning)."""
    return {
        "quarter": ("quarter", "reported quarter"),
        "uid": ("id", "the firm's stable id (entry quarter << 32 | serial)"),
        **{name: ("name", f"the firm's {name}") for name in PANEL_CATEGORIES},
        **PANEL_FIRM_FIELDS,
        **{name: ("yes/no", meaning) for name, meaning in PANEL_FLAGS.items()},
        **{name: ("万元", f"{name.removeprefix('debt_')} debt outstanding")
           for name in PANEL_DEBT},
        "non_performing": ("yes/no", "holds a non-performing loan"),
        "present": ("yes/no", "the sampled firm still holds its slot (False after it "
                              "closed and its slot was freed or reused)"),
    }


def draw_sample(seed: int, used_slots: int, size: int, is_open) -> np.ndarray:
    """Slots of ``size`` open firms (int64, ascending), drawn without replacement from
    slots ``0 .. used_slots - 1``; ``is_open(slots)`` says which candidate slots hold an
    open firm. Candidates are drawn a few at a time (never a permutation of every slot)
    and kept in the order drawn until ``size`` are open."""
    generator = np.random.default_rng([seed, S_PANEL])
    size = min(size, used_slots)
    chosen: list[int] = []
    tried: set[int] = set()
    while len(chosen) < size and len(tried) < used_slots:
        want = min(used_slots - len(tried), max(2 * (size - len(chosen)), 16))
        candidates = [int(s) for s in generator.choice(used_slots, size=want, replace=False)
                      if int(s) not in tried]
        tried.update(candidates)
        slots = np.array(candidates, dtype=np.int64)
        chosen.extend(slots[np.asarray(is_open(slots), dtype=bool)].tolist())
    return np.sort(np.array(chosen[:size], dtype=np.int64))


def empty_frame():
    """A panel table with its columns and no rows (a run that kept no panel)."""
    import pandas as pd

    return pd.DataFrame({name: pd.Series(dtype=object if unit in ("name", "quarter")
                                         else float)
                         for name, (unit, _) in panel_columns().items()})


class Panel:
    """The sample's slots and uids, and one block of rows per reported quarter."""

    def __init__(self, slots: np.ndarray, uids: np.ndarray, first_quarter: int,
                 n_quarters: int):
        self.slots = slots
        self.uids = uids
        self.first_quarter = first_quarter
        self.n = n_quarters
        self._rows: dict[int, dict[str, np.ndarray]] = {}

    def record(self, quarter: int, state: dict[str, np.ndarray]) -> None:
        """Keep this quarter's ``state`` (from ``panel_state(self.slots)``) of the sample."""
        t = quarter - self.first_quarter
        if not 0 <= t < self.n or len(self.slots) == 0:
            return
        present = state["uid"] == self.uids
        row = {"present": present}
        for name in STATE_COLUMNS:
            values = np.asarray(state[name], dtype=np.float64)
            # a freed or reused slot says nothing about the sampled firm any more
            row[name] = np.where(present, values, np.nan)
        row["alive"] = np.where(present, row["alive"], 0.0)
        # distress is a quarter's state of an open firm; a closed firm's is stale
        row["distressed"] = np.where(row["alive"] == 1.0, row["distressed"], 0.0)
        self._rows[t] = row

    def to_frame(self):
        """The panel as a long DataFrame: one row per (quarter, sampled firm), quarters
        not reached left out."""
        import pandas as pd

        quarters = sorted(self._rows)
        if not quarters or len(self.uids) == 0:
            return empty_frame()
        rows = [self._rows[t] for t in quarters]
        n = len(self.uids)
        frame = {"quarter": np.repeat([quarter_label(self.first_quarter + t)
                                       for t in quarters], n),
                 "uid": np.tile(self.uids, len(quarters))}
        for name, labels in PANEL_CATEGORIES.items():
            codes = np.concatenate([row[name] for row in rows])
            names = np.asarray([*labels, None], dtype=object)
            # a missing code (a firm gone) takes the None after the last label
            frame[name] = names[np.where(np.isfinite(codes), codes, len(labels)).astype(int)]
        for name in (*PANEL_FIRM_FIELDS, *PANEL_DEBT):
            frame[name] = np.concatenate([row[name] for row in rows])
        for name in (*PANEL_FLAGS, "non_performing"):
            frame[name] = np.concatenate([row[name] for row in rows]) == 1.0
        frame["present"] = np.concatenate([row["present"] for row in rows])
        return pd.DataFrame(frame)
