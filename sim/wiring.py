"""Build the kernels' parameter bundles from the scenario and the lender agents.

Kept apart from the model so that what a kernel sees each quarter is in one place.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from sim.agents.regulators import DataRegulator, FiscalAuthority
from sim.categories import (
    ANCHOR_AFFINITY, CH_CROWDFUNDING, CH_EQUITY, CH_ONLINE, CHANNELS, DEBT_CHANNELS,
    N_RISK_BANDS, REGIONS, SECTORS, SIZES, STAGES,
)
from sim.diffusion import DiffusionSignals, no_signals
from sim.expectations import lender_kinds
from sim.kernels.params import CreditParams, FirmParams, LenderTable
from sim.outside_funds import NominalGdp, receivable_quarters
from sim.schema import Scenario


def _values(section, names) -> np.ndarray:
    return np.array([float(getattr(section, n)) for n in names])


def vat_exempt_rate(policy) -> float:
    """Highest annual rate of a bank loan whose interest is exempt from VAT; −1 (no loan
    qualifies) without the exemption."""
    fiscal = policy.fiscal
    if not fiscal.vat_exemption:
        return -1.0
    return fiscal.vat_exempt_rate_multiple * policy.central_bank.lpr_1y_annual


def bureau_coverage(params: Scenario, quarter: int, start_year: int) -> np.ndarray:
    """Share of firms of each size with a bureau file before any loan: the base coverage
    by size × the policy multiplier, grown by the coverage trend since 1 January of the
    reported start year (none during the burn-in)."""
    data = params.policy.data
    years = max(0.0, quarter / 4.0 - start_year)
    trend = (1.0 + data.bureau_coverage_growth_annual) ** years
    return np.minimum(1.0, _values(params.population.bureau_coverage, SIZES)
                      * data.bureau_coverage * trend)


def firm_params(params: Scenario, quarter: int, start_year: int, seed: int,
                shock_mult: np.ndarray, feedback_drag: float,
                seen: DiffusionSignals, outreach: float = 0.0,
                bank_rates: np.ndarray | None = None, tax_redraw: bool = True) -> FirmParams:
    """The quarter's firm parameters; ``outreach`` is the chance a visible non-borrower
    gets an unsolicited bank credit line (``LenderMarket.outreach``), ``bank_rates`` the
    bank rate firms expect by risk band (none before any is known: no offer is taken);
    ``tax_redraw`` whether every firm's tax file is drawn again (the coverage changed)."""
    pop, firms, macro, policy, credit = (params.population, params.firms, params.macro,
                                         params.policy, params.credit)
    growth = np.array([math.log1p(macro.gdp_growth_annual + getattr(macro.sector_growth, s))
                       / 4.0 for s in SECTORS]) - feedback_drag
    anchor_prob = np.minimum(1.0, pop.anchor_share * np.array(ANCHOR_AFFINITY))
    tr = firms.transitions
    lgd_secured = np.array([credit.lgd_secured, credit.lgd_unsecured, credit.lgd_receivable])
    lgd_unsecured = np.array([credit.lgd_unsecured, credit.lgd_unsecured, credit.lgd_receivable])
    return FirmParams(
        seed=seed, quarter=quarter, start_year=start_year,
        sector_cum=np.cumsum(_values(pop.sectors, SECTORS)),
        region_cum=np.cumsum(_values(pop.regions, REGIONS)),
        stage_cum=np.cumsum(_values(pop.stages, STAGES)),
        log_revenue_median_q=np.log(_values(pop.revenue_median, SIZES) / 4.0),
        revenue_log_sd=pop.revenue_log_sd,
        collateral_share=_values(pop.collateral_share, SIZES),
        collateral_to_revenue=pop.collateral_to_revenue,
        digital_mean=_values(pop.digital_mean, SIZES),
        entrant_digital_trend=firms.entrant_digital_trend_annual,
        borrowing_propensity=firms.borrowing_propensity,
        debt_target=_values(firms.debt_target, SIZES),
        debt_target_sd=firms.debt_target_sd,
        anchor_prob=anchor_prob, anchors=pop.anchors,
        initial_borrowers=_values(pop.initial_borrowers, SIZES),
        initial_quality_tilt=pop.initial_quality_tilt,
        initial_borrower_selection=pop.initial_borrower_selection,
        tilt_full_age=pop.quality_tilt_full_age_quarters,
        start_history_max=pop.start_history_max_quarters,
        start_bank_term=credit.bank_maturity, start_online_term=credit.online_maturity,
        entrant_revenue_gap=pop.entrant_revenue_gap,
        start_revenue_noise_sd=pop.start_revenue_noise_sd,
        start_cash_min=pop.start_cash_min, start_collateral_min=pop.start_collateral_min,
        entrant_collateral_factor=pop.entrant_collateral_factor, digital_sd=pop.digital_sd,
        propensity_base=firms.borrowing_propensity_base,
        propensity_size_step=firms.borrowing_propensity_size_step,
        startup_age=pop.startup_age_quarters,
        established_age_span=pop.established_age_span_quarters,
        start_online_min_digital=pop.start_online_min_digital,
        start_online_share=pop.start_online_share,
        mean_reversion=firms.mean_reversion_quarterly,
        vol_by_size=_values(firms.revenue_vol, SIZES),
        drift_by_stage=_values(firms.stage_drift, STAGES),
        growth_by_sector_q=growth,
        shock_mult=shock_mult,
        margin_by_size=_values(firms.margin, SIZES),
        margin_slope=firms.margin_quality_slope, margin_noise=firms.margin_noise_sd,
        shock_margin_loss=firms.shock_margin_loss,
        cash_buffer=firms.cash_buffer_quarters, owner_draw_share=firms.owner_draw_share,
        transitions=np.array([tr.startup_to_growth, tr.startup_to_stable, tr.growth_to_stable,
                              tr.stable_to_decline, tr.stable_to_growth, tr.decline_to_stable]),
        bureau_coverage=bureau_coverage(params, quarter, start_year),
        tax_coverage=policy.data.tax_data_coverage, tax_redraw=int(tax_redraw),
        digital_drift=firms.digital_drift_quarterly,
        digital_imitation=firms.digital_imitation_quarterly,
        digital_marketing=firms.platform_marketing_quarterly * seen.platform_capital_index,
        peer_digital=seen.peer_digital,
        deferral=int(policy.fiscal.deferral),
        deferral_interest=int(policy.fiscal.deferral and policy.fiscal.deferral_interest),
        deferral_revenue_gap=policy.fiscal.deferral_revenue_gap,
        deferral_repay_quarters=policy.fiscal.deferral_repay_quarters,
        renewal_share=policy.banking.renewal_share,
        renewal_min_history=policy.banking.renewal_min_history_quarters,
        subsidy_annual=policy.fiscal.interest_subsidy_annual,
        vat_exempt_rate=vat_exempt_rate(policy),
        vat_exempt_max_wan=policy.fiscal.vat_exempt_max_wan,
        guarantee_fee_annual=policy.fiscal.guarantee_fee_annual,
        guarantee_on=int(policy.fiscal.guarantee_coverage > 0),
        invest_prob=invest_probability(params),
        debt_appetite=debt_appetite(params),
        invest_size=firms.invest_size_quarters,
        working_gap_min=firms.working_gap_min_quarters,
        max_request=firms.max_request_quarters,
        informal_multiple=_values(firms.informal.revenue_multiple, SIZES),
        informal_entrant_factor=firms.informal.entrant_factor,
        informal_rate=firms.informal.rate_annual,
        informal_shortfall_share=firms.informal.shortfall_share,
        offer_prob=outreach,
        offer_min_digital=credit.outreach.min_digital,
        reservation_rate=credit.outreach.reservation_rate_annual,
        bank_rate_band=(np.full(N_RISK_BANDS, np.inf) if bank_rates is None
                        else np.array(bank_rates, dtype=np.float64)),
        exit_after_default=firms.exit_after_default,
        exit_hazard=_values(firms.exit_hazard, STAGES),
        writeoff_quarters=int(math.floor(credit.writeoff_quarters)),
        writeoff_extra=credit.writeoff_quarters - math.floor(credit.writeoff_quarters),
        lgd_by_channel_secured=lgd_secured, lgd_by_channel_unsecured=lgd_unsecured,
        lgd_verified=credit.lgd_verified, verified_share=policy.data.verified_receivables,
    )


def invest_probability(params: Scenario) -> np.ndarray:
    """Chance per quarter that a firm has a project it wants to finance, by stage.

    Loans are quoted as LPR + spread, so the benchmark rate is the cost of capital firms
    plan with: a lower LPR clears more projects' hurdle. At the reference rate the
    calibrated probabilities hold exactly.
    """
    firms = params.firms
    factor = _rate_factor(params, firms.invest_rate_sensitivity)
    return np.minimum(1.0, _values(firms.invest_probability, STAGES) * factor)


def _rate_factor(params: Scenario, sensitivity: float) -> float:
    """exp(−sensitivity × (LPR − the reference rate)): how much more firms want of
    something when the benchmark rate is below the one it was calibrated at; exactly 1
    at the reference."""
    gap = params.policy.central_bank.lpr_1y_annual - params.firms.invest_reference_rate_annual
    return math.exp(-sensitivity * gap) if gap != 0.0 else 1.0


def debt_appetite(params: Scenario) -> float:
    """Factor on firms' debt targets: cheaper credit (a benchmark rate below the
    reference) makes firms want more debt; 1 at the reference rate."""
    return _rate_factor(params, params.firms.debt_rate_sensitivity)


def bank_loss_share(params: Scenario) -> np.ndarray:
    """Share of a bank's SME loan loss borne by government, by firm size."""
    return FiscalAuthority.loss_share_of(params.policy.fiscal)


def credit_params(params: Scenario, quarter: int, seed: int, round_number: int,
                  expected_rate: np.ndarray, yi_per_wan: np.ndarray,
                  seen: DiffusionSignals | None = None,
                  gdp_level: float | None = None) -> CreditParams:
    """The credit round's parameters; ``gdp_level`` is nominal GDP against the base year
    (:class:`~sim.outside_funds.NominalGdp`; by default its level had the run started at
    ``quarter``)."""
    if seen is None:
        seen = no_signals()
    if gdp_level is None:
        gdp_level = NominalGdp(params, quarter).level
    credit, policy = params.credit, params.policy
    return CreditParams(
        seed=seed, quarter=quarter, round=round_number,
        last_round=int(round_number == credit.search_rounds - 1),
        discouraged_quarters=params.firms.discouraged_quarters,
        digital_sensitivity=credit.digital_sensitivity,
        online_trust=credit.online_trust,
        online_use=seen.online_use,
        coverage_sensitivity=credit.coverage_sensitivity,
        channel_weight=channel_weights(params, expected_rate),
        relationship_factor=math.exp(credit.relationship_bonus),
        mismatch_factor=math.exp(-credit.maturity_mismatch),
        online_limit_q=max(params.platforms.big_tech.per_firm_limit_quarters,
                           params.platforms.online_micro.per_firm_limit_quarters),
        score_slope=credit.score_slope,
        refresh_rho=credit.signal_refresh_sd,
        lgd_secured=credit.lgd_secured, lgd_unsecured=credit.lgd_unsecured,
        lgd_receivable=credit.lgd_receivable, lgd_verified=credit.lgd_verified,
        unsecured_limit_q=credit.unsecured_limit_quarters, collateral_ltv=credit.collateral_ltv,
        receivable_q=receivable_quarters(params, quarter, gdp_level),
        verified_advance=credit.verified_advance,
        history_full=credit.history_full_quarters,
        platform_history_weight=credit.platform_history_weight,
        min_loan_wan=credit.min_loan_wan,
        precision_bureau=credit.precision_bureau, precision_history=credit.precision_history,
        precision_collateral=credit.precision_collateral,
        precision_statements=credit.precision_statements,
        precision_bank_big_data=credit.precision_bank_big_data,
        precision_digital=credit.precision_digital, precision_trade=credit.precision_trade,
        precision_verified=credit.precision_verified,
        protection_loss=DataRegulator.protection_loss_of(credit, policy.data),
        bank_big_data=policy.data.bank_big_data,
        precision_tax=credit.precision_tax, tax_limit_share=credit.tax_limit_share,
        verified_share=policy.data.verified_receivables,
        bank_loss_share=bank_loss_share(params),
        valuation_years=credit.equity_valuation_years,
        **outside_stake_demand(params),
        maturity=np.array([credit.bank_maturity, credit.bank_term_maturity,
                           credit.online_maturity, credit.supply_chain_maturity],
                          dtype=np.int64),
        online_cap_wan=online_cap_wan(params),
        invest_return=params.firms.invest_return,
        invest_size=params.firms.invest_size_quarters,
        yi_per_wan=yi_per_wan,
        vat_rate=policy.fiscal.vat_rate, vat_exempt_rate=vat_exempt_rate(policy),
        vat_exempt_max_wan=policy.fiscal.vat_exempt_max_wan,
    )


def outside_stake_demand(params: Scenario) -> dict:
    """Who seeks equity or crowdfunding (ODD 7.8): the chance by stage (start-ups and
    growth firms only) and the factor by sector (technology, services; others 1)."""
    ch = params.channels
    stage = np.zeros(len(STAGES))
    stage[STAGES.index("startup")] = ch.seek_startup
    stage[STAGES.index("growth")] = ch.seek_growth
    sector = np.ones(len(SECTORS))
    sector[SECTORS.index("technology")] = ch.technology_factor
    sector[SECTORS.index("services")] = ch.services_factor
    return dict(seek_stage=stage, seek_sector=sector,
                seek_growth_sensitivity=ch.growth_sensitivity,
                equity_min_wan=ch.equity_min_wan)


def channel_weights(params: Scenario, expected_rate: np.ndarray) -> np.ndarray:
    """exp of the static part of each debt channel's utility, by channel and risk band.
    A firm seeking an outside stake applies through that channel alone (ODD 7.8), so the
    equity and crowdfunding rows are 1: any positive weight picks it."""
    credit = params.credit
    debt = list(DEBT_CHANNELS)
    names = [CHANNELS[c] for c in debt]
    weights = np.ones((len(CHANNELS), N_RISK_BANDS))
    utility = (_values(credit.channel_constant, names)[:, None]
               - credit.rate_sensitivity * expected_rate[debt]
               - credit.time_sensitivity * _values(credit.time_to_cash, names)[:, None])
    weights[debt] = np.exp(np.minimum(utility, 50.0))
    return weights


def online_cap_wan(params: Scenario) -> float:
    """The most the online channel lends one firm, as firms reckon it (万元): the online
    per-firm cap, or the big-tech and online micro-lenders' product ceiling if lower."""
    platforms = params.platforms
    return min(params.policy.banking.online_per_firm_cap_wan,
               max(platforms.big_tech.max_loan_wan, platforms.online_micro.max_loan_wan))


def _max_online_loan(lender) -> float:
    """The largest online loan ``lender`` makes one firm (万元): its kind's product
    ceiling within the online per-firm cap; no ceiling off the online channel."""
    if lender.channel != CH_ONLINE:
        return math.inf
    cap = lender.model.params.policy.banking.online_per_firm_cap_wan
    return min(cap, lender.params.max_loan_wan)


def initial_expected_rates(params: Scenario) -> np.ndarray:
    """Firms' expectations by channel and risk band before any loan is priced: the
    starting debt rates, a little higher for riskier bands (equity and crowdfunding
    rows 0: no rate enters the choice of an outside stake)."""
    credit = params.credit
    bands = np.linspace(credit.starting_spread_riskiest_annual,
                        credit.starting_spread_safest_annual, N_RISK_BANDS)
    table = np.zeros((len(CHANNELS), N_RISK_BANDS))
    starting = credit.starting_rate
    table[:3] = np.array([starting.bank, starting.online, starting.supply_chain])[:, None] \
        + bands[None, :]
    return table


@functools.cache
def _field_names(model_class) -> frozenset[str]:
    return frozenset(model_class.model_fields)


def lender_table(lenders, choice_lenders, choice_cum, choice_n) -> LenderTable:
    def col(attr, dtype=np.float64):
        return np.array([getattr(l, attr) for l in lenders], dtype=dtype)

    # Lenders of one kind share one parameter section: read each section once and
    # spread its values over the lenders (``section_of``).
    sections = []
    position: dict[int, int] = {}
    section_of = np.empty(len(lenders), dtype=np.int64)
    for n, lender in enumerate(lenders):
        if id(lender.params) not in position:
            position[id(lender.params)] = len(sections)
            sections.append(lender.params)
        section_of[n] = position[id(lender.params)]

    def param(name):
        # 0 for a lender kind without the parameter; asking the class which fields it has
        # avoids the slow failed-lookup path of a pydantic model
        values = np.array([float(getattr(section, name))
                           if name in _field_names(type(section)) else 0.0
                           for section in sections])
        return values[section_of]

    return LenderTable(
        kind_class=np.array([l.kind_class for l in lenders], dtype=np.int64),
        reports_to_bureau=np.array([int(l.reports_to_bureau) for l in lenders], dtype=np.int64),
        active=np.array([int(l.active) for l in lenders], dtype=np.int64),
        funding=col("funding_cost"),
        unsecured_funding=np.array([l.unsecured_funding_cost() for l in lenders]),
        op_fixed_wan=param("op_cost_fixed_wan"), op_rate=param("op_cost_rate_annual"),
        margin=col("margin"), appetite_el=col("appetite"), rate_cap=col("rate_cap"),
        precision_base=param("precision_base"), data_level=param("data_level"),
        tech=np.array([l.tech_factor() for l in lenders]),
        per_firm_limit_q=param("per_firm_limit_quarters"),
        max_loan_wan=np.array([_max_online_loan(l) for l in lenders]),
        alpha=col("alpha"), pd_scale=col("pd_scale"),
        fee_rate=param("fee_rate"),
        capacity=col("capacity"),
        kind=lender_kinds(lenders),
        crowd_capacity=col("crowd_capacity"),
        choice_lenders=choice_lenders, choice_cum=choice_cum, choice_n=choice_n,
    )


def choice_tables(lenders, n_regions: int = len(REGIONS)):
    """Which lenders a firm in each region can reach in each channel, with weights.

    A bank is found in proportion to its size (branches and customers), a platform in
    proportion to its net assets (its user base), and far less once it has no capacity
    left; local banks only in their region. Weights deliberately ignore the SME book,
    which would make a lender that lost share lose applicants too (a spiral).
    """
    n_channels = len(CHANNELS)
    n = len(lenders)
    ids = np.zeros((n_channels, n_regions, n), dtype=np.int64)
    cum = np.zeros((n_channels, n_regions, n))
    count = np.zeros((n_channels, n_regions), dtype=np.int64)
    # each active lender's channel, region (-1 = all) and weight, worked out once, not
    # once per channel and region
    active = []
    for lender in lenders:
        if lender.active and lender.lends():
            weight = lender.reach()
            if lender.capacity + lender.crowd_capacity <= 0:
                weight *= lender.model.params.credit.full_lender_reach
            active.append((lender.index, lender.channel, lender.lending_region(), weight))
    for c in range(n_channels):
        members = [(index, region, weight) for index, channel, region, weight in active
                   if channel == c or (c == CH_CROWDFUNDING and channel == CH_EQUITY)]
        for r in range(n_regions):
            reachable = [(index, weight) for index, region, weight in members
                         if region in (-1, r)]
            k = len(reachable)
            count[c, r] = k
            if k:
                ids[c, r, :k] = [index for index, _ in reachable]
                # running totals in lender order, as a firm's draw walks them
                cum[c, r, :k] = list(itertools.accumulate(weight for _, weight in reachable))
    return ids, cum, count
