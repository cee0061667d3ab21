"""Writing a sensitivity analysis: its tables as CSV and its figure as PNG, each written
under a temporary name and renamed (never half a file)."""

from __future__ import annotations

from pathlib import Path

from sim.experiment.analyze import Analysis


def write_analysis(analysis: Analysis, folder: str | Path, dpi: int = 120) -> list[Path]:
    """Write ``<method>-<statistic>.csv`` and ``.png`` into ``folder``, and, when the
    design paid for second-order Sobol indices, ``sobol_second_order-<statistic>.csv``;
    return their paths."""
    from sim.experiment.store import write_figure_atomic, write_text_atomic
    from sim.plot_experiment import analysis_figure

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"{analysis.method}-{analysis.statistic}"
    table_path, figure_path = stem.with_suffix(".csv"), stem.with_suffix(".png")
    write_text_atomic(table_path, analysis.table.to_csv(index=False))
    write_figure_atomic(figure_path, analysis_figure(analysis), dpi=dpi)
    paths = [table_path, figure_path]
    if analysis.second_order is not None:
        pairs = folder / f"sobol_second_order-{analysis.statistic}.csv"
        write_text_atomic(pairs, analysis.second_order.to_csv(index=False))
        paths.append(pairs)
    return paths
