"""What a history file may set: dated policy, shocks, lender-kind schedules, the macro
path and the starting state — nothing behavioural.

A history run (``scenarios/history_*.toml``) is a forecast from the end-2018 facts under
the real policy path; its behavioural parameters are the baseline's. :func:`check_history`
reads the keys a file sets itself (its sections and the keys of its ``[[change]]``
entries; ``[[shock]]`` entries are allowed as they are) and refuses any key outside
:data:`HISTORY_KEYS`, naming it. ``sim validate`` runs it on files named ``history*``;
``tests/test_history.py`` runs it on every history file and on a file that sets a
behavioural parameter. A new policy instrument added to the schema is added here before a
history file can schedule it.
"""

from __future__ import annotations

from pathlib import Path

from sim.config import ScenarioError, read_toml

# Dotted keys (full paths from the scenario root); an entry ending in "." is a prefix.
HISTORY_KEYS: tuple[str, ...] = (
    # file and run set-up
    "name", "description", "extends",
    "run.start", "run.end", "run.agents", "run.seed",
    # policy instruments: rates, reserves, re-lending and support tools
    "policy.central_bank.lpr_1y_annual", "policy.central_bank.rrr",
    "policy.central_bank.reserve_remuneration_annual",
    "policy.central_bank.relending_quota_yi", "policy.central_bank.relending_rate_annual",
    "policy.central_bank.inclusive_incentive_rate",
    "policy.central_bank.deferral_support_rate",
    "policy.central_bank.unsecured_support_share", "policy.central_bank.unsecured_support_quota_yi",
    # banking rules: capital, targets, online-lending rules, renewal
    "policy.banking.min_car", "policy.banking.conservation_buffer",
    "policy.banking.sme_risk_weight", "policy.banking.two_increases",
    "policy.banking.npl_tolerance", "policy.banking.local_bank_regional_limit",
    "policy.banking.joint_own_contribution", "policy.banking.partner_concentration_cap",
    "policy.banking.joint_total_cap", "policy.banking.online_per_firm_cap_wan",
    "policy.banking.platform_own_book_cap", "policy.banking.renewal_share",
    "policy.banking.large_bank_growth_target", "policy.banking.cost_target_fall_annual",
    # rate caps
    "policy.courts.",
    # fiscal: risk compensation, guarantees, deferral windows, subsidies
    "policy.fiscal.risk_compensation_share", "policy.fiscal.guarantee_coverage",
    "policy.fiscal.guarantee_fee_annual", "policy.fiscal.deferral",
    "policy.fiscal.deferral_interest", "policy.fiscal.interest_subsidy_annual",
    "policy.fiscal.vat_exemption",
    # data rules
    "policy.data.protection", "policy.data.bureau_coverage",
    "policy.data.tax_data_coverage",
    # the macro path
    "macro.gdp_growth_annual", "macro.rest_of_book_growth_annual", "macro.sector_growth.",
    "macro.firm_entry_yearly",
    # lender-kind schedules and their starting size
    *(f"platforms.{kind}.{field}"
      for kind in ("big_tech", "online_micro", "supply_chain", "crowd_equity", "p2p",
                   "small_loan")
      for field in ("count", "max_count", "open", "net_assets_yi", "investor_funds_yi",
                    "wind_down_quarters")),
    # firm entry and the firms represented at the start
    "population.entry_rate_quarterly", "population.represented.",
)

_TABLES = ("change", "shock")


class HistoryError(ScenarioError):
    """A history file that sets a key a history file may not set."""


def allowed(key: str) -> bool:
    """Whether a full dotted key may be set by a history file."""
    return any(key == k or (k.endswith(".") and key.startswith(k)) for k in HISTORY_KEYS)


def _leaves(table: dict, prefix: str = ""):
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            yield from _leaves(value, key + ".")
        else:
            yield key


def _full_key(change_key: str) -> str:
    """A change key as a path from the root: policy keys are written without 'policy.'
    (as sim.config.resolve_path looks them up)."""
    from sim.schema import PolicySection

    first = change_key.split(".", 1)[0]
    return f"policy.{change_key}" if first in PolicySection.model_fields else change_key


def refused_keys(raw: dict) -> list[str]:
    """The keys of a (not merged) scenario dictionary a history file may not set."""
    bad = [key for key in _leaves({k: v for k, v in raw.items() if k not in _TABLES})
           if not allowed(key)]
    for number, change in enumerate(raw.get("change", []), 1):
        for part in ("set", "ramp"):
            for key in (change.get(part) or {}):
                if not allowed(_full_key(key)):
                    bad.append(f"change #{number}: {key}")
    return bad


def check_history(path: str | Path) -> None:
    """Raise :class:`HistoryError` naming every key ``path`` sets that a history file may
    not (the file's own keys; the files it extends are checked on their own)."""
    path = Path(path)
    bad = refused_keys(read_toml(path))
    if bad:
        raise HistoryError(f"{path}: a history file sets only dated policy, shocks, "
                           "lender-kind schedules, the macro path and the starting state; "
                           "not allowed: " + ", ".join(bad))
