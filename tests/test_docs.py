"""The generated reference pages match the code, and the ODD description covers the model.

docs/parameters.md and docs/outputs.md are written by ``python -m sim.docgen``; when a
parameter or output column changes, rerun it. docs/ODD.md is written by hand and must name
every phase of the quarter as ``CreditMarket`` declares them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sim import docgen
from sim.columns import GROUP_METRICS, LENDER_COLUMNS, QUARTERLY_COLUMNS
from sim.schema import parameter_table

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def phase_names() -> list[str]:
    """The bold phase names in CreditMarket's docstring, read without importing numba."""
    tree = ast.parse((ROOT / "sim" / "model.py").read_text(encoding="utf-8"))
    cls = next(node for node in tree.body
               if isinstance(node, ast.ClassDef) and node.name == "CreditMarket")
    doc = ast.get_docstring(cls) or ""
    return re.findall(r"^\s*\d+\.\s+\*\*(.+?)\*\*", doc, flags=re.MULTILINE)


def test_generated_docs_are_up_to_date():
    assert docgen.main(["--check"]) == 0, "run `python -m sim.docgen` and commit docs/"


def test_odd_names_every_phase_of_the_quarter():
    names = phase_names()
    assert len(names) == 10, names
    odd = (DOCS / "ODD.md").read_text(encoding="utf-8")
    missing = [name for name in names if name not in odd]
    assert not missing, f"docs/ODD.md does not mention phases {missing}"


def test_every_parameter_is_documented():
    text = (DOCS / "parameters.md").read_text(encoding="utf-8")
    missing = [row["path"] for row in parameter_table() if f"`{row['path']}`" not in text]
    assert not missing, f"docs/parameters.md lacks {missing[:10]} ({len(missing)} in all)"


def test_lender_types_cite_their_own_sources():
    """A default set for one bank type or platform kind cites that type's source, not
    another type's."""
    source = {row["path"]: row["source"] for row in parameter_table()}
    assert "Ant" in source["platforms.big_tech.count"]
    for kind in ("online_micro", "supply_chain", "crowd_equity"):
        assert "Ant" not in source[f"platforms.{kind}.count"], kind
    assert "Tsinghua" in source["platforms.p2p.investor_funds_yi"]
    assert "Tsinghua" not in source["platforms.big_tech.investor_funds_yi"]
    assert source["banks.large_state.count"] != source["banks.rural.count"]


def test_every_output_column_is_documented():
    text = (DOCS / "outputs.md").read_text(encoding="utf-8")
    for table in (QUARTERLY_COLUMNS, GROUP_METRICS, LENDER_COLUMNS):
        missing = [name for name in table if f"`{name}`" not in text]
        assert not missing, missing


def test_check_fails_on_a_stale_file(tmp_path):
    assert docgen.main(["--docs-dir", str(tmp_path)]) == 0
    assert docgen.main(["--check", "--docs-dir", str(tmp_path)]) == 0
    stale = tmp_path / "outputs.md"
    stale.write_text(stale.read_text(encoding="utf-8") + "edited by hand\n", encoding="utf-8")
    assert docgen.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    (tmp_path / "parameters.md").unlink()
    assert docgen.main(["--check", "--docs-dir", str(tmp_path)]) == 1
