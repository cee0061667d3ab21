"""The reference engine (every SME a plain-Python Mesa agent, ``run.engine = "reference"``)
gives the numba engine's results.

Both engines run the baseline and four policy scenarios side by side at 2,500 SMEs, over
a window that covers each lever's change; after the starting population and after every
quarter every firm (keyed by uid: slot, attributes, the quarter's flags, loans) and every
accumulator must agree exactly, and a failure names the first quarter, the smallest uid
and the field where the engines part, with both values. The result tables must agree
too: counts exactly, every other number to 1e-9 relative. The reference's SME rules must
not come from the numba kernels.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.columns import QUARTERLY_COLUMNS
from sim.compare import load_window
from sim.config import scenario_from_dict
from sim.categories import SIZE_GROUPS
from sim.errors import SimError
from sim.kernels import layout as L
from sim.model import CreditMarket
from sim.quarters import quarter_label
from sim.reference.parity import run_both
from sim.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
AGENTS = 2_500
# 6 burn-in quarters from 2022Q3, reported 2024Q1-2025Q3: rate_cut's cuts (2024Q3, 2024Q4,
# 2025Q2), and the 2025Q1 changes of the others, with the pandemic shock and deferral
WINDOW = {"agents": AGENTS, "burn_in_quarters": 6, "end": "2025Q3"}
SCENARIOS = ("baseline", "rate_cut", "online_rules_tighter", "pandemic_deferral",
             "risk_compensation")
COUNT_COLUMNS = [name for name, (unit, _) in QUARTERLY_COLUMNS.items() if unit == "firms"]
KERNEL_MODULES = ("sim.kernels.operate", "sim.kernels.credit", "sim.kernels.choice",
                  "sim.kernels.screening", "sim.kernels.ration", "sim.kernels.book",
                  "sim.kernels.seekers", "sim.kernels.defaults", "sim.kernels.birth",
                  "sim.kernels.debt", "sim.kernels.bitsets", "sim.kernels.groups",
                  "sim.kernels.informal")


def tallies(model) -> dict[str, float]:
    """The quarter's unweighted counts (every block and size stratum)."""
    groups = model.acc.group.sum(axis=0)[SIZE_GROUPS]   # the size groups cover every firm
    counts = {name: groups[..., metric].sum() for name, metric in (
        ("applications", L.GM_APPS), ("approvals", L.GM_APPROVALS),
        ("defaults", L.GM_DEFAULTS), ("exits", L.GM_EXITS))}
    counts["entries"] = model.acc.entry_groups[SIZE_GROUPS].sum()
    return counts


def assert_tables_agree(name: str, fast, reference) -> None:
    ours, theirs = fast.results(), reference.results()
    assert ours.meta["engine"] == "numba" and theirs.meta["engine"] == "reference"
    # the panel: the same sampled firms, field by field (a freed slot's values are NaN
    # in both, which the tolerance test below passes as equal)
    assert len(ours.panel) > 0 and ours.panel["present"].any(), name
    for table in ("quarterly", "lenders", "panel"):
        a, b = getattr(ours, table), getattr(theirs, table)
        assert list(a.columns) == list(b.columns) and len(a) == len(b), table
        for column in a.columns:
            x, y = a[column].to_numpy(), b[column].to_numpy()
            if x.dtype.kind not in "fiu":
                same = (x == y) | (pd.isna(x) & pd.isna(y))
                assert same.all(), f"{name}: {table}.{column} differs"
                continue
            x, y = x.astype(float), y.astype(float)
            if table == "quarterly" and column in COUNT_COLUMNS:
                bad = x != y
            else:
                bad = np.abs(x - y) > 1e-9 * np.maximum(np.abs(x), np.abs(y))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                pytest.fail(f"{name}: {table}.{column} in {a['quarter'].iloc[row]}: "
                            f"numba {x[row]!r} vs reference {y[row]!r}")


@pytest.mark.parametrize("name", SCENARIOS)
def test_engines_agree_firm_by_firm(name):
    scenario = load_window(ROOT / "scenarios" / f"{name}.toml", **WINDOW)
    seen = []

    def compare_counts(fast, reference, quarter):
        ours, theirs = tallies(fast), tallies(reference)
        assert ours == theirs, f"{name}, {quarter_label(quarter)}: {ours} vs {theirs}"
        seen.append(ours)

    fast, reference, parting = run_both(scenario, after_quarter=compare_counts)
    assert parting is None, f"{name}: {parting}"
    assert len(seen) == 6 + 7
    assert sum(q["applications"] for q in seen) > 0 and sum(q["defaults"] for q in seen) > 0
    assert sum(q["entries"] for q in seen) > 0 and sum(q["exits"] for q in seen) > 0
    assert_tables_agree(name, fast, reference)


def test_engines_agree_when_lenders_are_resolved():
    """A higher minimum capital ratio fails weak banks: their loans pass to an acquirer."""
    raw = {"run": {"agents": 2_000, "burn_in_quarters": 0, "start": "2024Q1",
                   "end": "2024Q3"},
           "change": [{"at": "2024Q2", "set": {"banking.min_car": 0.13}}]}
    transfers = []
    fast, reference, parting = run_both(
        scenario_from_dict(raw, "resolution"),
        after_quarter=lambda fast, reference, quarter: transfers.extend(
            reference.market.transfers))
    assert parting is None, str(parting)
    assert transfers, "no lender was resolved: the test no longer tests the hand-over"
    assert_tables_agree("resolution", fast, reference)


def test_engines_agree_with_informal_debt_and_offered_credit_lines():
    """Informal debt that firms refinance and add to in a shortfall, and credit lines
    banks offer non-borrowers, at intensities that make every path frequent."""
    raw = {"run": {"agents": 2_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2024Q4"},
           "firms": {"informal": {"shortfall_share": 0.8}},
           "credit": {"outreach": {"scale": 0.6, "min_digital": 0.2}}}
    flows = []
    fast, reference, parting = run_both(
        scenario_from_dict(raw, "informal"),
        after_quarter=lambda fast, reference, quarter: flows.append(
            fast.acc.group.sum(axis=0)[SIZE_GROUPS].sum(axis=(0, 1))))
    assert parting is None, str(parting)
    total = np.sum(flows, axis=0)
    assert total[L.GM_OFFERS] > 0 and total[L.GM_INFORMAL_REFI] > 0
    assert total[L.GM_INFORMAL_NEW] > 0
    assert_tables_agree("informal", fast, reference)


def test_engines_agree_when_bad_loans_stay_a_fraction_of_a_quarter_longer():
    """A mean write-off period of 2.5 quarters: half the bad loans are written off after
    two quarters, the others a quarter later, by the same draw in both engines."""
    raw = {"run": {"agents": 2_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2024Q4"},
           "credit": {"writeoff_quarters": 2.5}}
    fast, reference, parting = run_both(scenario_from_dict(raw, "writeoff"))
    assert parting is None, str(parting)
    assert_tables_agree("writeoff", fast, reference)
    # the draw is taken: bad loans stay between two and three quarters
    npl = {}
    for mean in (2.0, 3.0):
        other = CreditMarket(scenario_from_dict({**raw, "credit": {"writeoff_quarters": mean}},
                                                "writeoff"))
        other.run_all()
        npl[mean] = other.results().quarterly["npl_ratio_bank"].mean()
    ours = fast.results().quarterly["npl_ratio_bank"].mean()
    assert npl[2.0] < ours < npl[3.0]


def test_engines_agree_when_the_population_outgrows_its_slots():
    raw = {"run": {"agents": 2_000, "burn_in_quarters": 2, "start": "2024Q1",
                   "end": "2024Q2"},
           "population": {"capacity_factor": 1.0}}
    fast, reference, parting = run_both(scenario_from_dict(raw, "growth"))
    assert parting is None, str(parting)
    assert fast.sme.capacity > 2_000 and reference.sme.capacity > 2_000
    assert_tables_agree("growth", fast, reference)


def test_a_difference_is_reported_with_quarter_uid_and_field(monkeypatch):
    """A deliberate slip in the reference (firm 7 loses 1e-9 万元 in its second quarter)
    is caught where it happens."""
    from sim.reference.sme import SME

    demand = SME.demand
    second = Scenario().run.start

    def slip(self, fp):
        demand(self, fp)
        if self.uid == 7 and quarter_label(fp.quarter) == second:
            self.cash -= 1e-9

    monkeypatch.setattr(SME, "demand", slip)
    raw = {"run": {"agents": 1_000, "burn_in_quarters": 1, "end": "2024Q2"}}
    _, _, parting = run_both(scenario_from_dict(raw, "slip"))
    assert parting is not None and quarter_label(parting.quarter) == second
    assert f"the engines part in {second}: uid 7: cash " in str(parting), str(parting)


# ---------------------------------------------------------------- independence


def test_reference_code_imports_no_kernel():
    """No module of sim/reference imports the numba kernels that hold the SME rules."""
    for path in sorted((ROOT / "sim" / "reference").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                names = [module] + [f"{module}.{alias.name}" for alias in node.names]
            else:
                continue
            bad = [n for n in names if n.startswith(KERNEL_MODULES)]
            assert not bad, f"{path.name} imports {bad}"


def test_reference_rules_load_without_the_kernels():
    code = ("import sys, sim.reference.sme, sim.reference.birth, sim.reference.loans, "
            "sim.reference.credit, sim.reference.draws; "
            f"print([m for m in {KERNEL_MODULES!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_reference_engine_calls_no_kernel(monkeypatch):
    """The inherited quarter never reaches a kernel: each one raises if called."""
    import sim.engines.numba_engine

    def forbidden(*args, **kwargs):
        raise AssertionError("the reference engine called a numba kernel")

    for name in ("init_firms", "count_stocks", "firms_quarter", "list_seekers",
                 "choose_and_screen", "ration", "book", "defaults_and_count",
                 "find_free_slots", "count_entrants", "keep_seeking"):
        monkeypatch.setattr(sim.engines.numba_engine, name, forbidden)
    model = CreditMarket(scenario_from_dict(
        {"run": {"agents": 1_000, "burn_in_quarters": 1, "end": "2024Q1"}}, "small"),
        engine="reference")
    model.run_all()
    assert model.results().quarterly["applications"].iloc[0] > 0


# ---------------------------------------------------------------- wiring


def test_reference_refuses_a_large_population():
    from sim.reference import MAX_AGENTS

    scenario = scenario_from_dict({"run": {"agents": MAX_AGENTS + 1}}, "large")
    with pytest.raises(SimError, match="reference engine"):
        CreditMarket(scenario, engine="reference")


def test_sim_run_engine_flag(tmp_path):
    from sim.cli import main

    path = tmp_path / "small.toml"
    path.write_text('[run]\nagents = 1000\nburn_in_quarters = 0\nend = "2024Q1"\n',
                    encoding="utf-8")
    out = tmp_path / "run"
    assert main(["run", str(path), "--engine", "reference", "--out", str(out),
                 "--quiet"]) == 0
    meta = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert meta["engine"] == "reference" and meta["scenario"]["run"]["engine"] == "reference"
    assert main(["run", str(path), "--engine", "reference", "--agents", "300000",
                 "--quiet"]) == 2
