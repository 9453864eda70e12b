"""Batch lookups of a string column: ``Index.lookup_many`` on a DNS-log-like column of
query names and other observed values (a pyarrow string column, as a DataFrame holds it)
against a ``lookup()`` loop over the same values, in lookups per second.

The column is what a log's value column looks like: most rows benign host names (of
popular domains, with subdomains) and server addresses, one in ten an indicator's value
(a domain under a subdomain, a host, a URL, an address in a network, an e-mail, a hash),
in mixed case where case does not matter. Kinds are inferred per value, as a mixed
column needs. The loop, a Python step per value, gets ``LOOP_ROWS`` rows; its answers on
them are the expected ones for the batch.

Target (issue): ``lookup_many`` of 2M rows against the 1M index at 10x the loop or more,
aiming at 20M lookups/s.
"""

from __future__ import annotations

import ipaddress
import random
from typing import Any

import numpy as np
import pytest
from fixtures import Bench, is_smoke, record_rate
from generate import _benign_host, _server

from vedette.exceptions import IndicatorError

pa = pytest.importorskip("pyarrow")

#: Rows the Python loop looks up (the batch does the whole column).
LOOP_ROWS = 200_000


def _observed(rng: random.Random, kind: str, value: str) -> str:
    """How a log shows an indicator's value."""
    if kind == "domain":
        return f"{rng.choice(['www', 'cdn', 'mail', 'a1'])}.{value}".upper()
    if kind == "ipv4" and "/" in value:
        net = ipaddress.IPv4Network(value)
        return str(net.network_address + rng.randrange(net.num_addresses))
    if kind == "ipv6" and "/" in value:
        return str(ipaddress.IPv6Network(value).network_address + rng.getrandbits(32))
    if kind in ("md5", "sha1", "sha256", "email"):
        return value.upper() if rng.random() < 0.5 else value
    if kind == "url":
        return "http://" + value
    return value


def make_values(bench: Bench, rows: int) -> list[str]:
    rng = random.Random(f"lookup-values:{bench.name}:{rows}")
    ind = bench.indicators
    planted = [i for i, k in enumerate(ind.kinds) if "-" not in ind.values[i]] or [0]
    values = []
    for _ in range(rows):
        r = rng.random()
        if r < 0.1:
            i = rng.choice(planted)
            values.append(_observed(rng, ind.kinds[i], ind.values[i]))
        elif r < 0.8:
            values.append(_benign_host(rng))
        else:
            values.append(_server(rng))
    return values


def lookup_loop(index: Any, values: list[str]) -> tuple[list[int], list[int]]:
    rows, ids = [], []
    for row, value in enumerate(values):
        try:
            hits = index.lookup(value)
        except IndicatorError:
            continue
        rows += [row] * len(hits)
        ids += [hit.id for hit in hits]
    return rows, ids


@pytest.mark.parametrize("library", ["vedette-lookup_many", "vedette-lookup-loop"])
def test_lookup_many(benchmark: Any, bench: Bench, library: str) -> None:
    benchmark.group = f"lookup {bench.name}"
    rows = 20_000 if is_smoke(benchmark) else 2_000_000
    values = bench._cached(f"lookup-values-{rows}.pkl", lambda: make_values(bench, rows))
    loop_rows = min(LOOP_ROWS, rows)
    want = lookup_loop(bench.index, values[:loop_rows])
    if library == "vedette-lookup_many":
        column = pa.array(values, pa.string())
        got_rows, got_ids = benchmark(bench.index.lookup_many, column)
        cut = int(np.searchsorted(got_rows, loop_rows))
        got = (got_rows[:cut].tolist(), got_ids[:cut].tolist())
        lookups = rows
        hits = len(got_rows)
    else:
        head = values[:loop_rows]
        got = benchmark.pedantic(lookup_loop, (bench.index, head), rounds=3)
        lookups = loop_rows
        hits = len(got[0])
    correct = got == want and len(want[0]) > loop_rows // 20
    benchmark.extra_info.update(correct=bool(correct), lookups=lookups, hits=hits)
    record_rate(benchmark, lookups, "lookups/s")
    assert correct
