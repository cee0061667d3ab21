"""Do the two engines agree? Per-firm state of either engine, keyed by uid, and the first
place where two of them part.

:func:`run_both` steps two :class:`~sim.model.CreditMarket` of the same scenario, one
with each SME engine, side by side and, after the
starting population and after every quarter, compares every firm (its slot, attributes,
this quarter's flags and loans) and the quarter's accumulators; it names the first
quarter, the smallest uid and the field where they differ, with both values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.kernels import layout as L
from sim.population import LOAN_POSITIONS, request_records
from sim.quarters import quarter_label

NEW_MARK = L.NEW_THIS_QUARTER

# what every firm that holds a slot carries (a closed firm keeps them until its bad loans
# are written off)
FIRM_FIELDS = ("alive", "sector", "region", "size", "stage", "age", "quality", "log_trend",
               "log_revenue", "cash", "collateral", "digital", "debt_target",
               "anchor", "bureau", "tax_file", "history", "reported_loan",
               "defaulted_before", "outside_stake", "discouraged", "informal_debt")
# what a live firm did this quarter (the fast engine clears this in every slot, the
# reference only in live firms; an entrant has not done anything yet)
QUARTER_FIELDS = ("distressed",)
# its credit request, if it sought credit this quarter (the fast engine keeps requests
# apart from the firms, see sim.population.REQUEST_FIELDS); a firm that did not seek
# has no need, no investment and no lender that turned it down
REQUEST_FIELDS = ("need", "invest", "rejected_by")
NO_REQUEST = {"need": 0.0, "invest": 0.0, "rejected_by": -1.0}
LOAN_FIELDS = ("principal", "rate", "remaining", "term", "lender", "channel", "secured",
               "amortizing", "deferred", "vat_eligible", "status", "npl_age")


def _acted(model, uid: int) -> bool:
    """Whether the firm was there for the firm pass of the quarter just stepped."""
    return uid < (1 << 32) or (uid >> 32) < model.quarter - 1


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def numba_states(model) -> dict[int, dict]:
    """Per-firm state of the fast engine: every slot with a live firm or a loan left."""
    pop = model.sme.pop
    n = model.used_slots
    held = (pop.alive[:n] == 1) | (pop.loan_status[:n] != 0).any(axis=1)
    columns = {name: getattr(pop, name)[:n].tolist() for name in FIRM_FIELDS + QUARTER_FIELDS}
    loans = {name: getattr(pop, f"loan_{name}")[:n].tolist() for name in LOAN_FIELDS}
    uids = pop.uid[:n].tolist()
    requests = _requests_by_slot(model)
    states = {}
    for i in np.flatnonzero(held).tolist():
        state = {"slot": i}
        for name in FIRM_FIELDS:
            state[name] = float(columns[name][i])
        if columns["alive"][i] and _acted(model, uids[i]):
            for name in QUARTER_FIELDS:
                state[name] = float(columns[name][i])
            request = requests.get(i)
            state.update(NO_REQUEST if request is None else
                         {name: request[name] for name in REQUEST_FIELDS})
            if request is not None:
                state["revenue"] = request["revenue"]
        for slot in range(LOAN_POSITIONS):
            if loans["status"][i][slot] != 0:
                for name in LOAN_FIELDS:
                    state[f"loan{slot}.{name}"] = float(loans[name][i][slot])
        states[uids[i]] = state
    return states


def _requests_by_slot(model) -> dict[int, dict]:
    """The quarter's credit requests of the fast engine, by the slot of the firm."""
    where = request_records(model.sme.seekers_per_block[:model.used_blocks])
    records = model.sme.pop.requests[where]
    slots = where - where % L.BLOCK_SIZE + records["offset"]
    return {slot: {name: float(records[name][k]) for name in REQUEST_FIELDS + ("revenue",)}
            for k, slot in enumerate(slots.tolist())}


def reference_states(model) -> dict[int, dict]:
    """Per-firm state of the reference engine, in the fast engine's terms."""
    states = {}
    for firm in model.sme.firms():
        state = {"slot": firm.slot}
        for name in FIRM_FIELDS:
            state[name] = float(getattr(firm, name))
        if firm.alive and _acted(model, firm.uid):
            state["distressed"] = float(firm.distressed)
            state["need"] = float(firm.need)
            state["invest"] = float(int(firm.invest) | (2 if firm.refinance else 0)
                                         | (4 if firm.offered and firm.sought else 0))
            state["rejected_by"] = float(firm.rejected_by)
            if firm.sought:
                state["revenue"] = float(firm.revenue)
        for slot, loan in enumerate(firm.loans):
            if loan is None:
                continue
            for name in LOAN_FIELDS:
                value = getattr(loan, name)
                if name == "npl_age" and loan.new:
                    value = NEW_MARK
                state[f"loan{slot}.{name}"] = float(value)
        states[firm.uid] = state
    return states


def firm_states(model) -> dict[int, dict]:
    """Per-firm state of either engine, keyed by uid."""
    if model.sme.name == "reference":
        return reference_states(model)
    return numba_states(model)


def _differs(a, b, rtol: float) -> bool:
    if a == b:
        return False
    if rtol and isinstance(a, float) and isinstance(b, float):
        return abs(a - b) > rtol * max(abs(a), abs(b))
    return True


def first_difference(a: dict[int, dict], b: dict[int, dict], rtol: float = 0.0) -> str | None:
    """The smallest uid whose state differs between ``a`` and ``b`` (field and both
    values), or None if they agree (floats to ``rtol`` relative, 0 = exactly)."""
    for uid in sorted(set(a) | set(b)):
        if uid not in b:
            return f"uid {uid}: in the first (slot {a[uid]['slot']}) but not the second"
        if uid not in a:
            return f"uid {uid}: in the second (slot {b[uid]['slot']}) but not the first"
        x, y = a[uid], b[uid]
        for name in dict.fromkeys(list(x) + list(y)):
            if name not in x or name not in y:
                return (f"uid {uid}: {name} is {x.get(name, 'absent')!r} in the first, "
                        f"{y.get(name, 'absent')!r} in the second")
            if _differs(x[name], y[name], rtol):
                return f"uid {uid}: {name} {x[name]!r} vs {y[name]!r}"
    return None


ACCUMULATORS = ("lender", "group", "band", "owner_draws", "entry_groups")


def accumulator_difference(a, b, rtol: float = 0.0) -> str | None:
    """The first accumulator cell (summed over blocks) where two models differ."""
    for name in ACCUMULATORS:
        x, y = getattr(a.acc, name), getattr(b.acc, name)
        if x.ndim == 4 or name == "owner_draws":
            x, y = x.sum(axis=0), y.sum(axis=0)
        bad = np.abs(x - y) > rtol * np.maximum(np.abs(x), np.abs(y))
        if bad.any():
            cell = tuple(int(k) for k in np.argwhere(bad)[0])
            return f"{name}{list(cell)}: {_plain(x[cell])!r} vs {_plain(y[cell])!r}"
    capacity_a = [l.capacity for l in a.lenders]
    capacity_b = [l.capacity for l in b.lenders]
    for j, (x, y) in enumerate(zip(capacity_a, capacity_b)):
        if _differs(float(x), float(y), rtol):
            return f"capacity of lender {j}: {x!r} vs {y!r}"
    return None


@dataclass
class Parting:
    """Where the engines first disagree."""

    quarter: int | None   # None: in the starting population
    what: str

    def __str__(self) -> str:
        when = "the starting population" if self.quarter is None else quarter_label(self.quarter)
        return f"the engines part in {when}: {self.what} (numba vs reference)"


def run_both(scenario, rtol: float = 0.0, after_quarter=None):
    """Step both engines of ``scenario`` to its end, comparing them after each quarter.

    Returns ``(numba_model, reference_model, parting)``; ``parting`` is None if every
    firm and accumulator agreed every quarter, else a :class:`Parting` (the models are
    then left at that quarter). ``after_quarter(numba_model, reference_model, quarter)``
    is called after each quarter that agreed.
    """
    from sim.model import CreditMarket

    fast = CreditMarket(scenario, engine="numba")
    reference = CreditMarket(scenario, engine="reference")
    what = first_difference(numba_states(fast), reference_states(reference), rtol)
    if what is not None:
        return fast, reference, Parting(None, what)
    while fast.quarter <= fast.end_quarter:
        quarter = fast.quarter
        fast.step()
        reference.step()
        what = first_difference(numba_states(fast), reference_states(reference), rtol) \
            or accumulator_difference(fast, reference, rtol)
        if what is not None:
            return fast, reference, Parting(quarter, what)
        if after_quarter is not None:
            after_quarter(fast, reference, quarter)
    return fast, reference, None
