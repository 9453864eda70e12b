"""Columns in: Arrow arrays and streams (pyarrow, polars, pandas, nanoarrow), numpy and
lists give the batch lookups the answers of numpy arrays, and ``lookup_many`` those of a
``lookup()`` loop."""

from __future__ import annotations

import ipaddress
import random
import threading

import numpy as np
import pytest

import vedette
from vedette.exceptions import IndicatorError

pa = pytest.importorskip("pyarrow")

INDICATORS = [
    "10.0.0.0/8",
    "192.0.2.1",
    "203.0.113.5-203.0.113.20",
    "2001:db8::/32",
    "evil.example",
    "http://a.example/x?q=1",
    "bad@evil.example",
    "d41d8cd98f00b204e9800998ecf8427e",
]


def addresses(n: int, seed: int = 7) -> np.ndarray:
    rng = random.Random(seed)
    near = [0x0A000000, 0xC0000201, 0xCB007105, 0xCB007114]
    values = [
        (rng.choice(near) + rng.randint(-2, 2)) % (1 << 32)
        if rng.random() < 0.5
        else rng.getrandbits(32)
        for _ in range(n)
    ]
    return np.array(values, dtype=np.uint32)


def as_v6(values: np.ndarray) -> np.ndarray:
    """IPv6 rows: half of them in 2001:db8::/32, half IPv4-mapped."""
    rows = np.zeros((len(values), 16), dtype=np.uint8)
    for i, v in enumerate(values.tolist()):
        if i % 2:
            rows[i] = list(ipaddress.IPv6Address((0x20010DB8 << 96) | v).packed)
        else:
            rows[i] = list(ipaddress.IPv6Address(f"::ffff:{ipaddress.IPv4Address(v)}").packed)
        if i % 5 == 0:
            rows[i, 0] = 0x30  # outside both
    return rows


def u32_columns(values: np.ndarray) -> dict[str, object]:
    """The same uint32 column in every form the lookups take."""
    half = len(values) // 2
    forms: dict[str, object] = {
        "numpy": values,
        "list": values.tolist(),
        "pyarrow": pa.array(values),
        "pyarrow-sliced": pa.array(np.concatenate([values[:3], values]))[3:],
        "pyarrow-chunked": pa.chunked_array([values[:half], values[half:]]),
        "pandas-arrow": None,
        "polars": None,
        "nanoarrow": None,
    }
    try:
        import pandas as pd

        forms["pandas-numpy"] = pd.Series(values)
        forms["pandas-arrow"] = pd.Series(values, dtype="uint32[pyarrow]")
    except ImportError:
        pass
    try:
        import polars as pl

        forms["polars"] = pl.Series(values)
    except ImportError:
        pass
    try:
        import nanoarrow as na

        forms["nanoarrow"] = na.c_array(values, na.uint32())
    except ImportError:
        pass
    return {name: form for name, form in forms.items() if form is not None}


@pytest.fixture(scope="module")
def index() -> vedette.Index:
    return vedette.compile(INDICATORS)


def test_match_ipv4_of_every_column_type(index) -> None:
    values = addresses(20_000)
    want = index.match_ipv4(values)
    assert want.any() and not want.all()
    forms = u32_columns(values)
    assert {"pyarrow", "pyarrow-chunked", "list"} <= forms.keys()
    for name, column in forms.items():
        assert np.array_equal(index.match_ipv4(column), want), name


def test_match_flows_of_every_column_type(index) -> None:
    src, dst = addresses(5000, seed=1), addresses(5000, seed=2)
    want = index.match_flows(src, dst)
    assert len(want[0]) > 100
    for (name, s), d in zip(u32_columns(src).items(), u32_columns(dst).values(), strict=True):
        rows, ids = index.match_flows(s, d)
        assert np.array_equal(rows, want[0]) and np.array_equal(ids, want[1]), name
    # Chunked differently on each side.
    s = pa.chunked_array([src[:10], src[10:]])
    d = pa.chunked_array([dst[:4000], dst[4000:]])
    rows, ids = index.match_flows(s, d)
    assert np.array_equal(rows, want[0]) and np.array_equal(ids, want[1])


def test_match_ipv6_of_every_column_type(index) -> None:
    rows = as_v6(addresses(3000))
    want = index.match_ipv6(rows)
    assert want.any() and not want.all()
    binary = pa.array([bytes(r) for r in rows], type=pa.binary(16))
    half = len(rows) // 2
    forms = {
        "pyarrow": binary,
        "pyarrow-chunked": pa.chunked_array([binary[:half], binary[half:]]),
        "fortran": np.asfortranarray(rows),
    }
    try:
        import polars as pl

        forms["polars"] = (
            pl.Series([bytes(r) for r in rows], dtype=pl.Binary)
            .cast(pl.Binary)
            .to_arrow()
            .cast(pa.binary(16))
        )
    except ImportError:
        pass
    for name, column in forms.items():
        assert np.array_equal(index.match_ipv6(column), want), name


def with_nulls(values: list[int], valid: list[bool]):
    """A uint32 Arrow array whose null rows still hold their values in the data buffer,
    as producers may leave them: only the validity bitmap says they are null."""
    bits = pa.py_buffer(np.packbits(np.array(valid, dtype=np.uint8), bitorder="little"))
    data = pa.py_buffer(np.array(values, dtype=np.uint32))
    return pa.Array.from_buffers(
        pa.uint32(), len(values), [bits, data], null_count=valid.count(False)
    )


def test_nulls_hit_nothing(index) -> None:
    inside = int(ipaddress.IPv4Address("10.1.2.3"))
    column = with_nulls([inside] * 4, [True, False, True, False])
    assert column.to_pylist() == [inside, None, inside, None]
    assert index.match_ipv4(column).tolist() == [True, False, True, False]
    v6 = ipaddress.IPv6Address("2001:db8::1").packed
    assert index.match_ipv6(pa.array([None, v6], type=pa.binary(16))).tolist() == [False, True]
    # A flow with one end null is looked up by the other; both null: no hit.
    src = with_nulls([inside, inside, inside, 5], [True, False, False, True])
    dst = with_nulls([inside, inside, inside, inside], [False, True, False, True])
    rows, ids = index.match_flows(src, dst)
    assert rows.tolist() == [0, 1, 3]
    assert set(ids.tolist()) == {index.lookup("10.0.0.0/8")[0].id}


def test_columns_refuse_other_types(index) -> None:
    with pytest.raises(TypeError, match="uint32, not int64"):
        index.match_ipv4(pa.array([1, 2]))
    with pytest.raises(TypeError, match="not an array of int64"):
        index.match_ipv4(np.array([1, 2]))
    with pytest.raises(OverflowError):
        index.match_ipv4([-1])  # a list's ints must fit, never wrap
    with pytest.raises(TypeError, match=r"fixed_size_binary\(16\), not binary"):
        index.match_ipv6(pa.array([b"x"]))
    with pytest.raises(TypeError, match="string or large_string or string_view, not int64"):
        index.lookup_many(pa.array([1]))
    with pytest.raises(TypeError, match="dictionary-encoded"):
        index.lookup_many(pa.array(["evil.example"]).dictionary_encode())
    with pytest.raises(TypeError, match="not one string"):
        index.lookup_many("evil.example")
    with pytest.raises(ValueError, match="src has 2 rows, dst 1"):
        index.match_flows(pa.array([1, 2], pa.uint32()), [1])
    with pytest.raises(TypeError):
        index.lookup_many([b"bytes"])


def lookup_loop(index: vedette.Index, values: list[str | None], kind=None):
    """What lookup_many must give: lookup() of each row; a value lookup refuses, or a
    null, hits nothing."""
    rows, ids = [], []
    for row, value in enumerate(values):
        if value is None:
            continue
        try:
            hits = index.lookup(value, kind)
        except IndicatorError:
            continue
        rows += [row] * len(hits)
        ids += [hit.id for hit in hits]
    return rows, ids


def value_columns(values: list[str | None]) -> dict[str, object]:
    third = len(values) // 3
    forms: dict[str, object] = {
        "list": values,
        "string": pa.array(values, pa.string()),
        "large_string": pa.array(values, pa.large_string()),
        "string_view": pa.array(values, pa.string_view()),
        "sliced": pa.array([None, "evil.example", *values])[2:],
        "chunked": pa.chunked_array([values[:third], values[third:]]),
        "numpy-object": np.array(values, dtype=object),
    }
    try:
        import pandas as pd

        forms["pandas-object"] = pd.Series(values, dtype=object)
        forms["pandas-arrow"] = pd.Series(values, dtype="string[pyarrow]")
    except ImportError:
        pass
    try:
        import polars as pl

        forms["polars"] = pl.Series(values, dtype=pl.String)
    except ImportError:
        pass
    return forms


def test_lookup_many_is_a_lookup_loop_of_every_column_type(index) -> None:
    values: list[str | None] = [
        "www.evil.example",
        None,
        "10.9.8.7",
        "-",
        "",
        "http://a.example/x?q=1",
        "2001:db8::77",
        "::ffff:192.0.2.1",
        "BAD@Evil.Example",
        "D41D8CD98F00B204E9800998ECF8427E",
        "a-rather-long-name-for-a-view.evil.example",
        "benign.example",
        "203.0.113.9",
    ] * 50
    want = lookup_loop(index, values)
    assert len(want[0]) == 9 * 50
    for name, column in value_columns(values).items():
        rows, ids = index.lookup_many(column)
        assert (rows.tolist(), ids.tolist()) == want, name
        assert rows.dtype == np.uint64 and ids.dtype == np.uint32
    hosts = index.lookup_many(values, "domain")
    assert (hosts[0].tolist(), hosts[1].tolist()) == lookup_loop(index, values, "domain")


def test_lookup_many_on_real_feeds(data) -> None:
    """The real feeds' own values, their subdomains and paths, and unrelated lines: as a
    lookup() loop, on a column long enough to run on the pool."""
    feeds = data / "feeds" / "tweetfeed"
    builder = vedette.IndexBuilder()
    for name in ("blocklist_domains.txt", "blocklist_ips.txt", "blocklist_urls.txt"):
        if not (feeds / name).exists():
            pytest.skip(f"{feeds / name} is not there")
        builder.load(feeds / name)
    index = builder.build()
    rng = random.Random(3)
    values: list[str | None] = []
    for record in index.indicators():
        v = record.value
        values += [v, f"www.{v}" if record.kind == "domain" else v.upper(), None, f"x{v}"]
    rng.shuffle(values)
    values = values * max(1, 60_000 // len(values))
    want = lookup_loop(index, values)
    assert len(want[0]) > len(values) // 4
    for name in ("list", "string", "string_view", "chunked"):
        rows, ids = index.lookup_many(value_columns(values)[name])
        assert (rows.tolist(), ids.tolist()) == want, name


def test_lookup_many_of_an_engine_and_its_snapshot() -> None:
    engine = vedette.Engine()
    engine.add("evil.example", source="a")
    engine.add("10.0.0.0/8", source="b")
    snapshot = engine.snapshot()
    engine.remove(source="b", value="10.0.0.0/8")
    column = pa.array(["www.evil.example", "10.1.1.1", None])
    rows, ids = snapshot.lookup_many(column)
    assert rows.tolist() == [0, 1]
    assert [snapshot.indicator(i).value for i in ids.tolist()] == ["evil.example", "10.0.0.0/8"]
    rows, _ = engine.lookup_many(column)
    assert rows.tolist() == [0]  # the current version: the network is gone


def test_lookup_many_releases_the_gil(index) -> None:
    """Threads run lookups at once; each answer is its own."""
    values = pa.array(["www.evil.example", "benign.example", "10.1.2.3"] * 100_000)
    want = index.lookup_many(values)
    results: list[bool] = []

    def work() -> None:
        got = index.lookup_many(values)
        results.append(np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1]))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 4
