"""Broken files in a store, and stores that cannot be written.

* a truncated and a garbage run file are not counted as stored: ``sim analyze`` refuses
  the store naming them, ``sim sweep --status`` reports them, and the resumed sweep moves
  them to ``broken/`` (saying why) and runs them again, after which the store analyses;
* a file of the wrong length, without its metadata or holding another run is broken; a
  damaged page inside a file whose footer survived stops ``load`` with the file's name;
* opening a store of thousands of run files takes seconds, not minutes;
* a broken calibration run file is moved aside and run again when the search resumes;
* a folder that cannot hold the store is refused before any run; a write that fails
  (a full disk) leaves nothing under a final name, and the OSError names the file.

The sweeps are tiny (1,000 SMEs, two reported quarters, serial in this process).
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import cli
from sim.experiment import load, load_experiment
from sim.experiment.runner import open_store
from sim.experiment.spec import ExperimentError
from sim.experiment.store import (
    Store, check_run_file, run_id, read_json_run, write_parquet_atomic,
    write_text_atomic,
)
from tests.helpers import BASELINE, calibration_toml, target_toml, write_text

# 3 grid points × 1 replicate of 1,000 SMEs over 2024Q1-Q2, no burn-in
TINY = f"""
name = "tiny"
scenario = "{BASELINE.as_posix()}"
replications = 1
seed = 3
outputs = ["sme_alive", "new_loans", "npl_ratio"]
[run]
agents = 1000
end = "2024Q2"
burn_in_quarters = 0
[parameters."firms.borrowing_propensity"]
levels = [0.40, 0.45, 0.50]
"""


def sweep_cli(path: Path, out: Path) -> int:
    return cli.main(["sweep", str(path), "--workers", "1", "--out", str(out), "--quiet"])


@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, Path]:
    """The TINY experiment swept once; tests copy the store before breaking it."""
    folder = tmp_path_factory.mktemp("tiny")
    path = write_text(folder / "tiny.toml", TINY)
    out = folder / "store"
    assert sweep_cli(path, out) == 0
    return path, out


def copy_store(source: Path, target: Path) -> Path:
    import shutil

    shutil.copytree(source, target)
    return target


def test_broken_run_files_are_refused_reported_and_run_again(swept, tmp_path, capsys):
    path, original = swept
    out = copy_store(original, tmp_path / "store")
    capsys.readouterr()
    runs = out / "runs"
    truncated, garbage, sound = (runs / f"{run_id(p, 0)}.parquet" for p in range(3))
    whole = truncated.read_bytes()
    truncated.write_bytes(whole[: len(whole) // 2])     # a copy cut short
    garbage.write_bytes(b"this is not a parquet file\n" * 20)
    sound_stat = sound.stat()
    assert Store(out).stored_ids() == {run_id(2, 0)}

    # analysing names both and says what to do, without a traceback
    assert cli.main(["analyze", str(out)]) == 2
    err = capsys.readouterr().err
    assert "2 run files are broken" in err and "resume the sweep to re-run them" in err
    assert "p000000-r0000.parquet: not a complete parquet file" in err
    assert "p000001-r0000.parquet: not a complete parquet file" in err
    assert "Traceback" not in err
    with pytest.raises(ExperimentError, match="broken"):
        load(out)

    assert cli.main(["sweep", "--status", str(out)]) == 0
    assert "1 of 3 runs stored, 0 failed, 2 broken, 0 not run yet" in capsys.readouterr().out

    # the resumed sweep moves them aside, says why, and runs only them again
    assert sweep_cli(path, out) == 0
    captured = capsys.readouterr()
    assert "2 broken run files" in captured.err and "will be run again" in captured.err
    assert "p000000-r0000.parquet: not a complete parquet file" in captured.err
    assert "2 runs stored" in captured.out and "3 of 3" in captured.out
    broken = out / "broken"
    assert (broken / truncated.name).read_bytes() == whole[: len(whole) // 2]
    assert "not a complete parquet file" in (broken / f"{garbage.name}.reason.txt").read_text()
    assert (sound.stat().st_ino, sound.stat().st_mtime_ns) == (sound_stat.st_ino,
                                                              sound_stat.st_mtime_ns)
    assert all(check_run_file(p) is None for p in runs.glob("*.parquet"))
    # the re-run runs are the runs that were broken: the same numbers as the first sweep
    pd.testing.assert_frame_equal(load(out), load(original), check_exact=True)
    assert cli.main(["analyze", str(out)]) == 0


def write_toy_run(store: Store, rid: str, rows: int, meta: dict | None = None) -> Path:
    """A run file of ``rows`` rows written as the runner writes one."""
    frame = pd.DataFrame({"point": np.zeros(rows, dtype=np.int64),
                          "quarter": [f"2024Q{q % 4 + 1}" for q in range(rows)],
                          "npl_ratio": np.linspace(0, 1, rows)})
    return store.write_run(rid, frame, {"run_id": rid, **(meta or {})})


def test_a_run_file_of_the_wrong_length_or_without_metadata_is_broken(swept, tmp_path):
    _, original = swept
    store = Store(copy_store(original, tmp_path / "store"))
    runs = store.runs_dir
    # the runner records the row count it wrote; a file that disagrees is not the run
    rid = run_id(0, 0)
    frame = pd.read_parquet(runs / f"{rid}.parquet")
    write_parquet_atomic(runs / f"{rid}.parquet", frame.iloc[:1], {"run_id": rid, "rows": 2})
    assert check_run_file(runs / f"{rid}.parquet") == "1 rows where the run wrote 2"
    # files written before the count was recorded: one row per reported quarter (2 here)
    write_parquet_atomic(runs / f"{rid}.parquet", frame.iloc[:1], {"run_id": rid})
    assert "1 rows where the run wrote 2" in store.broken_runs()[rid]
    write_parquet_atomic(runs / f"{rid}.parquet", frame, {"run_id": rid})
    assert check_run_file(runs / f"{rid}.parquet", rows=2) is None
    # no metadata, or another run's file under this name
    write_parquet_atomic(runs / f"{rid}.parquet", frame)
    assert check_run_file(runs / f"{rid}.parquet") == "no run metadata in its footer"
    write_toy_run(store, run_id(1, 0), 2, {"run_id": run_id(2, 0)})
    assert "holds run p000002-r0000" in check_run_file(runs / f"{run_id(1, 0)}.parquet")
    assert store.status().broken.keys() == {run_id(0, 0), run_id(1, 0)}


def test_a_damaged_page_behind_a_sound_footer_is_named_when_read(swept, tmp_path):
    _, original = swept
    out = copy_store(original, tmp_path / "store")
    path = out / "runs" / f"{run_id(1, 0)}.parquet"
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF           # inside the first column chunks, far from the footer
    path.write_bytes(bytes(data))
    assert check_run_file(path) is None        # the footer cannot tell
    with pytest.raises(ExperimentError) as caught:
        load(out)
    message = str(caught.value)
    assert "p000001-r0000.parquet: its data is damaged" in message
    assert "remove it and resume the sweep to re-run it" in message


def test_opening_a_store_of_thousands_of_run_files_takes_seconds(tmp_path):
    """3,000 sound run files and 300 copies under other names (broken: the run id in
    each says otherwise) are checked in seconds, and opened again in the same process,
    unchanged, without reading them again."""
    experiment = load_experiment(write_text(tmp_path / "tiny.toml", TINY))
    store, _ = open_store(experiment, tmp_path / "store")
    count, copies = 3000, 300
    for k in range(count):
        write_toy_run(store, run_id(k, 0), 2)
    data = (store.runs_dir / f"{run_id(0, 0)}.parquet").read_bytes()
    for k in range(count, count + copies):
        (store.runs_dir / f"{run_id(k, 0)}.parquet").write_bytes(data)
    started = time.perf_counter()
    stored, broken = Store(store.root).runs()
    first = time.perf_counter() - started
    started = time.perf_counter()
    again = Store(store.root).runs()
    second = time.perf_counter() - started
    assert len(stored) == count and len(broken) == copies
    assert again == (stored, broken)
    print(f"checked {count + copies} run files in {first:.2f} s, again in {second:.3f} s")
    # 0.17 s measured for the 3,300 (0.05 ms a file); far less to open it again
    assert first < 2, first
    assert second < first / 3, (first, second)


def test_a_broken_calibration_run_is_moved_aside_and_run_again(tmp_path, capsys):
    from sim.calibration.search import calibrate
    from sim.calibration.spec import load_calibration

    base = write_text(tmp_path / "short.toml", f'extends = "{BASELINE.as_posix()}"\n'
                      '[run]\nstart = "2025Q1"\nburn_in_quarters = 2\n')
    write_text(tmp_path / "targets.toml", 'name = "t"\n' + target_toml(
        "share", "online_share_new", 0.35, 0.02, "a test"))
    path = write_text(tmp_path / "c.toml", calibration_toml(
        "tiny", base, {"platforms.big_tech.margin_annual": "range = [0.02, 0.12]"},
        trials=2, extra="noise_replicates = 0\nreplicates = 1").replace(
        "replicates = 2\n", "", 1))
    calibration = load_calibration(path)
    out = tmp_path / "out"
    first = calibrate(calibration, out, workers=1, report=False)
    runs = sorted((out / "runs").glob("t*.json"))
    assert first.executed == len(runs) == 2
    truncated, keyless = runs
    truncated.write_text(truncated.read_text(encoding="utf-8")[:30], encoding="utf-8")
    data = json.loads(keyless.read_text(encoding="utf-8"))
    del data["moments"]
    keyless.write_text(json.dumps(data), encoding="utf-8")
    capsys.readouterr()

    again = calibrate(calibration, out, workers=1, report=False)
    err = capsys.readouterr().err
    assert err.count("warning: 1 broken run file in") == 2  # each when the search reaches it
    assert f"{truncated.name}: not complete JSON" in err and f"{keyless.name}: no moments" in err
    assert (out / "broken" / truncated.name).is_file()
    assert again.executed == 2 and again.best_values == first.best_values
    pd.testing.assert_frame_equal(again.trials.drop(columns="elapsed_seconds"),
                                  first.trials.drop(columns="elapsed_seconds"))


def test_a_broken_json_run_is_set_aside_and_a_sound_one_read(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir()
    write_text(runs / "a.json", json.dumps({"x": 1, "y": None}))
    write_text(runs / "b.json", "[1, 2]")
    write_text(runs / "c.json", '{"x": 1')
    write_text(runs / "d.json", json.dumps({"x": 1}))
    assert read_json_run(runs / "a.json", ("x", "y")) == {"x": 1, "y": None}
    for name in ("b.json", "c.json", "d.json"):
        assert read_json_run(runs / name, ("x", "y")) is None
    assert sorted(p.name for p in runs.iterdir()) == ["a.json"]
    reasons = {p.name: p.read_text().strip() for p in (tmp_path / "broken").glob("*.txt")}
    assert reasons == {
        "b.json.reason.txt": "not a JSON object",
        "c.json.reason.txt": "not complete JSON (Expecting ',' delimiter: line 1 column 8 "
                             "(char 7))",
        "d.json.reason.txt": "no y"}
    assert capsys.readouterr().err.count("1 broken run file") == 3
    # a record its builder refuses is broken too
    write_text(runs / "e.json", json.dumps({"x": 1, "y": 2, "z": 3}))
    assert read_json_run(runs / "e.json", ("x", "y"), lambda x, y: (x, y)) is None
    assert not (runs / "e.json").exists()


# ---------------------------------------------------------------- where results go


@pytest.fixture
def no_warm_up(monkeypatch):
    """Fail if a sweep gets as far as warming up the kernels."""
    import sim.experiment.runner

    def refuse() -> None:
        raise AssertionError("the sweep started")

    monkeypatch.setattr(sim.experiment.runner, "_warm_up", refuse)


def test_an_unusable_store_folder_exits_2_before_any_run(tmp_path, capsys, no_warm_up):
    path = write_text(tmp_path / "tiny.toml", TINY)
    write_text(tmp_path / "a_file", "x")
    assert sweep_cli(path, tmp_path / "a_file" / "store") == 2
    err = capsys.readouterr().err
    assert "is a file, so no folder can be made under it" in err and "Traceback" not in err
    assert not (tmp_path / "a_file").is_dir()


@pytest.mark.parametrize("where, message", [
    ("a_file/store", "is a file, so no folder can be made under it"),
    ("a_file", "is a file, not a folder"),
    ("x" * 300, "this file system takes at most"),
])
def test_the_store_folder_is_checked_when_the_store_is_opened(tmp_path, no_warm_up, where,
                                                              message):
    from sim.experiment import sweep
    from sim.output_paths import OutputPathError

    experiment = load_experiment(write_text(tmp_path / "tiny.toml", TINY))
    write_text(tmp_path / "a_file", "x")
    with pytest.raises(OutputPathError, match=message):
        sweep(experiment, tmp_path / where, workers=1, progress=False)
    with pytest.raises(OutputPathError, match="--out is empty"):
        Store("").create_or_open({}, pd.DataFrame())


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*"))


def test_a_run_write_on_a_full_disk_leaves_nothing_and_names_the_file(tmp_path,
                                                                      monkeypatch):
    import pyarrow.parquet as pq

    experiment = load_experiment(write_text(tmp_path / "tiny.toml", TINY))
    store, _ = open_store(experiment, tmp_path / "store")
    before = leftovers(store.root)
    monkeypatch.setattr(pq, "write_table", enospc)
    with pytest.raises(OSError) as caught:
        write_toy_run(store, run_id(0, 0), 2)
    final = store.runs_dir / f"{run_id(0, 0)}.parquet"
    assert caught.value.errno == errno.ENOSPC and caught.value.filename == str(final)
    assert caught.value.strerror == "No space left on device"
    assert leftovers(store.root) == before       # no run file, no temporary file


def test_a_store_whose_design_or_manifest_cannot_be_written_is_not_left_half_made(
        tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    experiment = load_experiment(write_text(tmp_path / "tiny.toml", TINY))
    out = tmp_path / "store"
    with monkeypatch.context() as patch:
        patch.setattr(pq, "write_table", enospc)
        with pytest.raises(OSError) as caught:
            open_store(experiment, out)
    assert caught.value.filename == str(out / "design.parquet")
    assert not out.exists()

    real_write_text = Path.write_text

    def full_for_the_manifest(self, *args, **kwargs):
        if "manifest.json" in self.name:
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write_text(self, *args, **kwargs)

    out.mkdir()                                  # an existing empty folder is kept
    monkeypatch.setattr(Path, "write_text", full_for_the_manifest)
    with pytest.raises(OSError) as caught:
        open_store(experiment, out)
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(out / "manifest.json")
    assert out.is_dir() and leftovers(out) == []
    monkeypatch.undo()
    open_store(experiment, out)                  # and can then be made
    assert (out / "manifest.json").is_file()


def test_a_text_write_on_a_full_disk_removes_its_temporary_file(tmp_path, monkeypatch):
    def half_then_full(self, text, *args, **kwargs):
        with self.open("w", encoding="utf-8") as handle:
            handle.write(text[:1])
        enospc()

    monkeypatch.setattr(Path, "write_text", half_then_full)
    with pytest.raises(OSError) as caught:
        write_text_atomic(tmp_path / "summary.json", "{}")
    assert caught.value.filename == str(tmp_path / "summary.json")
    assert os.listdir(tmp_path) == []
