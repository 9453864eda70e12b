"""Fixtures of the benchmark suite: the size presets, the generated data (cached on disk),
the real corpus, the compiled vedette indexes and the peers' automata.

Sizes are chosen by ``VEDETTE_BENCH_SIZES``: ``smoke`` (2k indicators, 1 MB of text, 100k
flows: the default under ``--benchmark-disable``), ``full`` (10k, 100k and 1M indicators,
256 MB of text, 8M flows: the default otherwise), or a comma list of size names
(``10k,1M``). Generated files are cached in ``$VEDETTE_BENCH_CACHE`` (default
``/tmp/vedette-bench``), never in the repository.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures import CACHE, DATA, SIZES, Bench, Real, selected_sizes

import vedette


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Session scope makes pytest group the tests by size, so one size's data (and the
    # peers' automata, up to a few GB at 1M) is released before the next is made.
    if "bench" in metafunc.fixturenames:
        sizes = [s.name for s in selected_sizes(metafunc.config)]
        metafunc.parametrize("bench", sizes, indirect=True, scope="session")


def pytest_report_header(config: pytest.Config) -> str:
    sizes = ", ".join(s.name for s in selected_sizes(config))
    return f"vedette {vedette.__version__} from {vedette.__file__}; sizes: {sizes}; cache: {CACHE}"


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest) -> Iterator[Bench]:
    b = Bench(SIZES[request.param])
    yield b
    b.close()


@pytest.fixture(scope="session")
def real() -> Iterator[Real]:
    if not (DATA / "feeds").is_dir():
        pytest.skip(f"real data not present at {DATA}")
    r = Real(DATA)
    yield r
    r.close()
