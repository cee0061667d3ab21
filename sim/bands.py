"""The plausibility bands of the baseline: each indicator's 2024 average must land inside
its band, and SME loans must grow within a band to 2030 (docs/calibration.md gives the
sources). Checked by ``tests/test_baseline.py`` and ``tests/test_credit_deepening.py``,
printed by ``benchmarks/trends.py``."""

from __future__ import annotations

__all__ = ["BASELINE_2024_BANDS", "BASELINE_LOAN_GROWTH_BAND"]

# quarterly column: (low, high), 2024 average
BASELINE_2024_BANDS: dict[str, tuple[float, float]] = {
    "online_share_new": (0.30, 0.45),
    "avg_rate_new": (0.07, 0.12),
    "avg_rate_new_bank": (0.035, 0.06),
    "avg_rate_new_online": (0.12, 0.20),
    "npl_ratio": (0.02, 0.05),
    "unmet_demand_share": (0.10, 0.30),
    "bank_car_mean": (0.11, 0.16),
}

# average yearly growth, 2024Q4 to 2030Q4, of loan_balance and loan_balance_bank: the
# report's SME loan growth (F7, F8: 7.8–9.7% a year; F13: at least 8%) with room either side
BASELINE_LOAN_GROWTH_BAND: tuple[float, float] = (0.06, 0.12)
