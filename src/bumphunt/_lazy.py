"""Lazy public names of a package (PEP 562): importing a package does not import all its submodules.

A package ``__init__`` lists, for each public name, the submodule that defines it; the submodule is imported
the first time the name is looked up. Importing one small submodule (``bumphunt.stats._records`` in a
worker process, say) then no longer loads scipy.stats, torch or pandas through the package's ``__init__``:
every worker process of a pool starts that much faster. Static type checkers read the same names from
the ``if TYPE_CHECKING:`` imports kept beside the table.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, submodules: Mapping[str, str], namespace: dict[str, object]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` of ``package`` for the public names in ``submodules``.

    Parameters
    ----------
    package
        The package's ``__name__``.
    submodules
        Public name -> name of the submodule (relative to ``package``) that defines it. Submodules
        themselves are attributes too (``bumphunt.stats.fit``), imported on first use.
    namespace
        The package's ``globals()``: a name, once imported, is kept there so that later lookups are plain.
    """

    def __getattr__(name: str) -> object:
        if name in submodules:
            value = getattr(importlib.import_module(f"{package}.{submodules[name]}"), name)
            namespace[name] = value
            return value
        if not name.startswith("__") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")  # a submodule, as after an eager import
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(submodules))

    return __getattr__, __dir__
