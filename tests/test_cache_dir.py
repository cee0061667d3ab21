"""Where ``import sim`` points numba's cache: the user's NUMBA_CACHE_DIR if set, else a
folder named after the kernel sources under XIAOWEI_CACHE_DIR."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CODE = ("import os, sim, numba, sim.warmup; print(os.environ['NUMBA_CACHE_DIR']); "
        "print(numba.config.CACHE_DIR); print(sim.warmup.numba_cache_dir()); "
        "print(sim.kernel_cache_dir())")


def _cache_dirs(**env: str) -> list[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("NUMBA_CACHE_DIR", "XIAOWEI_CACHE_DIR")}
    environ.update(env, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          env=environ, cwd=REPO_ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_a_users_numba_cache_dir_is_kept(tmp_path):
    mine = str(tmp_path / "my-numba-cache")
    environ, config, used, default = _cache_dirs(NUMBA_CACHE_DIR=mine,
                                                 XIAOWEI_CACHE_DIR=str(tmp_path / "xw"))
    assert environ == config == used == mine
    assert default != mine


def test_by_default_numba_caches_in_the_kernel_hash_folder(tmp_path):
    root = tmp_path / "xw"
    environ, config, used, default = _cache_dirs(XIAOWEI_CACHE_DIR=str(root))
    assert environ == config == used == default
    assert Path(default).parent == root and Path(default).name.startswith("numba-")


def test_every_kernel_can_be_cached():
    # a kernel numba cannot cache (one that calls a ctypes function, such as
    # numba.get_num_threads) compiles again in every new process, for minutes; numba
    # says so only in a warning
    environ = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    environ["PYTHONPATH"] = str(REPO_ROOT)
    done = subprocess.run([sys.executable, "-W", "always", "-c",
                           "import sim.warmup; sim.warmup.warm_up()"],
                          capture_output=True, text=True, env=environ, cwd=REPO_ROOT,
                          timeout=900)
    assert done.returncode == 0, done.stderr
    assert "Cannot cache" not in done.stderr, done.stderr
