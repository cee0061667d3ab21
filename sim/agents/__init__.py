"""Mesa agents: lenders (banks, platforms), regulators and the other sectors."""
