"""Column lookups against a Python ``ipaddress`` reference."""

from __future__ import annotations

import ipaddress
import random

import numpy as np
import pytest

import vedette

NETWORKS = [
    "10.0.0.0/8",
    "10.1.0.0/16",
    "192.0.2.0/24",
    "198.51.100.7",
    "203.0.113.5-203.0.113.20",
    "0.0.0.0/32",
]


def reference(addresses: np.ndarray) -> np.ndarray:
    nets = []
    for spec in NETWORKS:
        if "-" in spec:
            a, b = (int(ipaddress.IPv4Address(x)) for x in spec.split("-"))
        else:
            net = ipaddress.IPv4Network(spec)
            a, b = int(net.network_address), int(net.broadcast_address)
        nets.append((a, b))
    return np.array([any(a <= int(x) <= b for a, b in nets) for x in addresses], dtype=bool)


def sample_addresses(n: int) -> np.ndarray:
    rng = random.Random(42)
    near = [
        0x0A000000,
        0x0A010000,
        0xC0000200,
        0xC6336407,
        0xCB007105,
        0xCB007114,
        0xCB007115,
        0,
        0xFFFFFFFF,
    ]
    values = [
        rng.choice(near) + rng.randint(-3, 3) if rng.random() < 0.5 else rng.getrandbits(32)
        for _ in range(n)
    ]
    return np.array([v % (1 << 32) for v in values], dtype=np.uint32)


def test_match_ipv4_agrees_with_ipaddress() -> None:
    index = vedette.compile(NETWORKS)
    addresses = sample_addresses(5000)
    mask = index.match_ipv4(addresses)
    assert mask.dtype == np.bool_ and mask.shape == addresses.shape
    assert np.array_equal(mask, reference(addresses))
    assert mask.any() and not mask.all()


def test_match_ipv4_rejects_wrong_dtype_and_accepts_views() -> None:
    index = vedette.compile(NETWORKS)
    addresses = sample_addresses(100)
    strided = addresses[::2]
    # A non-contiguous view is refused rather than silently copied wrong.
    try:
        got = index.match_ipv4(strided)
    except ValueError:
        got = index.match_ipv4(np.ascontiguousarray(strided))
    assert np.array_equal(got, reference(strided))
    try:
        index.match_ipv4(addresses.astype(np.int64))
    except TypeError:
        pass
    else:
        raise AssertionError("an int64 column must be refused")


def test_match_flows_attributes_hits() -> None:
    index = vedette.compile(["10.0.0.0/8", "10.1.0.0/16", "192.0.2.1"])
    ids = {i.value: i.id for i in index.indicators()}
    ip = lambda s: int(ipaddress.IPv4Address(s))  # noqa: E731
    src = np.array([ip("10.1.2.3"), ip("8.8.8.8"), ip("192.0.2.1"), ip("8.8.4.4")], dtype=np.uint32)
    dst = np.array(
        [ip("10.2.0.1"), ip("8.8.4.4"), ip("192.0.2.1"), ip("10.9.9.9")], dtype=np.uint32
    )
    rows, indicator_ids = index.match_flows(src, dst)
    got = sorted(zip(rows.tolist(), indicator_ids.tolist(), strict=True))
    want = sorted(
        [
            (0, ids["10.0.0.0/8"]),
            (0, ids["10.1.0.0/16"]),
            (2, ids["192.0.2.1"]),
            (3, ids["10.0.0.0/8"]),
        ]
    )
    assert got == want
    assert rows.dtype == np.uint64 and indicator_ids.dtype == np.uint32


def test_match_ipv6_columns_and_mapped_addresses() -> None:
    index = vedette.compile(["2001:db8::/32", "192.0.2.1"])
    addrs = ["2001:db8::5", "2001:db9::", "::ffff:192.0.2.1", "::1"]
    column = np.array([list(ipaddress.IPv6Address(a).packed) for a in addrs], dtype=np.uint8)
    assert index.match_ipv6(column).tolist() == [True, False, True, False]


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(np.ascontiguousarray, id="v6layout010"),
        pytest.param(np.asfortranarray, id="v6layout020"),
        pytest.param(lambda a: np.repeat(a, 2, axis=0)[::2], id="v6layout030"),
    ],
)
def test_match_ipv6_reads_rows_whatever_the_layout(layout) -> None:
    # A Fortran-ordered array is contiguous too; its buffer is not in row order.
    index = vedette.compile(["2001:db8::/32"])
    addrs = ["2001:db8::1", "::1", "::2"]
    column = np.array([list(ipaddress.IPv6Address(a).packed) for a in addrs], dtype=np.uint8)
    assert index.match_ipv6(layout(column)).tolist() == [True, False, False]


def test_match_ipv6_refuses_other_shapes() -> None:
    index = vedette.compile(["2001:db8::/32"])
    with pytest.raises(ValueError, match=r"\(n, 16\) uint8"):
        index.match_ipv6(np.zeros((2, 8), dtype=np.uint8))
    with pytest.raises(TypeError):
        index.match_ipv6(np.zeros(16, dtype=np.uint8))


def test_ipv4_bitmap_reads_in_pyroaring() -> None:
    pyroaring = pytest.importorskip("pyroaring")
    index = vedette.compile(NETWORKS)
    bitmap = pyroaring.BitMap.deserialize(index.ipv4_bitmap())
    addresses = sample_addresses(2000)
    assert [int(a) in bitmap for a in addresses] == reference(addresses).tolist()
    assert len(bitmap) == (1 << 24) + 256 + 1 + 16 + 1
