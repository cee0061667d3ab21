"""Measure the calibration point a start-year state is scaled from (``start_state.REFERENCE``).

The start-year state (:mod:`sim.start_state`) sets the parameters behind the stocks that
emerge in the model by their ratio to what the baseline (``scenarios/baseline.toml``,
whose behavioural parameters every start year uses) makes in its first reported
quarter. Those figures change whenever the calibration changes, so they are
measured here, the same way every time::

    python -m sim.start_reference                 # 100,000 agents, seed 20240101
    python -m sim.start_reference --agents 200000

prints the dictionary to paste into ``sim/start_state.py``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from sim.categories import CH_BANK, LOAN_PERFORMING, SIZES

DEFAULT_AGENTS = 100_000
DEFAULT_SEED = 20240101
# The year end whose non-bank lenders, in proportion to the bank book, the reference has,
# and the bank book they are set against (亿元): the reference's own, rounded, and fixed
# here so that a measurement does not feed the next one.
REFERENCE_FACTS_YEAR = 2018
REFERENCE_BANK_BOOK_YI = 344_000.0
BASELINE = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.toml"


def _first_quarter(agents: int, seed: int, propensity_factor: float = 1.0):
    """The model after the baseline's first reported quarter (its behaviour, estimated
    or set, is what start years forecast with), with the market of a start before 2019
    (:mod:`sim.start_market`) and the borrowing propensity times ``propensity_factor``."""
    from sim.config import load_scenario
    from sim.model import CreditMarket
    from sim.start_market import set_pre_2019_practice, set_year_end_market
    from sim.start_state import year_end_state

    scenario = load_scenario(BASELINE, agents=agents, seed=seed)
    scenario.run.end = scenario.run.start
    # measured with the banks' practice, the online rules and the non-bank lenders a
    # start before 2019 has, so that the ratios the start state takes compare like with
    # like (credit lines offered unasked add bank borrowers that no borrowing propensity
    # accounts for; high-rate non-bank lenders send firms to banks): the non-banks are as
    # large beside the bank book as at end-2018
    set_pre_2019_practice(scenario, [])
    facts = {k: d["value"] for k, d in year_end_state(REFERENCE_FACTS_YEAR).items()}
    scale = REFERENCE_BANK_BOOK_YI / facts["bank_sme_loans_yi"]
    set_year_end_market(scenario, [], facts["p2p_outstanding_yi"] * scale,
                        facts["small_loan_company_loans_yi"] * scale)
    scenario.firms.borrowing_propensity *= propensity_factor
    model = CreditMarket(scenario)
    model.run_all()
    return scenario, model


def measure(agents: int = DEFAULT_AGENTS, seed: int = DEFAULT_SEED,
            propensity_step: float = 0.8) -> dict:
    """The baseline's first reported quarter, with banks' outreach as before
    2019 (``credit.outreach.scale_before_2019_factor``): firms alive per firm represented,
    bank borrowers and bank loans (亿元) per firm represented by size, and the national
    bank borrowers, bank loans and banks' new-loan rate; and how bank borrowers and bank
    loans respond to the borrowing propensity (the elasticity between the propensity and
    ``propensity_step`` times it, same seed)."""
    scenario, model = _first_quarter(agents, seed)
    _, stepped = _first_quarter(agents, seed, propensity_step)
    pop = model.sme.pop
    alive = pop.alive.astype(bool)
    size = pop.size
    represented = np.array([getattr(scenario.population.represented, s) for s in SIZES])
    bank_loan = (pop.loan_status == LOAN_PERFORMING) & (pop.loan_channel == CH_BANK)
    bank_principal = np.where(bank_loan, pop.loan_principal, 0.0).sum(axis=1)
    borrower = alive & bank_loan.any(axis=1)
    borrowers, loans = [], []
    for s in range(len(SIZES)):
        in_size = size == s
        borrowers.append(model.weights[s] * borrower[in_size].sum() / represented[s])
        loans.append(model.yi_per_wan[s] * bank_principal[alive & in_size].sum()
                     / represented[s])
    q = model.results().quarterly.iloc[0]
    q_stepped = stepped.results().quarterly.iloc[0]
    def elasticity(column: str) -> float:
        return float(np.log(q_stepped[column] / q[column]) / np.log(propensity_step))
    return {
        "sme_alive_per_represented": round(float(q["sme_alive"] / represented.sum()), 5),
        "borrowers_bank_per_represented": tuple(round(float(x), 5) for x in borrowers),
        "loan_balance_bank_per_represented_yi": tuple(float(f"{x:.5g}") for x in loans),
        "borrowers_bank": float(f"{q['borrowers_bank']:.5g}"),
        "loan_balance_bank_yi": round(float(q["loan_balance_bank"]), 1),
        "avg_rate_new_bank": round(float(q["avg_rate_new_bank"]), 4),
        "borrowers_propensity_elasticity": round(elasticity("borrowers_bank"), 4),
        "loans_propensity_elasticity": round(elasticity("loan_balance_bank"), 4),
        "burn_in_quarters": scenario.run.burn_in_quarters,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=DEFAULT_AGENTS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for key, value in measure(args.agents, args.seed).items():
        print(f"    {key!r}: {value!r},")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
