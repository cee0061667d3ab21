"""The start-year state: a run starting in 2016Q1–2019Q1 begins from the market at the end
of the previous year, built from the year-end facts in ``sim/data/year_end_facts.toml``.

Which starts are allowed
    * 2016Q1–2019Q1: the scenario's starting-state parameters are derived from the facts
      of the year before the start (:func:`apply`);
    * 2019Q2–2023Q4: refused (:func:`refusal`): the facts file ends with 2018 and the
      defaults describe 2024, so no state can be built for these starts;
    * any other start (2024Q1 and later, and before 2016) runs on the scenario as given.

How the state is built (documented in docs/ODD.md, Initialisation and Input data)
    1. Each fact quantity is read at the end of year X = start year − 1: a fact dated that
       day is taken as it is; otherwise the value is interpolated log-linearly in time
       between the two nearest dated facts, or extrapolated at the growth rate of the two
       nearest (:meth:`Facts.at_year_end`). Every value used is recorded with the facts
       behind it and the method (run.json, ``start_state``).
    2. Quantities the model sets directly are copied (policy rate, RRR, banks' overall NPL
       ratio, bank assets by type, represented firms).
    3. Stocks that emerge in the model — the bank SME loan book and the number of firms
       with a bank loan — are set through the parameters that drive them, by ratio to the
       2024 calibration (:data:`REFERENCE`, measured by ``python -m sim.start_reference``
       on the baseline (its behaviour) with the market a start before 2019 has: banks' pre-2019
       outreach and write-off pace, the online rules before 2020, and P2P platforms and
       small-loan companies in proportion to the bank book, :mod:`sim.start_market`):
       borrowing propensity × ((bank borrowers, year X) ÷ (what the reference makes of the
       year's firms, size by size)) ^ (1 ÷ the elasticity of bank borrowers to the
       propensity, measured on the reference); firms' revenue (median by size) × (bank
       loans, year X) ÷ (the same for loans, times the propensity factor to the loans'
       elasticity); bank margins by
       the gap of the year's new-loan rate to the reference net of the funding-cost
       change. Nothing is rescaled
       after the burn-in: the reported first quarter is what the model makes of these
       parameters.
    4. The online rules in force before 2020 and the year's P2P platforms and small-loan
       companies (from the facts) are set as the reference has them
       (:func:`sim.start_market.set_year_end_market`).
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from sim.categories import (
    BANK_TYPES, CH_ONLINE, DIGITAL_BANK_KINDS, NONBANK_KINDS, PLATFORM_CHANNEL, PLATFORM_KINDS,
)
from sim.quarters import parse_quarter
from sim.start_market import set_parameter as _set
from sim.start_market import set_pre_2019_practice, set_year_end_market

FACTS_PATH = Path(__file__).resolve().parent / "data" / "year_end_facts.toml"
FIRST_START, LAST_START = "2016Q1", "2019Q1"
REFUSED_FROM, REFUSED_TO = "2019Q2", "2023Q4"

# The default scenario (2024Q1 start, 16 burn-in quarters) in its first reported quarter,
# measured with ``python -m sim.start_reference`` (100,000 agents, seed 20240101): the
# calibration point the start-year state is scaled from, with banks' outreach and write-off
# pace, the online rules and the non-bank lenders (in proportion to the bank book) as a
# start before 2019 has them (sim/start_market.py; the reference is not the baseline's own
# 2024Q1). Re-measure when the calibration changes.
# Per size (individual, micro, small), per firm represented at the start of the burn-in.
REFERENCE = {
    "sme_alive_per_represented": 1.1952,  # firms alive in 2024Q1 ÷ firms represented
    "borrowers_bank_per_represented": (0.29355, 0.42554, 0.65924),  # bank borrowers, 2024Q1
    "loan_balance_bank_per_represented_yi": (0.00029834, 0.002218, 0.050241),  # 亿元
    "borrowers_bank": 37.683e6,            # firms with a performing bank loan, 2024Q1
    "loan_balance_bank_yi": 348973.7,      # 亿元, bank SME loans, 2024Q1
    "avg_rate_new_bank": 0.0485,           # annual rate on banks' new SME loans, 2024Q1
    "borrowers_propensity_elasticity": 0.7055,  # d log bank borrowers / d log propensity
    "loans_propensity_elasticity": 0.766,    # d log bank loans / d log propensity
    "burn_in_quarters": 16,
}


class StartStateError(ValueError):
    """A start that cannot be built from the facts."""


def refusal(start: str) -> str | None:
    """Why ``start`` is refused, or None if it is allowed."""
    q = parse_quarter(start)
    if parse_quarter(REFUSED_FROM) <= q <= parse_quarter(REFUSED_TO):
        return (f"starts {REFUSED_FROM}–{REFUSED_TO} are not allowed: the year-end facts "
                f"(sim/data/year_end_facts.toml) end with 2018 and the defaults describe "
                f"2024, so no starting state exists for them; use {FIRST_START}–"
                f"{LAST_START} (built from the facts of the year before) or 2024Q1 or later")
    return None


def applies(start: str) -> bool:
    """Whether a run starting at ``start`` begins from the year-end facts."""
    return parse_quarter(FIRST_START) <= parse_quarter(start) <= parse_quarter(LAST_START)


# ---------------------------------------------------------------- the facts
class Facts:
    """The year-end facts, read at any year end."""

    def __init__(self, records: list[dict]):
        self.records = records

    def series(self, quantity: str, definition: str | None = None) -> list[dict]:
        """The facts of ``quantity`` (whose definition contains ``definition``), by date."""
        found = [r for r in self.records if r["quantity"] == quantity
                 and (definition is None or definition in r.get("definition", ""))]
        return sorted(found, key=lambda r: str(r["date"]))

    def in_year(self, quantity: str, year: int, definition: str | None = None) -> dict | None:
        """The fact recorded for ``year`` (its ``year`` field), if any."""
        found = [r for r in self.series(quantity, definition) if r["year"] == year]
        return found[-1] if found else None

    def at_year_end(self, quantity: str, year: int, definition: str | None = None) -> dict:
        """The value of ``quantity`` on 31 December of ``year``, with how it was found."""
        day = dt.date(year, 12, 31)
        series = self.series(quantity, definition)
        if not series:
            raise StartStateError(f"no fact '{quantity}' in {FACTS_PATH.name}")
        dated = [(_date(r), r) for r in series]
        exact = [r for d, r in dated if d == day]
        if exact:
            return _used(quantity, exact[-1]["value"], "as recorded", exact[-1:])
        before = [(d, r) for d, r in dated if d < day]
        after = [(d, r) for d, r in dated if d > day]
        if before and after:
            pair = [before[-1], after[0]]
            method = "interpolated log-linearly in time"
        elif len(dated) >= 2:
            pair = before[-2:] if before else after[:2]
            method = "extrapolated at the growth rate of the two nearest facts"
        else:
            only = dated[0][1]
            return _used(quantity, only["value"], f"held from {only['date']}", [only])
        (d0, r0), (d1, r1) = pair
        years = lambda a, b: (b - a).days / 365.25  # noqa: E731
        v0, v1 = float(r0["value"]), float(r1["value"])
        if d0 == d1:
            value = v1
        else:
            value = v0 * (v1 / v0) ** (years(d0, day) / years(d0, d1))
        return _used(quantity, value, method, [r0, r1])


def _date(record: dict) -> dt.date:
    value = record["date"]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _used(quantity: str, value: float, method: str, records: list[dict]) -> dict:
    return {"quantity": quantity, "value": float(value), "method": method,
            "facts": [{k: (str(r[k]) if k == "date" else r[k])
                       for k in ("year", "value", "unit", "date", "status", "source")
                       if k in r} for r in records]}


@lru_cache(maxsize=1)
def load_facts() -> Facts:
    """The facts file shipped with the package."""
    with FACTS_PATH.open("rb") as handle:
        raw = tomllib.load(handle)
    records = raw.get("fact", [])
    for r in records:
        if int(r["year"]) > 2018:
            raise StartStateError(f"{FACTS_PATH.name}: a fact for {r['year']}: the file holds "
                                  "2015–2018 only")
    return Facts(records)


# ---------------------------------------------------------------- the mapping
def year_end_state(year: int, facts: Facts | None = None) -> dict[str, dict]:
    """The year-end market of ``year`` (2015–2018) in the model's quantities, each with the
    facts it comes from. Money in 亿元, counts in firms, rates and ratios as fractions."""
    f = facts or load_facts()
    s: dict[str, dict] = {}

    def derived(name: str, value: float, how: str, parts: list[dict]) -> None:
        s[name] = {"quantity": name, "value": float(value), "method": how,
                   "from": [p["quantity"] + f" = {p['value']:.6g} ({p['method']})"
                            for p in parts],
                   "facts": [x for p in parts for x in p["facts"]]}

    # firms: registered individual businesses and small and micro enterprises, 万户 → firms
    entities = f.at_year_end("market_entities", year)
    enterprises = f.at_year_end("enterprises", year)
    direct = f.in_year("individual_businesses", year)
    if direct is not None:
        individual = _used("individual_businesses", direct["value"], "as recorded "
                           f"(dated {direct['date']})", [direct])
        derived("individual_businesses", 1e4 * individual["value"], "the year's count",
                [individual])
    else:
        derived("individual_businesses", 1e4 * (entities["value"] - enterprises["value"]),
                "market entities − enterprises (farmers' co-operatives, ~2%, included)",
                [entities, enterprises])
    registry = f.series("small_micro_enterprises")[-1]
    at_registry = f.at_year_end("enterprises", _date(registry).year)
    # enterprises read on the registry's own date, for the small-micro share
    share_value = registry["value"] / _enterprises_on(f, _date(registry))
    share = _used("small_micro_share", share_value, f"small_micro_enterprises ÷ enterprises "
                  f"on {registry['date']}", [registry] + at_registry["facts"])
    derived("small_micro_enterprises", 1e4 * enterprises["value"] * share["value"],
            "enterprises × small-micro share of the SAIC registry", [enterprises, share])
    # bank SME loans and borrowers, PBoC inclusive measure
    loans = f.at_year_end("inclusive_sme_loans", year)
    derived("bank_sme_loans_yi", 1e4 * loans["value"], "万亿元 → 亿元", [loans])
    counted = f.in_year("inclusive_borrowers", year)
    if counted is not None:
        borrowers = _used("inclusive_borrowers", counted["value"], "as recorded", [counted])
        derived("bank_borrowers", 1e4 * borrowers["value"], "万户 → firms", [borrowers])
    else:
        first = f.series("inclusive_borrowers")[0]
        base_loans = f.at_year_end("inclusive_sme_loans", int(first["year"]))
        b = _used("inclusive_borrowers", first["value"], "as recorded", [first])
        derived("bank_borrowers", 1e4 * first["value"] * loans["value"] / base_loans["value"],
                f"before the first count ({first['year']}): loans per borrower held at "
                f"that year's", [b, loans, base_loans])
    # rates
    bench = f.at_year_end("benchmark_lending_rate_1y", year)
    derived("policy_rate", bench["value"] / 100, "% → fraction", [bench])
    rate = f.in_year("inclusive_loan_rate_new", year, definition="all banks")
    if rate is not None:
        r = _used("inclusive_loan_rate_new", rate["value"], "as recorded", [rate])
        derived("bank_rate_new", r["value"] / 100, "% → fraction", [r])
    else:
        last = f.series("inclusive_loan_rate_new", definition="all banks")[-1]
        ly = int(last["year"])
        wavg = f.in_year("weighted_avg_lending_rate", year)
        ref_last = _used("inclusive_loan_rate_new", last["value"], "as recorded", [last])
        if wavg is not None:
            w = _used("weighted_avg_lending_rate", wavg["value"], "as recorded", [wavg])
            w_last = f.at_year_end("weighted_avg_lending_rate", ly)
            derived("bank_rate_new", (w["value"] + last["value"] - w_last["value"]) / 100,
                    f"weighted-average lending rate + its {ly} gap to the inclusive rate",
                    [w, ref_last, w_last])
        else:
            b_last = f.at_year_end("benchmark_lending_rate_1y", ly)
            derived("bank_rate_new", (bench["value"] + last["value"] - b_last["value"]) / 100,
                    f"benchmark rate + the {ly} gap of the inclusive rate to it",
                    [bench, ref_last, b_last])
    large = f.at_year_end("rrr_large_banks", year)
    small_fact = f.in_year("rrr_small_medium_banks", year)
    small_last = f.series("rrr_small_medium_banks")[-1]
    gap = float(f.at_year_end("rrr_large_banks", int(small_last["year"]))["value"]
                - small_last["value"])
    small_value = small_fact["value"] if small_fact else large["value"] - gap
    total = f.at_year_end("banking_assets_total", year)
    big = f.at_year_end("banking_assets_large", year)
    joint = f.at_year_end("banking_assets_joint_stock", year)
    w_big = (big["value"] + joint["value"]) / total["value"]
    derived("rrr", (w_big * large["value"] + (1 - w_big) * small_value) / 100,
            f"asset-weighted: large and joint-stock banks at the large-bank ratio, the rest "
            f"at the small-bank ratio ({'as recorded' if small_fact else f'large − {gap:g}pp'})",
            [large, total, big, joint] + ([_used('rrr_small_medium_banks', small_value,
                                                 'as recorded', [small_fact])]
                                          if small_fact else []))
    derived("assets_large_yi", 1e4 * big["value"], "万亿元 → 亿元", [big])
    derived("assets_joint_stock_yi", 1e4 * joint["value"], "万亿元 → 亿元", [joint])
    npl = f.at_year_end("bank_npl_ratio", year)
    derived("bank_npl_ratio", npl["value"] / 100, "% → fraction", [npl])
    sme_npl = [r for r in f.series("sme_npl_ratio") if r["year"] == year
               and "CBIRC inclusive" in r.get("definition", "")]
    if sme_npl:
        derived("sme_npl_ratio", sme_npl[-1]["value"] / 100, "% → fraction (not a parameter: "
                "the model's NPL emerges; checked against it)",
                [_used("sme_npl_ratio", sme_npl[-1]["value"], "as recorded", sme_npl[-1:])])
    gdp = f.in_year("gdp_nominal", year)
    gdp_before = f.in_year("gdp_nominal", year - 1)
    if gdp is not None and gdp_before is not None:
        derived("gdp_growth_nominal", gdp["value"] / gdp_before["value"] - 1,
                "nominal GDP of the year ÷ the year before − 1; recorded only: "
                "macro.gdp_growth_annual is the path after the start, left as the scenario "
                "sets it",
                [_used("gdp_nominal", gdp["value"], "as recorded", [gdp]),
                 _used("gdp_nominal", gdp_before["value"], "as recorded", [gdp_before])])
    else:
        real = f.at_year_end("gdp_real_growth", year)
        derived("gdp_growth_nominal", real["value"] / 100, "real growth (no nominal GDP for "
                "the year before in the facts); recorded only", [real])
    relend = f.in_year("relending_quota_added_small", year)
    derived("relending_quota_yi", relend["value"] if relend else 0.0,
            "quota added in the year (no outstanding balance in the facts; 0 when none is "
            "recorded)", [_used("relending_quota_added_small", relend["value"],
                                "as recorded", [relend])] if relend else [])
    # the non-bank lenders of the starting state (sim/start_market.py) need both
    for q in ("p2p_outstanding", "small_loan_company_loans"):
        v = f.at_year_end(q, year)
        derived(q + "_yi", v["value"], "as recorded: sets the non-bank lenders", [v])
    return s


def _enterprises_on(f: Facts, day: dt.date) -> float:
    """Registered enterprises (万户) on ``day``, read like :meth:`Facts.at_year_end`."""
    series = [(_date(r), float(r["value"])) for r in f.series("enterprises")]
    before = [x for x in series if x[0] <= day]
    after = [x for x in series if x[0] > day]
    (d0, v0), (d1, v1) = (before[-1], after[0]) if before and after else \
        (series[-2], series[-1])
    return v0 * (v1 / v0) ** ((day - d0).days / (d1 - d0).days)


def apply(scenario, reference: dict | None = None) -> tuple[Any, dict]:
    """A copy of ``scenario`` set to the market at the end of the year before its start,
    and the record of what was used (for run.json). ``scenario`` must start in
    2016Q1–2019Q1."""
    ref = dict(REFERENCE if reference is None else reference)
    start = scenario.run.start
    if not applies(start):
        raise StartStateError(f"run.start {start} is not built from year-end facts")
    year = parse_quarter(start) // 4 - 1
    state = year_end_state(year)
    out = scenario.model_copy(deep=True)
    changed: list[dict] = []
    v = {k: d["value"] for k, d in state.items()}
    burn_in = out.run.burn_in_quarters
    # firms: the count at the first reported quarter is the facts' count, so the burn-in's
    # growth (measured on the reference, pro rata to the burn-in length) is taken out
    growth = ref["sme_alive_per_represented"] ** (burn_in / ref["burn_in_quarters"])
    rep = out.population.represented
    default_ent = rep.micro + rep.small
    firms = v["individual_businesses"] + v["small_micro_enterprises"]
    _set(changed, out, "population.represented.individual",
         v["individual_businesses"] / growth)
    _set(changed, out, "population.represented.micro",
         v["small_micro_enterprises"] * rep.micro / default_ent / growth)
    _set(changed, out, "population.represented.small",
         v["small_micro_enterprises"] * rep.small / default_ent / growth)
    # policy in force at the year end
    cb, banking = out.policy.central_bank, out.policy.banking
    lpr_ref, beta, rrr_ref = cb.lpr_1y_annual, cb.funding_beta, cb.rrr
    two_ref = banking.two_increases
    _set(changed, out, "policy.central_bank.lpr_1y_annual", round(v["policy_rate"], 6))
    _set(changed, out, "firms.invest_reference_rate_annual", round(v["policy_rate"], 6))
    _set(changed, out, "policy.central_bank.rrr", round(v["rrr"], 6))
    _set(changed, out, "policy.central_bank.relending_quota_yi", v["relending_quota_yi"])
    _set(changed, out, "policy.central_bank.inclusive_incentive_rate", 0.0)
    _set(changed, out, "policy.banking.two_increases", year >= 2018)
    _set(changed, out, "policy.banking.overall_npl", round(v["bank_npl_ratio"], 6))
    # banks: the large and joint-stock types at their year-end assets, the local banks
    # grown with them
    large_ratio = v["assets_large_yi"] / out.banks.large_state.total_assets_yi
    joint_ratio = v["assets_joint_stock_yi"] / out.banks.joint_stock.total_assets_yi
    both = (v["assets_large_yi"] + v["assets_joint_stock_yi"]) / (
        out.banks.large_state.total_assets_yi + out.banks.joint_stock.total_assets_yi)
    for kind, ratio in (("large_state", large_ratio), ("joint_stock", joint_ratio),
                        ("city_commercial", both), ("rural", both)):
        bank = getattr(out.banks, kind)
        _set(changed, out, f"banks.{kind}.total_assets_yi", bank.total_assets_yi * ratio)
    # the liquidity buffers beyond required reserves are calibrated at the reference RRR
    # so that small banks lend close to their limit (docs/calibration.md); at the year's
    # RRR the required-plus-buffer share of deposits is held where it was, so that the
    # RRR acts on funding costs and not by shutting every bank out of new lending
    rrr_gap = out.policy.central_bank.rrr - rrr_ref
    for kind in BANK_TYPES:
        bank = getattr(out.banks, kind)
        _set(changed, out, f"banks.{kind}.liquidity_buffer",
             round(max(0.0, bank.liquidity_buffer - rrr_gap), 6))
    # emerging stocks, by ratio to the reference: the reference's bank borrowers and bank
    # loans per represented firm of each size, times the year's firms of that size, give
    # what the reference parameters would make of the year's population; the borrowing
    # propensity scales borrowers, and loans per borrower scale with firms' revenue (cash,
    # collateral, debt targets and requests are all in proportion to it; debt targets
    # are left alone, as a gap below firms.working_gap_min_quarters is never borrowed and
    # would cut borrowers instead)
    represented = [out.population.represented.individual, out.population.represented.micro,
                   out.population.represented.small]
    borrowers_hat = sum(n * b for n, b in zip(represented,
                                              ref["borrowers_bank_per_represented"]))
    loans_hat = sum(n * x for n, x in zip(represented,
                                          ref["loan_balance_bank_per_represented_yi"]))
    # bank borrowers move less than in proportion to the propensity (some would-be
    # borrowers are rationed or discouraged): the elasticity measured on the reference
    borrower_ratio = v["bank_borrowers"] / borrowers_hat
    propensity_factor = borrower_ratio ** (1.0 / ref["borrowers_propensity_elasticity"])
    loan_ratio = v["bank_sme_loans_yi"] / (
        loans_hat * propensity_factor ** ref["loans_propensity_elasticity"])
    _set(changed, out, "firms.borrowing_propensity",
         min(1.0, out.firms.borrowing_propensity * propensity_factor))
    for size in ("individual", "micro", "small"):
        _set(changed, out, f"population.revenue_median.{size}",
             getattr(out.population.revenue_median, size) * loan_ratio)
    # ... and so do the other per-firm sums in 万元, so that the money unit changes and
    # nothing else: the fixed cost of a loan, the smallest loan, the online per-firm cap,
    # the online lenders' product ceilings, the smallest equity round and the largest
    # VAT-exempt small loan
    _set(changed, out, "credit.min_loan_wan", out.credit.min_loan_wan * loan_ratio)
    _set(changed, out, "channels.equity_min_wan", out.channels.equity_min_wan * loan_ratio)
    # core firms' payables follow anchored firms' revenue, so receivables stay as many
    # quarters of revenue
    _set(changed, out, "channels.core_payables_yi",
         out.channels.core_payables_yi * loan_ratio)
    _set(changed, out, "policy.banking.online_per_firm_cap_wan",
         out.policy.banking.online_per_firm_cap_wan * loan_ratio)
    _set(changed, out, "policy.fiscal.vat_exempt_max_wan",
         out.policy.fiscal.vat_exempt_max_wan * loan_ratio)
    for section, kinds in (("banks", BANK_TYPES + DIGITAL_BANK_KINDS),
                           ("platforms", PLATFORM_KINDS + NONBANK_KINDS)):
        for kind in kinds:
            table = getattr(getattr(out, section), kind)
            _set(changed, out, f"{section}.{kind}.op_cost_fixed_wan",
                 table.op_cost_fixed_wan * loan_ratio)
            if kind in DIGITAL_BANK_KINDS or PLATFORM_CHANNEL.get(kind) == CH_ONLINE:
                _set(changed, out, f"{section}.{kind}.max_loan_wan",
                     table.max_loan_wan * loan_ratio)
    # informal debt: the reference's stock (firms.informal.stock_2024_yi) scales with the
    # firms represented and their revenue; the per-firm multiple carries the rest of the
    # gap to the end-2018 stock (firms.informal.stock_2018_yi)
    informal = out.firms.informal
    default_rep = type(out.population.represented)()
    stock_hat = informal.stock_2024_yi * loan_ratio * sum(represented) / (
        default_rep.individual + default_rep.micro + default_rep.small)
    if stock_hat > 0:
        for size in ("individual", "micro", "small"):
            _set(changed, out, f"firms.informal.revenue_multiple.{size}",
                 getattr(informal.revenue_multiple, size) * informal.stock_2018_yi / stock_hat)
    set_pre_2019_practice(out, changed)
    # the online rules before 2020 and the year's P2P platforms and small-loan companies,
    # at their size in the facts (the reference has them in the same proportion to its
    # bank book)
    set_year_end_market(out, changed, v["p2p_outstanding_yi"],
                        v["small_loan_company_loans_yi"])
    # platforms: capital in proportion to the bank book, so that the online channel is as
    # large beside the banks as in the reference; crowd and equity investors' funds follow
    # nominal GDP or their own growth back from the base year (channels.pool_base_year)
    book_ratio = v["bank_sme_loans_yi"] / ref["loan_balance_bank_yi"]
    for kind in PLATFORM_KINDS:
        platform = getattr(out.platforms, kind)
        _set(changed, out, f"platforms.{kind}.net_assets_yi",
             platform.net_assets_yi * book_ratio)
    # prices: banks' margins carry the gap of the year's new-loan rate to the reference
    # that the funding cost (beta × policy rate) does not
    gap = (v["bank_rate_new"] - ref["avg_rate_new_bank"]) - beta * (v["policy_rate"] - lpr_ref)
    f_ref = banking.two_increases_margin_factor if two_ref else 1.0
    f_new = banking.two_increases_margin_factor if out.policy.banking.two_increases else 1.0
    for kind in BANK_TYPES:
        bank = getattr(out.banks, kind)
        margin = bank.margin_annual
        _set(changed, out, f"banks.{kind}.margin_annual",
             round(max(0.0, (gap + (f_ref - f_new) * margin) / f_new + margin), 6))
    _set(changed, out, "credit.starting_rate.bank", round(v["bank_rate_new"], 6))
    # firms' channel choice kept where the reference has it (bank share of SME credit
    # about the same, see above): the bank channel's constant offsets its rate gap
    _set(changed, out, "credit.channel_constant.bank", round(
        out.credit.channel_constant.bank + out.credit.rate_sensitivity
        * (v["bank_rate_new"] - ref["avg_rate_new_bank"]), 6))
    record = {
        "start": start, "facts_year": year, "facts_file": f"sim/data/{FACTS_PATH.name}",
        "targets_first_quarter": {
            "loan_balance_bank": v["bank_sme_loans_yi"], "borrowers_bank": v["bank_borrowers"],
            "sme_alive": firms, "avg_rate_new_bank": v["bank_rate_new"],
            **({"npl_ratio_bank": v["sme_npl_ratio"]} if "sme_npl_ratio" in v else {})},
        "reference": ref,
        "state": state,
        "parameters": changed,
    }
    return out, copy.deepcopy(record)

