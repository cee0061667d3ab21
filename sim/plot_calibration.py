"""Figures of a calibration: the fit at the estimate, the objective's profiles and the
Morris screening of the parameters. Built without pyplot, as :mod:`sim.plot`'s, so that
drawing them changes no global state (a notebook's backend stays as it was)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiment.store import write_figure_atomic

DPI = 200  # sharp enough for a slide


def fit_figure(fit: pd.DataFrame, path: Path) -> Path:
    """Each moment's model value against its target, as model ÷ target (1 is a perfect
    fit, also for a negative target), with the fresh runs' 5–95% band (``fit.csv`` of a
    calibration); floors and held-out targets marked."""
    rows = fit.iloc[::-1]
    scale = rows["target"].replace(0.0, np.nan)
    ratio = rows["model"] / scale
    fig = Figure(figsize=(7.5, 0.32 * len(rows) + 1.2))
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.axvspan(0.9, 1.1, color="0.9", label="±10% of the target")
    ax.axvline(1.0, color="0.4", lw=0.8)
    if {"model_p05", "model_p95"} <= set(rows.columns):
        ax.hlines(y, rows["model_p05"] / scale, rows["model_p95"] / scale, color="tab:blue",
                  lw=2, label="model, 5–95% of fresh runs")
    ax.plot(ratio, y, "o", color="tab:blue", ms=4, label="model, mean")
    labels = [f"{m}{f' ({b})' if isinstance(b, str) and b else ''}"
              f"{' [held out]' if h else ''}"
              for m, b, h in zip(rows["moment"], rows["bound"].fillna(""), rows["holdout"])]
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("model ÷ target")
    ax.set_title("Fit at the estimate (fresh seeds)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=3, fontsize=8,
              frameon=False)
    write_figure_atomic(path, fig, dpi=DPI, bbox_inches="tight")
    return path


def profile_figure(profiles: pd.DataFrame, estimates: pd.DataFrame, path: Path) -> Path:
    """The objective along each parameter, the others at the estimate (``profiles.csv``),
    with the estimate and its ±2 standard errors (``estimates.csv``)."""
    names = list(dict.fromkeys(profiles["parameter"]))
    fig = Figure(figsize=(3.6 * len(names), 3.3), layout="constrained")
    axes = fig.subplots(1, len(names), squeeze=False)
    by_name = estimates.set_index("parameter")
    for ax, name in zip(axes[0], names):
        rows = profiles[profiles["parameter"] == name]
        ax.plot(rows["value"], rows["distance"], "o-", color="tab:blue", ms=3)
        if name in by_name.index:
            value, se = by_name.loc[name, "estimate"], by_name.loc[name, "standard_error"]
            ax.axvline(value, color="tab:red", lw=1, label="estimate")
            if np.isfinite(se):
                ax.axvspan(value - 2 * se, value + 2 * se, color="tab:red", alpha=0.1,
                           label="± 2 standard errors")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("value", fontsize=8)
        ax.set_ylabel("distance (weighted Σ gap²)", fontsize=8)
    handles, labels = axes[0][0].get_legend_handles_labels()
    if handles:  # below the panels, off the curves
        fig.legend(handles, labels, loc="outside lower center", ncols=2, fontsize=7,
                   frameon=False)
    write_figure_atomic(path, fig, dpi=DPI)
    return path


def screening_figure(table: pd.DataFrame, rank: pd.DataFrame, path: Path) -> Path:
    """Morris μ* of each parameter (rows, most influential first) on each moment
    (columns), in standard errors of the target (``screening.csv``); held-out moments
    marked."""
    names = list(rank["parameter"])
    moments = list(dict.fromkeys(table["moment"]))
    grid = table.pivot_table(index="parameter", columns="moment", values="mu_star_se",
                             aggfunc="first").reindex(index=names, columns=moments)
    held = set(table.loc[table["holdout"].astype(bool), "moment"])
    fig = Figure(figsize=(0.42 * len(moments) + 4.0, 0.32 * len(names) + 2.2))
    ax = fig.subplots()
    shown = np.log10(np.clip(grid.to_numpy(dtype=float), 1e-2, None))
    image = ax.imshow(shown, cmap="viridis", aspect="auto", vmin=-2, vmax=max(1.0, shown.max()))
    ax.set_xticks(range(len(moments)),
                  [f"{m} [held out]" if m in held else m for m in moments], rotation=90,
                  fontsize=7)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    bar = fig.colorbar(image, ax=ax, fraction=0.03)
    bar.set_label("log10 of μ* in standard errors of the target", fontsize=8)
    ax.set_title("Morris screening: how far each parameter moves each target", fontsize=9)
    write_figure_atomic(path, fig, dpi=DPI, bbox_inches="tight")
    return path
