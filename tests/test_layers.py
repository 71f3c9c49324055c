"""The package's layers: no module imports from a layer above its own (docs/architecture.md); packages
export their names lazily, so that a worker process importing one small module starts fast."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import bumphunt

PACKAGE = Path(bumphunt.__file__).parent

#: Layer of each top-level module or subpackage; a module may import from its own layer and below.
LAYERS: dict[str, int] = {
    # foundation: no bumphunt imports beyond these
    "__init__": 0,
    "errors": 0,
    "_files": 0,
    "_native": 0,
    "_lazy": 0,
    "seeding": 0,
    # the in-memory event table
    "events": 1,
    # physics, statistics
    "physics": 2,
    "stats": 2,
    # readers and writers, anomaly detectors, configuration
    "io": 3,
    "methods": 3,
    "config": 3,
    "summary": 3,
    # event generation, executors
    "generate": 4,
    "executors": 4,
    # one search; plots and HTML
    "search": 5,
    "report": 5,
    # results directories, pseudo-experiments, the demo
    "results": 6,
    "ensemble": 6,
    "cluster_scan": 6,
    "interpretable": 6,
    "lepton_id": 6,
    "massbin_scan": 6,
    "demo": 6,
    # the command line
    "cli": 7,
    "cli_cluster_scan": 7,
    "cli_interpret": 7,
    "cli_lepton_id": 7,
    "cli_massbin": 7,
}


def _top(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every bumphunt import in ``path``, function-level and TYPE_CHECKING included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [(node.lineno, name) for name in names if name == "bumphunt" or name.startswith("bumphunt.")]
    return found


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    tops = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in _modules()}
    assert tops <= set(LAYERS), (
        f"give these modules a layer in LAYERS and docs/architecture.md: {tops - set(LAYERS)}"
    )


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_import_from_a_layer_above(path: Path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    upward = [
        f"{path.relative_to(PACKAGE)}:{line} imports {module} (layer {LAYERS[_top(module)]} > {LAYERS[own]})"
        for line, module in _imports(path)
        if LAYERS[_top(module)] > LAYERS[own]
    ]
    assert not upward, "\n".join(upward)


def test_the_check_sees_an_upward_import(tmp_path: Path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from bumphunt.search import run_search\n    return run_search\n")
    assert _imports(bad) == [(2, "bumphunt.search")]
    assert LAYERS[_top("bumphunt.search")] > LAYERS["stats"]


@pytest.mark.parametrize("name", ["stats", "methods", "io", "generate"])
def test_every_public_name_of_a_package_resolves_lazily(name: str):
    package = importlib.import_module(f"bumphunt.{name}")
    assert set(package.__all__) == set(package._SUBMODULES)
    for public in package.__all__:
        value = getattr(package, public)
        assert (
            getattr(importlib.import_module(f"bumphunt.{name}.{package._SUBMODULES[public]}"), public)
            is value
        )
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match=f"module 'bumphunt.{name}' has no attribute 'no_such_name'"):
        package.no_such_name  # noqa: B018


def test_a_worker_importing_the_executors_loads_neither_torch_nor_scipy_stats_nor_pandas():
    code = (
        "import sys, bumphunt.executors; "
        "print(sorted(m for m in ('torch', 'scipy.stats', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
