"""The builder's limits, and what a decompression bomb costs: an error naming the limit,
and memory bounded by it, in ``IndexBuilder.load`` and in ``vedette scan``."""

from __future__ import annotations

import gzip
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import vedette
from vedette.exceptions import FeedError, IndicatorError


def test_limits_default_and_can_be_set() -> None:
    assert vedette.IndexBuilder().limits == {
        "max_records": 50_000_000,
        "max_feed_bytes": 256 << 20,
        "max_line_bytes": 1 << 20,
    }
    builder = vedette.IndexBuilder(max_records=2, max_line_bytes=64)
    assert builder.limits["max_records"] == 2 and builder.limits["max_line_bytes"] == 64


def test_records_past_max_records_are_refused_and_counted() -> None:
    builder = vedette.IndexBuilder(max_records=2)
    report = builder.load(b"a.example\nb.example\nc.example\n")
    assert report.loaded == 2 and report.skipped == {"too many records": 1}
    with pytest.raises(FeedError, match=r"max_records \(2\)"):
        builder.load(b"d.example\n", strict=True)
    with pytest.raises(IndicatorError, match=r"max_records \(2\)"):
        builder.add("e.example")
    assert len(builder) == 2


def test_a_long_line_is_a_bad_record_and_the_rest_loads() -> None:
    builder = vedette.IndexBuilder(max_line_bytes=100)
    report = builder.load(b"a.example\n" + b"b" * 101 + b".example\nc.example\n")
    assert report.loaded == 2 and report.skipped == {"line too long": 1}
    assert "line is 109 bytes, more than max_line_bytes (100)" in str(report.errors[0])


def test_a_feed_past_max_feed_bytes_is_refused_whole(tmp_path: Path) -> None:
    feed = tmp_path / "feed.txt.gz"
    feed.write_bytes(gzip.compress(b"evil.example\n" * 1000))
    with pytest.raises(FeedError, match=r"gzip feed inflates to more than max_feed_bytes \(1000\)"):
        vedette.IndexBuilder(max_feed_bytes=1000).load(feed)
    assert vedette.IndexBuilder(max_feed_bytes=13_000).load(feed).loaded == 1000


#: Run in a child process, so that its peak memory is its own: a gzip of 320 MiB of NUL
#: in one line (320 KB on disk) loaded with the default limits, or scanned.
BOMB = textwrap.dedent(
    """
    import gzip, resource, sys, vedette
    path = sys.argv[2]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if sys.argv[1] == "load":
        try:
            vedette.IndexBuilder().load(path)
            raise SystemExit("the bomb loaded")
        except vedette.exceptions.FeedError as err:
            print(err)
    else:
        import vedette.cli
        print(vedette.cli.main(["scan", "-j", "2", "--feed", sys.argv[3], "-o", sys.argv[4], path]))
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print((after - before) // 1024)
    """
)


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bomb") / "feed.txt.gz"
    with gzip.open(path, "wb", compresslevel=9) as out:
        block = bytes(1 << 20)
        for _ in range(320):
            out.write(block)
    return path


@pytest.mark.parametrize("mode", ["load", "scan"])
def test_a_decompression_bomb_costs_bounded_memory(bomb: Path, mode: str, tmp_path: Path) -> None:
    assert bomb.stat().st_size < 1 << 20
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    run = [sys.executable, "-c", BOMB, mode, str(bomb), str(feed), str(tmp_path / "hits")]
    done = subprocess.run(run, capture_output=True, text=True, check=True)
    out = done.stdout.splitlines()
    if mode == "load":
        assert "inflates to more than max_feed_bytes (268435456)" in out[0]
    else:
        # Scanned whole, in pieces of the log line limit, and the long line named.
        assert out[0] == "2", done.stderr
        assert "line 1 is longer than the 16777216-byte line limit" in done.stderr
        assert f"{320 << 20} bytes, 0 hits, 1 errors" in done.stderr
    assert int(out[-1]) < 512, f"{out[-1]} MB more memory"
