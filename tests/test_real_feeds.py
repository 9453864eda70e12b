"""Every URL and domain that a real feed loads is found in a line of the traffic it names.

A loaded indicator that no text can match is dead weight in a block list. Each URL is
put in a request line as the feed lists it (`GET <url> HTTP/1.1`), each domain in a DNS
query line (`query <domain> A`), and `Index.find` must report that very indicator.

`feeds/tweetfeed/month.csv` is not here: it has no header row, so it loads as a plain
list of its first column (dates) and gives no indicator.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

import vedette

#: (id, file under the data dir, layout of its raw values, kinds it lists)
FEEDS = [
    ("phishing-links", "feeds/phishing/phishing-links-INACTIVE1.txt.gz", "lines", "url"),
    ("phishing-domains", "feeds/phishing/phishing-domains-ACTIVE2.txt", "lines", "domain"),
    ("tweetfeed-urls", "feeds/tweetfeed/blocklist_urls.txt", "lines", "url"),
    ("tweetfeed-domains", "feeds/tweetfeed/blocklist_domains.txt", "lines", "domain"),
    ("unit42-coin-mining", "feeds/unit42/coin_mining_urls_in_pandb.txt", "lines", "url domain"),
    ("unit42-scam-js", "feeds/unit42/scam_js_urls_in_pandb.txt", "lines", "url domain"),
    ("zeek-openphish", "zeek/intel/openphish.intel", "zeek", "url"),
    ("zeek-cps", "zeek/intel/cps-collected-iocs.intel", "zeek", "url domain"),
]
ZEEK_KINDS = {"Intel::URL": "url", "Intel::DOMAIN": "domain"}
#: Failures listed in an assertion message; the count covers them all.
SHOWN = 20


def text_of(path: Path) -> str:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def raw_values(path: Path, layout: str) -> Iterator[tuple[str, str | None]]:
    """Each value as the feed lists it, with the kind the feed files it under (None: a
    plain list, whose kinds are inferred)."""
    text = text_of(path)
    assert layout in ("lines", "zeek"), layout
    if layout == "lines":
        for line in text.splitlines():
            fields = line.split()
            if fields and not fields[0].startswith(("#", ";", "//")):
                yield fields[0], None
    else:
        columns: list[str] = []
        for line in text.splitlines():
            if line.startswith("#fields"):
                columns = line.split("\t")[1:]
            elif line and not line.startswith("#"):
                row = dict(zip(columns, line.split("\t"), strict=False))
                if row["indicator_type"] in ZEEK_KINDS:
                    yield row["indicator"], ZEEK_KINDS[row["indicator_type"]]


def loaded(data: Path, name: str) -> vedette.Index:
    builder = vedette.IndexBuilder()
    builder.load(data / name)
    return builder.build()


def request_line(raw: str, url: str) -> str:
    """A request for the URL `raw` as a client sends it: an IDN host as its A-label, the
    only form of a host name that text holds (the canonical form `url` has it)."""
    host = raw.partition("://")[2] or raw
    for end in "/?#":
        host = host.partition(end)[0]
    return f"GET {raw if host.isascii() else 'http://' + url} HTTP/1.1"


def found(index: vedette.Index, line: str, kind: str, value: str) -> bool:
    return any(
        m.kind == kind and any(i.value == value for i in m.indicators) for m in index.find(line)
    )


def failure_message(what: str, failures: list[str], total: int) -> str:
    shown = "\n".join(failures[:SHOWN])
    return f"{len(failures)} of {total} loaded {what} not found; the first {SHOWN}:\n{shown}"


def feeds_listing(kind: str) -> list:
    return [pytest.param(f, lay, id=i) for i, f, lay, kinds in FEEDS if kind in kinds.split()]


@pytest.mark.parametrize(("name", "layout"), feeds_listing("url"))
def test_every_loaded_url_is_found_as_listed(data: Path, name: str, layout: str) -> None:
    index = loaded(data, name)
    urls = {i.value for i in index.indicators() if i.kind == "url"}
    assert urls, f"{name} loads no url"
    # The listed spelling of each loaded URL: lookup puts it in canonical form.
    listed: dict[str, str] = {}
    for raw, kind in raw_values(data / name, layout):
        try:
            hits = index.lookup(raw, kind)
        except ValueError:
            continue  # a bad record, not loaded
        for indicator in hits:
            if indicator.kind == "url":
                listed.setdefault(indicator.value, raw)
    missed = sorted(urls - set(listed))[:SHOWN]
    assert set(listed) == urls, f"loaded urls this reading misses: {missed}"
    failures = [
        f"{line!r} (url {url!r})"
        for url, raw in sorted(listed.items())
        if not found(index, line := request_line(raw, url), "url", url)
    ]
    assert not failures, failure_message("urls", failures, len(urls))


@pytest.mark.parametrize(("name", "layout"), feeds_listing("domain"))
def test_every_loaded_domain_is_found_in_a_query(data: Path, name: str, layout: str) -> None:
    index = loaded(data, name)
    domains = sorted({i.value for i in index.indicators() if i.kind == "domain"})
    assert domains, f"{name} loads no domain"
    failures = [
        f"{line!r}"
        for domain in domains
        if not found(index, line := f"query {domain} A", "domain", domain)
    ]
    assert not failures, failure_message("domains", failures, len(domains))
