"""The archive job: ``vedette scan`` on files against ``Index.find`` on the same bytes in
memory, one scanning thread and two, a plain file and a gzip one (against ``zcat``), on
the hit-sparse generated corpus and on the hit-dense real logs; and ``vedette watch``
reading a log as it grows.

The command runs in-process (``cli.main``) with its hits written to a file, which is then
read back and checked against the expected hits.
"""

from __future__ import annotations

import contextlib
import io
import json
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import peers
import pytest
from fixtures import Bench, Real, record_rate

import vedette
import vedette.cli

ROUNDS = 3


def _cli(index_file: Path, log: Path, threads: int, out: Path) -> None:
    """``vedette scan`` in-process, its hits written to ``out`` (read back after the
    timing: parsing them is no part of the command)."""
    err = io.StringIO()
    argv = ["scan", "--index", str(index_file), "-j", str(threads), "-o", str(out), str(log)]
    with contextlib.redirect_stderr(err):
        assert vedette.cli.main(argv) == 0, err.getvalue()


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def _found(records: list[dict[str, Any]]) -> set[tuple[int, str]]:
    return {(r["line"] - 1, i["value"]) for r in records for i in r["indicators"]}


@pytest.mark.parametrize("mode", ["find", "scan_to-j1", "scan_to-j2", "cli-j1", "cli-j2"])
def test_archive(benchmark: Any, bench: Bench, mode: str, tmp_path: Path) -> None:
    """The plain 256 MB file: ``find`` over the same bytes in memory (one call);
    ``Index.scan_to`` (the command's pipeline, with the index already loaded) and the
    whole command (which loads the index first), with one and two scanning threads."""
    benchmark.group = f"archive {bench.name}"
    expected = bench.expected(bench.size.repeat)
    out, log = tmp_path / "hits.jsonl", bench.log_plain
    threads = int(mode[-1]) if mode[-1].isdigit() else 1
    if mode == "find":
        data, index = bench.buffer, bench.index
        matches = benchmark.pedantic(lambda: index.find(data), rounds=ROUNDS)
        found = peers.to_lines(peers.vedette_hits(matches), bench.buffer_line_starts)
    elif mode.startswith("scan_to"):
        index = bench.index
        benchmark.pedantic(lambda: index.scan_to([str(log)], out, threads=threads), rounds=ROUNDS)
        found = _found(_records(out))
    else:
        saved = bench.saved_index
        benchmark.pedantic(lambda: _cli(saved, log, threads, out), rounds=ROUNDS)
        found = _found(_records(out))
    verdict = peers.judge(found, expected)
    verdict.record(benchmark.extra_info)
    record_rate(benchmark, len(bench.buffer) / 1e6, "MB/s")
    assert verdict.correct, verdict


@pytest.mark.parametrize("mode", ["cli-j1", "cli-j2", "zcat"])
def test_archive_gz(benchmark: Any, bench: Bench, mode: str, tmp_path: Path) -> None:
    """The 256 MB as a multi-member ``.gz``: the command against ``zcat > /dev/null``."""
    benchmark.group = f"archive gz {bench.name}"
    log = bench.log_gz
    if mode == "zcat":
        zcat = shutil.which("zcat")
        if zcat is None:
            pytest.skip("no zcat")

        def unzip() -> int:
            with open("/dev/null", "wb") as null:
                return subprocess.run([zcat, str(log)], stdout=null, check=True).returncode

        benchmark.pedantic(unzip, rounds=ROUNDS)
        benchmark.extra_info["correct"] = True
    else:
        threads, saved, out = int(mode[-1]), bench.saved_index, tmp_path / "hits.jsonl"
        benchmark.pedantic(lambda: _cli(saved, log, threads, out), rounds=ROUNDS)
        verdict = peers.judge(_found(_records(out)), bench.expected(bench.size.repeat))
        verdict.record(benchmark.extra_info)
        assert verdict.correct, verdict
    record_rate(benchmark, len(bench.buffer) / 1e6, "MB/s")


@pytest.mark.parametrize("mode", ["find", "cli-j1", "cli-j2"])
def test_archive_real(benchmark: Any, real: Real, mode: str, tmp_path: Path) -> None:
    """The real feeds against the real logs (hit-dense: about one hit per 190 bytes)."""
    benchmark.group = "archive real"
    if mode == "find":
        index, data = real.index, real.data
        matches = benchmark.pedantic(lambda: index.find(data), rounds=ROUNDS)
        found = peers.to_lines(peers.vedette_hits(matches), real.line_starts)
    else:
        log, saved, out = tmp_path / "real.log", tmp_path / "real.vdx", tmp_path / "hits.jsonl"
        log.write_bytes(real.data)
        real.index.save(saved)
        threads = int(mode[-1])
        benchmark.pedantic(lambda: _cli(saved, log, threads, out), rounds=ROUNDS)
        found = _found(_records(out))
    verdict = peers.judge(found, real.vedette_lines)
    verdict.record(benchmark.extra_info)
    record_rate(benchmark, len(real.data) / 1e6, "MB/s")
    assert verdict.correct, verdict


def test_watch(benchmark: Any, bench: Bench, tmp_path: Path) -> None:
    """``vedette watch``'s reading loop (``Watcher.poll``, as the command calls it) on a
    log another thread appends the corpus to in 1 MB writes as fast as it can: the rate
    at which the watcher reads, matches and writes the hits of the appended lines. The
    target is 100 MB/s or more: a watch that keeps up with 100 MB/s of appended lines."""
    benchmark.group = f"watch {bench.name}"
    data, index = bench.corpus.data, bench.index

    def follow() -> Path:
        log, out = tmp_path / "live.log", tmp_path / "hits.jsonl"
        log.write_bytes(b"")
        watcher = vedette.Watcher([str(log)], str(out))
        watcher.poll(index)  # opens the log at its (empty) end
        writer = threading.Thread(target=_append, args=(log, data))
        writer.start()
        read = 0
        while read < len(data):
            got, *_ = watcher.poll(index)
            read += got
        writer.join()
        watcher.close()
        return out

    out = benchmark.pedantic(follow, rounds=ROUNDS)
    verdict = peers.judge(_found(_records(out)), bench.expected(1))
    verdict.record(benchmark.extra_info)
    record_rate(benchmark, len(data) / 1e6, "MB/s")
    assert verdict.correct, verdict


def _append(log: Path, data: bytes) -> None:
    """Appends ``data`` in 1 MB writes, each ending at a line end, as a busy log grows."""
    with open(log, "ab", buffering=0) as f:
        start = 0
        while start < len(data):
            end = data.find(b"\n", min(start + (1 << 20), len(data) - 1)) + 1 or len(data)
            f.write(data[start:end])
            start = end
