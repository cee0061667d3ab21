"""How the reference engine's SMEs are born: starting firms and entrants draw their
attributes from the S_INIT stream, keyed by uid (``docs/ODD.md``, 5 and 7.18)."""

from __future__ import annotations

import math

from sim import rng
from sim.categories import CH_BANK, CH_ONLINE, STAGES
from sim.reference.credit import pick, pick_lender
from sim.reference.draws import expf, f32, key, norm_cdf, normal, uniform
from sim.reference.loans import Loan

STARTUP = STAGES.index("startup")

# Field numbers of the S_INIT stream: each starting attribute has its own draw.
(F_SECTOR, F_REGION, F_STAGE, F_QUALITY, F_TREND, F_REVENUE, F_CASH, F_HAS_COLLATERAL,
 F_COLLATERAL, F_DIGITAL, F_BORROWER, F_TARGET, F_ANCHOR, F_ANCHOR_ID, F_AGE, F_HAS_LOAN,
 F_LOAN_CHANNEL, F_LENDER, F_REMAINING, F_HISTORY) = range(20)


def draw_firm(firm, fp, entrant: bool, table, starting_rates) -> None:
    """Starting attributes from the S_INIT stream (keyed by uid, so the slot a firm
    lands in does not matter); a starting firm may hold one loan, placed with a lender
    drawn from ``table`` (the lenders' choice weights) at ``starting_rates[channel]``.
    Entrants are start-ups with no loans (ODD 5, 7.18)."""
    k = key(fp.seed, rng.S_INIT, 0)
    u_id, s = firm.uid, firm.size

    def u(field: int) -> float:
        return uniform(k, u_id, field, 0)

    def n(field: int) -> float:
        return normal(k, u_id, field, 0)

    firm.alive = True
    firm.sector = pick(fp.sector_cum, u(F_SECTOR))
    firm.region = pick(fp.region_cum, u(F_REGION))
    quality = n(F_QUALITY)
    level = fp.log_revenue_median_q[s] + fp.revenue_log_sd * n(F_TREND)
    if entrant:
        firm.stage = STARTUP
        firm.age = 0
        level -= fp.entrant_revenue_gap  # entrants start below the size they grow into
    else:
        firm.stage = pick(fp.stage_cum, u(F_STAGE))
        if firm.stage == STARTUP:
            age = int(u(F_AGE) * fp.startup_age)
        else:
            age = fp.startup_age + int(u(F_AGE) * fp.established_age_span)
        firm.age = min(age, 255)   # stored in a byte, as the kernels store it
        # the starting population are survivors, the more so the older
        quality += fp.initial_quality_tilt * min(age, fp.tilt_full_age) / fp.tilt_full_age
    firm.quality = f32(quality)
    firm.log_trend = f32(level)
    firm.log_revenue = f32(level + fp.start_revenue_noise_sd * n(F_REVENUE))
    revenue = expf(firm.log_revenue)  # single precision, as it is computed from float32
    firm.revenue = revenue
    firm.cash = fp.cash_buffer * revenue * (fp.start_cash_min + u(F_CASH))
    firm.discouraged = 0
    collateral_share = fp.collateral_share[s] * (fp.entrant_collateral_factor if entrant else 1.0)
    if u(F_HAS_COLLATERAL) < collateral_share:
        firm.collateral = f32(fp.collateral_to_revenue * 4.0 * revenue
                              * (fp.start_collateral_min + u(F_COLLATERAL)))
    else:
        firm.collateral = 0.0
    years = max(0.0, fp.quarter / 4.0 - fp.start_year)
    mean_digital = fp.digital_mean[s] + (fp.entrant_digital_trend * years if entrant
                                         else 0.0)
    firm.digital = f32(min(1.0, max(0.0, mean_digital + fp.digital_sd * n(F_DIGITAL))))
    propensity = fp.borrowing_propensity * (fp.propensity_base + fp.propensity_size_step * s)
    if u(F_BORROWER) < propensity:
        sd = fp.debt_target_sd
        firm.debt_target = f32(fp.debt_target[s] * math.exp(sd * n(F_TARGET)
                                                            - 0.5 * sd * sd))
    else:
        firm.debt_target = 0.0
    if u(F_ANCHOR) < fp.anchor_prob[firm.sector]:
        firm.anchor = int(u(F_ANCHOR_ID) * fp.anchors)
    else:
        firm.anchor = -1
    firm.bureau = False
    firm.tax_file = False
    firm.history = 0
    firm.reported_loan = False
    firm.defaulted_before = False
    firm.outside_stake = 0.0
    if entrant or firm.debt_target <= 0.0:
        return
    # lenders screened the starting borrowers too: better firms more likely hold a loan
    p_loan = fp.initial_borrowers[s] / propensity * 2.0 * norm_cdf(
        fp.initial_borrower_selection * quality)
    if u(F_HAS_LOAN) >= p_loan:
        return
    # one loan, bank or online, at a typical rate; the burn-in replaces it
    channel = CH_BANK
    if firm.digital > fp.start_online_min_digital and u(F_LOAN_CHANNEL) < fp.start_online_share:
        channel = CH_ONLINE
    lender = pick_lender(table, channel, firm.region, u(F_LENDER), -1)
    if lender < 0:
        return
    term = fp.start_bank_term if channel == CH_BANK else fp.start_online_term
    # a product of two float32 values is rounded to float32
    loan = Loan(f32(firm.debt_target * revenue), starting_rates[channel], term,
                1 + int(u(F_REMAINING) * term), lender, channel,
                secured=channel == CH_BANK and firm.collateral > 0.0,
                amortizing=channel != CH_BANK,
                vat_terms=(fp.vat_exempt_rate, fp.vat_exempt_max_wan))
    firm.loans[0] = loan
    firm.history = min(int(u(F_HISTORY) * fp.start_history_max), 255)
    firm.reported_loan = True
    firm.cash += loan.principal  # borrowed working capital is held as cash
