"""Hostile text: 8 MiB of one repeated shape (a run of host-name bytes, dots, digits, hex,
colons, escapes, ``@``, URL hosts without a terminator...), the kind of line an attacker
writes into a log a sensor reads. The target is 100 MB/s or more for every shape, and
time linear in the text (the Rust test ``tests/linear.rs`` checks the ratio of two sizes).

The literal automata get the same indicators' values; they are linear by construction,
and are here so each shape's rate can be read against theirs from one run.
"""

from __future__ import annotations

from typing import Any

import peers
import pytest
from fixtures import import_peer, is_smoke, record_rate

import vedette

#: Indicators that make every pass of the scan work: names ending in a digit and in one
#: label, deep names, URLs with ports, queries and an IPv6 host, e-mails, digests, networks.
INDICATORS = [
    ("evil.example", None),
    ("a.a.a.a.example", None),
    ("host1.example9", "hostname"),
    ("localhost", "hostname"),
    ("http://bad.example/x", None),
    ("http://bad.example:8080/x?y=1", None),
    ("http://a.a.a.example/a/a/a/a", None),
    ("http://[2001:db8::1]/x", None),
    ("a@evil.example", None),
    ("d41d8cd98f00b204e9800998ecf8427e", None),
    ("1.2.3.4", None),
    ("1.1.0.0/16", None),
    ("2001:db8::/32", None),
    ("cmd.exe /c", "string"),
]

#: (name, repeated unit, hits per unit for the indicators above)
SHAPES = [
    ("letters", b"a", 0),
    ("digits", b"1", 0),
    ("hex", b"f", 0),
    ("dots", b".", 0),
    ("labels", b"a.", 0),
    ("double-dots", b"a..", 0),
    ("high-bytes", "\u00e9".encode(), 0),
    ("colons", b":", 0),
    ("hex-colons", b"a:", 0),
    ("escapes", b"%41", 0),
    ("escaped-digits", b"%2F1", 0),
    ("at-signs", b"@", 0),
    ("local-parts", b"a.a@", 0),
    ("quads", b"1.", 0),
    ("url-hosts", b"bad.example/", 0),
    ("url-ports", b"bad.example:8080/", 0),
    ("url-deep", b"a.a.a.example/a/a/a/", 0),
    ("url-punctuation", b"bad.example/x.", 0),
    ("bracketed-other", b"[2001:db9::1]", 0),
    # Shapes where every unit is a hit: the rate is that of reporting hits.
    ("url-queries", b"bad.example/x?", 1),
    ("bracketed", b"[2001:db8::1]", 1),
]

LIBRARIES = ("vedette", "pyahocorasick", "hyperscan")


@pytest.fixture(scope="module")
def index() -> vedette.Index:
    builder = vedette.IndexBuilder()
    for value, kind in INDICATORS:
        builder.add(value, kind=kind) if kind else builder.add(value)
    return builder.build()


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize(("shape", "unit", "hits_per_unit"), SHAPES, ids=[s[0] for s in SHAPES])
def test_hostile(
    benchmark: Any, index: vedette.Index, library: str, shape: str, unit: bytes, hits_per_unit: int
) -> None:
    import_peer(library)
    benchmark.group = f"hostile {shape}"
    size = (256 << 10) if is_smoke(benchmark) else (8 << 20)
    units = size // len(unit)
    text = unit * units
    if library == "vedette":
        found = benchmark.pedantic(index.find, (text,), rounds=3)
        benchmark.extra_info["correct"] = len(found) == hits_per_unit * units
        assert benchmark.extra_info["correct"], (shape, len(found))
    else:
        literals = [v for v, _ in INDICATORS if "/" not in v or "://" in v]
        automaton = peers.Automaton(library, literals)
        hay = automaton.prepare(text)
        benchmark.pedantic(automaton.scan, (hay,), rounds=1)
    benchmark.extra_info["bytes"] = len(text)
    record_rate(benchmark, len(text) / 1e6, "MB/s")
