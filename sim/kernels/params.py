"""Typed bundles handed to the kernels (numba accepts namedtuples).

Python builds the parameter bundles each quarter from the scenario and the lender agents
(:mod:`sim.wiring`); kernels only read them. Arrays are float64 unless noted.
:class:`Applications` bundles the credit round's arrays per seeker, which the kernels
write.
"""

from collections import namedtuple

FirmParams = namedtuple("FirmParams", [
    "seed",                 # int
    "quarter",              # int, absolute quarter index (year * 4 + q - 1)
    "start_year",           # int, first reported year (entrants' digital trend)
    # initial attributes
    "sector_cum", "region_cum", "stage_cum",        # cumulative mixes [7], [3], [4]
    "log_revenue_median_q",  # [3] log quarterly revenue, 万元, by size
    "revenue_log_sd",
    "collateral_share",      # [3]
    "collateral_to_revenue",
    "digital_mean",          # [3]
    "entrant_digital_trend",
    "borrowing_propensity",
    "debt_target",           # [3] × quarterly revenue
    "debt_target_sd",
    "anchor_prob",           # [7] by sector
    "anchors",               # int
    "initial_borrowers",     # [3]
    "initial_quality_tilt",  # quality added to starting firms aged tilt_full_age or more
    "initial_borrower_selection",  # probit slope of holding a starting loan on quality
    "tilt_full_age",         # int, quarters of age that give initial_quality_tilt in full
    "start_history_max",     # int, quarters of repayment history of a starting borrower
    "start_bank_term", "start_online_term",  # int, quarters, of starting loans
    "entrant_revenue_gap",   # log revenue an entrant's trend starts below
    "start_revenue_noise_sd",
    "start_cash_min",        # × cash buffer, plus a uniform draw
    "start_collateral_min",  # × collateral_to_revenue × annual revenue, plus a uniform draw
    "entrant_collateral_factor",
    "digital_sd",
    "propensity_base",       # borrowing propensity factor of individual businesses
    "propensity_size_step",  # added per size class
    "startup_age",           # int, quarters
    "established_age_span",  # int, quarters
    "start_online_min_digital",
    "start_online_share",
    # operation
    "mean_reversion",
    "vol_by_size",           # [3]
    "drift_by_stage",        # [4]
    "growth_by_sector_q",    # [7] log growth per quarter (macro + sector + feedback)
    "shock_mult",            # [7, 3] revenue multiplier this quarter
    "margin_by_size",        # [3]
    "margin_slope",
    "margin_noise",
    "shock_margin_loss",     # margin lost per unit of revenue lost to a shock
    "cash_buffer",
    "owner_draw_share",
    "transitions",           # [6] see schema.StageTransition order
    "bureau_coverage",       # [3] after the policy multiplier
    "tax_coverage",          # share of firms whose tax records banks read (fixed rank)
    "tax_redraw",            # 1: every firm's tax file is redrawn this quarter (first
                             # quarter, or the coverage changed); else only new firms'
    "digital_drift",
    "digital_imitation",     # share of the gap to peers' mean digital closed per quarter
    "digital_marketing",     # share of (1 − digital) closed per quarter by platforms' marketing
    "peer_digital",          # [N_GROUPS] mean digital footprint of each group's live firms
    # debt service
    "deferral",              # int 0/1: the deferral programme takes applications
    "deferral_interest",     # int 0/1: deferred loans' interest is deferred too
    "deferral_revenue_gap",  # a firm is hit when revenue < (1 − gap) × its trend revenue
    "deferral_repay_quarters",  # int, quarters over which principal that fell due in
                                # the window is repaid after it
    "renewal_share",
    "renewal_min_history",   # int, quarters of repayments before a bank loan is renewed
    "subsidy_annual",        # interest subsidy on individual and micro firms' loans
    "vat_exempt_rate",       # annual: bank loans priced at most this are VAT-exempt (−1: none)
    "vat_exempt_max_wan",    # 万元: largest principal of a VAT-exempt loan
    "guarantee_fee_annual",  # paid on bank loans of individual and micro firms if covered
    "guarantee_on",          # int 0/1
    # demand
    "invest_prob",           # [4]
    "debt_appetite",         # factor on debt targets from the benchmark rate (1 at reference)
    "invest_size",
    "working_gap_min",       # × quarterly revenue, smallest gap to the debt target financed
    "max_request",           # × quarterly revenue, most a firm asks for in a quarter
    # informal debt and banks' outreach
    "informal_multiple",     # [3] × quarterly revenue, informal debt of a firm at birth
    "informal_entrant_factor",  # × informal_multiple for entrants
    "informal_rate",         # annual rate on informal debt
    "informal_shortfall_share",  # share of an unmet shortfall borrowed informally
    "offer_prob",            # chance a visible non-borrower gets a credit line this quarter
    "offer_min_digital",     # digital footprint that makes a firm visible to banks
    "reservation_rate",      # annual rate below which a firm without informal debt accepts
    "bank_rate_band",        # [N_RISK_BANDS] bank rate firms expect by risk band
    # default and exit
    "exit_after_default",
    "exit_hazard",           # [4]
    "writeoff_quarters",     # int: whole quarters a bad loan stays before write-off
    "writeoff_extra",        # chance it stays one quarter more (the fraction of the mean)
    "lgd_by_channel_secured",    # [3] debt channels
    "lgd_by_channel_unsecured",  # [3]
    "lgd_verified",          # supply-chain loans on verified receivables
    "verified_share",        # share of anchored firms with verified receivables
])

CreditParams = namedtuple("CreditParams", [
    "seed", "quarter", "round",
    "last_round",           # int 0/1: rejections in this round discourage the firm
    "discouraged_quarters",  # int
    "digital_sensitivity",
    "online_trust",          # online utility per unit share of sector peers using online credit
    "online_use",           # [N_GROUPS] share of each group's live firms with an online loan
    "coverage_sensitivity",  # utility per log of (amount a channel lends ÷ need), if < 1
    "online_limit_q",       # largest online per-firm limit, × quarterly revenue
    "channel_weight",       # [5, 10] exp(constant − rate_sens × expected rate − time_sens × time)
    "relationship_factor",  # exp(relationship_bonus)
    "mismatch_factor",      # exp(−maturity_mismatch): investment financed with short debt
    "score_slope",
    "refresh_rho",
    "lgd_secured", "lgd_unsecured", "lgd_receivable", "lgd_verified",
    "unsecured_limit_q",    # × quarterly revenue, with a bureau file (else × big data seen)
    "collateral_ltv", "receivable_q",
    "verified_advance",     # × receivable_q on a verified receivable
    "history_full",         # int, quarters of history that give precision_history in full
    "platform_history_weight",
    "min_loan_wan",
    "precision_bureau", "precision_history", "precision_collateral", "precision_statements",
    "precision_bank_big_data", "precision_digital", "precision_trade", "precision_verified",
    "protection_loss",      # protection_effect × data.protection
    "bank_big_data",
    "precision_tax",        # 1/σ² added at banks by a tax file
    "tax_limit_share",      # × unsecured_limit_q lent on a tax file without a bureau file
    "verified_share",
    "bank_loss_share",      # [3] by size: risk compensation + guarantee coverage
    "valuation_years",
    "seek_stage",           # [4] chance a firm with a project seeks an outside stake, by stage
    "seek_sector",          # [7] factor on that chance, by sector
    "seek_growth_sensitivity",  # log factor per log point of revenue above its trend
    "equity_min_wan",       # 万元 of need from which the stake sought is equity
    "maturity",             # int [4]: bank, bank term, online, supply chain
    "online_cap_wan",
    "invest_return",
    "invest_size",          # × quarterly revenue spent on an investment
    "yi_per_wan",           # [3] national 亿元 per agent 万元, by size
    "vat_rate",             # VAT on banks' interest income
    "vat_exempt_rate",      # annual: bank loans priced at most this are VAT-exempt (−1: none)
    "vat_exempt_max_wan",   # 万元: largest amount of a VAT-exempt loan
])

LenderTable = namedtuple("LenderTable", [
    "kind_class",           # int [J]: 0 bank, 1 online platform, 2 supply chain, 3 crowd/equity
    "reports_to_bureau",    # int [J]: 1 if the lender's loans give a borrower a bureau file
    "active",               # int [J]
    "funding",              # [J] annual funding cost of new loans
    "unsecured_funding",    # [J] annual funding cost of a new unsecured bank loan
    "op_fixed_wan",         # [J] 万元 per loan per year
    "op_rate",              # [J] annual
    "margin",               # [J] annual
    "appetite_el",          # [J] highest expected annual loss rate approved
    "rate_cap",             # [J] annual
    "precision_base",       # [J]
    "data_level",           # [J]
    "tech",                 # [J] bank's technology factor on big-data precision and the
                            # no-file unsecured limit (1 for other lenders)
    "per_firm_limit_q",     # [J] × quarterly revenue
    "max_loan_wan",         # [J] 万元, largest online loan to one firm: the kind's product
                            # ceiling and the online per-firm cap (inf off the online channel)
    "alpha",                # [J] probit intercept of its PD mapping
    "pd_scale",             # [J] calibration factor on its PDs (yearly re-fit)
    "fee_rate",             # [J] non-debt fee
    "capacity",             # [J] 亿元 still available this quarter (updated by rationing)
    "kind",                 # int [J] index of its kind in categories.ALL_KINDS
    "crowd_capacity",       # [J] 亿元 of crowdfunding investors' funds still available
                            # (crowd/equity platforms; their ``capacity`` is equity's)
    "choice_lenders",       # int [5, 3, J] lenders reachable by channel and region
    "choice_cum",           # [5, 3, J] cumulative choice weights
    "choice_n",             # int [5, 3]
])

Applications = namedtuple("Applications", [
    # One entry per credit seeker of a round, in the order of its ``seekers`` list
    # (sim.kernels.seekers); owned by the caller and reused every round.
    "seeking",              # uint8: 1 if the firm still seeks finance
    "lender",               # int16: lender applied to, -1 = no application
    "channel",              # uint8: channel applied through (categories.CH_*)
    "size",                 # uint8: the firm's size stratum
    "pd",                   # float64: annual PD the lender estimates
    "amount",               # float64: 万元 offered (cut by rationing to what is left)
    "rate",                 # float32: annual rate offered, 0 for non-debt
    "ok",                   # uint8: 1 if an offer is made, before capacity limits
    "secured",              # uint8: 1 if the offer is secured
    "funded",               # uint8: 1 if rationing funds the offer
])
