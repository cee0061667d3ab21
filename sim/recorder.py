"""Phase 10: this quarter's aggregates into result arrays preallocated for the run,
turned into DataFrames once at the end."""

from __future__ import annotations

import numpy as np

from sim.categories import (
    KIND_BANK, KIND_ONLINE, KIND_SUPPLY_CHAIN, LENDER_KINDS, REGIONS, SECTORS, SIZE_GROUPS, SIZES,
    STAGES,
)
from sim.columns import (
    GROUP_METRICS, KIND_SIZE_DIMENSION, KIND_SIZE_METRIC, LENDER_COLUMNS, QUARTERLY_COLUMNS,
)
from sim.kernels import layout as L
from sim.quarters import quarter_label
from sim.units import annual_probability

GROUP_NAMES = (
    [("sector", s) for s in SECTORS] + [("region", r) for r in REGIONS]
    + [("size", s) for s in SIZES] + [("stage", s) for s in STAGES]
)
_LENDER_NUMERIC = [c for c in LENDER_COLUMNS if c not in ("quarter", "lender", "name", "kind",
                                                          "active")]


def _ratio(num, den):
    return float(num / den) if den > 0 else 0.0


def _ratios(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Element by element what :func:`_ratio` gives."""
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def _hhi(amounts: np.ndarray) -> float:
    total = amounts.sum()
    if total <= 0:
        return 0.0
    shares = amounts / total
    return float((shares ** 2).sum())


class Recorder:
    """Holds one row per reported quarter for every output table."""

    def __init__(self, first_quarter: int, n_quarters: int, n_lenders: int):
        self.first_quarter = first_quarter
        self.n = n_quarters
        # zeros, whose pages the system hands out only when written; the quarters not
        # reached yet are NaN in the tables (to_frames), not zeros
        self.quarterly = {name: np.zeros(n_quarters) for name in QUARTERLY_COLUMNS
                          if name != "quarter"}
        self.groups = np.zeros((n_quarters, len(GROUP_NAMES), len(GROUP_METRICS)))
        self.kind_by_size = np.zeros((n_quarters, len(LENDER_KINDS), len(SIZES)))
        self.lenders = np.zeros((n_quarters, n_lenders, len(_LENDER_NUMERIC)))
        self.lender_active = np.zeros((n_quarters, n_lenders), dtype=bool)

    def record(self, quarter: int, model, sums) -> None:
        """Store this quarter's figures; ``sums`` is the model's reduced accumulators."""
        t = quarter - self.first_quarter
        if not 0 <= t < self.n:
            return
        q = self.quarterly
        lm, gm, gc = sums.lender_money, sums.group_money, sums.group_count
        kinds = np.array([l.kind_class for l in model.lenders])
        # the size groups partition the firms: their sum is the nation
        nat_m = gm[SIZE_GROUPS].sum(axis=0)
        nat_c = gc[SIZE_GROUPS].sum(axis=0)
        new = lm[:, L.LF_NEW_AMT]
        balance = lm[:, L.LF_BAL_PERF] + lm[:, L.LF_BAL_NPL]
        q["sme_alive"][t] = nat_c[L.GM_ALIVE]
        q["sme_entries"][t] = nat_c[L.GM_ENTRIES]
        q["sme_exits"][t] = nat_c[L.GM_EXITS]
        q["credit_demand"][t] = nat_m[L.GM_DEMAND]
        q["new_loans"][t] = new.sum()
        q["new_loans_bank"][t] = new[kinds == KIND_BANK].sum()
        q["new_loans_online"][t] = new[kinds == KIND_ONLINE].sum()
        q["new_loans_supply_chain"][t] = new[kinds == KIND_SUPPLY_CHAIN].sum()
        crowd = lm[:, L.LF_CROWD_AMT].sum()
        q["new_equity"][t] = lm[:, L.LF_NONDEBT_AMT].sum() - crowd
        q["new_crowdfunding"][t] = crowd
        q["renewals"][t] = lm[:, L.LF_RENEWED].sum()
        q["loan_balance"][t] = balance.sum()
        q["loan_balance_bank"][t] = balance[kinds == KIND_BANK].sum()
        q["loan_balance_online"][t] = balance[kinds == KIND_ONLINE].sum()
        q["loan_balance_supply_chain"][t] = balance[kinds == KIND_SUPPLY_CHAIN].sum()
        q["applications"][t] = nat_c[L.GM_APPS]
        q["approvals"][t] = nat_c[L.GM_APPROVALS]
        q["approval_rate"][t] = _ratio(nat_c[L.GM_APPROVALS], nat_c[L.GM_APPS])
        financed = nat_m[L.GM_NEW_DEBT] + nat_m[L.GM_NEW_NONDEBT]
        q["unmet_demand_share"][t] = max(0.0, 1.0 - _ratio(financed, nat_m[L.GM_DEMAND])) \
            if nat_m[L.GM_DEMAND] > 0 else 0.0
        rate_amt = lm[:, L.LF_NEW_RATE_AMT]
        q["avg_rate_new"][t] = _ratio(rate_amt.sum(), new.sum())
        for name, kind in (("bank", KIND_BANK), ("online", KIND_ONLINE),
                           ("supply_chain", KIND_SUPPLY_CHAIN)):
            q[f"avg_rate_new_{name}"][t] = _ratio(rate_amt[kinds == kind].sum(),
                                                  new[kinds == kind].sum())
        q["default_rate"][t] = annual_probability(
            _ratio(nat_c[L.GM_DEFAULTS], sums.borrowers_before.sum()))
        q["npl_ratio"][t] = _ratio(lm[:, L.LF_BAL_NPL].sum(), balance.sum())
        q["npl_ratio_bank"][t] = _ratio(lm[kinds == KIND_BANK, L.LF_BAL_NPL].sum(),
                                        balance[kinds == KIND_BANK].sum())
        banks = list(model.banks.select(lambda b: b.active))
        assets = np.array([b.total_assets() for b in banks])
        cars = np.array([b.capital_ratio() for b in banks])
        # every bank may have failed (or none be set up): 0, as every ratio of nothing
        q["bank_car_mean"][t] = _ratio((assets * cars).sum(), assets.sum())
        q["bank_car_min"][t] = float(cars.min()) if banks else 0.0
        q["bank_funding_cost"][t] = _ratio(
            (assets * np.array([b.funding_cost for b in banks])).sum(), assets.sum())
        q["online_share_new"][t] = _ratio(q["new_loans_online"][t], q["new_loans"][t])
        q["online_share_balance"][t] = _ratio(q["loan_balance_online"][t], q["loan_balance"][t])
        counted = nat_c[L.GM_ALIVE] - nat_c[L.GM_ENTRIES]   # the stock count is before entry
        q["borrowers"][t] = nat_c[L.GM_BORROWERS]
        q["borrowers_bank"][t] = nat_c[L.GM_BORROWERS_BANK]
        q["borrowers_online"][t] = nat_c[L.GM_ONLINE_USERS]
        q["digital_mean"][t] = _ratio(nat_c[L.GM_DIGITAL], counted)
        q["first_time_borrowers"][t] = nat_c[L.GM_FIRST_TIME]
        q["informal_debt"][t] = nat_m[L.GM_INFORMAL]
        q["informal_refinanced"][t] = nat_m[L.GM_INFORMAL_REFI]
        q["informal_borrowed"][t] = nat_m[L.GM_INFORMAL_NEW]
        q["credit_lines_offered"][t] = nat_c[L.GM_OFFERS]
        q["unsecured_share_new"][t] = _ratio(nat_m[L.GM_UNSECURED], nat_m[L.GM_NEW_DEBT])
        lc = sums.lender_count
        q["bank_approval_rate_no_collateral"][t] = _ratio(
            lc[kinds == KIND_BANK, L.LF_APPROVALS_NO_COLLATERAL].sum(),
            lc[kinds == KIND_BANK, L.LF_APPS_NO_COLLATERAL].sum())
        q["fiscal_cost"][t] = model.government.fiscal_cost()
        q["hhi_bank"][t] = _hhi(new[kinds == KIND_BANK])
        q["hhi_online"][t] = _hhi(new[kinds == KIND_ONLINE])
        cb = model.params.policy.central_bank
        q["lpr_1y"][t] = cb.lpr_1y_annual
        q["rrr"][t] = cb.rrr
        q["platforms_active"][t] = len(model.platforms.select(lambda p: p.active))
        q["lenders_resolved"][t] = model.resolved_this_quarter
        kind_names = np.array([l.kind for l in model.lenders])
        q["loan_balance_p2p"][t] = balance[kind_names == "p2p"].sum()
        q["loan_balance_small_loan"][t] = balance[kind_names == "small_loan"].sum()
        digital = balance[kind_names == "digital_bank"].sum()
        q["loan_balance_digital_bank"][t] = digital
        q["online_share_balance_pboc"][t] = _ratio(q["loan_balance_online"][t] - digital,
                                                   q["loan_balance"][t])
        q["p2p_investor_loss"][t] = model.outside.account.quarter["p2p_loss"]
        self._record_funding(t, model)
        self._record_groups(t, gm, gc, sums.group_borrowers_before)
        self._record_lenders(t, model, lm, sums.lender_count)
        by_kind = model.lenders.groupby("kind").groups
        for k, kind in enumerate(LENDER_KINDS):
            members = [l.index for l in by_kind.get(kind, ())]
            by_size = sums.lender_money_by_size[members]
            self.kind_by_size[t, k] = (by_size[:, L.LF_NEW_AMT]
                                       + by_size[:, L.LF_NONDEBT_AMT]).sum(axis=0)

    def _record_funding(self, t, model) -> None:
        """The online share by who originates and by who funds (flow and stock)."""
        q = self.quarterly
        online = [p for p in model.platforms if p.kind_class == KIND_ONLINE]
        partner_new = sum(p.last_partner_new for p in online)
        facilitated_new = sum(p.last_facilitated_new for p in online)
        partner_held = sum(float(p.partner_stock.sum()) for p in online)
        facilitated_held = sum(float(p.facil_stock.sum()) for p in online)
        q["online_share_new_originated"][t] = q["online_share_new"][t]
        q["online_share_new_funded"][t] = _ratio(q["new_loans_online"][t] - partner_new,
                                                 q["new_loans"][t])
        q["online_share_balance_originated"][t] = q["online_share_balance"][t]
        q["online_share_balance_funded"][t] = _ratio(
            q["loan_balance_online"][t] - partner_held - facilitated_held,
            q["loan_balance"][t])
        q["new_loans_facilitated"][t] = facilitated_new
        q["loan_balance_facilitated"][t] = facilitated_held
        q["platform_equity_raised"][t] = sum(p.equity_raised for p in model.platforms)

    def _record_groups(self, t, gm, gc, borrowers_before) -> None:
        metrics = list(GROUP_METRICS)
        out = self.groups[t]
        financed = gm[:, L.GM_NEW_DEBT] + gm[:, L.GM_NEW_NONDEBT]
        for g in range(len(GROUP_NAMES)):
            values = {
                "sme_alive": gc[g, L.GM_ALIVE],
                "credit_demand": gm[g, L.GM_DEMAND],
                "new_loans": gm[g, L.GM_NEW_DEBT],
                "new_nondebt": gm[g, L.GM_NEW_NONDEBT],
                "loan_balance": gm[g, L.GM_BALANCE],
                "approval_rate": _ratio(gc[g, L.GM_APPROVALS], gc[g, L.GM_APPS]),
                "unmet_demand_share": max(0.0, 1.0 - _ratio(financed[g], gm[g, L.GM_DEMAND]))
                if gm[g, L.GM_DEMAND] > 0 else 0.0,
                "avg_rate_new": _ratio(gm[g, L.GM_RATE_AMT], gm[g, L.GM_NEW_DEBT]),
                "default_rate": annual_probability(_ratio(gc[g, L.GM_DEFAULTS],
                                                           borrowers_before[g])),
            }
            for m, name in enumerate(metrics):
                out[g, m] = values[name]

    def _record_lenders(self, t, model, lm, lc) -> None:
        """One row per lender, built a column at a time across the lenders."""
        lenders = model.lenders
        channel_new = {c: sum(l.last_new for l in lenders if l.channel == c)
                       for c in set(l.channel for l in lenders)}

        def each(value) -> np.ndarray:
            return np.array([value(l) for l in lenders], dtype=np.float64)

        index = np.array([l.index for l in lenders], dtype=np.int64)
        active = np.array([bool(l.active) for l in lenders])
        money, counts = lm[index], lc[index]
        balance = each(lambda l: l.book)
        capital = each(lambda l: l.capital)
        income = each(lambda l: l.books.net_income if l.books is not None else 0.0)
        total_assets = each(lambda l: l.total_assets() if l.bank_licence else l.book)
        bank = np.array([l.bank_licence for l in lenders])
        # a platform's return on assets is on its book, kept off zero
        assets = np.where(bank, total_assets, np.maximum(total_assets, 1e-9))
        columns = {
            "new_loans": money[:, L.LF_NEW_AMT] + money[:, L.LF_NONDEBT_AMT],
            "loan_balance": balance,
            "own_balance": each(lambda l: l.sme_holdings() if l.bank_licence
                                else l.own_book()),
            "npl_ratio": _ratios(each(lambda l: l.book_npl), balance),
            "interest_income": each(lambda l: l.books.interest if l.books is not None else 0.0),
            "net_income": income,
            "roa_annual": np.where(active, _ratios(4.0 * income, assets), 0.0),
            "roe_annual": np.where(active, _ratios(4.0 * income, capital), 0.0),
            "capital": capital,
            "capital_ratio": each(lambda l: l.capital_ratio()),
            "market_share_new": _ratios(each(lambda l: l.last_new),
                                        each(lambda l: channel_new[l.channel])),
            "funding_cost": each(lambda l: l.funding_cost),
            "appetite_el": each(lambda l: l.appetite),
            "capacity": each(lambda l: l.capacity + l.crowd_capacity),
            "total_assets": total_assets,
            "applications": counts[:, L.LF_APPS],
            "approvals": counts[:, L.LF_APPROVALS],
            "applications_no_collateral": counts[:, L.LF_APPS_NO_COLLATERAL],
            "approvals_no_collateral": counts[:, L.LF_APPROVALS_NO_COLLATERAL],
            "loans": counts[:, L.LF_LOANS],
            "new_unsecured": money[:, L.LF_NEW_AMT] - money[:, L.LF_NEW_SECURED],
            "new_npl": money[:, L.LF_NEW_NPL],
            "rate_cap": each(lambda l: l.rate_cap),
        }
        self.lenders[t, index] = np.column_stack([columns[c] for c in _LENDER_NUMERIC])
        self.lender_active[t, index] = active

    def to_frames(self, model):
        """The quarterly, groups and lenders tables; quarters the model has not reached
        yet are NaN."""
        import pandas as pd

        reached = min(self.n, max(0, model.quarter - self.first_quarter))

        def so_far(values: np.ndarray) -> np.ndarray:
            values = values.copy()
            values[reached:] = np.nan
            return values

        labels = [quarter_label(self.first_quarter + t) for t in range(self.n)]
        quarterly = pd.DataFrame({"quarter": labels,
                                  **{k: so_far(v) for k, v in self.quarterly.items()}})
        group_values, kind_values = so_far(self.groups), so_far(self.kind_by_size)
        lender_values = so_far(self.lenders)
        rows = []
        metrics = list(GROUP_METRICS)
        for t, label in enumerate(labels):
            for g, (dim, name) in enumerate(GROUP_NAMES):
                for m, metric in enumerate(metrics):
                    rows.append((label, dim, name, metric, group_values[t, g, m]))
            for k, kind in enumerate(LENDER_KINDS):
                for s, size in enumerate(SIZES):
                    rows.append((label, KIND_SIZE_DIMENSION, f"{kind}|{size}",
                                 KIND_SIZE_METRIC, kind_values[t, k, s]))
        groups = pd.DataFrame(rows, columns=["quarter", "dimension", "group", "metric", "value"])
        lender_rows = []
        for t, label in enumerate(labels):
            for l in model.lenders:
                lender_rows.append({"quarter": label, "lender": l.index, "name": l.name,
                                    "kind": l.kind, "active": bool(self.lender_active[t, l.index]),
                                    **dict(zip(_LENDER_NUMERIC, lender_values[t, l.index]))})
        return quarterly, groups, pd.DataFrame(lender_rows)
