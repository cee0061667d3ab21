"""Platforms raise capital when returns allow, facilitate loans banks fund in full (助贷),
and the online share is reported by who originates and by who funds (ODD 7.16)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import CreditMarket, run
from tests.helpers import scenario

# a platform raises equity whatever its slack (raise_slack 1) at any positive return
_RAISE = {"raise_slack": 1.0, "raise_roe_threshold": 0.0}


def _quarterly(agents=10_000, end="2025Q4", burn_in=4, check=False, **sections):
    return run(scenario(agents=agents, end=end, burn_in=burn_in, **sections),
               check=check).quarterly


def test_a_higher_capital_raising_rate_raises_the_online_share():
    """The rules held fixed, platforms that raise more equity reach more firms and lend
    more (paired seeds)."""
    def share(rate):
        q = _quarterly(platforms={"big_tech": {**_RAISE, "raise_rate_quarterly": rate},
                                  "online_micro": {**_RAISE, "raise_rate_quarterly": rate}})
        return float(q["online_share_new"].tail(4).mean()), float(
            q["platform_equity_raised"].sum())

    base, raised_base = share(0.0)
    more, raised_more = share(0.08)
    assert raised_base == 0.0 and raised_more > 0.0
    assert more > base + 0.005, (base, more)


def test_a_platform_with_high_return_and_binding_capacity_raises_equity_and_books_balance():
    """With a tight leverage cap the platforms' capacity binds; earning above the
    threshold, they raise equity from the outside sector and the stock-flow check holds
    (capital moves by income, payouts and injections); above a threshold they do not
    reach they raise nothing."""
    def raised(threshold):
        model = CreditMarket(scenario(
            agents=10_000, end="2024Q3", burn_in=2,
            policy={"banking": {"platform_own_book_cap": 0.3}},
            platforms={"big_tech": {"raise_roe_threshold": threshold,
                                    "raise_rate_quarterly": 0.05}}), check=True)
        model.run_all()
        q = model.results().quarterly
        assert model.checker.quarters_checked == 2 + 3
        # the equity raised was paid in by the outside sector
        assert model.outside.account.total["platform_capital"] >= \
            q["platform_equity_raised"].sum() - 1e-9
        return float(q["platform_equity_raised"].sum())

    assert raised(0.0) > 0.0
    assert raised(5.0) == 0.0


def test_facilitated_loans_are_originated_online_but_funded_by_banks():
    off = _quarterly(end="2024Q4", check=True)
    on = _quarterly(end="2024Q4", check=True,
                    policy={"banking": {"facilitation_cap": 0.05}})
    assert off["new_loans_facilitated"].sum() == 0.0
    assert on["new_loans_facilitated"].sum() > 0.0
    assert on["loan_balance_facilitated"].iloc[-1] > 0.0
    # originated counts them, funded does not
    gap = on["online_share_new_originated"] - on["online_share_new_funded"]
    assert np.all(gap >= on["new_loans_facilitated"] / on["new_loans"] - 1e-12)
    assert np.all(on["online_share_balance_funded"] < on["online_share_balance_originated"])
    ratio_on = (on["online_share_new_funded"] / on["online_share_new_originated"]).mean()
    ratio_off = (off["online_share_new_funded"] / off["online_share_new_originated"]).mean()
    assert ratio_on < ratio_off - 0.02, (ratio_on, ratio_off)


def _rules(sets=None):
    """Baseline with facilitation (5% of bank capital), and the rules ``sets`` changed
    from 2025Q1; the 2025 averages."""
    kw = {"change": [{"at": "2025Q1", "set": sets}]} if sets else {}
    q = run(scenario(agents=10_000, end="2025Q4", burn_in=4,
                     policy={"banking": {"facilitation_cap": 0.05}}, **kw)).quarterly
    return q.tail(4).mean(numeric_only=True)


def _drop(base, other, column):
    return 1.0 - other[column] / base[column]


_TIGHTER = {"banking.joint_own_contribution": 0.50, "banking.online_per_firm_cap_wan": 30.0,
            "banking.platform_own_book_cap": 4.0, "banking.partner_concentration_cap": 0.15}


def test_a_tighter_leverage_cap_lowers_the_funded_share_more_than_the_originated_share():
    """The leverage rule (own book ≤ 1× net assets instead of 6×) binds platforms' own
    funding; they move lending to facilitation, so the share they fund falls and the
    share they arrange hardly moves."""
    base = _rules()
    tighter = _rules({"banking.platform_own_book_cap": 1.0})
    assert _drop(base, tighter, "online_share_new_funded") > 0.2
    assert _drop(base, tighter, "online_share_new_funded") > \
        _drop(base, tighter, "online_share_new_originated") + 0.15
    assert _drop(base, tighter, "online_share_balance_funded") > \
        _drop(base, tighter, "online_share_balance_originated") + 0.1
    assert tighter["new_loans_facilitated"] > 2.0 * base["new_loans_facilitated"]


@pytest.mark.xfail(strict=True, reason=(
    "measured (10,000 SMEs, 2025 averages, facilitation 5% of bank capital): "
    "scenarios/online_rules_tighter.toml lowers the originated share of new lending by 36% "
    "and the funded share by 4%; the per-firm cap (30万) cuts what platforms arrange, "
    "whoever funds it, and the higher own share (50%) makes platforms fund more of each "
    "joint loan, which offsets the leverage cap; alone, the own share raises the funded "
    "share (10.3% to 16.0%) and the leverage cap lowers it"))
def test_the_2020_21_rules_lower_the_funded_share_more_than_the_originated_share():
    base = _rules()
    tighter = _rules(_TIGHTER)
    assert _drop(base, tighter, "online_share_new_funded") > \
        _drop(base, tighter, "online_share_new_originated")


def test_books_balance_with_facilitation_and_capital_raising_through_failures_and_entry():
    """rrr 0 makes a platform fail and its slot be re-used; facilitation, capital raising
    and a bank type that is missing all run under the stock-flow check."""
    for sections in (
            {"policy": {"central_bank": {"rrr": 0.0}, "banking": {"facilitation_cap": 0.5}},
             "platforms": {"big_tech": {**_RAISE, "raise_rate_quarterly": 0.1},
                           "online_micro": {**_RAISE, "raise_rate_quarterly": 0.1}}},
            {"banks": {"rural": {"count": 0}},
             "policy": {"banking": {"facilitation_cap": 0.2, "platform_own_book_cap": 0.5}}}):
        result = run(scenario(agents=5_000, end="2024Q4", **sections), check=True)
        q = result.quarterly
        assert q["new_loans_facilitated"].sum() > 0
        assert np.all(q["online_share_new_funded"] <= q["online_share_new_originated"] + 1e-12)
