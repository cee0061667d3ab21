"""The figure gallery: the standard figures of the baseline and three levers against it,
drawn from paired replicate runs, written to ``docs/figures/gallery/`` with
``docs/gallery.md``.

Usage (from the repository root)::

    python experiments/gallery.py                       # 100,000 SMEs, 5 replicates
    python experiments/gallery.py --agents 50000 --reps 3 --threads 2

Every scenario runs over its default horizon (2024Q1-2030Q4) with seeds S, S+1, ...
(common random numbers); the baseline's runs are shared by the three comparisons. For
the baseline the gallery shows the standard figures of ``sim plot`` (replicate bands);
for each lever the overview against the baseline and the paired differences of ``sim
compare``, with a table of the mean differences over the lever's window. PNGs are drawn
at ``--dpi`` (130 by default) with a 256-colour palette, which keeps the gallery
under 3 MB.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # this checkout, even if not installed

from sim.compare import compare_scenarios, with_units  # noqa: E402
from sim.config import load_scenario  # noqa: E402
from sim.plot import channel_mix, credit_gap, defaults, overview, rates  # noqa: E402
from sim.plot_breakdowns import groups, lenders  # noqa: E402
from sim.plot_axes import band_note  # noqa: E402
from sim.plot_compare import difference_paths  # noqa: E402

LEVERS = {
    "rate_cut": "The 2024-25 LPR cuts (3.45% to 3.00%)",
    "rrr_cut": "The 2024-25 reserve-requirement cuts (about 7.0% to 6.1%)",
    "online_rules_tighter": "Tighter online-lending rules (platforms fund more of each "
                            "joint loan, lower caps)",
}
BASELINE_FIGURES = {
    "overview": overview, "channel_mix": channel_mix, "rates": rates,
    "defaults": defaults, "credit_gap": credit_gap, "lenders": lenders,
    "groups_size": lambda runs: groups(runs, "size"),
}
TABLE_OUTCOMES = ("new_loans", "avg_rate_new", "online_share_new", "approval_rate",
                  "unmet_demand_share", "default_rate", "npl_ratio")
FIGURES = Path("docs/figures/gallery")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=100_000, help="SMEs simulated")
    parser.add_argument("--reps", type=int, default=5, help="paired replicates")
    parser.add_argument("--seed", type=int, default=None, help="first seed (default run.seed)")
    parser.add_argument("--threads", type=int, default=None, help="threads per run")
    parser.add_argument("--dpi", type=int, default=130, help="PNG resolution")
    parser.add_argument("--root", type=Path, default=REPO_ROOT,
                        help="where docs/ is (default: this checkout)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.time()
    overrides = {"agents": args.agents, "seed": args.seed, "threads": args.threads}
    base = load_scenario("baseline", **overrides)
    cache: dict[int, object] = {}

    def run(scenario):
        """Each baseline replicate runs once and serves every lever."""
        from sim.model import run as run_model

        if scenario.name != base.name:
            return run_model(scenario)
        if scenario.run.seed not in cache:
            cache[scenario.run.seed] = run_model(scenario)
        return cache[scenario.run.seed]

    def progress(message: str) -> None:
        print(f"[{time.time() - started:5.0f}s] {message}", file=sys.stderr, flush=True)

    comparisons = {}
    for lever in LEVERS:
        other = load_scenario(lever, **overrides)
        comparisons[lever] = compare_scenarios(base, other, reps=args.reps, run=run,
                                               progress=progress)
    out = args.root / FIGURES
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    baseline_runs = {base.name: comparisons["rate_cut"].base_runs}
    written = []
    for stem, draw in BASELINE_FIGURES.items():
        written.append(_save(draw(baseline_runs), out / f"baseline_{stem}.png", args.dpi))
    for lever, result in comparisons.items():
        runs = {base.name: result.base_runs, lever: result.other_runs}
        written.append(_save(overview(runs), out / f"{lever}_overview.png", args.dpi))
        written.append(_save(difference_paths(result), out / f"{lever}_differences.png",
                             args.dpi))
    markdown = gallery_markdown(args, comparisons)
    (args.root / "docs" / "gallery.md").write_text(markdown, encoding="utf-8")
    size = sum(path.stat().st_size for path in written)
    progress(f"{len(written)} figures, {size / 1e6:.2f} MB, and docs/gallery.md written")
    return 0


def _save(figure, path: Path, dpi: int) -> Path:
    """A PNG with a 256-colour palette: a third of the size, the same to the eye."""
    from PIL import Image

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    image = Image.open(buffer).convert("RGB")
    image.quantize(colors=256, dither=Image.Dither.NONE).save(path, optimize=True)
    return path


def _difference_table(result) -> list[str]:
    frame = with_units(result.summary()).set_index("outcome")
    rows = ["| outcome | base | lever | difference (95% interval) |", "|---|---:|---:|---|"]
    for outcome in TABLE_OUTCOMES:
        if outcome not in frame.index:
            continue
        r = frame.loc[outcome]
        unit, scale, points = r["unit"], 1.0, ""
        if r["diff_unit"] == "percentage points":
            points = " pp"
        elif unit.startswith("亿元") and abs(r["base"]) >= 1e4:  # trillions read easier
            unit, scale = unit.replace("亿元", "万亿元"), 1e-4
        rows.append(f"| {r['label']} ({unit}) | {_number(r['base'] * scale)} | "
                    f"{_number(r['other'] * scale)} | {_number(r['diff'] * scale)} "
                    f"[{_number(r['ci_low'] * scale)}, {_number(r['ci_high'] * scale)}]"
                    f"{points} |")
    return rows


def _number(value: float) -> str:
    if value != value:  # NaN: one replicate has no interval
        return "–"
    text = f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def gallery_markdown(args: argparse.Namespace, comparisons: dict) -> str:
    first = next(iter(comparisons.values()))
    seeds = first.seeds
    quarters = first.quarters
    lines = [
        "# Figure gallery",
        "",
        "Regenerate with `python experiments/gallery.py` "
        f"(here: `--agents {args.agents} --reps {args.reps}`); it runs the scenarios, "
        "writes the PNGs into `docs/figures/gallery/` and this page.",
        "",
        f"Every scenario ran {args.reps} times with seeds {seeds[0]}–{seeds[-1]} (common "
        f"random numbers), {args.agents:,} simulated SMEs, {quarters[0]}–{quarters[-1]}. "
        f"{band_note([args.reps]) or 'One run each, no bands'}. Lever effects at this "
        "size and over the whole horizon can differ in sign from docs/levers.md, whose "
        "1,000,000-SME runs measure each lever from its start quarter. The same "
        "figures come from the command line: `sim run` a scenario (or `sim compare` two) "
        "and `sim plot` the folders, e.g. `sim plot COMPARISON_DIR --format png,svg,pdf "
        "--report`.",
        "",
        "Units: rates and shares in %, their differences in percentage points (pp); "
        "amounts in trillion yuan (万亿元) or billion yuan; the y axis of a level in % "
        "spans at least 1 pp and of an amount at least ±2% of its level, so a small move "
        "is not drawn as a cliff.",
        "",
        "## Baseline",
        "",
        "Policy as in force in 2024Q1, held to 2030.",
        "",
    ]
    captions = {
        "overview": "Overview: new finance by channel, online share, rates, defaults, "
                    "unmet demand and bank capital",
        "channel_mix": "New finance by channel and the online share",
        "rates": "Average rates on new loans by channel, with the 1-year LPR",
        "defaults": "Default rate of borrowers and NPL ratios",
        "credit_gap": "Finance demanded and financed, and the unmet share",
        "lenders": "Capital ratio and return on equity by lender kind",
        "groups_size": "New debt and approval rate by firm size",
    }
    for stem in BASELINE_FIGURES:
        lines += [f"**{captions[stem]}**", "",
                  f"![{captions[stem]}](figures/gallery/baseline_{stem}.png)", ""]
    for lever, description in LEVERS.items():
        result = comparisons[lever]
        window = result.summary().attrs["quarters"]
        lines += [f"## {lever} vs baseline", "", f"{description}; the lever acts from "
                  f"{result.start or quarters[0]}. Mean paired differences over {window}:",
                  "", *_difference_table(result), "",
                  f"![{lever} vs baseline: overview](figures/gallery/{lever}_overview.png)",
                  "", f"![{lever} minus baseline: paired differences with 95% intervals]"
                  f"(figures/gallery/{lever}_differences.png)", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
