"""What spreads digital finance among firms: their peers' footprints and use of online
credit, and the platforms' marketing.

Each quarter's stock count gives, per firm group, the mean digital footprint of its live
firms and the share of them with an online loan. The next quarter a firm behind its
sector and region peers closes part of the gap (imitation), platforms' marketing, scaled
by their capital, moves every firm towards a full footprint, and a firm weighs the
online channel by how many of its sector peers use it (trust). See docs/ODD.md 7.5 and
7.8.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.categories import CH_ONLINE, N_GROUPS
from sim.kernels import layout as L


class DiffusionSignals(NamedTuple):
    """What firms see of their peers and the platforms at the start of a quarter."""

    peer_digital: np.ndarray      # float64 [N_GROUPS]: mean digital of live firms
    online_use: np.ndarray        # float64 [N_GROUPS]: share of live firms with an online loan
    platform_capital_index: float  # online platforms' capital now ÷ at their start


def no_signals() -> DiffusionSignals:
    """Before the first stock count: nobody has been seen yet."""
    return DiffusionSignals(np.zeros(N_GROUPS), np.zeros(N_GROUPS), 1.0)


def signals(group_count: np.ndarray, platforms) -> DiffusionSignals:
    """The signals of a stock count (``group_count``, float64 [N_GROUPS, GM_N], weighted
    as counts, before entrants) and the online platforms (``kind_class`` online)."""
    alive = group_count[:, L.GM_ALIVE]
    have = alive > 0
    peer_digital = np.zeros(N_GROUPS)
    online_use = np.zeros(N_GROUPS)
    peer_digital[have] = group_count[have, L.GM_DIGITAL] / alive[have]
    online_use[have] = group_count[have, L.GM_ONLINE_USERS] / alive[have]
    now = start = 0.0
    for platform in platforms:
        if platform.channel == CH_ONLINE:
            now += max(platform.capital, 0.0) if platform.active else 0.0
            start += platform.capital_initial if platform.active else 0.0
    index = now / start if start > 0 else 0.0
    return DiffusionSignals(peer_digital, online_use, index)
