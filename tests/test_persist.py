"""Save, load, pickle; and refusal of anything that is not a valid index."""

from __future__ import annotations

import pickle
import random

import pytest

import vedette
from vedette.exceptions import IndexFormatError

VALUES = [
    "evil.example",
    "http://evil.example/a?b",
    "bad@evil.example",
    "10.0.0.0/8",
    "2001:db8::/48",
    "d41d8cd98f00b204e9800998ecf8427e",
    "203.0.113.1-203.0.113.9",
]


def sample_index() -> vedette.Index:
    builder = vedette.IndexBuilder()
    for n, value in enumerate(VALUES):
        builder.add(
            value,
            source=f"s{n % 2}",
            confidence=n * 10,
            tags=["t", str(n)],
            valid_until="2099-01-01T00:00:00Z",
        )
    builder.add("Mozilla/5.0 (evil)", kind="string", tlp="red")
    return builder.build()


def summary(index: vedette.Index) -> list[tuple]:
    return [
        (i.id, i.kind, i.value, i.source, i.confidence, i.tags, i.tlp, i.valid_until)
        for i in index.indicators()
    ]


def test_save_load_round_trip(tmp_path) -> None:
    index = sample_index()
    path = tmp_path / "intel.vdx"
    index.save(path)
    again = vedette.Index.load(path)
    assert summary(again) == summary(index)
    text = "GET http://evil.example/a?b UA Mozilla/5.0 (evil) 10.9.9.9 2001:db8::1"
    assert [(m.start, m.end, m.kind) for m in again.find(text)] == [
        (m.start, m.end, m.kind) for m in index.find(text)
    ]


def test_pickle_round_trip() -> None:
    index = sample_index()
    again = pickle.loads(pickle.dumps(index))
    assert isinstance(again, vedette.Index)
    assert summary(again) == summary(index)


def test_truncated_and_corrupted_bytes_are_refused() -> None:
    data = sample_index().to_bytes()
    for cut in range(len(data)):
        with pytest.raises(IndexFormatError):
            vedette.Index.from_bytes(data[:cut])
    rng = random.Random(7)
    for _ in range(300):
        spoiled = bytearray(data)
        spoiled[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        with pytest.raises(IndexFormatError):
            vedette.Index.from_bytes(bytes(spoiled))


def test_loading_a_non_index_file_is_refused(tmp_path) -> None:
    path = tmp_path / "feed.txt"
    path.write_text("1.2.3.4\n")
    with pytest.raises(IndexFormatError):
        vedette.Index.load(path)
