"""The categorical dimensions of the model, in the order their integer codes use.

Every array that stores a category stores its index into one of these tuples.
"""

SECTORS = (
    "manufacturing",
    "wholesale_retail",
    "catering",
    "services",
    "agriculture",
    "construction",
    "technology",
)
REGIONS = ("east", "central", "west")
SIZES = ("individual", "micro", "small")
STAGES = ("startup", "growth", "stable", "decline")

# Firm groups: every firm belongs to one group of each dimension, and the groups of all
# four dimensions share one index (sector groups first, then region, size, stage), so a
# per-group sum is one array. ``GROUP_SIZE + size`` is the group of a size stratum.
GROUP_SECTOR = 0
GROUP_REGION = GROUP_SECTOR + len(SECTORS)
GROUP_SIZE = GROUP_REGION + len(REGIONS)
GROUP_STAGE = GROUP_SIZE + len(SIZES)
N_GROUPS = GROUP_STAGE + len(STAGES)
GROUP_DIMENSIONS = ("sector", "region", "size", "stage")
GROUP_OFFSETS = (GROUP_SECTOR, GROUP_REGION, GROUP_SIZE, GROUP_STAGE)
SIZE_GROUPS = slice(GROUP_SIZE, GROUP_SIZE + len(SIZES))

# Channels of finance. Debt channels first; equity and crowdfunding are non-debt.
CHANNELS = ("bank", "online", "supply_chain", "equity", "crowdfunding")
CH_BANK, CH_ONLINE, CH_SUPPLY_CHAIN, CH_EQUITY, CH_CROWDFUNDING = range(5)
DEBT_CHANNELS = (CH_BANK, CH_ONLINE, CH_SUPPLY_CHAIN)

BANK_TYPES = ("large_state", "joint_stock", "city_commercial", "rural")
PLATFORM_KINDS = ("big_tech", "online_micro", "supply_chain", "crowd_equity")
LENDER_KINDS = BANK_TYPES + PLATFORM_KINDS
# Non-bank lenders of the 2010s, made after the platforms (so, with none of them, every
# other lender keeps its index): P2P lending platforms, funded by retail investors, and
# small-loan companies, funded by their own capital and limited bank borrowing. Both
# lend unsecured, short and small, through the online (non-bank unsecured) channel.
NONBANK_KINDS = ("p2p", "small_loan")
# Licensed digital banks (MYbank, WeBank type): a bank licence and balance sheet, but
# online-only, lending small and unsecured through the online channel on digital data.
# Made after the other banks, so with none of them every other index is unchanged.
DIGITAL_BANK_KINDS = ("digital_bank",)
# Every lender kind, in one index: firms' rate expectations are kept per kind.
ALL_KINDS = LENDER_KINDS + NONBANK_KINDS + DIGITAL_BANK_KINDS
# Lender classes (a lender's ``kind_class``): what decides how it screens and books.
KIND_BANK, KIND_ONLINE, KIND_SUPPLY_CHAIN, KIND_CROWD = range(4)
# Small, local banks: confined to their region by the regional limit, eligible for
# re-lending and the inclusive-loan incentive, and partners of online micro-lenders.
SMALL_BANK_TYPES = ("city_commercial", "rural")
ONLINE_LENDER_KINDS = ("big_tech", "online_micro")

# Channel through which each platform kind lends. A crowd/equity platform serves both
# non-debt channels; the firm's choice decides which.
PLATFORM_CHANNEL = {
    "big_tech": CH_ONLINE,
    "online_micro": CH_ONLINE,
    "supply_chain": CH_SUPPLY_CHAIN,
    "crowd_equity": CH_EQUITY,
    "p2p": CH_ONLINE,
    "small_loan": CH_ONLINE,
}

# Loan status codes stored in each loan position of an SME.
LOAN_EMPTY, LOAN_PERFORMING, LOAN_NONPERFORMING = 0, 1, 2

# Risk bands used by firms' expectations of rates (by quality decile).
N_RISK_BANDS = 10

# Relative likelihood of selling into a core firm's supply chain, by sector
# (assumption: manufacturing and wholesale chains dominate supply-chain finance).
ANCHOR_AFFINITY = (1.8, 1.4, 0.3, 0.5, 0.8, 1.5, 1.2)
