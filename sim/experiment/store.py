"""The experiment store: one folder that never holds half a run.

::

    DIR/manifest.json               the experiment: spec, base scenario, seeds, hash
    DIR/design.parquet              the design points (and the sampler's raw values)
    DIR/runs/p000012-r0003.parquet  one finished run: its quarterly outputs, one row per
                                    reported quarter, with the design point, replicate,
                                    seed, scenario hash and package version as columns
                                    and as file metadata
    DIR/failed/p000007-r0001.json   a run that raised, with its error text

Every file is written to a hidden temporary name and renamed into place, so a crash,
a killed worker or Ctrl-C leaves either the whole file or nothing, and a run's file name
is its identity, so it is stored once however often it was computed.
"""

from __future__ import annotations

import json
import os
import re
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.spec import ExperimentError

MANIFEST = "manifest.json"
DESIGN = "design.parquet"
RUNS = "runs"
FAILED = "failed"
FORMAT = "xiaowei-experiment/1"
META_KEY = b"xiaowei"
SAMPLE_PREFIX = "sample:"
ID_COLUMNS = ("point", "replicate", "seed")
TRAILING_COLUMNS = ("scenario_hash", "package_version")


def run_id(point: int, replicate: int) -> str:
    return f"p{point:06d}-r{replicate:04d}"


def _temp_name(final: Path) -> Path:
    # host and pid in the name let a later sweep tell its own dead leftovers apart
    return final.with_name(f".{final.name}.{socket.gethostname()}.{os.getpid()}."
                           f"{uuid.uuid4().hex[:8]}.tmp")


def _replace_atomically(temp: Path, final: Path) -> None:
    with temp.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(temp, final)


def write_text_atomic(path: Path, text: str) -> None:
    temp = _temp_name(path)
    try:
        temp.write_text(text, encoding="utf-8")
        _replace_atomically(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_figure_atomic(path: Path, figure, **savefig_kw) -> None:
    """Save a matplotlib ``figure`` to ``path`` (format from its suffix) under a temporary
    name and rename it: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_name(path)
    try:
        figure.savefig(temp, format=path.suffix.lstrip("."), **savefig_kw)
        _replace_atomically(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_parquet_atomic(path: Path, frame: pd.DataFrame, meta: dict | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        # pandas' own metadata would be half of a small run file; plain columns read back
        # with the same dtypes without it
        text = json.dumps(meta, ensure_ascii=False, default=str)
        table = table.replace_schema_metadata({META_KEY: text.encode("utf-8")})
    temp = _temp_name(path)
    try:
        # statistics cost more than they save on files of a few dozen rows
        pq.write_table(table, temp, write_statistics=meta is None)
        _replace_atomically(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


@dataclass
class Status:
    """Progress of a stored experiment."""

    total: int
    stored: set[str]
    failed: dict[str, str]          # run id -> error (runs that failed and are not stored)
    expected: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return [r for r in self.expected if r not in self.stored]

    def describe(self) -> str:
        done = len(self.stored)
        lines = [f"{done:,} of {self.total:,} runs stored, {len(self.failed):,} failed, "
                 f"{self.total - done - len(self.failed):,} not run yet"]
        for rid, error in list(self.failed.items())[:5]:
            lines.append(f"  failed {rid}: {error.strip().splitlines()[-1] if error else ''}")
        if len(self.failed) > 5:
            lines.append(f"  ... and {len(self.failed) - 5} more (see failed/*.json)")
        return "\n".join(lines)


class Store:
    """An experiment folder: manifest, design, finished and failed runs."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS

    @property
    def failed_dir(self) -> Path:
        return self.root / FAILED

    # ------------------------------------------------------------ manifest and design
    def manifest(self) -> dict[str, Any]:
        path = self.root / MANIFEST
        if not self.root.exists():
            raise ExperimentError(f"experiment folder not found: {self.root}")
        if not path.is_file():
            raise ExperimentError(f"{self.root} is not an experiment folder ({MANIFEST} is "
                                  "missing)")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ExperimentError(f"{path}: not readable JSON ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ExperimentError(f"{path}: not an experiment manifest ({FORMAT})")
        return manifest

    def design(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / DESIGN)

    def create_or_open(self, manifest: dict[str, Any], design: pd.DataFrame) -> bool:
        """Open the store for ``manifest``, creating it if new; True if it already existed.

        A folder that holds another experiment (or anything else) is refused: mixing
        runs of two experiments would silently corrupt both.
        """
        if (self.root / MANIFEST).exists():
            stored = self.manifest()
            if stored.get("experiment_hash") != manifest["experiment_hash"]:
                raise ExperimentError(
                    f"{self.root} holds a different experiment ('{stored.get('name')}', "
                    f"created {stored.get('created')}); its design, seeds, outputs or base "
                    "scenario differ from this one. Choose another --out or remove the folder")
            self._remove_own_leftovers()
            return True
        if self.root.exists() and any(self.root.iterdir()):
            raise ExperimentError(f"{self.root} exists and is not an experiment folder; "
                                  "choose another --out or remove it")
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.failed_dir.mkdir(exist_ok=True)
        write_parquet_atomic(self.root / DESIGN, design)
        # the manifest last: its presence means the folder is complete
        write_text_atomic(self.root / MANIFEST,
                          json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        return False

    def _remove_own_leftovers(self) -> None:
        """Temporary files of dead writers on this host (a crash mid-write)."""
        host = socket.gethostname()
        for folder in (self.runs_dir, self.failed_dir, self.root):
            for temp in folder.glob(".*.tmp"):
                match = re.search(r"\.(\d+)\.[0-9a-f]{8}\.tmp$", temp.name)
                if (match and temp.name[:match.start()].endswith("." + host)
                        and not _pid_alive(int(match[1]))):
                    temp.unlink(missing_ok=True)

    # ------------------------------------------------------------ runs
    def stored_ids(self) -> set[str]:
        if not self.runs_dir.exists():
            return set()
        return {p.stem for p in self.runs_dir.glob("p*.parquet")}

    def failures(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if not self.failed_dir.exists():
            return found
        for path in sorted(self.failed_dir.glob("p*.json")):
            try:
                found[path.stem] = json.loads(path.read_text(encoding="utf-8")).get("error", "")
            except (OSError, ValueError):
                found[path.stem] = "(unreadable failure record)"
        return found

    def write_run(self, rid: str, frame: pd.DataFrame, meta: dict[str, Any]) -> Path:
        path = self.runs_dir / f"{rid}.parquet"
        write_parquet_atomic(path, frame, meta)
        (self.failed_dir / f"{rid}.json").unlink(missing_ok=True)
        return path

    def write_failure(self, rid: str, record: dict[str, Any]) -> Path:
        path = self.failed_dir / f"{rid}.json"
        record = {**record, "recorded": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_text_atomic(path, json.dumps(record, indent=2, ensure_ascii=False, default=str)
                          + "\n")
        return path

    def status(self) -> Status:
        manifest = self.manifest()
        points, reps = manifest["design"]["points"], manifest["replications"]
        expected = [run_id(p, r) for p in range(points) for r in range(reps)]
        stored = self.stored_ids() & set(expected)
        failed = {k: v for k, v in self.failures().items() if k not in stored}
        return Status(total=len(expected), stored=stored, failed=failed, expected=expected)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_metadata(path: str | Path) -> dict[str, Any]:
    """The metadata a stored run carries in its parquet file."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta[META_KEY].decode("utf-8")) if META_KEY in meta else {}


def load(path: str | Path, lazy: bool = False):
    """Every stored run of an experiment folder as one DataFrame (one row per run and quarter).

    Columns: ``point``, ``replicate``, ``seed``, one per design parameter (dotted key),
    ``quarter``, the kept outputs, ``scenario_hash`` and ``package_version``. With
    ``lazy=True`` a ``pyarrow.dataset.Dataset`` is returned instead, to filter or select
    columns before reading (``dataset.to_table(columns=[...], filter=...)``).
    """
    import pyarrow.dataset as ds

    store = Store(path)
    manifest = store.manifest()
    files = sorted(str(p) for p in store.runs_dir.glob("p*.parquet"))
    if lazy:
        return ds.dataset(files, format="parquet")
    if not files:
        columns = [*ID_COLUMNS, *manifest["design"]["parameters"], "quarter",
                   *manifest["outputs"], *TRAILING_COLUMNS]
        return pd.DataFrame(columns=columns)
    frame = ds.dataset(files, format="parquet").to_table().to_pandas()
    frame = frame.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    frame.attrs["experiment"] = manifest["name"]
    return frame
