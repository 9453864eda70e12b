"""Results cross process boundaries: ``Match``, ``Indicator``, ``FileHit`` and
``LoadReport`` pickle to equal values, and a repr reads back as the same object."""

from __future__ import annotations

import datetime as dt
import gzip
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import vedette
from vedette import Indicator, LoadReport, Match

#: What a repr names: the classes, and ``datetime.datetime(...)`` for times.
NAMES = {"Indicator": Indicator, "Match": Match, "LoadReport": LoadReport, "datetime": dt}


def fields(obj: Any) -> Any:
    """Every field, nested records included: the classes define no equality."""
    names = [n for n in dir(type(obj)) if not n.startswith("_")]
    out = {}
    for name in names:
        value = getattr(obj, name)
        if isinstance(value, list):
            value = [fields(v) if type(v).__module__ == "vedette._core" else v for v in value]
        out[name] = value
    return out


@pytest.fixture(scope="module")
def index() -> vedette.Index:
    builder = vedette.IndexBuilder()
    builder.add(
        "evil.example",
        source="feed",
        confidence=80,
        tlp="amber+strict",
        tags=["c2", "x"],
        ref="indicator--1",
        valid_from=dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        description="d\u00e9j\u00e0 vu",
    )
    builder.add("10.0.0.0/8", source="other")
    return builder.build()


def test_matches_and_records_pickle_and_read_back(index: vedette.Index) -> None:
    matches = index.find("GET http://a.evil.example/ from 10.1.2.3")
    assert len(matches) == 2
    for m in matches:
        again = pickle.loads(pickle.dumps(m))
        assert type(again) is type(m) and fields(again) == fields(m)
        assert fields(eval(repr(m), NAMES)) == fields(m)
    record = matches[0].indicators[0]
    assert record.tlp == "amber+strict" and record.valid_from is not None
    assert fields(pickle.loads(pickle.dumps(record))) == fields(record)


def test_file_hits_and_load_reports_pickle(index: vedette.Index, tmp_path: Path) -> None:
    log = tmp_path / "conn.log.gz"
    log.write_bytes(gzip.compress(b"x a.evil.example y\n10.9.9.9\n"))
    hits = list(index.scan_files([str(log)]))
    assert [h.line for h in hits] == [1, 2]
    for hit in hits:
        assert fields(pickle.loads(pickle.dumps(hit))) == fields(hit)
    report = vedette.IndexBuilder().load(b"evil.example\n10.0.0.0/33\n", source="s")
    again = pickle.loads(pickle.dumps(report))
    assert fields(again) == fields(report) and again.skipped == {"invalid ipv4": 1}
    assert fields(eval(repr(report), NAMES)) == fields(report)


def _find(text: str) -> list[Match]:
    index = vedette.compile(["evil.example", "10.0.0.0/8"])
    return list(index.find(text))


def test_worker_processes_return_matches() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(_find, ["a.evil.example", "10.0.0.1 and evil.example"]))
    assert [[m.indicators[0].value for m in ms] for ms in got] == [
        ["evil.example"],
        ["10.0.0.0/8", "evil.example"],
    ]


def test_a_bad_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        Match(0, 1, "planet", [])  # type: ignore[arg-type]
