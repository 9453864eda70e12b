"""vedette.Engine through the bindings: arguments, results, errors and threads. What the
engine does with the changes (docs/semantics.md §10) is tested in Rust.

The swap test runs for ``VEDETTE_SWAP_SECONDS`` (default 3); the full run is
``VEDETTE_SWAP_SECONDS=10 pytest tests/test_engine.py -k swap``.
"""

from __future__ import annotations

import gzip
import os
import threading
import time

import numpy as np
import pytest

import vedette
from vedette.exceptions import BuildError, EngineError, FeedError, IndicatorError

TEXT = "GET http://a.evil.example/ from 203.0.113.9"


def values(matches) -> list[str]:
    return [i.value for m in matches for i in m.indicators]


def test_add_remove_round_trip() -> None:
    engine = vedette.Engine()
    update = engine.add("evil.example", source="etisp", ref="ind-1", confidence=80, tags=["c2"])
    assert (update.version, update.added, update.removed) == (1, 1, 0)
    assert engine.version == 1 and len(engine) == 1
    [hit] = engine.find(TEXT)
    assert (hit.start, hit.end, hit.kind) == (11, 25, "domain")
    record = hit.indicators[0]
    fields = (record.source, record.ref, record.confidence, record.tags)
    assert fields == ("etisp", "ind-1", 80, ["c2"])
    assert engine.is_match(TEXT) and engine.is_match(TEXT.encode())
    assert [r.value for r in engine.lookup("x.evil.example")] == ["evil.example"]
    again = engine.add("evil.example", source="etisp", ref="ind-1", confidence=80, tags=["c2"])
    assert (again.version, again.unchanged) == (1, 1)
    assert engine.remove(source="etisp", ref="ind-1").removed == 1
    assert not engine.is_match(TEXT) and len(engine) == 0
    engine.add("evil.example", source="etisp")
    assert engine.remove(source="etisp", value="EVIL.example.", kind="domain").removed == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({}, id="none"),
        pytest.param({"ref": "a", "value": "b"}, id="both"),
        pytest.param({"ref": "a", "kind": "domain"}, id="ref-kind"),
    ],
)
def test_remove_wants_one_of_ref_and_value(kwargs) -> None:
    with pytest.raises(ValueError):
        vedette.Engine().remove(source="s", **kwargs)


def test_load_and_sync(tmp_path) -> None:
    engine = vedette.Engine()
    path = tmp_path / "list.txt.gz"
    path.write_bytes(gzip.compress(b"203.0.113.0/24\n198.51.100.7\n"))
    update = engine.load(path, source="abuse")
    assert update.added == 2 and [r.loaded for r in update.reports] == [2]
    assert update.reports[0].name == str(path) and update.reports[0].format == "lines"
    synced = engine.load(b"198.51.100.7\n", "lines", source="abuse", sync=True)
    assert (synced.added, synced.removed, synced.unchanged) == (0, 1, 1)
    mask = engine.match_ipv4(np.array([0xCB007109, 0xC6336407], dtype=np.uint32))
    assert mask.tolist() == [False, True]
    v6 = np.zeros((1, 16), dtype=np.uint8)
    v6[0, 10:] = [0xFF, 0xFF, 198, 51, 100, 7]
    assert engine.match_ipv6(v6).tolist() == [True]
    snapshot = engine.snapshot()
    rows, ids = snapshot.match_flows(
        np.array([1, 0xC6336407], dtype=np.uint32), np.array([2, 3], dtype=np.uint32)
    )
    assert rows.tolist() == [1] and snapshot.indicator(int(ids[0])).value == "198.51.100.7"
    assert engine.status()["sources"]["abuse"]["records"] == 1


def test_transaction_publishes_once() -> None:
    engine = vedette.Engine()
    engine.add("old.example", source="a")
    with engine.transaction() as tx:
        tx.add("evil.example", source="a", ref="r1")
        tx.remove(source="a", value="old.example")
        tx.load(b"203.0.113.0/24\n", source="b", sync=True)
        assert engine.version == 1  # nothing published inside the block
    assert tx.update is not None
    assert (tx.update.version, tx.update.added, tx.update.removed) == (2, 2, 1)
    assert len(tx.update.reports) == 1
    assert sorted(values(engine.find(TEXT))) == ["203.0.113.0/24", "evil.example"]
    with pytest.raises(ValueError, match="ended"):
        tx.add("late.example", source="a")


def test_transaction_that_raises_publishes_nothing() -> None:
    engine = vedette.Engine()
    with pytest.raises(KeyError):
        with engine.transaction() as tx:
            tx.add("evil.example", source="a")
            raise KeyError("stop")
    assert engine.version == 0 and len(engine) == 0 and tx.update is None


def test_transaction_with_a_failed_operation_raises_and_publishes_nothing() -> None:
    engine = vedette.Engine()
    with pytest.raises(FeedError):
        with engine.transaction() as tx:
            tx.add("evil.example", source="a")
            tx.load(b"1.2.3.4\n1.2.3.0/33\n", source="b", strict=True)
    assert engine.version == 0 and len(engine) == 0
    assert engine.status()["sources"]["b"]["last_error"]["message"]


def test_snapshot_is_pinned_across_updates() -> None:
    engine = vedette.Engine()
    engine.add("evil.example", source="a")
    snapshot = engine.snapshot()
    engine.remove(source="a", value="evil.example")
    engine.add("other.example", source="a")
    assert snapshot.version == 1 and len(snapshot) == 1
    assert values(snapshot.find(TEXT)) == ["evil.example"] and not engine.is_match(TEXT)
    assert [r.value for r in snapshot.indicators()] == ["evil.example"]
    index = snapshot.to_index()
    assert isinstance(index, vedette.Index) and values(index.find(TEXT)) == ["evil.example"]
    # The hits on one record share one object, resolved by the snapshot that found them.
    first, second = snapshot.find(TEXT + " evil.example")
    assert first.indicators[0] is second.indicators[0]


def test_engine_from_index_and_save_open(tmp_path) -> None:
    index = vedette.compile(["evil.example"], source="feed")
    engine = vedette.Engine(index)
    engine.add("203.0.113.0/24", source="abuse")
    engine.set_checkpoint("abuse", "2025-01-01T00:00:00Z")
    engine.compact()
    engine.save(tmp_path / "state")
    with vedette.Engine.open(tmp_path / "state") as reopened:
        assert reopened.version == engine.version
        assert sorted(values(reopened.find(TEXT))) == ["203.0.113.0/24", "evil.example"]
        status = reopened.status()
        assert status["sources"]["abuse"]["checkpoint"] == "2025-01-01T00:00:00Z"
        assert status["sources"]["feed"]["records"] == 1
    with pytest.raises(EngineError, match="closed") as info:
        reopened.add("x.example", source="a")
    assert info.value.category == "closed"
    assert reopened.is_match(TEXT)  # reads go on after close


def test_open_makes_the_class_it_is_called_on(tmp_path) -> None:
    class Mine(vedette.Engine):
        pass

    vedette.Engine(vedette.compile(["evil.example"])).save(tmp_path)
    for cls in (vedette._core.Engine, vedette.Engine, Mine):
        with cls.open(tmp_path) as reopened:
            assert type(reopened) is cls and reopened.is_match("evil.example")
    with pytest.raises(ValueError, match="not both"):
        vedette.Engine(vedette.compile(["evil.example"]), _dir=tmp_path)


def test_note_error_shows_in_status() -> None:
    engine = vedette.Engine()
    engine.note_error("taxii", "cannot reach the server")
    status = engine.status()
    assert status["sources"]["taxii"]["last_error"]["message"] == "cannot reach the server"
    assert status["version"] == 0 and status["sources"]["taxii"]["last_success"] is None


def test_sightings() -> None:
    engine = vedette.Engine(sightings=True)
    engine.add("evil.example", source="etisp", ref="ind-1")
    engine.find(TEXT)
    engine.find(TEXT)
    [sighting] = engine.sightings()
    assert sighting["ref"] == "ind-1" and sighting["count"] == 2
    assert sighting["first_seen"] <= sighting["last_seen"]
    assert sighting["first_seen"].year >= 2024  # the clock is read when counting
    assert engine.sightings() == []
    assert vedette.Engine().sightings() == []


ERRORS = [
    ("indicator", lambda e: e.add("999.1.1.1", "ipv4", source="s"), IndicatorError),
    ("meta", lambda e: e.add("a.example", source="s", confidence=101), IndicatorError),
    ("remove", lambda e: e.remove(source="s", value="999.1.1.1", kind="ipv4"), IndicatorError),
    ("feed", lambda e: e.load(b"1.2.3.0/33\n", source="s", strict=True), FeedError),
    ("gzip", lambda e: e.load(b"\x1f\x8b\x08\x00broken", source="s"), FeedError),
    ("kind", lambda e: e.add("a.example", "ip", source="s"), ValueError),
    ("io", lambda e: e.load("/nonexistent/feed.txt", source="s"), FileNotFoundError),
    ("open", lambda e: vedette.Engine.open("/nonexistent/state"), FileNotFoundError),
]


@pytest.mark.parametrize(
    ("call", "error"), [pytest.param(call, error, id=id) for id, call, error in ERRORS]
)
def test_error_mapping(call, error) -> None:
    with pytest.raises(error):
        call(vedette.Engine())


@pytest.mark.parametrize(
    ("corrupt", "error"),
    [
        pytest.param("state.json", EngineError, id="state"),
        pytest.param("base-", vedette.IndexFormatError, id="index"),
    ],
)
def test_error_mapping_of_a_corrupt_state_dir(tmp_path, corrupt, error) -> None:
    engine = vedette.Engine()
    engine.add("evil.example", source="a")
    engine.save(tmp_path)
    [path] = [p for p in tmp_path.iterdir() if p.name.startswith(corrupt)]
    path.write_bytes(b"not what save wrote")
    with pytest.raises(error) as info:
        vedette.Engine.open(tmp_path)
    assert str(path.name) in str(info.value)
    if error is EngineError:
        assert info.value.category == "state"
        assert not isinstance(info.value, (FeedError, IndicatorError, BuildError))


def test_gil_is_released_in_find_on_long_texts() -> None:
    engine = vedette.Engine()
    engine.add("evil.example", source="a")
    engine.add("other.example", source="b")  # a delta: the snapshot scans twice
    text = ("x" * 1000 + " ") * 40_000 + "evil.example"

    def attempt() -> tuple[float, float]:
        """How long one find took, and the longest pause of another thread meanwhile."""
        longest_gap = 0.0
        done = threading.Event()

        def tick() -> None:
            nonlocal longest_gap
            last = time.perf_counter()
            while not done.is_set():
                now = time.perf_counter()
                longest_gap = max(longest_gap, now - last)
                last = now

        thread = threading.Thread(target=tick)
        thread.start()
        try:
            time.sleep(0.01)
            start = time.perf_counter()
            assert values(engine.find(text)) == ["evil.example"]
            took = time.perf_counter() - start
        finally:
            done.set()
            thread.join()
        return took, longest_gap

    # Holding the GIL, the call would stop the other thread for all of its duration in
    # every attempt; a loaded machine may pause it for other reasons in one of them.
    results = [attempt() for _ in range(3)]
    assert all(took > 0.02 for took, _ in results), "the text is too short to tell"
    assert any(gap < took / 2 for took, gap in results), results


def test_swap_under_readers() -> None:
    """Two readers find a pinned indicator while the main thread publishes a change
    every 20 ms: no lost hit, no error, and memory back within 10% afterwards.

    Memory is the engine's own count (``status()["memory"]``: the current snapshot's
    indexes, tombstones and the engine's state): the process RSS would also count the
    allocator's caches and the Python objects of the hits, which say nothing about
    whether the engine frees the snapshots it swapped out.
    """
    seconds = float(os.environ.get("VEDETTE_SWAP_SECONDS", "3"))
    engine = vedette.Engine()
    engine.load(b"".join(b"host%d.example\n" % i for i in range(2000)), source="bulk")
    engine.add("pinned.example", source="pinned", ref="pin")
    engine.compact()
    baseline = engine.status()["memory"]
    text = "GET http://www.pinned.example/ " + "x" * 5000  # long: readers release the GIL
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = [0, 0]

    def read(slot: int) -> None:
        try:
            while not stop.is_set():
                hits = engine.find(text)
                assert values(hits) == ["pinned.example"], hits
                counts[slot] += 1
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    readers = [threading.Thread(target=read, args=(i,)) for i in range(2)]
    for reader in readers:
        reader.start()
    swaps = 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and not errors:
            if swaps % 2:
                engine.remove(source="churn", value=f"churn{swaps - 1}.example")
            else:
                engine.add(f"churn{swaps}.example", source="churn")
            swaps += 1
            time.sleep(0.02)
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert not errors, errors[0]
    assert min(counts) > 0 and swaps >= seconds * 10
    assert engine.version > swaps // 2
    engine.compact()
    assert engine.status()["memory"] <= baseline * 1.1
