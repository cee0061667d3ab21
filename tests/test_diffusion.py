"""Digital finance spreads (sim/diffusion.py, ODD 7.5 and 7.8): what firms see of their
peers, the footprint's step in both engines, and the directions the issue asks for: more
digital footprint or more platform capital raises the online share, with the rules fixed.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest
from numba import njit

from sim.categories import GROUP_REGION, GROUP_SECTOR, N_GROUPS
from sim.diffusion import signals
from sim.kernels import layout as L
from sim.kernels.operate import digital_step
from sim.model import run
from sim.population import FIRM_DTYPE
from sim.reference.sme import SME
from tests.helpers import scenario

Platform = namedtuple("Platform", "channel active capital capital_initial")
Params = namedtuple("Params", "digital_drift digital_imitation digital_marketing peer_digital")


def test_signals_are_group_means_and_the_platforms_capital_index():
    counts = np.zeros((N_GROUPS, L.GM_N))
    counts[2, L.GM_ALIVE], counts[2, L.GM_DIGITAL], counts[2, L.GM_ONLINE_USERS] = 4.0, 2.0, 1.0
    platforms = [Platform(1, True, 150.0, 100.0), Platform(1, True, 50.0, 100.0),
                 Platform(1, False, 0.0, 100.0),   # an idle entry slot counts for nothing
                 Platform(2, True, 900.0, 100.0)]  # supply chain: not an online platform
    seen = signals(counts, platforms)
    assert seen.peer_digital[2] == 0.5 and seen.online_use[2] == 0.25
    assert seen.peer_digital[3] == 0.0 and seen.online_use[3] == 0.0  # no firms: no signal
    assert seen.platform_capital_index == 1.0


@njit(cache=False)
def _kernel_step(firms, params, peer_digital):
    return digital_step(firms[0], params, peer_digital)


def _step_both(digital, sector, region, params):
    firms = np.zeros(1, dtype=FIRM_DTYPE)
    firms["digital"], firms["sector"], firms["region"] = digital, sector, region
    kernel = _kernel_step(firms, params, params.peer_digital)
    agent = SME.__new__(SME)
    agent.digital, agent.sector, agent.region = float(np.float32(digital)), sector, region
    return kernel, agent._digital_step(params)


def test_a_firm_behind_its_peers_closes_part_of_the_gap_in_both_engines():
    peers = np.zeros(N_GROUPS)
    peers[GROUP_SECTOR + 1], peers[GROUP_REGION + 2] = 0.6, 0.4
    params = Params(0.01, 0.25, 0.1, peers)
    kernel, reference = _step_both(0.25, 1, 2, params)
    # drift + 0.25 × (0.5 − 0.25) + 0.1 × (1 − 0.25)
    assert kernel == pytest.approx(0.01 + 0.0625 + 0.075, rel=1e-12)
    assert kernel == reference
    # a firm ahead of its peers does not move back; marketing still moves it forward
    kernel, reference = _step_both(0.75, 1, 2, params)
    assert kernel == pytest.approx(0.01 + 0.025, rel=1e-12) and kernel == reference


def test_with_the_coefficients_at_zero_only_the_drift_moves_the_footprint():
    peers = np.full(N_GROUPS, 0.9)
    kernel, reference = _step_both(0.2, 0, 0, Params(0.006, 0.0, 0.0, peers))
    assert kernel == reference == 0.006


def _online_share(**sections) -> float:
    result = run(scenario(agents=20_000, end="2025Q4", burn_in=4, **sections))
    quarterly = result.quarterly
    return float(quarterly["online_share_new"].tail(4).mean())


def test_more_digital_footprint_raises_the_online_share():
    base = _online_share()
    more = _online_share(population={"digital_mean": {"individual": 0.55, "micro": 0.6,
                                                      "small": 0.65}})
    assert more > base + 0.01, (base, more)


def test_more_platform_capital_raises_the_online_share():
    base = _online_share()
    richer = _online_share(platforms={"big_tech": {"net_assets_yi": 2700.0},
                                      "online_micro": {"net_assets_yi": 180.0}})
    assert richer > base, (base, richer)


def test_imitation_marketing_and_trust_spread_online_finance_over_time():
    """Switched on, the diffusion terms raise the footprint and the online share year by
    year against the same run without them (paired seeds)."""
    def path(**credit_and_firms):
        result = run(scenario(agents=20_000, end="2026Q4", burn_in=0, **credit_and_firms))
        q = result.quarterly
        return q["digital_mean"].to_numpy(), (q["borrowers_online"] / q["sme_alive"]).to_numpy()

    digital_off, users_off = path()
    digital_on, users_on = path(firms={"digital_imitation_quarterly": 0.1,
                                       "platform_marketing_quarterly": 0.01},
                                credit={"online_trust": 3.0})
    assert digital_on[-1] > digital_off[-1] + 0.02
    assert np.all(np.diff(digital_on[3::4]) > 0)     # year by year
    assert users_on[-1] > users_off[-1]
