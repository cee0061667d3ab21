"""The SME population as a struct of arrays, with every dtype declared in one table.

Arrays have ``capacity`` slots, room for the starting firms and entrants; when entrants
find no free slot the arrays grow (:meth:`Population.grow`). The ``alive`` mask says
which slots hold a firm. Loan attributes have shape ``(capacity, LOAN_SLOTS)`` so a
firm's loans sit side by side in memory.
Money is in 万元 (10,000 yuan) at this level; :func:`sim.units.national` converts
weighted sums to national 亿元.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import SimError
from sim.quarters import parse_quarter

if TYPE_CHECKING:
    from sim.schema import Scenario

LOAN_SLOTS = 2

# name: (dtype, per "firm" or "slot", unit, meaning)
SME_FIELDS: dict[str, tuple[str, str, str, str]] = {
    "uid": ("i8", "firm", "-", "stable id: (entry quarter << 32) | k; initial firms k"),
    "alive": ("u1", "firm", "bool", "slot holds a live firm"),
    "sector": ("u1", "firm", "code", "index into categories.SECTORS"),
    "region": ("u1", "firm", "code", "index into categories.REGIONS"),
    "size": ("u1", "firm", "code", "index into categories.SIZES (sampling stratum)"),
    "stage": ("u1", "firm", "code", "index into categories.STAGES"),
    "age": ("i2", "firm", "quarters", "age since entry"),
    "quality": ("f4", "firm", "sd units", "latent creditworthiness ~ N(0,1), never observed"),
    "log_trend": ("f4", "firm", "log 万元", "log of the revenue level the firm reverts to"),
    "log_revenue": ("f4", "firm", "log 万元", "log of quarterly revenue before shocks"),
    "revenue": ("f8", "firm", "万元/quarter", "revenue this quarter, after shocks"),
    "margin": ("f4", "firm", "fraction", "profit ÷ revenue this quarter"),
    "cash": ("f8", "firm", "万元", "cash holdings"),
    "collateral": ("f8", "firm", "万元", "pledgeable assets"),
    "digital": ("f4", "firm", "0-1", "share of activity visible as digital data"),
    "debt_target": ("f4", "firm", "× quarterly revenue", "debt the firm wants; 0 = never borrows"),
    "anchor": ("i2", "firm", "id", "core firm whose supply chain it sells into, or -1"),
    "bureau": ("u1", "firm", "bool", "has a credit-bureau file"),
    "history": ("i2", "firm", "quarters", "quarters of on-time repayment"),
    "first_loan_quarter": ("i2", "firm", "quarter index", "quarter of first loan, -1 = never"),
    "defaulted_before": ("u1", "firm", "bool", "has defaulted at least once"),
    "outside_stake": ("f4", "firm", "share", "share of owner draws due to outside investors"),
    "distressed": ("u1", "firm", "bool", "could not meet debt service this quarter"),
    "need": ("f8", "firm", "万元", "external finance still sought this quarter"),
    "invest": ("u1", "firm", "bool", "this quarter's need includes an investment"),
    "rejected_by": ("i2", "firm", "id", "lender that last rejected the firm this quarter"),
    "discouraged": ("u1", "firm", "quarters", "quarters before a turned-down firm asks again"),
    "loan_principal": ("f8", "slot", "万元", "principal outstanding; 0 = empty slot"),
    "loan_rate": ("f4", "slot", "fraction/yr", "contract rate"),
    "loan_remaining": ("i1", "slot", "quarters", "quarters to maturity"),
    "loan_term": ("i1", "slot", "quarters", "original maturity"),
    "loan_lender": ("i2", "slot", "id", "originating lender (its acquirer after a resolution)"),
    "loan_channel": ("u1", "slot", "code", "index into categories.CHANNELS"),
    "loan_secured": ("u1", "slot", "bool", "collateral or receivable behind the loan"),
    "loan_amortizing": ("u1", "slot", "bool", "principal falls due in equal parts"),
    "loan_status": ("u1", "slot", "code", "0 empty, 1 performing, 2 non-performing"),
    "loan_npl_age": ("u1", "slot", "quarters", "quarters non-performing; 255 marks a loan "
                     "made this quarter"),
}


# what an empty slot holds where that is not zero
EMPTY_VALUES = {"anchor": -1, "first_loan_quarter": -1, "rejected_by": -1, "loan_lender": -1}


# Large arrays come from the system page-aligned, so every array would start at the same
# byte of a page. Kernels read entry ``i`` of many arrays together, and the L1 cache picks
# a line's set from its address within the page: arrays of one element width would all
# land in the same set at every ``i`` and evict each other. So each array starts at its
# own cache line within the page (``line``). Results do not depend on it.
_PAGE = 4096
_LINE = 64
# Successive arrays start this many lines apart, so that neighbours in the table are
# spread over the page rather than packed into its first lines.
_LINE_STEP = 9  # coprime with the 64 lines of a page: every array gets its own line


def staggered_zeros(dims: tuple[int, ...], dtype, line: int) -> np.ndarray:
    """Zeros of shape ``dims``, starting ``line`` cache lines (mod a page) past a page
    boundary. From calloc, so pages never written are never made resident."""
    nbytes = int(np.prod(dims)) * np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + 2 * _PAGE, dtype=np.uint8)
    start = (line * _LINE_STEP * _LINE - raw.ctypes.data) % _PAGE
    return raw[start:start + nbytes].view(dtype).reshape(dims)


_FIELD_LINE = {name: k for k, name in enumerate(SME_FIELDS)}
# cache lines for arrays other modules allocate next to the SME arrays
FREE_LINE = len(SME_FIELDS)


def _empty_slots(name: str, capacity: int) -> np.ndarray:
    """A new array for field ``name`` with its empty value in every slot."""
    dtype, shape = SME_FIELDS[name][:2]
    dims = (capacity,) if shape == "firm" else (capacity, LOAN_SLOTS)
    array = staggered_zeros(dims, dtype, _FIELD_LINE[name])
    if name in EMPTY_VALUES:
        array.fill(EMPTY_VALUES[name])
    return array


@dataclass
class Population:
    """SME arrays; attribute names and dtypes come from :data:`SME_FIELDS`."""

    capacity: int
    arrays: dict[str, np.ndarray]

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def allocate(cls, capacity: int) -> "Population":
        return cls(capacity, {name: _empty_slots(name, capacity) for name in SME_FIELDS})

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` slots, keeping every firm in its slot. One array is
        copied at a time, so the memory briefly held twice is one field's, not all."""
        if capacity <= self.capacity:
            return
        for name, old in self.arrays.items():
            new = _empty_slots(name, capacity)
            new[:self.capacity] = old
            self.arrays[name] = new
            del old
        self.capacity = capacity

    def bytes_per_slot(self) -> float:
        return sum(a.nbytes for a in self.arrays.values()) / self.capacity

    def alive_count(self) -> int:
        return int(self.arrays["alive"].sum())


def check_slot_count(capacity: int) -> None:
    """Refuse more slots than the kernels' int32 seeker indices can address."""
    if capacity >= 2**31:
        raise SimError(f"{capacity:,} SME slots exceed the 2,147,483,647 the kernels can "
                       f"index; lower run.agents or population.capacity_factor")


def slot_capacity(scenario: Scenario) -> int:
    """SME slots a run allocates at the start: the starting agents and room for entrants
    (``population.capacity_factor``, or 1.1 + 0.015 per simulated quarter); the arrays
    grow if entrants need more."""
    run = scenario.run
    quarters = parse_quarter(run.end) - parse_quarter(run.start) + run.burn_in_quarters + 1
    factor = scenario.population.capacity_factor or 1.1 + 0.015 * quarters
    return int(math.ceil(run.agents * factor))
