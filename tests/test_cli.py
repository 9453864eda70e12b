"""The command line end to end: feeds compiled, logs scanned, one JSON object per hit."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from vedette.cli import main


def run(capfd, argv: list[str], status: int = 0) -> tuple[list[dict], str]:
    """Runs the command in this process; hits are written to file descriptor 1 by the
    core, so they are captured at the descriptor."""
    assert main(argv) == status
    out, err = capfd.readouterr()
    return [json.loads(line) for line in out.splitlines()], err


def test_sample_shows_real_hits(capfd) -> None:
    hits, err = run(capfd, ["scan", "--sample"])
    assert hits, "the bundled log holds scanners that the bundled feed lists"
    assert {h["kind"] for h in hits} == {"ipv4"}
    assert all(h["observed"] == h["indicators"][0]["value"] for h in hits)
    assert "hits" in err and "lines" in err


def test_scan_reports_file_line_and_span(tmp_path, capfd) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("# feed\nevil.example\n203.0.113.0/24\nhxxp://bad[.]example/x\n")
    log = tmp_path / "access.log.gz"
    # Two gzip members: both must be read.
    log.write_bytes(
        gzip.compress(b"ok line\nGET http://a.evil.example/ from 203.0.113.9\n")
        + gzip.compress(b"GET http://bad.example/x HTTP/1.1\n")
    )
    hits, err = run(capfd, ["scan", "--feed", str(feed), str(log)])
    got = [(h["line"], h["start"], h["end"], h["observed"], h["kind"]) for h in hits]
    assert got == [
        (2, 11, 25, "a.evil.example", "domain"),
        (2, 32, 43, "203.0.113.9", "ipv4"),
        (3, 11, 24, "bad.example/x", "url"),
    ]
    assert hits[0]["file"] == str(log)
    assert hits[1]["indicators"] == [
        {
            "value": "203.0.113.0/24",
            "kind": "ipv4",
            "source": "feed.txt",
            "ref": None,
            "confidence": None,
            "tlp": None,
            "tags": [],
            "valid_from": None,
            "valid_until": None,
            "description": None,
        }
    ]
    assert "3 lines" in err and "3 hits" in err


def test_compile_then_scan_gzip_on_stdin_with_index(tmp_path, capfd) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    index = tmp_path / "intel.vdx"
    assert main(["compile", str(feed), "-o", str(index)]) == 0
    capfd.readouterr()
    # Standard input is read by the core from descriptor 0, gzip told by its magic bytes.
    done = subprocess.run(
        [sys.executable, "-m", "vedette.cli", "scan", "--index", str(index)],
        input=gzip.compress(b"x evil.example y\n"),
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    hits = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(h["file"], h["line"], h["observed"]) for h in hits] == [("-", 1, "evil.example")]


def test_bad_index_file_is_an_error_not_a_crash(tmp_path, capfd) -> None:
    bad = tmp_path / "bad.vdx"
    bad.write_bytes(b"VDT garbage")
    assert main(["scan", "--index", str(bad), str(bad)]) == 2
    assert "error" in capfd.readouterr().err


def test_scan_real_auth_log_against_real_feeds(data, capfd) -> None:
    """Case 3 of the data README: sshd scanners in auth.log that IPsum still lists."""
    hits, _ = run(
        capfd,
        [
            "scan",
            "--feed",
            str(data / "feeds/ipsum/ipsum.txt.gz"),
            str(data / "logs/auth/auth.log.gz"),
        ],
    )
    observed = {h["observed"] for h in hits}
    # An independent reading: every dotted quad in the log that the feed lists.
    import re

    feed = {
        line.split()[0]
        for line in gzip.open(data / "feeds/ipsum/ipsum.txt.gz", "rt")
        if line.strip() and not line.startswith("#")
    }
    text = gzip.open(data / "logs/auth/auth.log.gz", "rt", errors="replace").read()
    quads = set(re.findall(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\w)", text))
    assert observed == quads & feed
    assert len(observed) >= 4


@pytest.mark.parametrize(
    "feed", ["feeds/firehol/firehol_level1.netset", "feeds/tweetfeed/blocklist_domains.txt"]
)
def test_compile_real_feeds(data, tmp_path, capfd, feed) -> None:
    out = tmp_path / "x.vdx"
    assert main(["compile", str(data / feed), "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    assert "loaded" in capfd.readouterr().err
