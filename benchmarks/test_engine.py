"""The live engine (``vedette.Engine``) over each size's index: changes published, one
removal, ``find`` on a quiet engine against the plain ``Index``, and ``find`` while
another thread publishes a change every 20 ms.

Targets (the live engine's): 1,000 changes visible in 50 ms or less, one removal in 50
ms or less, readers at 90% or more of a quiet engine during the swaps, and a quiet
engine's ``find`` as fast as the ``Index``'s.
"""

from __future__ import annotations

import itertools
import threading
from typing import Any

import peers
import pytest
from fixtures import Bench, record_rate

import vedette

ROUNDS = 5

#: Fresh values for each round's changes, never in any feed.
_serial = itertools.count()


def _engine(bench: Bench) -> vedette.Engine:
    engine = vedette.Engine(bench.index)
    engine.compact()
    return engine


def test_engine_publish(benchmark: Any, bench: Bench) -> None:
    """1,000 adds in one transaction, published: visible on return."""
    benchmark.group = f"engine {bench.name}"
    engine = _engine(bench)

    def publish() -> str:
        round_ = next(_serial)
        with engine.transaction() as tx:
            for i in range(1000):
                tx.add(f"n{round_}-{i}.fresh.example", kind="domain", source="bench")
        return f"n{round_}-999.fresh.example"

    last = benchmark.pedantic(publish, rounds=ROUNDS)
    benchmark.extra_info["correct"] = engine.is_match(f"x {last} y")
    benchmark.extra_info["changes"] = 1000
    assert benchmark.extra_info["correct"]
    engine.close()


def test_engine_remove(benchmark: Any, bench: Bench) -> None:
    """One removal by value, published."""
    benchmark.group = f"engine {bench.name}"
    engine = _engine(bench)
    values = [f"r{i}.gone.example" for i in range(ROUNDS + 1)]
    with engine.transaction() as tx:
        for value in values:
            tx.add(value, kind="domain", source="bench")
    left = iter(values)
    benchmark.pedantic(lambda: engine.remove(source="bench", value=next(left)), rounds=ROUNDS)
    benchmark.extra_info["correct"] = not engine.is_match(values[0])
    assert benchmark.extra_info["correct"]
    engine.close()


@pytest.mark.parametrize("mode", ["index", "engine-quiet", "engine-swapping"])
def test_engine_find(benchmark: Any, bench: Bench, mode: str) -> None:
    """``find`` over one 16 MB copy of the corpus: the plain ``Index``, a quiet engine
    over it, and the same engine while another thread publishes a change every 20 ms."""
    benchmark.group = f"engine find {bench.name}"
    data, expected = bench.corpus.data, bench.expected(1)
    stop = threading.Event()
    publisher = None
    if mode == "index":
        search = bench.index.find
    else:
        engine = _engine(bench)
        search = engine.find
        if mode == "engine-swapping":

            def publish() -> None:
                for n in itertools.count():
                    if stop.wait(0.02):
                        return
                    engine.add(f"s{n}.swap.example", kind="domain", source="swaps")

            publisher = threading.Thread(target=publish)
            publisher.start()
    try:
        matches = benchmark.pedantic(lambda: search(data), rounds=ROUNDS)
    finally:
        stop.set()
        if publisher is not None:
            publisher.join()
    found = peers.to_lines(peers.vedette_hits(matches), bench.corpus.line_starts)
    verdict = peers.judge(found, expected)
    verdict.record(benchmark.extra_info)
    record_rate(benchmark, len(data) / 1e6, "MB/s")
    assert verdict.correct, verdict
