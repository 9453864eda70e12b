"""`vedette watch` end to end against a real medallion TAXII server on 127.0.0.1: a
followed log, an indicator POSTed to the collection that matches the next appended line,
the earlier line found by the retro-hunt, and a revocation that stops the matches."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("medallion")

from taxii_server import COLLECTION, add_objects, indicator

from vedette import taxii

LATE = indicator(4, "[domain-name:value = 'late.example']", "2026-02-01T00:00:00.000Z")


def _hits(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def _wait_for(condition, seconds: float) -> float:
    """Seconds until ``condition()`` held; fails after ``seconds``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.02)
    return time.monotonic() - start


def test_watch_follows_a_log_against_a_taxii_collection(server, tmp_path) -> None:
    log, out = tmp_path / "dns.log", tmp_path / "hits.jsonl"
    log.write_text("from before the watch: a.late.example\n")
    env = dict(os.environ, VEDETTE_TAXII_PASSWORD="s3cret")
    argv = [sys.executable, "-m", "vedette.cli", "watch", "--taxii", server, "--collection"]
    argv += [COLLECTION, "--taxii-user", "analyst", "--interval", "0.2", "-o", str(out), str(log)]
    argv += ["--publish-sightings", "--sensor", "sensor-1"]
    process = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE)

    def append(text: str) -> None:
        with log.open("a") as f:
            f.write(text)

    try:
        # The collection's first indicators load; evil.example is one of them.
        time.sleep(1.0)
        append("query evil.example A\n")
        _wait_for(lambda: any(h["observed"] == "evil.example" for h in _hits(out)), 3)
        append("query early.late.example A\n")
        time.sleep(0.3)
        assert not any("late.example" in h["observed"] for h in _hits(out))
        add_objects(server, [LATE])
        # The retro-hunt finds the line read before the indicator arrived.
        _wait_for(lambda: any(h.get("retro") for h in _hits(out)), 5)
        (retro,) = [h for h in _hits(out) if h.get("retro")]
        assert retro["observed"] == "early.late.example"
        assert retro["indicators"][0]["ref"] == LATE["id"]
        # And the next line appended matches within a second.
        append("query next.late.example A\n")
        seconds = _wait_for(
            lambda: any(h["observed"] == "next.late.example" for h in _hits(out)), 1.0
        )
        assert seconds < 1.0
        version = next(h for h in _hits(out) if h["observed"] == "next.late.example")["version"]
        # A revoked version stops the matches.
        revoked = dict(LATE, modified="2026-03-01T00:00:00.000Z", revoked=True)
        add_objects(server, [revoked])
        time.sleep(1.0)
        append("query after.late.example A\nquery evil.example again\n")
        _wait_for(lambda: sum(h["observed"] == "evil.example" for h in _hits(out)) == 2, 3)
        assert not any(h["observed"] == "after.late.example" for h in _hits(out))
        later = [h for h in _hits(out) if h["observed"] == "evil.example"][-1]
        assert later["version"] > version
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0, err
    assert b"Traceback" not in err and b"hits" in err
    # The sightings of the hits arrived in the collection, each hit counted once.
    posted = taxii.poll(server, COLLECTION, user="analyst", password="s3cret").objects
    counts: dict[str, int] = {}
    for o in posted:
        if o["type"] == "sighting":
            counts[o["sighting_of_ref"]] = counts.get(o["sighting_of_ref"], 0) + o["count"]
    hit_counts: dict[str, int] = {}
    for hit in _hits(out):
        if not hit.get("retro"):
            ref = hit["indicators"][0]["ref"]
            hit_counts[ref] = hit_counts.get(ref, 0) + 1
    assert counts == hit_counts and counts[indicator(1, "", "")["id"]] == 2
    identities = [o for o in posted if o["type"] == "identity" and o["name"] == "sensor-1"]
    assert len(identities) == 1
    assert not any(h["observed"] == "a.late.example" for h in _hits(out)), "read before the watch"
