"""The market of a year end before 2020 that no fact sets directly: banks' practice, the
online-lending rules in force and the non-bank lenders (ODD, Initialisation).

Used by :func:`sim.start_state.apply` for a start in 2016Q1–2019Q1 and by the reference
it scales from (:mod:`sim.start_reference`), so that both compare like with like: the
borrowing propensity and the money unit a start-year state derives from the reference
are measured with the same lenders and rules around the banks.
"""

from __future__ import annotations

from typing import Any

# P2P platforms and small-loan companies are each represented by this many agents.
NONBANK_AGENTS = 6
# Small-loan companies' paid-in capital per yuan of loans: ~8,360亿 against 9,550亿 of
# loans at end-2018 (PBoC small-loan company statistics); the facts give loans only.
SMALL_LOAN_CAPITAL_TO_LOANS = 8360.0 / 9550.0

# The rules on online lending in force at the end of every year 2015–2018, in the
# schema's terms (a cap this high is no cap). Each was introduced later by the rule named.
RULES_BEFORE_2020: tuple[tuple[str, Any, str], ...] = (
    ("policy.banking.joint_own_contribution", 0.02,
     "Ant kept ~2% of the credit it enabled before the 2020-11 draft rules on online "
     "micro-loans set ≥30% (mid-2020 figures; policy inputs)"),
    ("policy.banking.online_per_firm_cap_wan", 1.0e6,
     "no per-firm cap before the 2020-11 draft rules (lenders' products set loan sizes: "
     "platforms.<kind>.max_loan_wan)"),
    ("policy.banking.platform_own_book_cap", 10000.0,
     "no leverage cap on platforms before the 2020-11 draft rules"),
    ("policy.banking.partner_concentration_cap", 100.0,
     "no partner concentration cap before the CBIRC internet-loan rules of 2021-02"),
    ("policy.banking.joint_total_cap", 1.0,
     "no cap on joint loans in banks' books before the CBIRC internet-loan rules of 2021-02"),
    ("policy.banking.local_bank_regional_limit", False,
     "local banks' out-of-region online lending barred only from 2022-01-01 (CBIRC 2021)"),
    ("policy.courts.private_under_lpr_multiple", False,
     "the 24% private-lending line of the SPC's 2015 provisions until its 4 × LPR cap of "
     "2020-08-20"),
)


def set_parameter(record: list, scenario, path: str, value: Any) -> None:
    """Set a dotted parameter of ``scenario`` and note the change in ``record``."""
    *parents, name = path.split(".")
    target = scenario
    for part in parents:
        target = getattr(target, part)
    before = getattr(target, name)
    try:
        setattr(target, name, value)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        from sim.config import ScenarioError

        # the start year scales the scenario's own value past what the schema allows
        reason = exc.errors()[0]["msg"] if hasattr(exc, "errors") else str(exc)
        raise ScenarioError(
            f"'{path}' = {before!r} becomes {value!r} when the run starts from the "
            f"{scenario.run.start} market ({reason}); a {scenario.run.start} start scales "
            "it from the year-end facts, so give a value that stays within its bounds "
            "after scaling, or start in 2024Q1") from None
    record.append({"parameter": path, "default": before, "value": getattr(target, name)})


def set_pre_2019_practice(scenario, record: list) -> None:
    """Set ``scenario`` to banks' practice before the 2019–2020 inclusive drives, noting
    each change in ``record``: they reached firms without loans far less, and kept bad
    loans on their books longer before writing them off or selling them."""
    credit = scenario.credit
    set_parameter(record, scenario, "credit.outreach.scale",
                  credit.outreach.scale * credit.outreach.scale_before_2019_factor)
    set_parameter(record, scenario, "credit.writeoff_quarters",
                  credit.writeoff_quarters_before_2019)


def set_year_end_market(scenario, record: list, p2p_outstanding_yi: float,
                        small_loan_loans_yi: float) -> None:
    """Set ``scenario``'s online rules to those in force before 2020
    (:data:`RULES_BEFORE_2020`) and its non-bank lenders to a year end's: P2P platforms
    placing ``p2p_outstanding_yi`` of investors' money and small-loan companies with the
    capital behind ``small_loan_loans_yi`` of loans (亿元), each kind as
    :data:`NONBANK_AGENTS` agents and no entrants. Notes each change in ``record``."""
    for path, value, _source in RULES_BEFORE_2020:
        set_parameter(record, scenario, path, value)
    for kind in ("p2p", "small_loan"):
        set_parameter(record, scenario, f"platforms.{kind}.count", NONBANK_AGENTS)
        set_parameter(record, scenario, f"platforms.{kind}.max_count", NONBANK_AGENTS)
    set_parameter(record, scenario, "platforms.p2p.investor_funds_yi",
                  p2p_outstanding_yi / NONBANK_AGENTS)
    set_parameter(record, scenario, "platforms.small_loan.net_assets_yi",
                  small_loan_loans_yi * SMALL_LOAN_CAPITAL_TO_LOANS / NONBANK_AGENTS)
