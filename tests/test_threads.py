"""One immutable index, many threads: the GIL is released and results stay exact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

import vedette


def test_find_and_match_from_a_thread_pool() -> None:
    index = vedette.compile(["evil.example", "10.0.0.0/8", "d41d8cd98f00b204e9800998ecf8427e"])
    line = b"GET http://x.evil.example/ 10.2.3.4 d41d8cd98f00b204e9800998ecf8427e\n"
    text = line * 2000
    addresses = np.arange(0x09FFFF00, 0x0A000100, dtype=np.uint32)
    expected_hits = len(index.find(text))
    expected_mask = index.match_ipv4(addresses)

    def work(n: int) -> tuple[int, bool]:
        if n % 2:
            return len(index.find(text)), True
        return expected_hits, bool(np.array_equal(index.match_ipv4(addresses), expected_mask))

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(64)))
    assert expected_hits == 6000
    assert all(r == (expected_hits, True) for r in results)


def test_one_builder_shared_by_threads_takes_every_call() -> None:
    # Each call takes the builder's lock with the GIL released: never a borrow error.
    builder = vedette.IndexBuilder()
    feeds = ["\n".join(f"host{t}-{i}.example" for i in range(20_000)).encode() for t in range(4)]

    def work(t: int) -> int:
        loaded = builder.load(feeds[t], source=f"feed{t}").loaded
        builder.add(f"added{t}.example")
        return loaded + len(builder)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(work, range(4)))
    assert all(r > 20_000 for r in results)
    assert len(builder) == 4 * 20_001
    index = builder.build()
    assert index.is_match("host3-19999.example") and index.is_match("added0.example")
