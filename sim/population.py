"""The SME population: one record per slot, with every field's dtype declared in one table.

Firms live in ``capacity`` slots, room for the starting firms and entrants; when entrants
find no free slot the population grows (:meth:`Population.grow`). The ``alive`` field
says which slots hold a firm. A slot's firm fields are one record of ``firms`` and its
loans ``LOAN_POSITIONS`` records of ``loans``: the kernels read and write many fields of one
firm together, and a record brings them in from memory as one or two cache lines, where
an array per field would need a line (and a base address held in a register) per field.
``arrays`` gives each field as an array view for code that works column by column.
Money is in 万元 (10,000 yuan) at this level; :func:`sim.units.national` converts
weighted sums to national 亿元.
"""

from __future__ import annotations

import math
import mmap
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.errors import SimError
from sim.kernels.layout import BLOCK_SIZE, n_blocks
from sim.quarters import parse_quarter

if TYPE_CHECKING:
    from sim.schema import Scenario

LOAN_POSITIONS = 2  # loans a firm can hold at once: loans[slot, position]

# name: (dtype, per "firm" or "slot", unit, meaning)
SME_FIELDS: dict[str, tuple[str, str, str, str]] = {
    # the stable id, uid = (entry_quarter << 32) | serial (Population.uid;
    # kernels.records.uid_of)
    "serial": ("u4", "firm", "-", "k for the k-th firm entering in its quarter"),
    "entry_quarter": ("i2", "firm", "quarter index", "quarter of entry; 0 = starting firm"),
    "flags": ("u1", "firm", "bits", "yes/no fields, bits of FIRM_FLAGS"),
    "sector": ("u1", "firm", "code", "index into categories.SECTORS"),
    "region": ("u1", "firm", "code", "index into categories.REGIONS"),
    "size": ("u1", "firm", "code", "index into categories.SIZES (sampling stratum)"),
    "stage": ("u1", "firm", "code", "index into categories.STAGES"),
    "age": ("u1", "firm", "quarters", "age since entry, saturating at 255 (nothing reads "
            "an age past the start's quality tilt)"),
    "quality": ("f4", "firm", "sd units", "latent creditworthiness ~ N(0,1), never observed"),
    "log_trend": ("f4", "firm", "log 万元", "log of the revenue level the firm reverts to"),
    "log_revenue": ("f4", "firm", "log 万元", "log of quarterly revenue before shocks"),
    "cash": ("f8", "firm", "万元", "cash holdings"),
    "collateral": ("f4", "firm", "万元", "pledgeable assets"),
    "digital": ("f4", "firm", "0-1", "share of activity visible as digital data"),
    "debt_target": ("f4", "firm", "× quarterly revenue", "debt the firm wants; 0 = never borrows"),
    "anchor": ("i2", "firm", "id", "core firm whose supply chain it sells into, or -1"),
    "history": ("u1", "firm", "quarters", "quarters of on-time repayment, saturating at 255 "
                "(every rule compares it with at most 80)"),
    "outside_stake": ("f4", "firm", "share", "share of owner draws due to outside investors"),
    "informal_debt": ("f4", "firm", "万元", "informal debt (private lenders, owners' "
                      "personal borrowing used in the business); outside lenders' books"),
    "discouraged": ("u1", "firm", "quarters", "quarters before a turned-down firm asks again"),
    "loan_principal": ("f8", "slot", "万元", "principal outstanding; 0 = empty slot"),
    "loan_rate": ("f4", "slot", "fraction/yr", "contract rate"),
    "loan_remaining": ("i1", "slot", "quarters", "quarters to maturity"),
    "loan_term": ("i1", "slot", "quarters", "original maturity"),
    "loan_lender": ("i2", "slot", "id", "originating lender (its acquirer after a resolution)"),
    "loan_channel": ("u1", "slot", "code", "index into categories.CHANNELS"),
    "loan_flags": ("u1", "slot", "bits", "yes/no fields, bits of LOAN_FLAGS"),
    "loan_status": ("u1", "slot", "code", "0 empty, 1 performing, 2 non-performing"),
    "loan_npl_age": ("u1", "slot", "quarters", "quarters non-performing; 255 marks a loan "
                     "made this quarter"),
}

# The yes/no fields of a firm, each a bit of its ``flags`` (kernels.records.flag).
# name: (bit, meaning)
FIRM_FLAGS: dict[str, tuple[int, str]] = {
    "alive": (0, "slot holds a live firm"),
    "bureau": (1, "has a credit-bureau file"),
    "defaulted_before": (2, "has defaulted at least once"),
    "distressed": (3, "could not meet debt service this quarter"),
    "tax_file": (4, "banks can read its tax-payment records (银税互动)"),
    "reported_loan": (5, "has had a loan from a lender that reports to the credit bureau"),
}
ALIVE, BUREAU, DEFAULTED_BEFORE, DISTRESSED, TAX_FILE, REPORTED_LOAN = (
    FIRM_FLAGS[name][0] for name in ("alive", "bureau", "defaulted_before", "distressed",
                                     "tax_file", "reported_loan"))
# and of a loan, bits of its ``flags``
LOAN_FLAGS: dict[str, tuple[int, str]] = {
    "secured": (0, "collateral or receivable behind the loan"),
    "amortizing": (1, "principal falls due in equal parts"),
    "deferred": (2, "principal (and in an interest window, interest) deferred under "
                 "policy.fiscal.deferral: its maturity waits and it is not classed bad"),
    "vat_eligible": (3, "a bank loan whose terms when made (rate at most the exempt "
                     "multiple of the LPR, amount at most vat_exempt_max_wan) qualify its "
                     "interest for the VAT exemption while the exemption is in force"),
}
SECURED, AMORTIZING, DEFERRED, VAT_ELIGIBLE = (LOAN_FLAGS[name][0] for name in (
    "secured", "amortizing", "deferred", "vat_eligible"))

# What a firm seeking credit brings to this quarter's credit rounds: one record per
# seeker, written by the firm pass (phase 5) and used up by the rounds (phase 6). Only a
# quarter of the firms seek in a quarter, so these live here rather than in every firm's
# record. Block ``b``'s seekers fill records ``b * BLOCK_SIZE`` onwards, in slot order.
# name: (dtype, unit, meaning)
REQUEST_FIELDS: dict[str, tuple[str, str, str]] = {
    "need": ("f8", "万元", "external finance still sought this quarter"),
    "revenue": ("f8", "万元/quarter", "the firm's revenue this quarter, after shocks"),
    "offset": ("u2", "-", "the firm's slot less its block's first (block = record // "
               "BLOCK_SIZE)"),
    "rejected_by": ("i2", "id", "lender that last rejected the firm this quarter, or -1"),
    "invest": ("u1", "bool", "the need includes an investment not yet financed"),
}


# Slots never handed out hold zeros (their pages are never touched, so take no memory).
# ``kernels.birth.init_firms`` writes every field of a slot it places a firm in, and an
# emptied loan has lender -1 (``kernels.debt.clear_loan``).
LOAN_PREFIX = "loan_"


def _record_dtype(shape: str, strip: str = "") -> np.dtype:
    """The record of one firm (``shape`` "firm") or one loan ("slot"), widest fields
    first so that every field of a firm record lies on a multiple of its width."""
    names = [name for name, spec in SME_FIELDS.items() if spec[1] == shape]
    names.sort(key=lambda name: -np.dtype(SME_FIELDS[name][0]).itemsize)  # stable
    return np.dtype([(name.removeprefix(strip), SME_FIELDS[name][0]) for name in names])


FIRM_DTYPE = _record_dtype("firm")
LOAN_DTYPE = _record_dtype("slot", LOAN_PREFIX)  # fields without the prefix: ``loan.rate``
REQUEST_DTYPE = np.dtype([(name, spec[0]) for name, spec in REQUEST_FIELDS.items()])

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


def staggered_zeros(dims: tuple[int, ...], dtype, line: int,
                    sparse: bool = False) -> np.ndarray:
    """Zeros of shape ``dims``, starting ``line`` cache lines (mod a page) past a page
    boundary. Pages never written are never made resident. numpy asks the system to back
    large arrays with 2 MiB pages, so writing one byte makes 2 MiB resident; an array
    written in scattered patches (``sparse``) is given ordinary 4 KiB pages instead."""
    nbytes = int(np.prod(dims)) * np.dtype(dtype).itemsize
    if sparse:
        # anonymous mappings are zero-filled and page-aligned; a private one gives pages
        # back to the system when released (a shared one keeps them in shared memory)
        memory = (mmap.mmap(-1, nbytes + _PAGE, flags=mmap.MAP_PRIVATE)
                  if hasattr(mmap, "MAP_PRIVATE") else mmap.mmap(-1, nbytes + _PAGE))
        if hasattr(mmap, "MADV_NOHUGEPAGE"):  # Linux
            memory.madvise(mmap.MADV_NOHUGEPAGE)
        raw = np.frombuffer(memory, dtype=np.uint8)
    else:
        raw = np.zeros(nbytes + 2 * _PAGE, dtype=np.uint8)
    start = (line * _LINE_STEP * _LINE - raw.ctypes.data) % _PAGE
    return raw[start:start + nbytes].view(dtype).reshape(dims)


_RELEASE_PAGES = 2


def _page_up(offset: int) -> int:
    return -(-offset // _PAGE) * _PAGE


def _mapping_of(array: np.ndarray) -> mmap.mmap | None:
    """The memory map under ``array``, if it was made by ``staggered_zeros(sparse=True)``."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj
    return base if isinstance(base, mmap.mmap) else None


# cache lines of the three record arrays; other modules' arrays start after them
_FIRMS_LINE, _LOANS_LINE, _REQUESTS_LINE = 0, 1, 2
FREE_LINE = 3


@dataclass
class Population:
    """SME records: ``firms`` ``(capacity,)`` of :data:`FIRM_DTYPE` and ``loans``
    ``(capacity, LOAN_POSITIONS)`` of :data:`LOAN_DTYPE`; ``arrays[name]`` (and attribute
    ``name``) is field ``name`` of :data:`SME_FIELDS` as a view into them. ``requests``
    ``(capacity,)`` of :data:`REQUEST_DTYPE` holds the quarter's credit requests, block
    by block (see :data:`REQUEST_FIELDS`); only its first records in each block are ever
    written, so the rest take no memory, and old requests past a quarter's are given back
    (:meth:`release_stale_requests`)."""

    capacity: int
    firms: np.ndarray
    loans: np.ndarray
    requests: np.ndarray

    def __post_init__(self) -> None:
        # per block, how many of its first request records may hold memory
        self.requests_held = np.zeros(n_blocks(self.capacity), dtype=np.int64)
        self.arrays = {
            name: (self.loans[name.removeprefix(LOAN_PREFIX)] if spec[1] == "slot"
                   else self.firms[name])
            for name, spec in SME_FIELDS.items()}

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            pass
        if name in FIRM_FLAGS or (name.startswith(LOAN_PREFIX)
                                  and name.removeprefix(LOAN_PREFIX) in LOAN_FLAGS):
            return self.flag(name)
        raise AttributeError(name)

    def _flag_bits(self, name: str) -> tuple[np.ndarray, int]:
        """The packed byte field holding flag ``name``, and the flag's bit in it."""
        if name in FIRM_FLAGS:
            return self.firms["flags"], FIRM_FLAGS[name][0]
        return self.loans["flags"], LOAN_FLAGS[name.removeprefix(LOAN_PREFIX)][0]

    def flag(self, name: str) -> np.ndarray:
        """Flag ``name`` of :data:`FIRM_FLAGS` (or ``loan_`` and a name of
        :data:`LOAN_FLAGS`) in every slot, as uint8 0 or 1.

        A new array, not a view, so it is read-only: writing to it would change nothing
        in the population. Use :meth:`set_flag` to change a flag."""
        packed, bit = self._flag_bits(name)
        values = (packed >> bit) & 1
        values.flags.writeable = False
        return values

    def set_flag(self, name: str, where, value: bool | int | np.ndarray) -> None:
        """Set flag ``name`` to ``value`` (0/1 or bool, or an array of them) in the slots
        ``where`` (any numpy index into the flag's array)."""
        packed, bit = self._flag_bits(name)
        mask = packed.dtype.type(1 << bit)
        on = np.asarray(value).astype(bool)
        current = packed[where]
        packed[where] = np.where(on, current | mask, current & ~mask)

    @property
    def uid(self) -> np.ndarray:
        """Every slot's uid (int64 ``(capacity,)``; a new array, not a view, so read-only)."""
        values = (self.firms["entry_quarter"].astype(np.int64) << 32) | self.firms["serial"]
        values.flags.writeable = False
        return values

    @classmethod
    def allocate(cls, capacity: int) -> Population:
        """Room for ``capacity`` firms, all slots free (zeros)."""
        return cls(capacity, staggered_zeros((capacity,), FIRM_DTYPE, _FIRMS_LINE),
                   staggered_zeros((capacity, LOAN_POSITIONS), LOAN_DTYPE, _LOANS_LINE),
                   staggered_zeros((capacity,), REQUEST_DTYPE, _REQUESTS_LINE, sparse=True))

    def grow(self, capacity: int, requests_per_block: np.ndarray) -> None:
        """Make room for ``capacity`` slots, keeping every firm in its slot and the
        quarter's requests (``requests_per_block[b]`` in block ``b``); the old and the
        new records are held together while they are copied."""
        if capacity <= self.capacity:
            return
        bigger = Population.allocate(capacity)
        bigger.firms[:self.capacity] = self.firms
        bigger.loans[:self.capacity] = self.loans
        written = request_records(requests_per_block)  # copy no untouched page
        bigger.requests[written] = self.requests[written]
        bigger.requests_held[:len(requests_per_block)] = requests_per_block
        self.firms, self.loans, self.arrays = bigger.firms, bigger.loans, bigger.arrays
        self.requests, self.requests_held = bigger.requests, bigger.requests_held
        self.capacity = capacity

    def release_stale_requests(self, requests_per_block: np.ndarray) -> None:
        """Give the system back the pages of old requests past this quarter's
        (``requests_per_block[b]`` in block ``b``, as the firm pass wrote them).

        A block's part of the request array would otherwise stay resident up to the most
        seekers the block ever had (1.6 times one quarter's seekers at 1M SMEs). Those
        records are never read again; the pages come back as zeros when written."""
        mapping = _mapping_of(self.requests)
        if mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        blocks = len(requests_per_block)
        held = self.requests_held[:blocks]
        np.maximum(held, requests_per_block, out=held)
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        start = self.requests.ctypes.data - base
        size = self.requests.itemsize
        # a few pages are not worth a system call (each one stops the other threads to
        # flush their address caches)
        stale = held - requests_per_block >= _RELEASE_PAGES * _PAGE // size
        for block in np.flatnonzero(stale).tolist():
            first = block * BLOCK_SIZE
            # whole pages only: after the current requests, before the next block's
            low = _page_up(start + (first + int(requests_per_block[block])) * size)
            high = min(_page_up(start + (first + int(held[block])) * size),
                       (start + min(first + BLOCK_SIZE, self.capacity) * size)
                       // _PAGE * _PAGE)
            if high > low:
                mapping.madvise(mmap.MADV_DONTNEED, low, high - low)
            held[block] = requests_per_block[block]

    def bytes_per_slot(self) -> float:
        return (self.firms.nbytes + self.loans.nbytes) / self.capacity

    def alive_count(self) -> int:
        return int(self.flag("alive").sum())


def request_records(requests_per_block: np.ndarray) -> np.ndarray:
    """Where a quarter's requests are (int64, in slot order): block ``b``'s
    ``requests_per_block[b]`` are records ``b * BLOCK_SIZE`` onwards."""
    counts = np.asarray(requests_per_block, dtype=np.int64)
    firsts = np.repeat(np.arange(counts.size, dtype=np.int64) * BLOCK_SIZE, counts)
    ranks = np.arange(firsts.size) - np.repeat(np.cumsum(counts) - counts, counts)
    return firsts + ranks


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
