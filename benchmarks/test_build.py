"""Building: time, peak memory and size of the compiled form per indicator count; and
loading a saved index against rebuilding it from the feed.

Rust allocations are invisible to tracemalloc, so every build round runs in a fresh child
process, which reports its peak RSS (``VmHWM``) before and after the build. The child
imports everything and then waits for a line on stdin: the timed part is the build alone
plus one pipe round trip, not the interpreter start.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import peers
import pytest
from fixtures import Bench, Real, import_peer, record_rate

import vedette

HERE = Path(__file__).resolve().parent

CHILD = r"""
import resource, sys, time
sys.path.insert(0, sys.argv[3])
import peers, vedette

def peak():
    # VmHWM is this process image's own high-water mark. ru_maxrss is not: Linux carries
    # it across fork and exec, so a child of a 2 GB parent would report 2 GB.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux

library, path = sys.argv[1], sys.argv[2]
print("ready", flush=True)
sys.stdin.readline()
before = peak()
start = time.perf_counter()
if library == "vedette":
    # A 1M-indicator STIX bundle is larger than the default max_feed_bytes.
    builder = vedette.IndexBuilder(max_feed_bytes=1 << 33)
    builder.load(path)
    built = builder.build()
else:
    kinds, values = [], []
    with open(path) as f:
        for line in f:
            kind, value = line.rstrip("\n").split("\t")
            kinds.append(kind)
            values.append(value)
    if library == "python":
        built = peers.PythonSets.build(kinds, values)
    else:
        built = peers.Automaton(library, peers.literal_patterns(kinds, values))
seconds = time.perf_counter() - start
print("built", flush=True)  # the parent stops its clock here
after = peak()
entries = -1
if library == "vedette":
    size = len(built.to_bytes())
    entries = len(built)
elif library == "hyperscan":
    import hyperscan
    size = len(hyperscan.dumpb(built.engine))
elif library == "pyahocorasick":
    size = built.engine.get_stats()["total_size"]
else:
    size = -1
print("stats", seconds, before, after, size, entries, flush=True)
"""


class Child:
    """One build in a fresh interpreter: started (untimed), then told to go (timed)."""

    def __init__(self, library: str, path: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD, library, str(path), str(HERE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        assert self.proc.stdout.readline().strip() == "ready"

    def run(self) -> Child:
        """The timed part: go, and wait until the child says it has built."""
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "built"
        return self

    def finish(self) -> dict[str, float]:
        """The child's own measurements, after the clock: build seconds, peak RSS before
        and after the build, size of the compiled form (-1 when it has none)."""
        if not hasattr(self, "stats"):
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline().split()
            assert self.proc.wait(timeout=600) == 0 and line[:1] == ["stats"], line
            keys = ("seconds", "rss_before", "rss_peak", "size", "entries")
            self.stats = dict(zip(keys, (float(x) for x in line[1:]), strict=True))
        return self.stats


BUILD_LIBRARIES = ("vedette", *peers.AUTOMATA, "python")


@pytest.mark.parametrize("library", BUILD_LIBRARIES)
def test_build(benchmark: Any, bench: Bench, library: str) -> None:
    """From the feed file to a ready matcher. vedette reads the feed as a user would
    (schemes, ``/32``, a comment line) and canonicalizes it; the peers read the canonical
    ``kind<TAB>value`` list. One round for the peers at 1M: each takes 20-60 s there."""
    import_peer(library)
    benchmark.group = f"build {bench.name}"
    path = bench.feed if library == "vedette" else bench.canonical
    rounds = 3 if library == "vedette" or bench.size.indicators < 1_000_000 else 1
    child = benchmark.pedantic(
        Child.run,
        setup=lambda: ((Child(library, path),), {}),
        teardown=Child.finish,  # reaps each round's child (not called when disabled)
        rounds=rounds,
    )
    result = child.finish()
    mb = 1 << 20
    # vedette's build is checked here (every indicator became an entry); the peers' are
    # checked by the scan groups, which build the same way.
    correct = library != "vedette" or result["entries"] == bench.size.indicators
    assert correct, result
    benchmark.extra_info.update(
        correct=correct,
        child_build_s=round(result["seconds"], 3),
        peak_rss_mb=round(result["rss_peak"] / mb, 1),
        peak_rss_over_start_mb=round((result["rss_peak"] - result["rss_before"]) / mb, 1),
        size_mb=round(result["size"] / mb, 1) if result["size"] >= 0 else None,
    )
    record_rate(benchmark, bench.size.indicators, "indicators/s")


def test_build_stix(benchmark: Any, bench: Bench) -> None:
    """The same indicators as a STIX 2.1 bundle (an indicator object each, one pattern
    atom): parsing the JSON and the patterns, then building, in a fresh process."""
    benchmark.group = f"build stix {bench.name}"
    path = bench.stix_bundle
    child = benchmark.pedantic(
        Child.run,
        setup=lambda: ((Child("vedette", path),), {}),
        teardown=Child.finish,
        rounds=1 if bench.size.indicators >= 1_000_000 else 3,
    )
    result = child.finish()
    mb = 1 << 20
    benchmark.extra_info.update(
        correct=result["entries"] == bench.size.indicators,
        bundle_mb=round(path.stat().st_size / mb, 1),
        peak_rss_mb=round(result["rss_peak"] / mb, 1),
        peak_rss_over_start_mb=round((result["rss_peak"] - result["rss_before"]) / mb, 1),
    )
    record_rate(benchmark, bench.size.indicators, "indicators/s")
    index = vedette.IndexBuilder(max_feed_bytes=1 << 33)
    report = index.load(path)
    assert report.loaded == bench.size.indicators, report.skipped


LOAD_MODES = ("vedette-load", "vedette-rebuild", "hyperscan-loadb", "pyahocorasick-unpickle")


@pytest.mark.parametrize("mode", LOAD_MODES)
def test_load(benchmark: Any, bench: Bench, mode: str, tmp_path: Path) -> None:
    """Getting a ready matcher at start-up: ``Index.load`` of a saved index (validated,
    checksummed) against rebuilding from the feed; and the peers' own serialized forms
    where they have one (hyperscan ``dumpb``/``loadb``, pyahocorasick pickle)."""
    benchmark.group = f"load {bench.name}"
    probe = b"GET http://" + bench.indicators.values[0].encode() + b"/ HTTP/1.1"
    if mode == "vedette-load":
        path = bench.saved_index
        index = benchmark.pedantic(vedette.Index.load, (path,), rounds=5)
        correct = len(index) == bench.size.indicators and index.is_match(probe)
        benchmark.extra_info["file_mb"] = round(path.stat().st_size / (1 << 20), 1)
    elif mode == "vedette-rebuild":

        def rebuild() -> vedette.Index:
            builder = vedette.IndexBuilder()
            builder.load(bench.feed)
            return builder.build()

        index = benchmark.pedantic(rebuild, rounds=3)
        correct = len(index) == bench.size.indicators and index.is_match(probe)
    else:
        library = mode.split("-")[0]
        import_peer(library)
        automaton = bench.automaton(library)
        if library == "hyperscan":
            import hyperscan

            blob = hyperscan.dumpb(automaton.engine)

            def loadb() -> Any:
                # A loaded database needs its scratch space before it can scan.
                db = hyperscan.loadb(blob, hyperscan.HS_MODE_BLOCK)
                db.scratch = hyperscan.Scratch(db)
                return db

            engine = benchmark.pedantic(loadb, rounds=3)
            found: list[int] = []
            engine.scan(probe, match_event_handler=lambda i, *_: found.append(i))
            correct = 0 in found
        else:
            blob = pickle.dumps(automaton.engine, protocol=pickle.HIGHEST_PROTOCOL)
            engine = benchmark.pedantic(pickle.loads, (blob,), rounds=3)
            correct = any(i == 0 for _, i in engine.iter(probe.decode("latin-1")))
        benchmark.extra_info["file_mb"] = round(len(blob) / (1 << 20), 1)
    benchmark.extra_info["correct"] = bool(correct)
    if mode.startswith("vedette"):
        assert correct


def test_build_real(benchmark: Any, real: Real) -> None:
    """All plain feeds under data/feeds, each through ``IndexBuilder.load`` (format sniffed,
    gzip inflated), then one build."""
    benchmark.group = "build real"
    feeds = real.feeds

    def build() -> vedette.Index:
        builder = vedette.IndexBuilder()
        for feed in feeds:
            builder.load(feed, source=feed.name)
        return builder.build()

    index = benchmark.pedantic(build, rounds=3)
    benchmark.extra_info.update(
        correct=len(index) == len(real.index), feeds=len(feeds), indicators=len(index)
    )
    record_rate(benchmark, len(index), "indicators/s")
    assert len(index) == len(real.index)
