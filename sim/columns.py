"""Definitions and units of every output column, declared once.

The README and docs/outputs.md are generated from these tables; tests check that every
column a run writes is defined here.
"""

QUARTERLY_COLUMNS: dict[str, tuple[str, str]] = {
    "quarter": ("label", "calendar quarter, e.g. 2024Q1"),
    "sme_alive": ("firms", "SMEs alive at the end of the quarter (national, weighted)"),
    "sme_entries": ("firms", "SMEs that entered this quarter"),
    "sme_exits": ("firms", "SMEs that closed this quarter (at the stage hazard, or after a "
                  "default or losses the owner would not cover)"),
    "credit_demand": ("亿元", "external finance sought this quarter: working-capital top-ups, "
                      "refinancing of cash shortfalls and investment"),
    "new_loans": ("亿元", "new debt originated this quarter, all debt channels"),
    "new_loans_bank": ("亿元", "new loans originated by banks directly"),
    "new_loans_online": ("亿元", "new loans originated through big-tech and online lenders, "
                         "including the partner-bank funded part of joint loans (and P2P "
                         "platforms and small-loan companies, where a scenario has them)"),
    "new_loans_supply_chain": ("亿元", "new supply-chain finance"),
    "new_equity": ("亿元", "equity raised through equity platforms (non-debt)"),
    "new_crowdfunding": ("亿元", "money raised through crowdfunding (non-debt)"),
    "renewals": ("亿元", "maturing loans renewed without principal repayment (无还本续贷)"),
    "loan_balance": ("亿元", "SME debt outstanding at the end of the quarter, gross of "
                     "provisions, including non-performing loans"),
    "loan_balance_bank": ("亿元", "of which bank loans"),
    "loan_balance_online": ("亿元", "of which online loans (all funders)"),
    "loan_balance_supply_chain": ("亿元", "of which supply-chain finance"),
    "applications": ("firms", "loan and funding applications made this quarter, all rounds"),
    "approvals": ("firms", "applications approved and funded"),
    "approval_rate": ("fraction", "approvals ÷ applications"),
    "unmet_demand_share": ("fraction", "credit demanded this quarter and not financed ÷ "
                           "credit demanded"),
    "avg_rate_new": ("fraction/yr", "amount-weighted average annual rate on new debt"),
    "avg_rate_new_bank": ("fraction/yr", "same, bank loans"),
    "avg_rate_new_online": ("fraction/yr", "same, online loans"),
    "avg_rate_new_supply_chain": ("fraction/yr", "same, supply-chain finance"),
    "default_rate": ("fraction/yr", "annualised share of borrowing firms that defaulted "
                     "this quarter, as a year's probability: 1 − (1 − quarterly rate)⁴"),
    "npl_ratio": ("fraction", "non-performing SME loans ÷ SME loans outstanding"),
    "npl_ratio_bank": ("fraction", "same, bank-originated loans"),
    "bank_car_mean": ("fraction", "assets-weighted mean whole-bank capital ratio"),
    "bank_car_min": ("fraction", "lowest whole-bank capital ratio among active banks"),
    "online_share_new": ("fraction", "new_loans_online ÷ new_loans"),
    "online_share_balance": ("fraction", "loan_balance_online ÷ loan_balance"),
    "borrowers": ("firms", "firms and owners with a performing loan at the end of the "
                  "quarter (national, weighted)"),
    "borrowers_bank": ("firms", "same, with a performing bank loan; compare PBoC inclusive "
                       "borrowers with a bank credit line"),
    "borrowers_online": ("firms", "same, with a performing online loan"),
    "digital_mean": ("fraction", "mean digital footprint (0–1) of live firms at the "
                     "quarter's stock count (before entrants)"),
    "first_time_borrowers": ("firms", "firms that got their first loan this quarter (首贷户)"),
    "informal_debt": ("亿元", "SMEs' informal debt at the end of the quarter (private "
                      "lenders and owners' personal borrowing used in the business; "
                      "outside the lenders' books)"),
    "informal_refinanced": ("亿元", "informal debt repaid this quarter from formal loans"),
    "informal_borrowed": ("亿元", "borrowed informally this quarter to meet cash shortfalls "
                          "lenders did not"),
    "credit_lines_offered": ("firms", "firms that had never wanted debt and took a credit "
                             "line banks offered them unasked this quarter"),
    "unsecured_share_new": ("fraction", "unsecured new loans ÷ new loans"),
    "bank_approval_rate_no_collateral": ("fraction", "banks' approvals ÷ applications, firms "
                                         "without pledgeable assets"),
    "fiscal_cost": ("亿元", "government outlays this quarter net of guarantee fees received: "
                    "risk compensation, guarantee payouts, interest subsidies, inclusive-loan "
                    "incentive, lender resolution shortfalls and VAT forgone on banks' "
                    "exempt small-loan interest"),
    "hhi_bank": ("index 0-1", "Herfindahl index of banks' shares of new bank lending"),
    "hhi_online": ("index 0-1", "Herfindahl index of platforms' shares of new online lending"),
    "lpr_1y": ("fraction/yr", "1-year loan prime rate in force"),
    "rrr": ("fraction", "reserve-requirement ratio in force"),
    "bank_funding_cost": ("fraction/yr", "assets-weighted mean bank funding cost"),
    "platforms_active": ("lenders", "platforms operating at the end of the quarter"),
    "lenders_resolved": ("lenders", "lenders resolved this quarter"),
    "loan_balance_p2p": ("亿元", "P2P platforms' loans outstanding at the end of the quarter "
                         "(funded by retail investors; part of loan_balance_online)"),
    "loan_balance_small_loan": ("亿元", "small-loan companies' loans outstanding at the end "
                                "of the quarter (part of loan_balance_online)"),
    "loan_balance_digital_bank": ("亿元", "licensed digital banks' loans outstanding at the "
                                  "end of the quarter: part of loan_balance_online (they "
                                  "lend online, as the report counts them), not of "
                                  "loan_balance_bank"),
    "online_share_balance_pboc": ("fraction", "online_share_balance with digital banks' "
                                  "loans counted as bank loans, as the PBoC's inclusive "
                                  "loan statistics count them"),
    "online_share_new_originated": ("fraction", "new loans arranged through online lenders "
                                    "(platforms, P2P platforms, small-loan companies), "
                                    "whoever funds them, ÷ new_loans (equals "
                                    "online_share_new)"),
    "online_share_new_funded": ("fraction", "the part of new online loans funded by the "
                                "online lenders themselves: platforms' own and securitised "
                                "shares (their ABS investors), P2P investors' money and "
                                "small-loan companies' books; partner banks' shares of "
                                "joint loans and loans facilitated for banks excluded; "
                                "÷ new_loans"),
    "online_share_balance_originated": ("fraction", "loans outstanding that were arranged "
                                        "through online lenders, whoever funds them, ÷ "
                                        "loan_balance (equals online_share_balance)"),
    "online_share_balance_funded": ("fraction", "the part of online loans outstanding that "
                                    "online lenders, their ABS investors and P2P investors "
                                    "fund (partner banks' holdings excluded) ÷ "
                                    "loan_balance"),
    "new_loans_facilitated": ("亿元", "new online loans platforms facilitated for partner "
                              "banks, funded in full by the banks (助贷; part of "
                              "new_loans_online)"),
    "loan_balance_facilitated": ("亿元", "facilitated loans outstanding at the end of the "
                                 "quarter, held by partner banks (part of "
                                 "loan_balance_online)"),
    "platform_equity_raised": ("亿元", "new equity platforms raised from the outside sector "
                               "this quarter (high return and binding capacity)"),
    "p2p_investor_loss": ("亿元", "retail investors' loss on P2P loans this quarter: "
                          "write-offs net of recoveries, and at a wind-down's resolution "
                          "the book left less what its buyer paid"),
}

GROUP_DIMENSIONS = ("sector", "region", "size", "stage")
GROUP_METRICS: dict[str, tuple[str, str]] = {
    "sme_alive": ("firms", "SMEs alive"),
    "credit_demand": ("亿元", "credit demanded"),
    "new_loans": ("亿元", "new debt"),
    "new_nondebt": ("亿元", "equity and crowdfunding raised"),
    "loan_balance": ("亿元", "debt outstanding"),
    "approval_rate": ("fraction", "approvals ÷ applications"),
    "unmet_demand_share": ("fraction", "unfinanced ÷ demanded"),
    "avg_rate_new": ("fraction/yr", "amount-weighted rate on new debt"),
    "default_rate": ("fraction/yr", "annualised default rate of borrowers, "
                     "1 − (1 − quarterly rate)⁴"),
}
# The lender-kind × firm-group matrix is stored in groups.parquet with this dimension and
# metric; its group is "<lender kind>|<firm size>" (debt and non-debt finance originated).
KIND_SIZE_DIMENSION = "lender_kind|size"
KIND_SIZE_METRIC = "new_loans_by_lender_kind"

LENDER_COLUMNS: dict[str, tuple[str, str]] = {
    "quarter": ("label", "calendar quarter"),
    "lender": ("id", "lender index, stable for the run"),
    "name": ("label", "e.g. rural_03"),
    "kind": ("label", "bank type or platform kind"),
    "active": ("bool", "operating at the end of the quarter"),
    "new_loans": ("亿元", "new SME finance originated (debt; equity and crowdfunding for "
                  "crowd/equity platforms)"),
    "loan_balance": ("亿元", "SME loans it originated, outstanding (all funders)"),
    "own_balance": ("亿元", "SME loans on its own balance sheet: for banks their own plus "
                    "their shares of platforms' joint loans; for platforms the retained "
                    "and securitised part"),
    "npl_ratio": ("fraction", "non-performing ÷ outstanding"),
    "interest_income": ("亿元", "interest paid on the SME loans it originated this quarter "
                        "(for platforms, before partners' and investors' shares)"),
    "net_income": ("亿元", "profit after funding, operating cost and provisions"),
    "roa_annual": ("fraction/yr", "net income × 4 ÷ total assets"),
    "roe_annual": ("fraction/yr", "net income × 4 ÷ capital"),
    "capital": ("亿元", "capital (net assets for platforms)"),
    "capital_ratio": ("fraction", "capital ÷ risk-weighted assets (banks); capital ÷ own "
                      "book (platforms)"),
    "market_share_new": ("fraction", "share of its channel's new lending"),
    "funding_cost": ("fraction/yr", "marginal funding cost"),
    "appetite_el": ("fraction/yr", "highest expected annual loss rate (PD × LGD) it approves"),
    "capacity": ("亿元", "new-lending capacity left at the end of the credit round (a "
                 "crowd/equity platform: equity and crowdfunding investors' funds left)"),
    "applications": ("firms", "applications it received this quarter, all rounds"),
    "approvals": ("firms", "applications it approved and funded this quarter"),
    "applications_no_collateral": ("firms", "of its applications, from firms without "
                                   "pledgeable assets"),
    "approvals_no_collateral": ("firms", "of its approvals, of firms without pledgeable "
                                "assets"),
    "loans": ("loans", "performing loans it originated, outstanding at the end of the "
              "quarter"),
    "new_unsecured": ("亿元", "new loans without collateral or a receivable behind them"),
    "new_npl": ("亿元", "its loans (all funders) that turned non-performing this quarter"),
    "rate_cap": ("fraction/yr", "legal cap on the annual rate it may charge (1 = none: "
                 "banks price freely)"),
    "total_assets": ("亿元", "whole-bank assets (banks); loan pool (platforms)"),
}
