"""Shared test fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real CMS files next to the checkout (``../shared/data``)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real collider files not found at {SHARED_DATA}")
    return SHARED_DATA
