"""The experiment store: one folder that never holds half a run.

::

    DIR/manifest.json               the experiment: spec, base scenario, seeds, hash
    DIR/design.parquet              the design points (and the sampler's raw values)
    DIR/runs/p000012-r0003.parquet  one finished run: its quarterly outputs, one row per
                                    reported quarter, with the design point, replicate,
                                    seed, scenario hash and package version as columns
                                    and as file metadata
    DIR/failed/p000007-r0001.json   a run that raised, with its error text
    DIR/broken/p000003-r0000.parquet  a run file found broken when the store was opened,
                                    moved aside (its reason beside it) and run again

Every file is written to a hidden temporary name and renamed into place, so a crash,
a killed worker or Ctrl-C leaves either the whole file or nothing, and a run's file name
is its identity, so it is stored once however often it was computed. A file can still
arrive broken (copied or synced half-way, a disk or file system fault), so every run file
is checked when the store is opened: a broken one is not counted as stored, is moved
aside when the sweep resumes (and so run again), and stops an analysis with its name.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.spec import ExperimentError
from sim.output_paths import check_output_dir, describe_os_error
from sim.quarters import parse_quarter

MANIFEST = "manifest.json"
DESIGN = "design.parquet"
RUNS = "runs"
FAILED = "failed"
BROKEN = "broken"
FORMAT = "xiaowei-experiment/1"
META_KEY = b"xiaowei"
SAMPLE_PREFIX = "sample:"
ID_COLUMNS = ("point", "replicate", "seed")
TRAILING_COLUMNS = ("scenario_hash", "package_version")
SHOWN = 5                       # broken files named one by one in a message


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


def _named(exc: OSError, final: Path) -> OSError:
    """The same failure told about the file the user knows: pyarrow's write errors carry
    no file name, and the temporary name is hidden and already removed."""
    reason = os.strerror(exc.errno) if exc.errno else (exc.strerror or str(exc))
    return OSError(exc.errno, reason, str(final))   # OSError(EACCES, ...) is a PermissionError


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """``write`` a temporary file and rename it to ``path``; on any failure the temporary
    file is removed, nothing appears under ``path`` and an OSError names ``path``."""
    temp = _temp_name(path)
    try:
        write(temp)
        _replace_atomically(temp, path)
    except BaseException as exc:
        temp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename in (None, str(temp)):
            raise _named(exc, path) from exc
        raise


def write_text_atomic(path: Path, text: str) -> None:
    _write_atomically(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_figure_atomic(path: Path, figure, **savefig_kw) -> None:
    """Save a matplotlib ``figure`` to ``path`` (format from its suffix) under a temporary
    name and rename it: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, lambda temp: figure.savefig(temp, format=path.suffix.lstrip("."),
                                                        **savefig_kw))


def write_parquet_atomic(path: Path, frame: pd.DataFrame, meta: dict | None = None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        # pandas' own metadata would be half of a small run file; plain columns read back
        # with the same dtypes without it
        text = json.dumps(meta, ensure_ascii=False, default=str)
        table = table.replace_schema_metadata({META_KEY: text.encode("utf-8")})
    # statistics cost more than they save on files of a few dozen rows; page checksums
    # (4 bytes a page) let a reader tell a damaged page from numbers
    _write_atomically(path, lambda temp: pq.write_table(
        table, temp, write_statistics=meta is None, write_page_checksum=True))


@dataclass
class Status:
    """Progress of a stored experiment."""

    total: int
    stored: set[str]
    failed: dict[str, str]          # run id -> error (runs that failed and are not stored)
    expected: list[str] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)    # run id -> what is wrong

    @property
    def missing(self) -> list[str]:
        return [r for r in self.expected if r not in self.stored]

    def describe(self) -> str:
        done = len(self.stored)
        waiting = self.total - done - len(self.failed) - len(self.broken)
        lines = [f"{done:,} of {self.total:,} runs stored, {len(self.failed):,} failed, "
                 + (f"{len(self.broken):,} broken, " if self.broken else "")
                 + f"{waiting:,} not run yet"]
        for rid, error in list(self.failed.items())[:SHOWN]:
            lines.append(f"  failed {rid}: {error.strip().splitlines()[-1] if error else ''}")
        if len(self.failed) > SHOWN:
            lines.append(f"  ... and {len(self.failed) - SHOWN} more (see failed/*.json)")
        for rid, why in list(self.broken.items())[:SHOWN]:
            lines.append(f"  broken {rid}: {why}")
        if self.broken:
            more = f"... and {len(self.broken) - SHOWN} more; " \
                if len(self.broken) > SHOWN else ""
            lines.append(f"  {more}resume the sweep to re-run the broken runs")
        return "\n".join(lines)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_run_file(path: str | Path, rows: int | None = None) -> str | None:
    """What is wrong with a stored run file, or None if it is sound.

    Checked: the parquet footer (the file's last bytes: magic number, length, schema and
    row groups), the run's metadata in it, and the row count against the count recorded
    in that metadata (for files written before it was, against ``rows``: one per quarter
    the experiment reports) and the run id against the file name.

    Why not a checksum of the whole file: a run file is renamed into place only once
    complete, so what breaks one afterwards is a partial copy or sync, an interrupted
    transfer or a foreign file, each of which loses or garbles the footer at the file's
    end. Reading the footer is one small read (3,300 files in 0.17 s,
    ``tests/test_store_integrity.py``), where a checksum reads every byte and needs a
    place outside the file; a store opened again in one process checks each unchanged
    file once. Damage
    inside a file whose footer survived fails the page checksums when the runs are read
    (:func:`load`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    try:
        footer = pq.read_metadata(path)
    except (OSError, pa.ArrowException) as exc:
        return f"not a complete parquet file ({_first_line(exc)})"
    text = (footer.metadata or {}).get(META_KEY)
    if text is None:
        return "no run metadata in its footer"
    try:
        meta = json.loads(text.decode("utf-8"))
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        return "its run metadata is not readable"
    expected = meta.get("rows", rows)
    if expected is not None and footer.num_rows != expected:
        return f"{footer.num_rows} rows where the run wrote {expected}"
    if meta.get("run_id", path.stem) != path.stem:
        return f"it holds run {meta['run_id']}, not {path.stem}"
    return None


def broken_message(root: Path, broken: dict[str, str], remove: bool = False) -> str:
    """One message naming broken run files (the first few) and what to do: resume the
    sweep, after removing them if ``remove`` (when their footer is sound, a resumed sweep
    counts them as stored)."""
    shown = "; ".join(f"{rid}.parquet: {why}" for rid, why in list(broken.items())[:SHOWN])
    more = f"; and {len(broken) - SHOWN} more" if len(broken) > SHOWN else ""
    count = "1 run file is" if len(broken) == 1 else f"{len(broken):,} run files are"
    them = "it" if len(broken) == 1 else "them"
    fix = (f"remove {them} and " if remove else "") + f"resume the sweep to re-run {them}"
    return (f"{count} broken in {root / RUNS} ({shown}{more}); {fix} (the same `sim sweep` "
            f"command with --out {root})")


def _set_aside(runs: Path, broken: dict[str, str]) -> None:
    """Move each named file of ``runs`` into ``broken/`` beside it, its reason in
    ``NAME.reason.txt``, and say so on stderr: the evidence is kept, and a store that
    no longer finds a run's file runs it again."""
    folder = runs.parent / BROKEN
    for name, why in broken.items():
        try:
            folder.mkdir(exist_ok=True)
            os.replace(runs / name, folder / name)
            write_text_atomic(folder / f"{name}.reason.txt", why + "\n")
        except OSError as exc:
            raise ExperimentError(f"{runs / name} is broken ({why}) and cannot be moved "
                                  f"aside: {describe_os_error(exc)}; remove it by hand and "
                                  "run the same command again") from None
    count = "1 broken run file" if len(broken) == 1 else f"{len(broken):,} broken run files"
    lines = [f"warning: {count} in {runs} moved to {folder}; "
             f"{'it' if len(broken) == 1 else 'they'} will be run again:"]
    lines += [f"  {name}: {why}" for name, why in list(broken.items())[:SHOWN]]
    if len(broken) > SHOWN:
        lines.append(f"  ... and {len(broken) - SHOWN} more (reasons in "
                     f"{folder}/*.reason.txt)")
    print("\n".join(lines), file=sys.stderr, flush=True)


def read_json_run(path: str | Path, keys: Iterable[str], build: Callable[..., Any] = dict):
    """A calibration's JSON run file built into a record (``build(**data)``), or None
    when the file is broken (not readable, not a JSON object, without one of ``keys``,
    or refused by ``build``): then it is moved to ``broken/`` beside its folder with the
    reason, and said on stderr, so that the run is made again."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        problem = None if isinstance(data, dict) else "not a JSON object"
    except OSError as exc:
        problem = f"not readable ({describe_os_error(exc)})"
    except ValueError as exc:
        problem = f"not complete JSON ({exc})"
    if problem is None:
        missing = [key for key in keys if key not in data]
        problem = f"no {', '.join(missing)}" if missing else None
    if problem is None:
        try:
            return build(**data)
        except (TypeError, ValueError) as exc:
            problem = f"not a run record ({exc})"
    _set_aside(path.parent, {path.name: problem})
    return None


# absolute file path -> ((inode, size, mtime) when checked, what was wrong): shared by
# every Store of the process, so a store opened again (the command line counts what is
# left, then the sweep opens it) checks each unchanged file once
_CHECKED: dict[str, tuple[tuple[int, int, int], str | None]] = {}


class Store:
    """An experiment folder: manifest, design, finished and failed runs."""

    def __init__(self, root: str | Path):
        self.given = str(root)      # Path("") is ".", which would hide an empty --out
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
        path = self.root / DESIGN
        try:
            return pd.read_parquet(path)
        except (OSError, ValueError) as exc:    # pyarrow's ArrowInvalid is a ValueError
            raise ExperimentError(f"{path}: the design is not readable "
                                  f"({_first_line(exc)})") from None

    def create_or_open(self, manifest: dict[str, Any], design: pd.DataFrame) -> bool:
        """Open the store for ``manifest``, creating it if new; True if it already existed.

        A folder that holds another experiment (or anything else) is refused: mixing
        runs of two experiments would silently corrupt both. A folder that cannot be made
        or written is refused before anything runs; broken run files of a reopened store
        are moved aside, to be run again.
        """
        check_output_dir(self.given, "experiment folder", "--out", may_exist=True)
        if (self.root / MANIFEST).exists():
            stored = self.manifest()
            if stored.get("experiment_hash") != manifest["experiment_hash"]:
                raise ExperimentError(
                    f"{self.root} holds a different experiment ('{stored.get('name')}', "
                    f"created {stored.get('created')}); its design, seeds, outputs or base "
                    "scenario differ from this one. Choose another --out or remove the folder")
            self._remove_own_leftovers()
            self.set_aside_broken()
            return True
        if self.root.exists() and any(self.root.iterdir()):
            raise ExperimentError(f"{self.root} exists and is not an experiment folder; "
                                  "choose another --out or remove it")
        self._create(manifest, design)
        return False

    def _create(self, manifest: dict[str, Any], design: pd.DataFrame) -> None:
        """Write a new store; if any write fails (a full disk), undo it all and raise the
        OSError: a half-made store would be refused as "not an experiment folder"."""
        made_root = not self.root.exists()
        try:
            self.runs_dir.mkdir(parents=True, exist_ok=True)
            self.failed_dir.mkdir(exist_ok=True)
            write_parquet_atomic(self.root / DESIGN, design)
            # the manifest last: its presence means the folder is complete
            write_text_atomic(self.root / MANIFEST,
                              json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        except BaseException:
            (self.root / DESIGN).unlink(missing_ok=True)
            for folder in (self.runs_dir, self.failed_dir) + ((self.root,) if made_root else ()):
                try:
                    folder.rmdir()
                except OSError:
                    pass    # not there, or not empty: not ours to remove
            raise

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
    def _reported_quarters(self) -> int | None:
        """Rows a run of this experiment writes: one per reported quarter (None: unknown)."""
        try:
            run = self.manifest()["base_scenario"]["run"]
            return parse_quarter(run["end"]) - parse_quarter(run["start"]) + 1
        except (ExperimentError, KeyError, TypeError, ValueError):
            return None

    def run_files(self) -> dict[str, str | None]:
        """Every run file's run id and what is wrong with it (None: sound)."""
        found: dict[str, str | None] = {}
        if not self.runs_dir.is_dir():
            return found
        rows: list[int | None] = []     # read from the manifest once, if a file is checked
        with os.scandir(self.runs_dir) as entries:
            for entry in entries:
                if not (entry.name.startswith("p") and entry.name.endswith(".parquet")):
                    continue
                try:
                    info = entry.stat()
                except FileNotFoundError:   # moved aside or replaced meanwhile
                    continue
                key = (info.st_ino, info.st_size, info.st_mtime_ns)
                where = os.path.abspath(entry.path)
                checked = _CHECKED.get(where)
                if checked is None or checked[0] != key:
                    if not rows:
                        rows.append(self._reported_quarters())
                    checked = (key, check_run_file(entry.path, rows[0]))
                    _CHECKED[where] = checked
                found[entry.name[:-len(".parquet")]] = checked[1]
        return found

    def runs(self) -> tuple[set[str], dict[str, str]]:
        """The runs whose file is sound, and run id -> what is wrong for every broken
        one (a broken file does not count as stored)."""
        files = self.run_files()
        return ({rid for rid, why in files.items() if why is None},
                {rid: why for rid, why in sorted(files.items()) if why is not None})

    def stored_ids(self) -> set[str]:
        """The runs whose file is sound."""
        return self.runs()[0]

    def broken_runs(self) -> dict[str, str]:
        """Run id -> what is wrong with its file, for every broken run file."""
        return self.runs()[1]

    def set_aside_broken(self) -> dict[str, str]:
        """Move broken run files to ``broken/`` (saying which and why), so that the sweep
        runs them again; returns run id -> what was wrong."""
        broken = self.broken_runs()
        if broken:
            _set_aside(self.runs_dir, {f"{rid}.parquet": why for rid, why in broken.items()})
            for rid in broken:
                _CHECKED.pop(os.path.abspath(self.runs_dir / f"{rid}.parquet"), None)
        return broken

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
        # the rows written, beside the footer's own count: a file rewritten by another
        # tool with rows lost disagrees with it (opening the store checks the two)
        write_parquet_atomic(path, frame, {**meta, "rows": len(frame)})
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
        wanted = set(expected)
        stored, broken = self.runs()
        stored &= wanted
        broken = {rid: why for rid, why in broken.items() if rid in wanted}
        failed = {k: v for k, v in self.failures().items()
                  if k not in stored and k not in broken}
        return Status(total=len(expected), stored=stored, failed=failed, expected=expected,
                      broken=broken)


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


def _dataset(files: list[str]):
    """The run files as one pyarrow dataset whose reads verify the pages' checksums."""
    import pyarrow.dataset as ds

    options = ds.ParquetFragmentScanOptions(page_checksum_verification=True)
    return ds.dataset(files, format=ds.ParquetFileFormat(default_fragment_scan_options=options))


def _damaged(root: Path, files: list[str], exc: Exception) -> ExperimentError:
    """Which files could not be read (one by one, only once reading them together failed)."""
    import pyarrow as pa

    damaged = {}
    for name in files:
        try:
            _dataset([name]).to_table()
        except (OSError, pa.ArrowException) as error:
            damaged[Path(name).stem] = f"its data is damaged ({_first_line(error)})"
    if not damaged:
        return ExperimentError(f"the runs in {root / RUNS} cannot be read together "
                               f"({_first_line(exc)})")
    return ExperimentError(broken_message(root, damaged, remove=True))


def load(path: str | Path, lazy: bool = False):
    """Every stored run of an experiment folder as one DataFrame (one row per run and quarter).

    Columns: ``point``, ``replicate``, ``seed``, one per design parameter (dotted key),
    ``quarter``, the kept outputs, ``scenario_hash`` and ``package_version``. With
    ``lazy=True`` a ``pyarrow.dataset.Dataset`` is returned instead, to filter or select
    columns before reading (``dataset.to_table(columns=[...], filter=...)``). A store with
    a broken run file is refused, naming it: resuming the sweep runs it again.
    """
    import pyarrow as pa

    store = Store(path)
    manifest = store.manifest()
    stored, broken = store.runs()
    if broken:
        raise ExperimentError(broken_message(store.root, broken))
    files = sorted(str(store.runs_dir / f"{rid}.parquet") for rid in stored)
    if lazy:
        return _dataset(files)
    if not files:
        columns = [*ID_COLUMNS, *manifest["design"]["parameters"], "quarter",
                   *manifest["outputs"], *TRAILING_COLUMNS]
        return pd.DataFrame(columns=columns)
    try:
        table = _dataset(files).to_table()
    except (OSError, pa.ArrowException) as exc:
        raise _damaged(store.root, files, exc) from None
    frame = table.to_pandas()
    frame = frame.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    frame.attrs["experiment"] = manifest["name"]
    return frame
