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


@pytest.fixture
def medallion_server(tmp_path):
    """A medallion TAXII 2.1 server on 127.0.0.1 holding taxii_server.INDICATORS, stopped
    after the test; ``.url`` is its API root."""
    pytest.importorskip("medallion")
    from taxii_server import INDICATORS, Medallion

    server = Medallion(tmp_path, INDICATORS)
    try:
        server.start()
    except RuntimeError as err:
        pytest.fail(str(err))
    yield server
    server.stop()


@pytest.fixture
def server(medallion_server) -> str:
    """The API root of a medallion_server."""
    return medallion_server.url
