"""What a hostile user types: strict types, shapes of files, conflicting changes, output
paths, memory and flags. Each gives exit 2 and an ``error:`` naming what is wrong, or a
note saying what was done — never a traceback, a silent change of meaning or a crash after
the run.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import pandas as pd
import pytest

from sim import cli
from sim.config import ScenarioError, load_scenario
from sim.memory import FIXED_BYTES, MemoryEstimateError, check_run_memory, run_bytes
from sim.output_paths import OutputPathError, check_output_dir
from sim.units import annual_probability
from tests.test_cli_errors import assert_user_error, write_scenario

REPO = Path(__file__).resolve().parents[1]

SMALL_RUN = '[run]\nagents = 1000\nburn_in_quarters = 0\nend = "2024Q2"\nthreads = 1\n'


def validate(tmp_path: Path, capsys, text: str, name: str = "s.toml") -> tuple[int, str, str]:
    path = write_scenario(tmp_path, {name: text}) if name == "s.toml" else tmp_path / name
    code = cli.main(["validate", str(path)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ---------------------------------------------------------------- 2. types are strict

STRICT_TYPES = {
    "agents_as_text": ('[run]\nagents = "20000"\n', ("run.agents", "'20000'", "integer")),
    "agents_as_float": ("[run]\nagents = 2e4\n", ("run.agents", "20000.0", "integer")),
    "switch_as_number": ("[policy.fiscal]\ndeferral = 1\n",
                         ("policy.fiscal.deferral", "1", "boolean")),
    "switch_as_text": ('[policy.banking]\ntwo_increases = "no"\n',
                       ("policy.banking.two_increases", "'no'", "boolean")),
    "nan_unbounded": ("[macro]\ngdp_growth_annual = nan\n",
                      ("macro.gdp_growth_annual", "nan", "finite")),
    "inf_unbounded": ("[macro]\ngdp_growth_annual = inf\n",
                      ("macro.gdp_growth_annual", "inf", "finite")),
    "minus_inf_bounded": ("[policy.central_bank]\nrrr = -inf\n",
                          ("policy.central_bank.rrr", "-inf", "finite")),
    "number_as_text": ('[policy.central_bank]\nrrr = "0.06"\n',
                       ("policy.central_bank.rrr", "'0.06'", "number")),
    "change_switch_as_number": ('[[change]]\nat = "2025Q1"\nset = { "fiscal.deferral" = 1 }\n',
                                ("change #1", "fiscal.deferral", "boolean")),
    "change_nan": ('[[change]]\nat = "2025Q1"\nset = { "central_bank.rrr" = nan }\n',
                   ("change #1", "central_bank.rrr", "finite")),
    "ramp_of_a_switch": ('[[change]]\nfrom = "2025Q1"\nto = "2025Q4"\n'
                         'ramp = { "fiscal.deferral" = 1 }\n',
                         ("change #1", "fiscal.deferral", "cannot be ramped")),
}


@pytest.mark.parametrize("case", sorted(STRICT_TYPES))
def test_wrong_types_are_refused_not_converted(case, tmp_path, capsys):
    text, words = STRICT_TYPES[case]
    code, out, err = validate(tmp_path, capsys, text)
    assert out == ""
    assert_user_error(code, err, words)


def test_an_integer_is_a_number(tmp_path, capsys):
    """A whole number where a fraction belongs is a number, as TOML users write it."""
    code, out, err = validate(tmp_path, capsys, "[policy.central_bank]\nrrr = 0\n")
    assert code == 0, err
    assert load_scenario(tmp_path / "s.toml").policy.central_bank.rrr == 0.0


# ---------------------------------------------------------------- 3. shapes of files

def test_empty_file_is_not_a_default_run(tmp_path, capsys, monkeypatch):
    for text in ("", "\n\n", "# only a comment\n"):
        code, _, err = validate(tmp_path, capsys, text)
        assert_user_error(code, err, ("s.toml", "empty"))
    monkeypatch.chdir(tmp_path)  # where a default run folder would go
    assert cli.main(["run", "s.toml"]) == 2
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize("text, words", [
    ("[[run]]\nagents = 2000\n", ("'run'", "[run]", "array of tables")),
    ('[[policy]]\n[policy.central_bank]\nrrr = 0.06\n', ("'policy'", "[policy]")),
    ('[change]\nat = "2025Q1"\n', ("'change'", "[[change]]")),
    ('[shock]\nat = "2025Q1"\nrevenue = -0.1\n', ("'shock'", "[[shock]]")),
    ('name = ["a", "b"]\n', ("'name'", "single value")),
    ('[[banks.large]]\nsme_margin = 0.01\n', ("banks.large",)),
])
def test_known_tables_in_the_wrong_shape(tmp_path, capsys, text, words):
    code, _, err = validate(tmp_path, capsys, text)
    assert_user_error(code, err, words)


def test_wrong_shape_in_an_extended_file_is_named(tmp_path, capsys):
    write_scenario(tmp_path, {"base.toml": "[[run]]\nagents = 2000\n"})
    code, _, err = validate(tmp_path, capsys, 'extends = "base.toml"\n[run]\nseed = 3\n')
    assert_user_error(code, err, ("base.toml", "'run'"))


@pytest.mark.parametrize("encoding, words", [
    ("utf-16", ("UTF-16", "UTF-8")),
    ("utf-8-sig", ("BOM", "UTF-8")),
    ("gbk", ("not a UTF-8 text file", "GBK")),
])
def test_files_in_another_encoding(tmp_path, capsys, encoding, words):
    path = tmp_path / "s.toml"
    path.write_text("# 基准情景\n[run]\nagents = 2000\n", encoding=encoding)
    code = cli.main(["validate", str(path)])
    assert_user_error(code, capsys.readouterr().err, words)


def test_experiment_and_calibration_files_are_checked_too(tmp_path, capsys):
    (tmp_path / "e.toml").write_text("", encoding="utf-8")
    assert_user_error(cli.main(["sweep", str(tmp_path / "e.toml")]),
                      capsys.readouterr().err, ("e.toml", "empty"))
    (tmp_path / "c.toml").write_text("x = 1\n", encoding="utf-16")
    assert_user_error(cli.main(["calibrate", str(tmp_path / "c.toml")]),
                      capsys.readouterr().err, ("c.toml", "UTF-16"))


# ---------------------------------------------------------------- 5. changes that conflict

CONFLICTS = {
    "two_sets_same_quarter": (
        '[[change]]\nat = "2025Q1"\nset = { "central_bank.rrr" = 0.06 }\n'
        '[[change]]\nat = "2025Q1"\nset = { "central_bank.rrr" = 0.05 }\n',
        ("change #1 (set central_bank.rrr at 2025Q1)",
         "change #2 (set central_bank.rrr at 2025Q1)")),
    "same_parameter_two_spellings": (
        '[[change]]\nat = "2025Q1"\nset = { "central_bank.rrr" = 0.06 }\n'
        '[[change]]\nat = "2025Q1"\nset = { "policy.central_bank.rrr" = 0.05 }\n',
        ("change #1", "change #2")),
    "set_inside_a_ramp": (
        '[[change]]\nfrom = "2025Q1"\nto = "2025Q4"\nramp = { "central_bank.rrr" = 0.05 }\n'
        '[[change]]\nat = "2025Q3"\nset = { "central_bank.rrr" = 0.06, '
        '"central_bank.lpr_1y_annual" = 0.03 }\n',
        ("change #1 (ramp central_bank.rrr from 2025Q1 to 2025Q4)",
         "change #2 (set central_bank.rrr, central_bank.lpr_1y_annual at 2025Q3)",
         "2025Q3")),
    "overlapping_ramps": (
        '[[change]]\nfrom = "2025Q1"\nto = "2025Q4"\nramp = { "central_bank.rrr" = 0.05 }\n'
        '[[change]]\nfrom = "2025Q4"\nto = "2026Q2"\nramp = { "central_bank.rrr" = 0.04 }\n',
        ("change #1", "change #2", "2025Q4")),
    "empty_set": ('[[change]]\nat = "2025Q1"\nset = {}\n', ("change.0", "empty 'set'")),
    "empty_ramp": ('[[change]]\nfrom = "2025Q1"\nto = "2025Q2"\nramp = {}\n',
                   ("change.0", "empty 'ramp'")),
}


@pytest.mark.parametrize("case", sorted(CONFLICTS))
def test_conflicting_changes_name_both_entries(case, tmp_path, capsys):
    text, words = CONFLICTS[case]
    code, _, err = validate(tmp_path, capsys, text)
    assert_user_error(code, err, words)


def test_changes_that_follow_each_other_are_fine(tmp_path, capsys):
    text = ('[[change]]\nfrom = "2025Q1"\nto = "2025Q4"\nramp = { "central_bank.rrr" = 0.05 }\n'
            '[[change]]\nat = "2026Q1"\nset = { "central_bank.rrr" = 0.06 }\n'
            '[[change]]\nat = "2025Q2"\nset = { "central_bank.lpr_1y_annual" = 0.03 }\n'
            '[[shock]]\nat = "2025Q2"\nrevenue = -0.2\nsectors = ["catering"]\n')
    code, out, err = validate(tmp_path, capsys, text)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == "applies, in order:"
    # by quarter, then as written; the shock after the changes of its quarter
    assert [line.split()[0] for line in lines[2:]] == ["2025Q1–2025Q4", "2025Q2", "2025Q2",
                                                      "2026Q1"]
    assert "(change #1)" in lines[2] and "(change #3)" in lines[3]
    assert "shock revenue -20%" in lines[4] and "catering" in lines[4]
    assert "(change #2)" in lines[5]


def test_a_child_file_overrides_its_parents_change_at_that_quarter(tmp_path, capsys):
    """As with tables, the file that extends wins: a counterfactual switches off one of its
    parent's dated changes; the other keys of the parent's entry stay."""
    write_scenario(tmp_path, {"base.toml": '[[change]]\nat = "2025Q1"\nset = { '
                                           '"central_bank.rrr" = 0.06, "fiscal.deferral" = true }\n'})
    code, out, err = validate(tmp_path, capsys, 'extends = "base.toml"\n[[change]]\n'
                                                'at = "2025Q1"\nset = { "policy.central_bank.rrr" = 0.05 }\n')
    assert code == 0, err
    assert "central_bank.rrr = 0.06" not in out
    assert "fiscal.deferral = True  (change #1)" in out
    assert "policy.central_bank.rrr = 0.05  (change #2)" in out
    scenario = load_scenario(tmp_path / "s.toml")
    assert [dict(c.set) for c in scenario.change] == [{"fiscal.deferral": True},
                                                     {"policy.central_bank.rrr": 0.05}]


def test_a_child_set_inside_its_parents_ramp_is_refused(tmp_path, capsys):
    write_scenario(tmp_path, {"base.toml": '[[change]]\nfrom = "2025Q1"\nto = "2025Q4"\n'
                                           'ramp = { "central_bank.rrr" = 0.05 }\n'})
    code, _, err = validate(tmp_path, capsys, 'extends = "base.toml"\n[[change]]\n'
                                              'at = "2025Q2"\nset = { "central_bank.rrr" = 0.06 }\n')
    assert_user_error(code, err, ("change #1 (ramp", "change #2 (set", "2025Q2"))


# ---------------------------------------------------------------- 4. where results go

def _run(tmp_path: Path, *extra: str) -> list[str]:
    return ["run", str(write_scenario(tmp_path, {"s.toml": SMALL_RUN})), "--quiet", *extra]


@pytest.fixture
def no_model(monkeypatch):
    """Fail loudly if a command gets as far as building a model."""
    def refuse(*_, **__):
        raise AssertionError("the model was built before the output path was checked")

    monkeypatch.setattr("sim.model.build_model", refuse)
    monkeypatch.setattr("sim.cli.kernels.warm_up_kernels", refuse)


@pytest.mark.parametrize("where, words", [
    ("", ("--out", "empty")),
    ("{tmp}/afile/run", ("afile", "is a file")),
    ("{tmp}/afile", ("afile", "is a file")),
    ("{tmp}/" + "x" * 300, ("300 bytes", "at most")),
])
def test_bad_out_is_refused_before_the_run(tmp_path, capsys, no_model, where, words):
    (tmp_path / "afile").write_text("not a folder")
    code = cli.main(_run(tmp_path, "--out", where.format(tmp=tmp_path)))
    assert_user_error(code, capsys.readouterr().err, words)


def test_unwritable_folder_is_refused_before_the_run(tmp_path, capsys, no_model, monkeypatch):
    def read_only(*_, **__):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("sim.output_paths.tempfile.mkdtemp", read_only)
    code = cli.main(_run(tmp_path, "--out", str(tmp_path / "r")))
    assert_user_error(code, capsys.readouterr().err, ("cannot write", "Read-only file system"))


@pytest.fixture
def locked_folder(tmp_path):
    """A folder nothing can be created in, for this user: read-only for a user, and
    immutable (``chattr +i``, which stops root too) when the tests run as root."""
    import subprocess

    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() != 0:
        locked.chmod(0o555)
        yield locked
        locked.chmod(0o755)
        return
    done = subprocess.run(["chattr", "+i", str(locked)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"root, and chattr +i is refused here: {done.stderr.strip()}")
    yield locked
    subprocess.run(["chattr", "-i", str(locked)], check=True)


def test_read_only_folder_for_real(tmp_path, capsys, no_model, locked_folder):
    code = cli.main(_run(tmp_path, "--out", str(locked_folder / "r")))
    assert_user_error(code, capsys.readouterr().err,
                      ("cannot write", str(locked_folder), "choose a folder you can write to"))


def test_check_output_dir_accepts_a_new_nested_folder(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    assert check_output_dir(target) == target
    assert not (tmp_path / "a").exists()  # nothing made by the check itself
    assert list(tmp_path.iterdir()) == []
    target.mkdir(parents=True)
    with pytest.raises(OutputPathError, match="already exists"):
        check_output_dir(target)
    assert check_output_dir(target, may_exist=True) == target


def test_disk_full_during_the_write_leaves_nothing(tmp_path, capsys, monkeypatch):
    original = pd.DataFrame.to_parquet

    def disk_full(self, path, *args, **kwargs):
        if Path(path).name == "lenders.parquet":  # after quarterly.parquet is written
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return original(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    out = tmp_path / "out" / "r"
    code = cli.main(_run(tmp_path, "--out", str(out)))
    assert_user_error(code, capsys.readouterr().err,
                      ("lenders.parquet", "No space left on device", "free some space"))
    assert not out.exists()
    assert list((tmp_path / "out").iterdir()) == []


# ---------------------------------------------------------------- 1. memory

def _newest(pattern: str) -> pd.DataFrame:
    files = sorted((REPO / "benchmarks" / "results").glob(pattern))
    assert files, f"no benchmarks/results/{pattern}: run the benchmark"
    return pd.read_csv(files[-1])


def test_memory_estimate_covers_the_measured_peaks():
    """The estimate is above every peak the benchmarks measured (a run it lets through
    does not swap), and not wildly above (it would refuse runs that fit)."""
    measured = _newest("memory_estimate-*.csv")
    assert set(measured["engine"]) == {"numba", "reference"}
    for row in measured.itertuples():
        estimate_mb = run_bytes(row.agents, row.engine) / 2**20
        assert row.peak_mb <= estimate_mb < 2 * row.peak_mb, row
    assert measured["base_mb"].max() < FIXED_BYTES / 2**20
    scale = _newest("scale-*.csv")
    for row in scale.itertuples():
        assert row.peak_rss_with_results_mb <= run_bytes(row.agents) / 2**20, row


def test_run_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys, no_model,
                                                               monkeypatch):
    monkeypatch.setattr("sim.memory.available_bytes", lambda: 2 * 2**30)
    path = write_scenario(tmp_path, {"s.toml": "[run]\nagents = 100000000\n"})
    code = cli.main(["run", str(path), "--quiet"])
    err = capsys.readouterr().err
    assert_user_error(code, err, ("100,000,000 SMEs", "numba", "2.0 GB is available",
                                  "largest agent count that fits is"))
    fits = int(err.split("fits is ")[1].split()[0].replace(",", ""))
    assert run_bytes(fits) <= 0.9 * 2 * 2**30 < run_bytes(fits + 1000)


def test_memory_check_counts_parallel_workers():
    with pytest.raises(MemoryEstimateError,
                       match="4 runs at once.*per worker; or use fewer workers"):
        check_run_memory(1_000_000, processes=4, available=int(1.5 * 2**30))
    check_run_memory(1_000_000, processes=1, available=int(1.5 * 2**30))  # one fits


def test_memory_check_can_be_skipped(monkeypatch):
    monkeypatch.setenv("XIAOWEI_SKIP_MEMORY_CHECK", "1")
    check_run_memory(200_000_000, available=2**30)


# ---------------------------------------------------------------- 7. flags that overrule

def test_threads_above_the_cores_are_reported(tmp_path, capsys):
    import numba

    asked = numba.config.NUMBA_NUM_THREADS + 6
    code = cli.main(_run(tmp_path, "--threads", str(asked), "--out", str(tmp_path / "r")))
    err = capsys.readouterr().err
    assert code == 0, err
    assert (f"note: {asked} threads asked, but numba may use "
            f"{numba.config.NUMBA_NUM_THREADS} here") in err
    meta = pd.read_json(tmp_path / "r" / "run.json", typ="series")
    assert meta["threads"] == numba.config.NUMBA_NUM_THREADS


def test_annual_default_rate_is_a_probability():
    assert annual_probability(0.0) == 0.0
    assert annual_probability(1.0) == 1.0
    assert annual_probability(0.3) == pytest.approx(1 - 0.7 ** 4)
    assert annual_probability(0.3) < 1.0 < 4 * 0.3
    assert annual_probability(2.5) == 1.0 and annual_probability(-0.1) == 0.0
    assert math.isclose(annual_probability(0.01), 0.0394, abs_tol=1e-4)


def test_scenario_error_is_a_value_error():
    # the Python API raises it; the command line prints it
    assert issubclass(ScenarioError, ValueError)


# ---------------------------------------------------------------- sweeps and calibrations

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "rate_rrr_grid.toml"
CALIBRATION = Path(__file__).resolve().parents[1] / "experiments" / "calibrate_online.toml"


def test_sweep_counts_memory_per_local_worker(capsys, monkeypatch, tmp_path, no_model):
    monkeypatch.setattr("sim.memory.available_bytes", lambda: int(1.2 * 2**30))
    code = cli.main(["sweep", str(EXPERIMENT), "--workers", "4", "--agents", "1000000",
                     "--out", str(tmp_path / "store"), "--dry-run"])
    assert_user_error(code, capsys.readouterr().err,
                      ("this sweep", "4 runs at once", "per worker; or use fewer workers"))
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("command, source", [("sweep", EXPERIMENT),
                                             ("calibrate", CALIBRATION)])
def test_sweep_and_calibrate_check_their_folder_first(command, source, capsys, tmp_path,
                                                       no_model):
    (tmp_path / "afile").write_text("x")
    for out, words in (("", ("--out", "empty")),
                       (str(tmp_path / "afile" / "store"), ("afile", "is a file"))):
        code = cli.main([command, str(source), "--out", out])
        assert_user_error(code, capsys.readouterr().err, words)


def test_a_value_the_start_year_scales_past_its_bound_is_named(tmp_path, capsys):
    """A 2016Q1–2019Q1 start scales some values from the year-end facts; one that leaves
    its bounds is refused by validate and run alike, naming the key and the scaled value."""
    text = ('[run]\nstart = "2019Q1"\nend = "2019Q2"\nagents = 1000\nburn_in_quarters = 0\n'
            "[firms.informal.revenue_multiple]\nsmall = 7.8\n")
    code, _, err = validate(tmp_path, capsys, text)
    assert_user_error(code, err, ("firms.informal.revenue_multiple.small", "7.8", "becomes",
                                  "2019Q1"))


def test_design_points_keep_integer_parameters_integers():
    """A design mixing integer and float parameters hands each run its own types: the
    strict schema refuses 1.0 for an integer (a row read whole would upcast it)."""
    from sim.experiment.design import Design

    points = pd.DataFrame({"point": [0, 1], "firms.discouraged_quarters": [1, 3],
                           "central_bank.rrr": [0.05, 0.06]})
    design = Design("morris", ["firms.discouraged_quarters", "central_bank.rrr"], points,
                    None, None)
    values = design.values(1)
    assert values == {"firms.discouraged_quarters": 3, "central_bank.rrr": 0.06}
    assert type(values["firms.discouraged_quarters"]) is int
