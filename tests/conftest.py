"""Shared test fixtures."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bumphunt.demo import demo_config, demo_data_dir
from bumphunt.events import EventSet

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def _in_xdist_worker() -> bool:
    """Whether this process is a pytest-xdist worker (also when the xdist plugin's fixtures are off)."""
    return bool(os.environ.get("PYTEST_XDIST_WORKER"))


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist each worker has one core's share: torch, OpenMP (scikit-learn's boosted
    trees) and BLAS on one thread each, not one per core. With one thread per core in every worker the
    workers' OpenMP teams spin-wait on cores the other worker holds."""
    if _in_xdist_worker():
        os.environ["OMP_NUM_THREADS"] = "1"  # read by OpenMP runtimes loaded from now on, and by subprocesses
        import sklearn.ensemble  # noqa: F401 (loads scikit-learn's OpenMP runtime, limited below)
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)


@pytest.fixture(scope="session")
def build_once(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], object]], Path]:
    """``build_once(name, make)``: folder ``name``, filled by ``make(folder)`` once per test session and
    shared by its xdist workers.

    Under pytest-xdist each worker has its own session fixtures, so a generated sample that the tests of
    two files need would be generated twice; the first worker to ask makes it under a file lock in the
    session's temporary folder, the others wait for it and reuse it.
    """
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if _in_xdist_worker():
        root = root.parent  # the workers' folders sit in one folder of the session

    def build(name: str, make: Callable[[Path], object]) -> Path:
        folder = root / f"shared-{name}"
        with FileLock(f"{folder}.lock"):
            done = folder / ".complete"
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir(parents=True)
                make(folder)
                done.touch()
        return folder

    return build


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real CMS files next to the checkout (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real collider files not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def generated_lhco(build_once) -> tuple[Path, Path]:
    """20 W' -> X Y events from the generator: (features file, constituents file), about 5 s."""
    pytest.importorskip("pythia8mc")
    pytest.importorskip("fastjet")
    from bumphunt.generate import GenerationPlan, generate, wprime_to_xy

    def make(folder: Path) -> None:
        plan = GenerationPlan(wprime_to_xy(), n_events=20, seed=1, chunk_size=20, constituents=True)
        generate(plan, [folder / "features.h5"], constituents_output=folder / "constituents.h5")

    out = build_once("lhco", make)
    return out / "features.h5", out / "constituents.h5"


@pytest.fixture(scope="session")
def demo_slice(tmp_path_factory) -> dict[str, Path]:
    """Every third background event of the demo file in 3.0-4.2 TeV, and its signal pool."""
    folder = demo_data_dir()
    out = tmp_path_factory.mktemp("demo_slice")
    background = EventSet.from_parquet(folder / "background.parquet").in_mass((3000.0, 4200.0))
    background = background.take(np.arange(0, len(background), 3))
    signal = EventSet.from_parquet(folder / "signal.parquet")
    return {
        "background": background.to_parquet(out / "background.parquet"),
        "signal": signal.to_parquet(out / "signal.parquet"),
    }


@pytest.fixture
def small_config(demo_slice: dict[str, Path]) -> Callable[..., dict]:
    """Factory of the demo configuration on the slice with small settings (2 windows, few epochs/toys)."""

    def make(out: Path, **method: object) -> dict:
        return _small_config(demo_slice, out, **method)

    return make


def _small_config(paths: dict[str, Path], out: Path, **method: object) -> dict:
    config = demo_config(out).to_dict()
    config["data"]["path"] = str(paths["background"])
    config["data"]["mass_range"] = [3000.0, 4200.0]
    config["data"]["injection"].update(signal=str(paths["signal"]), s_over_b=0.25)
    config["windows"]["scan"] = {"start": 3000.0, "stop": 4200.0, "sr_width": 400.0, "step": 400.0}
    config["method"].update(
        n_folds=3,
        classifier={"kind": "hgb", "n_members": 1, "max_iter": 30},
        flow={"kind": "maf", "max_epochs": 3, "transforms": 2, "hidden_features": [16]},
        **method,
    )
    config["statistics"].update(global_toys=10, efficiencies=[1.0, 0.2])
    return config
