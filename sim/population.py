"""The SME population: one record per slot, with every field's dtype declared in one table.

Firms live in ``capacity`` slots, room for the starting firms and entrants; when entrants
find no free slot the population grows (:meth:`Population.grow`). The ``alive`` field
says which slots hold a firm. A slot's firm fields are one record of ``firms`` and its
loans ``LOAN_SLOTS`` records of ``loans``: the kernels read and write many fields of one
firm together, and a record brings them in from memory as one or two cache lines, where
an array per field would need a line (and a base address held in a register) per field.
``arrays`` gives each field as an array view for code that works column by column.
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


# Slots never handed out hold zeros (their pages are never touched, so take no memory).
# ``kernels.firms.init_firms`` writes every field of a slot it places a firm in, and an
# emptied loan has lender -1 (``kernels.firms.clear_slot``).
LOAN_PREFIX = "loan_"


def _record_dtype(shape: str, strip: str = "") -> np.dtype:
    """The record of one firm (``shape`` "firm") or one loan ("slot"), widest fields
    first so that every field of a firm record lies on a multiple of its width."""
    names = [name for name, spec in SME_FIELDS.items() if spec[1] == shape]
    names.sort(key=lambda name: -np.dtype(SME_FIELDS[name][0]).itemsize)  # stable
    return np.dtype([(name.removeprefix(strip), SME_FIELDS[name][0]) for name in names])


FIRM_DTYPE = _record_dtype("firm")
LOAN_DTYPE = _record_dtype("slot", LOAN_PREFIX)  # fields without the prefix: ``loan.rate``

# Large arrays come from the system page-aligned, so every array would start at the same
# byte of a page. Kernels read entry ``i`` of several arrays together (the firms' and
# loans' records, the seekers' applications), and the L1 cache picks a line's set from
# its address within the page: arrays of one element width would land in the same set at
# every ``i`` and evict each other. So each array starts at its own cache line of the
# page (``line``). Results do not depend on it.
_PAGE = 4096
_LINE = 64
# Successive arrays start this many lines apart, so that neighbours are spread over the
# page rather than packed into its first lines.
_LINE_STEP = 9  # coprime with the 64 lines of a page: every array gets its own line


def staggered_zeros(dims: tuple[int, ...], dtype, line: int) -> np.ndarray:
    """Zeros of shape ``dims``, starting ``line`` cache lines (mod a page) past a page
    boundary. From calloc, so pages never written are never made resident."""
    nbytes = int(np.prod(dims)) * np.dtype(dtype).itemsize
    raw = np.zeros(nbytes + 2 * _PAGE, dtype=np.uint8)
    start = (line * _LINE_STEP * _LINE - raw.ctypes.data) % _PAGE
    return raw[start:start + nbytes].view(dtype).reshape(dims)


# cache lines of the two record arrays; other modules' arrays start after them
_FIRMS_LINE, _LOANS_LINE = 0, 1
FREE_LINE = 2


@dataclass
class Population:
    """SME records: ``firms`` ``(capacity,)`` of :data:`FIRM_DTYPE` and ``loans``
    ``(capacity, LOAN_SLOTS)`` of :data:`LOAN_DTYPE`; ``arrays[name]`` (and attribute
    ``name``) is field ``name`` of :data:`SME_FIELDS` as a view into them."""

    capacity: int
    firms: np.ndarray
    loans: np.ndarray

    def __post_init__(self) -> None:
        self.arrays = {
            name: (self.loans[name.removeprefix(LOAN_PREFIX)] if spec[1] == "slot"
                   else self.firms[name])
            for name, spec in SME_FIELDS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def allocate(cls, capacity: int) -> Population:
        """Room for ``capacity`` firms, all slots free (zeros)."""
        return cls(capacity, staggered_zeros((capacity,), FIRM_DTYPE, _FIRMS_LINE),
                   staggered_zeros((capacity, LOAN_SLOTS), LOAN_DTYPE, _LOANS_LINE))

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` slots, keeping every firm in its slot (the old and
        the new records are held together while they are copied)."""
        if capacity <= self.capacity:
            return
        bigger = Population.allocate(capacity)
        bigger.firms[:self.capacity] = self.firms
        bigger.loans[:self.capacity] = self.loans
        self.firms, self.loans, self.arrays = bigger.firms, bigger.loans, bigger.arrays
        self.capacity = capacity

    def bytes_per_slot(self) -> float:
        return (self.firms.nbytes + self.loans.nbytes) / self.capacity

    def alive_count(self) -> int:
        return int(self.firms["alive"].sum())


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
