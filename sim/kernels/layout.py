"""Shapes shared by the kernels and the Python side: blocks and accumulator columns.

Parallel loops run over fixed blocks of ``BLOCK_SIZE`` SME slots. Each block adds into
its own row of an accumulator ``[block, key, size, metric]``; Python sums the rows in
block order, so totals never depend on the thread count. Sums are unweighted by size
stratum; :func:`sim.units.national` applies the weights.
"""

from sim import categories

BLOCK_SIZE = 16384
# Per-block bit sets (one bit per slot, ``[block, word]`` of uint64) mark the slots phase 7
# found free, so entry finds them without reading every record.
WORDS_PER_BLOCK = BLOCK_SIZE // 64

# Kernels release the GIL (``nogil=True``) so that a process running a model in one thread
# keeps serving other threads, e.g. a Dask worker's heartbeat during a sweep.

# loan_npl_age of a performing loan made this quarter: it owes nothing until next quarter
NEW_THIS_QUARTER = 255

# Per-lender metrics: lender_acc[block, lender, size, LF_*]
LF_NEW_AMT = 0          # 万元 originated
LF_NEW_COUNT = 1        # loans originated
LF_NEW_RATE_AMT = 2     # Σ rate × amount of new loans
LF_NEW_SECURED = 3      # 万元 of new secured loans
LF_INTEREST = 4         # 万元 interest received from firms
LF_PRINCIPAL = 5        # 万元 principal repaid
LF_RENEWED = 6          # 万元 renewed without repayment
LF_NEW_NPL = 7          # 万元 turned non-performing
LF_WRITEOFF = 8         # 万元 written off (gross)
LF_RECOVERY = 9         # 万元 recovered from collateral at write-off
LF_BAL_PERF = 10        # 万元 performing at end of quarter
LF_BAL_NPL = 11         # 万元 non-performing at end of quarter
LF_LOANS = 12           # performing loans outstanding at end of quarter
LF_NEW_PD_AMT = 13      # Σ estimated PD × amount of new loans
LF_SUBSIDY = 14         # 万元 interest subsidy paid by government
LF_GUARANTEE_FEE = 15   # 万元 guarantee fees paid by firms
LF_FEES = 16            # 万元 fees on non-debt funding
LF_NONDEBT_AMT = 17     # 万元 equity or crowdfunding raised (gross)
LF_APPS = 18            # applications received
LF_APPROVALS = 19       # applications funded
LF_NEW_FIRST = 20       # new loans to first-time borrowers
LF_CROWD_AMT = 21       # 万元 of LF_NONDEBT_AMT raised as crowdfunding (rest is equity)
LF_APPS_NO_COLLATERAL = 22       # applications from firms without pledgeable assets
LF_APPROVALS_NO_COLLATERAL = 23  # of which funded
LF_DEFERRED = 24        # 万元 principal of bank loans entering deferral this quarter
LF_CAPITALISED = 25     # 万元 interest of deferred loans added to their principal
LF_INTEREST_VAT_EXEMPT = 26  # 万元 of LF_INTEREST on bank loans exempt from VAT
LF_N = 27

# Per-group metrics: group_acc[block, group, size, GM_*]; groups are sectors, then
# regions, then sizes, then stages (see GROUP_OFFSETS).
GM_ALIVE = 0
GM_DEMAND = 1
GM_NEW_DEBT = 2
GM_NEW_NONDEBT = 3
GM_BALANCE = 4
GM_APPS = 5
GM_APPROVALS = 6
GM_RATE_AMT = 7
GM_DEFAULTS = 8
GM_BORROWERS = 9
GM_FIRST_TIME = 10
GM_ENTRIES = 11
GM_EXITS = 12
GM_UNSECURED = 13
GM_NPL = 14
GM_DIGITAL = 15         # sum of live firms' digital footprints (stock count)
GM_ONLINE_USERS = 16    # live firms with a performing online loan (stock count)
GM_BORROWERS_BANK = 17  # firms with a performing bank-channel loan at end of quarter
GM_INFORMAL = 18        # 万元 informal debt of live firms at end of quarter (stock count)
GM_INFORMAL_REFI = 19   # 万元 informal debt repaid from formal loans this quarter
GM_INFORMAL_NEW = 20    # 万元 borrowed informally this quarter to meet unmet shortfalls
GM_OFFERS = 21          # non-borrowers that took a credit line banks offered unasked
GM_N = 22
# The stocks of the end-of-quarter count (phase 8), zeroed before each count; a count
# cell's last axis holds them in this order (sim.kernels.groups.fold_cells)
STOCK_METRICS = (GM_ALIVE, GM_BALANCE, GM_NPL, GM_BORROWERS, GM_DIGITAL, GM_ONLINE_USERS,
                 GM_BORROWERS_BANK, GM_INFORMAL)
N_STOCKS = len(STOCK_METRICS)
# the count's cells, one per sector × region × stage (sim.kernels.groups.cell_of)
N_CELLS = len(categories.SECTORS) * len(categories.REGIONS) * len(categories.STAGES)

# the firm groups of the group accumulator, named in sim.categories
N_GROUPS = categories.N_GROUPS
GROUP_OFFSETS = categories.GROUP_OFFSETS

# Rates by lender kind and risk band, for firms' expectations: band_acc[block, kind, band, *]
BAND_AMT = 0
BAND_RATE_AMT = 1
BAND_N = 2


def n_blocks(capacity: int) -> int:
    return (capacity + BLOCK_SIZE - 1) // BLOCK_SIZE
