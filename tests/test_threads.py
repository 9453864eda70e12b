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
