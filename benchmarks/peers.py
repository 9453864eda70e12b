"""The libraries vedette is measured against, each behind the same small interface, plus the
helpers that turn every library's raw output into comparable ``(line, indicator)`` hits.

Each peer runs in the mode closest to vedette's semantics:

- ``pyahocorasick``, ``ahocorasick-rs`` and ``hyperscan`` get one literal pattern per
  canonical indicator value (networks cannot be expressed as literals, so they are left
  out) and report every overlapping occurrence. They have no token boundaries, so they
  also report substring hits (``1.2.3.4`` inside ``11.2.3.45``); we count those as
  ``extra`` rather than filter them, because filtering is the work vedette does.
- ``python`` is the pure-Python baseline a script would write: regular expressions pick
  host, e-mail, hash and URL tokens out of the text, then set lookups decide, walking
  parent domains and the networks of every prefix length.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

#: Peers that take literal patterns (no networks, no token boundaries).
AUTOMATA = ("pyahocorasick", "ahocorasick-rs", "hyperscan")
TEXT_LIBRARIES = ("vedette", *AUTOMATA, "python")
#: The import name of each optional peer, for pytest.importorskip.
MODULES = {
    "pyahocorasick": "ahocorasick",
    "ahocorasick-rs": "ahocorasick_rs",
    "hyperscan": "hyperscan",
}


def is_network(kind: str, value: str) -> bool:
    return kind in ("ipv4", "ipv6") and ("/" in value or "-" in value)


def literal_patterns(kinds: Sequence[str], values: Sequence[str]) -> list[str]:
    """The values an automaton can look for: all but networks and ranges."""
    return [v for k, v in zip(kinds, values, strict=True) if not is_network(k, v)]


# --------------------------------------------------------------------------- automata


class Automaton:
    """One literal automaton over ``patterns``; ``scan`` returns the library's raw output,
    ``hits`` turns it into ``(offset, value)`` outside the timed part."""

    def __init__(self, library: str, patterns: list[str]) -> None:
        self.library = library
        self.patterns = patterns
        if library == "pyahocorasick":
            import ahocorasick

            self.engine: Any = ahocorasick.Automaton()
            for i, p in enumerate(patterns):
                self.engine.add_word(p, i)
            self.engine.make_automaton()
        elif library == "ahocorasick-rs":
            import ahocorasick_rs

            self.engine = ahocorasick_rs.BytesAhoCorasick([p.encode() for p in patterns])
        elif library == "hyperscan":
            import hyperscan

            self.engine = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
            # Literal mode (hs_compile_lit_multi): no regex parsing; every match reported.
            self.engine.compile(
                expressions=[p.encode() for p in patterns],
                ids=list(range(len(patterns))),
                elements=len(patterns),
                flags=0,
                literal=True,
            )
        else:
            raise ValueError(library)

    def prepare(self, data: bytes) -> Any:
        """The haystack in the form the library takes. pyahocorasick wheels are built for
        ``str`` only, so it gets a latin-1 decode (one char per byte, offsets unchanged);
        we do that outside the timed part, which flatters it slightly."""
        return data.decode("latin-1") if self.library == "pyahocorasick" else data

    def scan(self, hay: Any) -> Any:
        if self.library == "pyahocorasick":
            return list(self.engine.iter(hay))
        if self.library == "ahocorasick-rs":
            return self.engine.find_matches_as_indexes(hay, overlapping=True)
        out: list[tuple[int, int]] = []
        self.engine.scan(hay, match_event_handler=lambda i, _s, end, _f, _c: out.append((i, end)))
        return out

    def hits(self, raw: Any) -> list[tuple[int, str]]:
        """``(offset, value)`` with the offset inside the occurrence."""
        p = self.patterns
        if self.library == "pyahocorasick":
            return [(end, p[i]) for end, i in raw]  # inclusive end: the last byte
        if self.library == "ahocorasick-rs":
            return [(start, p[i]) for i, start, _ in raw]
        return [(end - 1, p[i]) for i, end in raw]  # hyperscan: exclusive end


# --------------------------------------------------------------------------- python


_HOST = rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+"
HOST_RE = re.compile(rb"(?<![A-Za-z0-9_.\x80-\xff-])" + _HOST)
URL_RE = re.compile(
    rb"(?<![A-Za-z0-9_.\x80-\xff-])(" + _HOST + rb"(?::[0-9]+)?)(/[^\s\"'<>`,|#\x00]*)"
)
EMAIL_RE = re.compile(rb"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@" + _HOST)
HASH_RE = re.compile(rb"(?<![0-9A-Za-z])[0-9A-Fa-f]{32,128}(?![0-9A-Za-z])")
IPV6_RE = re.compile(rb"(?<![0-9A-Za-z:.])[0-9A-Fa-f:]*:[0-9A-Fa-f:]*:[0-9A-Fa-f:.]*")
_OCTET = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
QUAD_RE = re.compile(_OCTET + rb"(?:\." + _OCTET + rb"){3}")
HASH_LENGTHS = {32, 40, 56, 64, 96, 128}


@dataclass
class PythonSets:
    """The tokenize-and-set baseline. ``string`` indicators (no boundaries) are not
    supported: it would be one more automaton."""

    domains: set[str] = field(default_factory=set)
    hostnames: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    v4: dict[int, str] = field(default_factory=dict)
    #: prefix length -> network number -> value
    v4_nets: dict[int, dict[int, str]] = field(default_factory=dict)
    v4_ranges: list[tuple[int, int, str]] = field(default_factory=list)
    v6: list[tuple[Any, str]] = field(default_factory=list)

    @classmethod
    def build(cls, kinds: Iterable[str], values: Iterable[str]) -> PythonSets:
        s = cls()
        for kind, value in zip(kinds, values, strict=True):
            if kind == "domain":
                s.domains.add(value)
            elif kind == "hostname":
                s.hostnames.add(value)
            elif kind == "url":
                s.urls.add(value)
            elif kind == "email":
                s.emails.add(value)
            elif kind in ("md5", "sha1", "sha224", "sha256", "sha384", "sha512"):
                s.hashes.add(value)
            elif kind == "ipv4" and "-" in value:
                lo, hi = value.split("-")
                s.v4_ranges.append(
                    (int(ipaddress.IPv4Address(lo)), int(ipaddress.IPv4Address(hi)), value)
                )
            elif kind == "ipv4":
                net = ipaddress.IPv4Network(value)
                if net.prefixlen == 32:
                    s.v4[int(net.network_address)] = value
                else:
                    shift = 32 - net.prefixlen
                    s.v4_nets.setdefault(net.prefixlen, {})[int(net.network_address) >> shift] = (
                        value
                    )
            elif kind == "ipv6":
                s.v6.append((ipaddress.IPv6Network(value.split("-")[0]), value))
        return s

    def _v4(self, quad: bytes, at: int, out: list[tuple[int, str]]) -> None:
        a, b, c, d = (int(x) for x in quad.split(b"."))
        ip = (a << 24) | (b << 16) | (c << 8) | d
        if (v := self.v4.get(ip)) is not None:
            out.append((at, v))
        for plen, nets in self.v4_nets.items():
            if (v := nets.get(ip >> (32 - plen))) is not None:
                out.append((at, v))
        for lo, hi, v in self.v4_ranges:
            if lo <= ip <= hi:
                out.append((at, v))

    def find(self, data: bytes) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        domains, hostnames = self.domains, self.hostnames
        for m in HOST_RE.finditer(data):
            token = m.group()
            if token[-1:].isdigit() and QUAD_RE.fullmatch(token):
                self._v4(token, m.start(), out)
                continue
            host = token.lower().decode("latin-1")
            if host in hostnames:
                out.append((m.start(), host))
            labels = host.split(".")
            for k in range(len(labels) - 1):
                if (d := ".".join(labels[k:])) in domains:
                    out.append((m.start(), d))
        if self.urls:
            for m in URL_RE.finditer(data):
                url = m.group(1).lower().decode("latin-1") + m.group(2).decode("latin-1")
                if url in self.urls:
                    out.append((m.start(), url))
                elif "?" in url and (base := url.split("?", 1)[0]) in self.urls:
                    out.append((m.start(), base))
        if self.emails:
            for m in EMAIL_RE.finditer(data):
                if (e := m.group().lower().decode("latin-1")) in self.emails:
                    out.append((m.start(), e))
        if self.hashes:
            for m in HASH_RE.finditer(data):
                if len(h := m.group()) in HASH_LENGTHS and (v := h.lower().decode()) in self.hashes:
                    out.append((m.start(), v))
        if self.v6:
            for m in IPV6_RE.finditer(data):
                try:
                    addr = ipaddress.IPv6Address(m.group().strip(b":.").decode())
                except ValueError:
                    continue
                for net, v in self.v6:
                    if addr in net:
                        out.append((m.start(), v))
        return out


# --------------------------------------------------------------------------- comparing


def to_lines(
    hits: Iterable[tuple[int, str]], line_starts: npt.NDArray[np.int64]
) -> set[tuple[int, str]]:
    """``(offset, value)`` hits as a set of ``(line, value)``."""
    hits = list(hits)
    if not hits:
        return set()
    offsets = np.fromiter((o for o, _ in hits), dtype=np.int64, count=len(hits))
    lines = np.searchsorted(line_starts, offsets, side="right") - 1
    return {(int(line), v) for line, (_, v) in zip(lines, hits, strict=True)}


def vedette_hits(matches: Iterable[Any]) -> list[tuple[int, str]]:
    return [(m.start, i.value) for m in matches for i in m.indicators]


@dataclass
class Verdict:
    """How one library's hits compare with the expected ones."""

    correct: bool
    found: int
    expected: int
    missed: int
    extra: int
    unsupported: int

    def record(self, extra_info: dict[str, Any]) -> None:
        extra_info.update(
            correct=self.correct,
            expected_hits=self.expected,
            missed=self.missed,
            extra_hits=self.extra,
            unsupported=self.unsupported,
        )


def judge(
    found: set[tuple[int, str]], expected: set[tuple[int, str]], supported: set[str] | None = None
) -> Verdict:
    """``supported`` (the automata's pattern values) narrows what is required: hits of
    networks are counted as ``unsupported``, not missed. Exact libraries (``supported`` is
    None) must find exactly ``expected``; automata must find all of it and may add extras."""
    need = expected if supported is None else {h for h in expected if h[1] in supported}
    missed = len(need - found)
    extra = len(found - expected)
    correct = missed == 0 and (supported is not None or extra == 0)
    return Verdict(correct, len(found), len(expected), missed, extra, len(expected) - len(need))


def disjoint_intervals(
    starts: npt.NDArray[np.uint32], ends: npt.NDArray[np.uint32]
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """Sorted, merged inclusive intervals (a feed's networks often overlap)."""
    order = np.argsort(starts, kind="stable")
    s, e = starts[order].astype(np.int64), ends[order].astype(np.int64)
    run_end = np.maximum.accumulate(e)
    new = np.ones(len(s), dtype=bool)
    new[1:] = s[1:] > run_end[:-1] + 1
    group = np.cumsum(new) - 1
    out_e = np.zeros(int(group[-1]) + 1 if len(s) else 0, dtype=np.int64)
    np.maximum.at(out_e, group, e)
    return s[new].astype(np.uint32), out_e.astype(np.uint32)
