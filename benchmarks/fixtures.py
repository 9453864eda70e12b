"""The data behind the benchmark fixtures: size presets, the generated fixtures (made on
first use, cached on disk), the real corpus, vedette indexes and the peers' automata."""

from __future__ import annotations

import gzip
import os
import pickle
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import generate
import numpy as np
import numpy.typing as npt
import peers
import pytest

import vedette

#: The shared corpus of real feeds and logs: beside the repository, or $VEDETTE_DATA.
DATA = Path(os.environ.get("VEDETTE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
CACHE = Path(os.environ.get("VEDETTE_BENCH_CACHE", Path(tempfile.gettempdir()) / "vedette-bench"))
#: Logs are scanned in blocks of whole lines of about this many bytes, as the CLI does.
BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class Size:
    name: str
    indicators: int
    #: Bytes of distinct log lines; the scanned buffer is ``repeat`` copies of them.
    copy_bytes: int
    repeat: int
    flows: int
    #: Rows given to peers that pay a Python step per address (pyroaring, set).
    flows_per_element: int


SIZES = {
    s.name: s
    for s in (
        Size("2k", 2_000, 1 << 20, 1, 100_000, 100_000),
        Size("10k", 10_000, 16 << 20, 16, 8_000_000, 1_000_000),
        Size("100k", 100_000, 16 << 20, 16, 8_000_000, 1_000_000),
        Size("1M", 1_000_000, 16 << 20, 16, 8_000_000, 1_000_000),
    )
}
PRESETS = {"smoke": ["2k"], "full": ["10k", "100k", "1M"]}


def selected_sizes(config: pytest.Config) -> list[Size]:
    spec = os.environ.get("VEDETTE_BENCH_SIZES")
    if not spec:
        spec = "smoke" if config.getoption("benchmark_disable") else "full"
    names = PRESETS.get(spec) or [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [n for n in names if n not in SIZES]
    if unknown:
        raise pytest.UsageError(
            f"VEDETTE_BENCH_SIZES: unknown size {unknown}; use smoke, full or {list(SIZES)}"
        )
    return [SIZES[n] for n in names]


def is_smoke(benchmark: Any) -> bool:
    """Whether timings are off (``--benchmark-disable``): the CI smoke run."""
    return not benchmark.enabled


def import_peer(library: str) -> None:
    """Skips the test when an optional peer is not installed."""
    if library in peers.MODULES:
        pytest.importorskip(peers.MODULES[library])


def record_rate(benchmark: Any, amount: float, unit: str) -> None:
    """Puts ``amount / median`` into extra_info (only when timings were taken)."""
    if benchmark.enabled and benchmark.stats is not None:
        median = benchmark.stats.stats.median
        benchmark.extra_info[unit] = round(amount / median, 1)


def blocks_of(data: bytes, size: int = BLOCK_BYTES) -> list[bytes]:
    """``data`` cut after a newline about every ``size`` bytes: no hit straddles two."""
    out, start = [], 0
    while start < len(data):
        cut = data.rfind(b"\n", start, start + size) + 1 if start + size < len(data) else 0
        end = cut if cut > start else len(data)
        out.append(data[start:end])
        start = end
    return out


def gz_blocks(path: Path) -> Iterator[bytes]:
    """Whole-line blocks of about BLOCK_BYTES from a gzip file, as ``vedette scan`` reads."""
    rest = b""
    with gzip.open(path, "rb") as stream:
        while chunk := stream.read(BLOCK_BYTES):
            chunk = rest + chunk
            cut = chunk.rfind(b"\n") + 1
            rest, chunk = chunk[cut:], chunk[:cut]
            if chunk:
                yield chunk
    if rest:
        yield rest


class Bench:
    """Everything the benchmarks need for one size, made on first use and cached on disk
    under CACHE/v<VERSION>/<size>/."""

    def __init__(self, size: Size) -> None:
        self.size = size
        self.name = size.name
        self.dir = CACHE / f"v{generate.VERSION}" / size.name
        self.dir.mkdir(parents=True, exist_ok=True)
        self._automata: dict[str, peers.Automaton] = {}

    def close(self) -> None:
        """Drops everything held in memory (up to a few GB at 1M)."""
        self.__dict__.clear()

    def _cached(self, name: str, make: Any) -> Any:
        path = self.dir / name
        if path.exists():
            with open(path, "rb") as f:
                return pickle.load(f)
        obj = make()
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        return obj

    def _file(self, name: str, write: Callable[[Path], None]) -> Path:
        """The cached file ``name``, written by ``write(tmp)`` and renamed into place the
        first time, so that an interrupted run leaves no half-written fixture behind."""
        path = self.dir / name
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            write(tmp)
            tmp.replace(path)
        return path

    # ---- indicators

    @cached_property
    def indicators(self) -> generate.Indicators:
        return self._cached(
            "indicators.pkl", lambda: generate.make_indicators(self.size.indicators)
        )

    @cached_property
    def feed(self) -> Path:
        """The feed as a block list (URLs with schemes, some ``/32``), for vedette."""
        return self._file("feed.txt", lambda tmp: generate.write_feed(self.indicators, tmp))

    @cached_property
    def stix_bundle(self) -> Path:
        """The same indicators as one STIX 2.1 bundle, an indicator object each."""
        return self._file(
            "bundle.json", lambda tmp: generate.write_stix_bundle(self.indicators, tmp)
        )

    @cached_property
    def canonical(self) -> Path:
        """``kind<TAB>value`` per line, canonical: what the peers build from."""

        def write(tmp: Path) -> None:
            ind = self.indicators
            lines = (f"{k}\t{v}" for k, v in zip(ind.kinds, ind.values, strict=True))
            tmp.write_text("\n".join(lines) + "\n")

        return self._file("canonical.tsv", write)

    @cached_property
    def index(self) -> vedette.Index:
        builder = vedette.IndexBuilder()
        report = builder.load(self.feed)
        assert report.loaded == self.size.indicators, report.errors
        return builder.build()

    @cached_property
    def saved_index(self) -> Path:
        path = self.dir / f"index-{vedette.__version__}.vdx"
        self.index.save(path)  # always rewritten: the format may change between builds
        return path

    @cached_property
    def patterns(self) -> list[str]:
        return peers.literal_patterns(self.indicators.kinds, self.indicators.values)

    @cached_property
    def pattern_set(self) -> set[str]:
        return set(self.patterns)

    def automaton(self, library: str) -> peers.Automaton:
        if library not in self._automata:
            self._automata[library] = peers.Automaton(library, self.patterns)
        return self._automata[library]

    @cached_property
    def python_sets(self) -> peers.PythonSets:
        return peers.PythonSets.build(self.indicators.kinds, self.indicators.values)

    # ---- text

    @cached_property
    def corpus(self) -> generate.Corpus:
        return self._cached(
            "corpus.pkl", lambda: generate.make_corpus(self.indicators, self.size.copy_bytes)
        )

    @cached_property
    def lines(self) -> list[bytes]:
        """One copy's lines, without their newlines (for the one-call-per-line groups)."""
        return self.corpus.data.split(b"\n")[:-1]

    @cached_property
    def buffer(self) -> bytes:
        """The scanned buffer: ``repeat`` copies of the corpus."""
        return self.corpus.data * self.size.repeat

    @cached_property
    def buffer_line_starts(self) -> npt.NDArray[np.int64]:
        c = self.corpus
        copies = [c.line_starts + k * len(c.data) for k in range(self.size.repeat)]
        return np.concatenate(copies)

    def expected(self, repeat: int) -> set[tuple[int, str]]:
        """Expected ``(line, value)`` hits in ``repeat`` copies of the corpus."""
        n = len(self.corpus.line_starts)
        return {(line + k * n, v) for k in range(repeat) for line, v in self.corpus.expected}

    @cached_property
    def blocks(self) -> list[bytes]:
        return blocks_of(self.buffer)

    @cached_property
    def log_gz(self) -> Path:
        def write(tmp: Path) -> None:
            generate.write_gz_repeated(self.corpus.data, self.size.repeat, tmp)

        return self._file("corpus.log.gz", write)

    @cached_property
    def log_plain(self) -> Path:
        """The scanned buffer as a plain file."""
        return self._file("corpus.log", lambda tmp: tmp.write_bytes(self.buffer))

    # ---- flows

    @cached_property
    def flows(self) -> dict[str, npt.NDArray[Any]]:
        def make() -> dict[str, npt.NDArray[Any]]:
            src, dst, src_hit, dst_hit = generate.make_flows(self.indicators, self.size.flows)
            return {"src": src, "dst": dst, "src_hit": src_hit, "dst_hit": dst_hit}

        return self._cached("flows.pkl", make)

    @cached_property
    def values_by_id(self) -> list[str]:
        return [i.value for i in self.index.indicators()]


# --------------------------------------------------------------------------- real data


#: Files under feeds/ that are not plain lists or CSV: Kibana rules and LOKI filename
#: regexes (``REGEX;SCORE``), which a lines loader would take as literal strings.
REAL_FEED_EXCLUDE = {"acsc-2020-008-IOCs.ndjson", "filename-iocs.txt"}
REAL_LOGS = [
    "logs/web/apache_logs.log.gz",
    "zeek/trickbot-2018-11/dns.log",
    "zeek/trickbot-2018-11/http.log",
    "zeek/trickbot-2018-11/conn.log.gz",
    "zeek/trickbot-2018-11/files.log",
    "zeek/stratosphere/005-simda/dns.log",
    "zeek/stratosphere/005-simda/http.log",
    "zeek/stratosphere/009-kovter/dns.log.labeled.gz",
    "zeek/stratosphere/009-kovter/http.log.labeled",
    "zeek/wrccdc-2018/dns.log.gz",
    "logs/suricata-eve/zeus-pcap-eve.json",
]


class Real:
    """All plain feeds under DATA/feeds against real web, Zeek and EVE logs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.feeds = sorted(
            p
            for p in (root / "feeds").rglob("*")
            if p.is_file() and p.name not in REAL_FEED_EXCLUDE
        )
        self._automata: dict[str, peers.Automaton] = {}

    def close(self) -> None:
        self.__dict__.clear()

    @cached_property
    def index(self) -> vedette.Index:
        builder = vedette.IndexBuilder()
        for feed in self.feeds:
            builder.load(feed, source=feed.name)
        return builder.build()

    @cached_property
    def entries(self) -> tuple[list[str], list[str]]:
        """Distinct canonical ``(kinds, values)`` of the index."""
        seen = {(i.kind, i.value) for i in self.index.indicators()}
        ordered = sorted(seen)
        return [k for k, _ in ordered], [v for _, v in ordered]

    @cached_property
    def patterns(self) -> list[str]:
        kinds, values = self.entries
        # No boundaries, no case folding: string indicators are the automata's home turf
        # but the python baseline does not do them, so leave them to the automata only.
        return peers.literal_patterns(kinds, values)

    def automaton(self, library: str) -> peers.Automaton:
        if library not in self._automata:
            self._automata[library] = peers.Automaton(library, self.patterns)
        return self._automata[library]

    @cached_property
    def python_sets(self) -> peers.PythonSets:
        return peers.PythonSets.build(*self.entries)

    @cached_property
    def data(self) -> bytes:
        parts = []
        for name in REAL_LOGS:
            path = self.root / name
            if path.exists():
                raw = path.read_bytes()
                raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
                parts.append(raw if raw.endswith(b"\n") else raw + b"\n")
        return b"".join(parts)

    @cached_property
    def line_starts(self) -> npt.NDArray[np.int64]:
        ends = np.frombuffer(self.data, dtype=np.uint8) == ord("\n")
        return np.concatenate([[0], np.flatnonzero(ends)[:-1] + 1]).astype(np.int64)

    @cached_property
    def vedette_lines(self) -> set[tuple[int, str]]:
        """vedette's own hits: the reference the peers are compared with."""
        return peers.to_lines(peers.vedette_hits(self.index.find(self.data)), self.line_starts)
