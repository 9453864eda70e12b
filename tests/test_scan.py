"""The archive job from Python and the shell: real logs compressed by the test in every
format, bad inputs among good ones, exit codes, the Zeek and ECS writers, streams."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import vedette
from vedette.cli import main

zstd = pytest.importorskip("zstandard")

COMPRESS = {
    "plain": lambda b: b,
    "gz": lambda b: gzip.compress(b[: len(b) // 2]) + gzip.compress(b[len(b) // 2 :]),
    "zst": lambda b: zstd.ZstdCompressor().compress(b),
    "bz2": bz2.compress,
    "xz": lzma.compress,
}


def _addresses(text: bytes, every: int = 29) -> list[str]:
    """Client addresses of an Apache log, one line in ``every``."""
    lines = text.splitlines()[::every]
    return sorted({line.split(b" ", 1)[0].decode() for line in lines if line})


@pytest.fixture(scope="module")
def web(tmp_path_factory) -> tuple[bytes, vedette.Index, Path]:
    """The real Apache log, an index of some of its clients, and the log in every
    compression (the file names say nothing about it)."""
    root = Path(
        os.environ.get("VEDETTE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    source = root / "logs/web/apache_logs.log.gz"
    if not source.exists():
        pytest.skip(f"real data not present at {root}")
    text = gzip.decompress(source.read_bytes())
    index = vedette.compile(_addresses(text), source="clients")
    folder = tmp_path_factory.mktemp("web")
    for name, compress in COMPRESS.items():
        (folder / f"{name}.log").write_bytes(compress(text))
    return text, index, folder


def _expected(index: vedette.Index, text: bytes) -> list[tuple[int, int, int, str]]:
    out = []
    for number, line in enumerate(text.split(b"\n"), start=1):
        out.extend((number, m.start, m.end, m.kind) for m in index.find(line))
    return out


@pytest.mark.parametrize("name", list(COMPRESS), ids=[f"scan-{n}" for n in COMPRESS])
def test_scan_files_reads_every_compression(web, name) -> None:
    text, index, folder = web
    scan = index.scan_files([str(folder / f"{name}.log")], threads=2)
    hits = [(h.line, h.start, h.end, h.kind) for h in scan]
    assert hits == _expected(index, text)
    assert scan.errors == []
    assert scan.stats is not None
    assert scan.stats["bytes"] == len(text) and scan.stats["hits"] == len(hits)


def test_scan_files_hits_carry_file_and_records(web) -> None:
    _, index, folder = web
    hit = next(iter(index.scan_files([str(folder / "xz.log")])))
    assert hit.file == str(folder / "xz.log")
    assert hit.indicators[0].source == "clients" and hit.indicators[0].value == hit.observed
    assert "Some(" not in repr(hit) and f"line={hit.line}" in repr(hit)


def test_scan_files_names_bad_inputs_and_scans_the_rest(web, tmp_path) -> None:
    text, index, folder = web
    truncated = tmp_path / "cut.log"
    whole = COMPRESS["gz"](text)
    truncated.write_bytes(whole[: len(whole) * 2 // 3])
    missing = tmp_path / "missing.log"
    paths = [str(missing), str(truncated), str(folder)]
    scan = index.scan_files(paths)
    by_file: dict[str, int] = {}
    for hit in scan:
        by_file[hit.file] = by_file.get(hit.file, 0) + 1
    want = len(_expected(index, text))
    # The folder: its five files.
    assert all(by_file[str(folder / f"{n}.log")] == want for n in COMPRESS)
    assert 0 < by_file[str(truncated)] < want, "the readable part of the cut file"
    assert [(f, c) for f, c, _ in scan.errors] == [
        (str(missing), "unreadable"),
        (str(truncated), "corrupt"),
    ]
    assert "gzip" in scan.errors[1][2]


def test_scan_files_releases_the_gil(web) -> None:
    _, index, folder = web
    ticks = 0
    done = threading.Event()

    def tick() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        for _ in range(3):
            for _hit in index.scan_files([str(folder)]):
                pass
    finally:
        done.set()
        ticker.join()
    assert ticks > 5, "another thread ran while the scan did"


def test_scanner_is_exact_across_pieces(web) -> None:
    text, index, _ = web
    whole = [(m.start, m.end, m.kind) for m in index.find(text)]
    scanner = index.scanner()
    got = []
    for at in range(0, len(text), 65_537):
        got += [(m.start, m.end, m.kind) for m in scanner.feed(text[at : at + 65_537])]
    got += [(m.start, m.end, m.kind) for m in scanner.finish()]
    assert got == whole and len(whole) > 1000


# ---- the command line


def _run(capfd, argv: list[str], status: int) -> tuple[str, str]:
    assert main(argv) == status
    return capfd.readouterr()


@pytest.fixture
def feed(web, tmp_path) -> Path:
    text, _, _ = web
    path = tmp_path / "clients.txt"
    path.write_text("\n".join(_addresses(text)) + "\n")
    return path


def test_cli_exit_codes_are_greps(web, feed, tmp_path, capfd) -> None:
    _, _, folder = web
    out, err = _run(capfd, ["scan", "--feed", str(feed), str(folder / "zst.log")], 0)
    assert out and "0 errors" in err
    clean = tmp_path / "clean.log"
    clean.write_bytes(b"nothing here\n")
    _run(capfd, ["scan", "--feed", str(feed), str(clean)], 1)
    out, err = _run(capfd, ["scan", "--feed", str(feed), str(clean), str(tmp_path / "no")], 2)
    assert f"vedette: {tmp_path / 'no'}: " in err and "1 errors" in err


@pytest.mark.parametrize("threads", ["1", "2"], ids=["j1", "j2"])
def test_cli_threads_give_the_same_output(web, feed, capfd, threads) -> None:
    text, index, folder = web
    out, _ = _run(capfd, ["scan", "-j", threads, "--feed", str(feed), str(folder / "gz.log")], 0)
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(h["line"], h["start"], h["end"], h["kind"]) for h in lines] == _expected(index, text)


def test_cli_count(web, feed, tmp_path, capfd) -> None:
    text, index, folder = web
    clean = tmp_path / "clean.log"
    clean.write_bytes(b"nothing\n")
    argv = ["scan", "--count", "--feed", str(feed), str(folder / "bz2.log"), str(clean)]
    out, _ = _run(capfd, argv, 0)
    assert out.splitlines() == [
        f"{folder / 'bz2.log'}:{len(_expected(index, text))}",
        f"{clean}:0",
    ]


def test_cli_zeek_intel_log(feed, tmp_path, capfd) -> None:
    log = tmp_path / "conn.log"
    log.write_text("a 127.0.0.1 b\n")
    feed.write_text("127.0.0.1\n")
    out, _ = _run(capfd, ["scan", "--format", "zeek", "--feed", str(feed), str(log)], 0)
    lines = out.splitlines()
    fields = next(line for line in lines if line.startswith("#fields")).split("\t")[1:]
    rows = [line.split("\t") for line in lines if not line.startswith("#")]
    assert lines[0] == "#separator \\x09" and lines[-1].startswith("#close")
    assert len(rows) == 1 and len(rows[0]) == len(fields)
    row = dict(zip(fields, rows[0], strict=True))
    assert row["seen.indicator"] == "127.0.0.1" and row["seen.indicator_type"] == "Intel::ADDR"
    assert row["sources"] == feed.name


def test_cli_ecs(feed, tmp_path, capfd) -> None:
    log = tmp_path / "x.log"
    log.write_text("GET http://evil.example/a 200\n")
    feed.write_text("evil.example\n")
    out, _ = _run(capfd, ["scan", "--format", "ecs", "--feed", str(feed), str(log)], 0)
    (doc,) = [json.loads(line) for line in out.splitlines()]
    (enrichment,) = doc["threat"]["enrichments"]
    assert enrichment["matched"]["atomic"] == "evil.example"
    assert enrichment["indicator"]["type"] == "domain-name"


def test_cli_at_evaluates_validity_then(tmp_path, capfd) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("value,valid_until\nevil.example,2020-01-01T00:00:00Z\n")
    log = tmp_path / "x.log"
    log.write_text("evil.example\n")
    _run(capfd, ["scan", "--feed", str(feed), str(log)], 1)
    out, _ = _run(capfd, ["scan", "--at", "2019-06-01T00:00:00Z", "--feed", str(feed), str(log)], 0)
    assert json.loads(out)["observed"] == "evil.example"


def test_cli_version(capfd) -> None:
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0
    assert capfd.readouterr().out.strip() == f"vedette {vedette.__version__}"


def test_cli_ctrl_c_ends_cleanly(tmp_path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    # Standard input that never ends: the scan waits on it until the signal.
    process = subprocess.Popen(
        [sys.executable, "-m", "vedette.cli", "scan", "--feed", str(feed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    process.stdin.write(b"evil.example\n" * 1000)
    process.stdin.flush()
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 130, err
    assert b"Traceback" not in err and b"interrupted" in err


def test_watcher_follows_a_log_and_retro_hunts(tmp_path) -> None:
    log, out = tmp_path / "app.log", tmp_path / "hits.jsonl"
    log.write_text("before: bad.example\n")
    watcher = vedette.Watcher([str(log)], str(out), retro_bytes=1 << 20)
    index = vedette.compile(["evil.example"])
    with log.open("a") as f:
        f.write("x evil.example\ny bad.example\n")
    _, hits, _, seen = watcher.poll(index, version=1)
    assert hits == 1 and seen == [(0, 1)]
    hits = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(h["line"], h["observed"], h["version"]) for h in hits] == [(1, "evil.example", 1)]
    # bad.example arrives: the lines read since the watch began are scanned again.
    assert watcher.retro_hunt(vedette.compile(["bad.example"]), version=2)[1] == 1
    watcher.close()
    last = json.loads(out.read_text().splitlines()[-1])
    assert (last["observed"], last["version"], last["retro"]) == ("bad.example", 2, True)
