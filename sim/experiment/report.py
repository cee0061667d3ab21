"""Writing a sensitivity analysis: its table as CSV and its figure as PNG."""

from __future__ import annotations

from pathlib import Path

from sim.experiment.analyze import Analysis


def write_analysis(analysis: Analysis, folder: str | Path, dpi: int = 120) -> list[Path]:
    """Write ``<method>-<statistic>.csv`` and ``.png`` into ``folder``; return their paths."""
    from sim.plot_experiment import analysis_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{analysis.method}-{analysis.statistic}"
    table_path, figure_path = stem.with_suffix(".csv"), stem.with_suffix(".png")
    analysis.table.to_csv(table_path, index=False)
    analysis_figure(analysis).savefig(figure_path, dpi=dpi)
    return [table_path, figure_path]
