"""A calibration folder read back from Python (``sim.calibration.load_result``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.calibration.search import MANIFEST
from sim.calibration.spec import CalibrationError


@dataclass
class CalibrationResult:
    """What ``sim calibrate`` wrote: the search's points, the estimate and, when the
    report ran, the fit on fresh seeds, standard errors, Ω, the Jacobian, identification
    and profiles; with ``sim calibrate --screen``, the Morris screening (None where
    absent)."""

    folder: Path
    manifest: dict
    trials: pd.DataFrame | None     # None: only a screening so far
    estimate: dict[str, float]
    fit: pd.DataFrame | None
    estimates: pd.DataFrame | None
    omega: pd.DataFrame | None
    jacobian: pd.DataFrame | None
    identification: dict | None
    profiles: pd.DataFrame | None
    screening: pd.DataFrame | None = None
    screening_rank: pd.DataFrame | None = None

    def __repr__(self) -> str:
        if self.trials is None:
            return (f"CalibrationResult({self.manifest.get('name')!r}: screening of "
                    f"{len(self.screening_rank)} parameters, no search yet)")
        best = self.trials["distance"].min()
        return (f"CalibrationResult({self.manifest.get('name')!r}: {len(self.trials)} points, "
                f"best distance {best:.4g}, estimate {self.estimate})")

    def plot(self, out: str | Path | None = None) -> list[Path]:
        """Write the fit, profile and screening figures (default: the folder's
        ``figures/``)."""
        from sim.plot_calibration import fit_figure, profile_figure, screening_figure

        out = Path(out) if out is not None else self.folder / "figures"
        paths = []
        if self.fit is not None:
            paths.append(fit_figure(self.fit, out / "fit.png"))
        if self.profiles is not None and self.estimates is not None:
            paths.append(profile_figure(self.profiles, self.estimates, out / "profiles.png"))
        if self.screening is not None and self.screening_rank is not None:
            paths.append(screening_figure(self.screening, self.screening_rank,
                                          out / "screening.png"))
        return paths


HASHED_SUFFIXES = (".csv", ".json", ".toml")


def folder_hash(folder: str | Path) -> str:
    """A hash (16 hex digits) of a calibration folder's results: every ``.csv``,
    ``.json`` and ``.toml`` file at its top level, by name and content. Not the runs
    (``runs/``, which the same command makes again bit for bit) nor the figures (their
    bytes depend on the plotting library's version). A scenario's ``[provenance]`` quotes
    it, so a test can tell that the shipped folder is the one the estimate came from."""
    import hashlib

    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in HASHED_SUFFIXES and not path.name.startswith("."):
            digest.update(path.name.encode("utf-8") + b"\0")
            # line endings as written, whatever a checkout did to them
            digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:16]


def is_calibration(folder: str | Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


def load_result(folder: str | Path) -> CalibrationResult:
    """Read a calibration folder; one with neither a finished search nor a screening is
    refused."""
    folder = Path(folder)
    if not is_calibration(folder):
        raise CalibrationError(f"{folder} is not a calibration folder (no {MANIFEST})")
    if not (folder / "trials.csv").is_file() and not (folder / "screening.csv").is_file():
        raise CalibrationError(f"{folder}: the search has not finished (no trials.csv); "
                               "run the same sim calibrate command again to resume it")

    def table(name: str, **kw) -> pd.DataFrame | None:
        path = folder / name
        return pd.read_csv(path, **kw) if path.is_file() else None

    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8")) \
        if (folder / "summary.json").is_file() else {}
    identification = json.loads((folder / "identification.json").read_text(
        encoding="utf-8")) if (folder / "identification.json").is_file() else None
    return CalibrationResult(
        folder=folder, manifest=manifest, trials=table("trials.csv"),
        estimate=summary.get("estimate", {}), fit=table("fit.csv"),
        estimates=table("estimates.csv"), omega=table("omega.csv", index_col=0),
        jacobian=table("jacobian.csv", index_col=0), identification=identification,
        profiles=table("profiles.csv"), screening=table("screening.csv"),
        screening_rank=table("screening_rank.csv"))
