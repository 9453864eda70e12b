from __future__ import annotations

import os
from pathlib import Path

import pytest

#: The shared corpus of real feeds and logs: beside the repository, or $VEDETTE_DATA.
DATA = Path(os.environ.get("VEDETTE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


@pytest.fixture
def data() -> Path:
    if not DATA.is_dir():
        pytest.skip(f"real data not present at {DATA}")
    return DATA
