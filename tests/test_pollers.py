"""The engine's background pollers (docs/semantics.md §10.8): a TAXII collection on a real
medallion server on 127.0.0.1, and a feed file; their backoff, and that close() ends them.

Waits poll a condition until a deadline; none sleeps a fixed time and hopes."""

from __future__ import annotations

import json
import math
import os
import threading
import time
import urllib.parse

import pytest
from taxii_server import COLLECTION, PASSWORD, USER, add_objects, indicator

import vedette
from vedette.exceptions import EngineError, TaxiiError
from vedette.pollers import FilePoller, Poller, TaxiiPoller

LATE = indicator(4, "[domain-name:value = 'late.example']", "2026-02-01T00:00:00.000Z")


def wait_for(condition, seconds: float = 5.0) -> float:
    """Seconds until ``condition()`` held; fails the test after ``seconds``."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            pytest.fail(f"not within {seconds} s")
        time.sleep(0.01)
    return time.monotonic() - start


def poll_taxii(engine: vedette.Engine, url: str, **kwargs):
    return engine.poll_taxii(url, COLLECTION, user=USER, password=PASSWORD, **kwargs)


def poller_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if isinstance(t, Poller) and t.is_alive()]


# TAXII


def test_taxii_poller_loads_new_and_revoked_indicators(server) -> None:
    with vedette.Engine() as engine:
        poller = poll_taxii(engine, server, interval=0.2)
        assert poller.source == "127.0.0.1"  # the URL's host name
        wait_for(lambda: engine.is_match("a.evil.example"))
        assert engine.status()["sources"]["127.0.0.1"]["checkpoint"] is not None
        assert not engine.is_match("a.late.example")
        add_objects(server, [LATE])
        wait_for(lambda: engine.is_match("a.late.example"), 2.0)  # a few intervals
        [hit] = engine.find("a.late.example")
        assert hit.indicators[0].ref == LATE["id"]
        revoked = dict(LATE, modified="2026-03-01T00:00:00.000Z", revoked=True)
        add_objects(server, [revoked])
        wait_for(lambda: not engine.is_match("a.late.example"), 2.0)
        assert engine.is_match("a.evil.example")
        assert (poller.failures, poller.last_error) == (0, None)
        assert poller.polls >= 3 and poller.last_success is not None
    assert not poller.is_alive()


def test_taxii_poller_resumes_from_the_saved_checkpoint(medallion_server, tmp_path) -> None:
    state = tmp_path / "state"
    with vedette.Engine() as engine:
        poll_taxii(engine, medallion_server.url, interval=0.2)
        wait_for(lambda: engine.is_match("a.evil.example"))
        engine.save(state)
    add_objects(medallion_server.url, [LATE])
    served = len(medallion_server.requests())
    with vedette.Engine.open(state) as reopened:
        assert type(reopened) is vedette.Engine  # open makes the class it is called on
        checkpoint = reopened.status()["sources"]["127.0.0.1"]["checkpoint"]
        assert checkpoint is not None
        poller = poll_taxii(reopened, medallion_server.url, interval=0.2)
        wait_for(lambda: reopened.is_match("a.late.example"))
        assert reopened.is_match("a.evil.example")  # from the saved snapshot
    first = urllib.parse.unquote_plus(medallion_server.requests()[served])
    assert f"added_after={checkpoint}" in first, first
    assert poller.failures == 0


def test_taxii_poller_loads_in_batches_of_pages(server) -> None:
    """The server sends pages of 2 objects: 3 objects in batches of 2 or more load as
    one page of 2, then the rest, each with its page's checkpoint."""
    engine = vedette.Engine()
    loaded: list[tuple[int, str | None]] = []

    def on_load(bundle: bytes) -> None:
        checkpoint = engine.status()["sources"].get("127.0.0.1", {}).get("checkpoint")
        loaded.append((len(json.loads(bundle)["objects"]), checkpoint))

    poller = TaxiiPoller(engine, server, COLLECTION, user=USER, password=PASSWORD)
    poller.batch_objects, poller.on_load = 2, on_load
    assert poller.poll_once()
    (first, before), (second, between) = loaded
    assert (first, second, before) == (2, 1, None)
    assert between is not None and engine.version == 2
    assert engine.status()["sources"]["127.0.0.1"]["checkpoint"] > between
    assert engine.is_match("a.evil.example") and engine.is_match("203.0.113.7")
    assert poller.poll_once() and len(loaded) == 2  # nothing new


def test_taxii_poller_backs_off_while_the_server_is_down(medallion_server) -> None:
    with vedette.Engine() as engine:
        # No retries within a poll: this is the backoff between polls.
        poller = poll_taxii(engine, medallion_server.url, interval=0.2, retries=0)
        wait_for(lambda: engine.is_match("a.evil.example"))
        medallion_server.stop()
        wait_for(lambda: poller.failures == 2)
        # Waits of 0.2 s, then 0.4 s, 0.8 s...: the third failure comes 0.8 s after the
        # second, where a poller without backoff would have tried 4 times.
        gap = wait_for(lambda: poller.failures == 3)
        assert gap > 0.7, gap
        assert poller.consecutive_failures == 3 and math.isclose(poller.delay, 1.6)
        assert isinstance(poller.last_error, TaxiiError)
        error = engine.status()["sources"]["127.0.0.1"]["last_error"]
        assert error is not None and "cannot reach" in error["message"]
        assert engine.is_match("a.evil.example")  # the engine keeps its snapshot
        medallion_server.start()
        wait_for(lambda: poller.consecutive_failures == 0)
        assert poller.delay == 0.2 and poller.failures >= 3
        assert isinstance(poller.last_error, TaxiiError)  # kept after the recovery
        assert engine.is_match("a.evil.example")


class Scripted(Poller):
    """A poller whose polls fail or succeed as told, polled by hand."""

    def __init__(self, outcomes: str, **kwargs) -> None:
        super().__init__(vedette.Engine(), source="s", name="scripted", **kwargs)
        self.outcomes = iter(outcomes)

    def poll(self) -> None:
        if next(self.outcomes) == "x":
            raise OSError("down")


@pytest.mark.parametrize(
    ("interval", "max_delay", "outcomes", "delays"),
    [
        pytest.param(1, None, "xxx", [2, 4, 8], id="backoff010"),
        pytest.param(1, None, "xxxxx", [2, 4, 8, 10, 10], id="backoff020"),  # 10 intervals
        pytest.param(1, None, "xx.x", [2, 4, 1, 2], id="backoff030"),  # a success resets
        pytest.param(120, None, "xxxx", [240, 480, 900, 900], id="backoff040"),  # 15 minutes
        pytest.param(3600, None, "xx", [3600, 3600], id="backoff050"),  # never below interval
        pytest.param(0.5, 1.5, "xxx", [1, 1.5, 1.5], id="backoff060"),
        pytest.param(1, None, "x" * 1100, [2, 4, 8, *[10] * 1097], id="backoff070"),  # no overflow
    ],
)
def test_backoff(interval, max_delay, outcomes, delays) -> None:
    poller = Scripted(outcomes, interval=interval, max_delay=max_delay)
    seen = []
    for outcome in outcomes:
        assert poller.poll_once() is (outcome == ".")
        seen.append(poller.delay)
    assert seen == delays
    assert (poller.polls, poller.failures) == (len(outcomes), outcomes.count("x"))
    assert isinstance(poller.last_error, OSError)
    assert poller.engine.status()["sources"]["s"]["last_error"]["message"] == "down"


@pytest.mark.parametrize(
    "interval",
    [
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param(math.nan, id="nan"),
        pytest.param(math.inf, id="inf"),
        pytest.param("5", id="str"),
    ],
)
def test_interval_must_be_positive_seconds(interval, tmp_path) -> None:
    with vedette.Engine() as engine, pytest.raises(ValueError, match="interval"):
        engine.watch_file(tmp_path / "feed.txt", interval=interval)
    assert not poller_threads()


# Files


def test_watch_file_follows_additions_and_removals(tmp_path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    with vedette.Engine() as engine:
        poller = engine.watch_file(feed, interval=0.1)
        wait_for(lambda: engine.is_match("a.evil.example"))
        assert [i.source for i in engine.lookup("evil.example")] == ["feed.txt"]
        with feed.open("a") as f:
            f.write("late.example\n")
        wait_for(lambda: engine.is_match("a.late.example"), 1.0)
        feed.write_text("late.example\n")  # a sync load: evil.example is withdrawn
        wait_for(lambda: not engine.is_match("a.evil.example") and engine.is_match("late.example"))
        loads = poller.loads
        polls = poller.polls
        wait_for(lambda: poller.polls > polls + 2)
        assert poller.loads == loads  # an unchanged file is not read again
        assert poller.failures == 0


def test_watch_file_picks_up_a_replace_by_rename(tmp_path) -> None:
    feed, new = tmp_path / "feed.txt", tmp_path / "feed.txt.new"
    feed.write_text("aaaa.example\n")
    with vedette.Engine() as engine:
        engine.watch_file(feed, interval=0.1)
        wait_for(lambda: engine.is_match("aaaa.example"))
        # Same size and modification time: only the inode (and change time) tells.
        new.write_text("bbbb.example\n")
        stat = feed.stat()
        os.utime(new, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(new, feed)
        wait_for(lambda: engine.is_match("bbbb.example") and not engine.is_match("aaaa.example"))


def test_watch_file_missing_is_an_error_then_recovers(tmp_path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    with vedette.Engine() as engine:
        poller = engine.watch_file(feed, interval=0.1)
        wait_for(lambda: engine.is_match("evil.example"))
        feed.unlink()
        wait_for(lambda: poller.failures >= 2)
        assert isinstance(poller.last_error, FileNotFoundError)
        assert engine.status()["sources"]["feed.txt"]["last_error"] is not None
        assert engine.is_match("evil.example")  # a missing file withdraws nothing
        feed.write_text("back.example\n")
        wait_for(lambda: engine.is_match("back.example") and not engine.is_match("evil.example"))
        assert poller.consecutive_failures == 0


class RewrittenDuringLoad(vedette.Engine):
    """An engine whose first load sees the file rewritten while it reads it."""

    rewrite: os.PathLike[str] | None = None

    def load(self, feed, *args, **kwargs):
        update = super().load(feed, *args, **kwargs)
        if self.rewrite is not None:
            with open(self.rewrite, "a") as f:
                f.write("during.example\n")
            self.rewrite = None
        return update


def test_a_file_changed_during_its_load_is_loaded_again(tmp_path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    engine = RewrittenDuringLoad()
    engine.rewrite = feed
    poller = FilePoller(engine, feed)
    assert poller.poll_once() and not engine.is_match("during.example")
    assert poller.poll_once() and engine.is_match("during.example")
    assert poller.poll_once() and poller.loads == 2
    engine.close()


# close()


def test_close_stops_and_joins_every_poller(server, tmp_path) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n")
    engine = vedette.Engine()
    pollers = [engine.watch_file(feed, interval=0.05), poll_taxii(engine, server, interval=0.05)]
    assert engine.pollers == tuple(pollers)
    wait_for(lambda: all(p.polls >= 2 for p in pollers))
    assert all(p.is_alive() for p in pollers)
    engine.close()
    assert not any(p.is_alive() for p in pollers) and not poller_threads()
    assert all(p.stopped for p in pollers)
    with pytest.raises(EngineError, match="closed"):
        engine.watch_file(feed)
    with pytest.raises(EngineError, match="closed"):
        engine.add("late.example", source="s")
    assert engine.is_match("evil.example")  # reads go on working
    engine.close()  # twice is fine
