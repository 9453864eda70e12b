"""The Python surface: arguments, results and metadata are wired through."""

from __future__ import annotations

import gc
from datetime import datetime, timedelta, timezone

import pytest

import vedette


def build(*specs: tuple[str, dict]) -> vedette.Index:
    builder = vedette.IndexBuilder()
    for value, kwargs in specs:
        builder.add(value, **kwargs)
    return builder.build()


def test_find_bytes_gives_byte_offsets() -> None:
    index = vedette.compile(["evil.example", "203.0.113.0/24"])
    hits = index.find(b"GET http://a.evil.example/x from 203.0.113.9")
    assert [(m.start, m.end, m.kind) for m in hits] == [(11, 25, "domain"), (33, 44, "ipv4")]
    assert [i.value for i in hits[1].indicators] == ["203.0.113.0/24"]


def test_find_str_gives_character_offsets() -> None:
    index = vedette.compile(["evil.example"])
    text = "ünïcödé → evil.example ←"
    [m] = index.find(text)
    assert text[m.start : m.end] == "evil.example"
    [b] = index.find(text.encode())
    assert (b.start, b.end) != (m.start, m.end)


def test_metadata_of_every_source_is_reported() -> None:
    index = build(
        ("evil.example", {"source": "a", "confidence": 80, "tags": ["c2"], "ref": "indicator--1"}),
        ("EVIL.example.", {"source": "b", "tlp": "amber+strict", "description": "seen"}),
        ("evil.example", {"source": "a", "confidence": 80, "tags": ["c2"], "ref": "indicator--1"}),
    )
    assert len(index) == 1
    [m] = index.find("evil.example")
    got = sorted(
        (i.source, i.confidence, i.tlp, i.tags, i.ref, i.description) for i in m.indicators
    )
    assert got == [
        ("a", 80, None, ["c2"], "indicator--1", None),
        ("b", None, "amber+strict", [], None, "seen"),
    ]
    assert {i.kind for i in m.indicators} == {"domain"}


def test_validity_window_is_honoured() -> None:
    index = build(
        (
            "evil.example",
            {
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": datetime(2027, 1, 1, tzinfo=timezone.utc),
            },
        )
    )
    assert index.find("evil.example", at="2026-06-01T00:00:00Z")
    assert not index.find("evil.example", at="2025-12-31T23:59:59Z")
    assert not index.find(
        "evil.example", at=datetime(2027, 1, 1)
    )  # naive = UTC; until is exclusive
    assert index.is_match("evil.example", at=1_767_225_600)  # 2026-01-01 as Unix seconds
    [i] = index.indicators()
    assert i.valid_from == datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert i.valid_until == datetime(2027, 1, 1, tzinfo=timezone.utc)


def test_time_defaults_to_now() -> None:
    now = datetime.now(timezone.utc)
    day = timedelta(days=1)
    index = build(
        ("expired.example", {"valid_until": now - day}),
        ("current.example", {"valid_from": now - day, "valid_until": now + day}),
    )
    text = "expired.example current.example"

    def found(**at: datetime) -> list[str]:
        return [i.value for m in index.find(text, **at) for i in m.indicators]

    assert found() == ["current.example"]
    assert found(at=now - 2 * day) == ["expired.example"]
    assert index.is_match("current.example") and not index.is_match("expired.example")


def test_lookup_walks_parents_and_networks() -> None:
    index = build(
        ("evil.example", {}),
        ("mail.evil.example", {"kind": "hostname"}),
        ("10.0.0.0/8", {}),
        ("10.1.0.0/16", {}),
        ("http://evil.example/a", {}),
    )
    assert {i.value for i in index.lookup("x.mail.evil.example")} == {"evil.example"}
    assert {i.value for i in index.lookup("MAIL.evil.example.")} == {
        "evil.example",
        "mail.evil.example",
    }
    assert {i.value for i in index.lookup("10.1.2.3")} == {"10.0.0.0/8", "10.1.0.0/16"}
    assert {i.value for i in index.lookup("HTTP://Evil.Example:80/a#x")} == {"evil.example/a"}
    assert index.lookup("8.8.8.8") == []


def test_indicators_and_stats() -> None:
    index = vedette.compile(
        ["evil.example", "1.2.3.4", "2001:db8::/32", "d41d8cd98f00b204e9800998ecf8427e"]
    )
    records = index.indicators()
    assert [i.id for i in records] == list(range(len(records)))
    assert index.indicator(records[1].id).value == records[1].value
    with pytest.raises(IndexError):
        index.indicator(99)
    stats = index.stats()
    assert stats["entries"] == 4 and stats["records"] == 4
    assert stats["kinds"] == {"ipv4": 1, "ipv6": 1, "domain": 1, "md5": 1}
    assert all(isinstance(v, int) for v in stats["memory"].values())


def test_load_report_from_bytes() -> None:
    builder = vedette.IndexBuilder()
    report = builder.load(
        b"# comment\n1.2.3.4\n010.1.1.1\nevil[.]example\nip addresses:\n", source="feed"
    )
    assert report.format == "lines"
    assert report.loaded == 2
    assert sum(report.skipped.values()) == 2
    assert [line for line, _, _ in report.errors] == [3, 5]
    index = builder.build()
    assert {(i.value, i.source) for i in index.indicators()} == {
        ("1.2.3.4", "feed"),
        ("evil.example", "feed"),
    }


def test_reprs_are_python_reprs() -> None:
    builder = vedette.IndexBuilder()
    start = datetime(2027, 1, 1, tzinfo=timezone.utc)
    builder.add("evil.example", source="etisp", confidence=80, tags=["c2"], valid_from=start)
    report = builder.load(b"1.2.3.4\n010.1.1.1\n", source="feed")
    [hit] = builder.build().find("x.evil.example", at=start)
    [indicator] = hit.indicators
    assert repr(indicator).startswith("Indicator(id=0, value='evil.example', kind='domain', ")
    assert "source='etisp', ref=None, confidence=80, tlp=None, tags=['c2'], " in repr(indicator)
    assert f"valid_from={start!r}, valid_until=None, description=None)" in repr(indicator)
    assert repr(hit) == f"Match(start=0, end=14, kind='domain', indicators=[{indicator!r}])"
    assert repr(report).startswith("LoadReport(name='<bytes>', format='lines', loaded=1, ")
    assert "skipped={'invalid ipv4': 1}, errors=[(2, 'invalid ipv4', " in repr(report)
    assert all("Some(" not in repr(obj) for obj in (indicator, hit, report))


def test_allowlists_suppress_and_overrides_keep() -> None:
    builder = vedette.IndexBuilder()
    for value in ["evil.example", "cdn.benign.example", "10.1.2.3", "203.0.113.9"]:
        builder.add(value)
    builder.add("bad.benign.example", override_allowlist=True)
    assert builder.allow(["benign.example", "10.0.0.0/8", "010.1.1.1"], name="mine") == 1
    assert builder.suppressed() == {"mine": 2}
    index = builder.build()
    assert sorted(i.value for i in index.indicators()) == [
        "203.0.113.9",
        "bad.benign.example",
        "evil.example",
    ]


def test_real_warninglist_suppresses_a_real_false_positive(data) -> None:
    """Data README case 4: Phishing.Database lists s3.us-east-1.amazonaws.com."""
    builder = vedette.IndexBuilder()
    builder.load(data / "feeds/phishing/phishing-domains-ACTIVE2.txt")
    with_fp = builder.build()
    assert with_fp.lookup("s3.us-east-1.amazonaws.com")
    builder.allow(data / "misp/warninglists/tranco10k.json")
    builder.allow(data / "misp/warninglists/rfc1918.json")
    suppressed = builder.suppressed()
    index = builder.build()
    assert not index.lookup("s3.us-east-1.amazonaws.com")
    assert sum(suppressed.values()) == len(with_fp) - len(index) > 0
    # Each list is counted under its own name; the phishing list holds no RFC 1918 value.
    assert suppressed["Top 10K most-used sites from Tranco"] > 0
    assert suppressed["List of RFC 1918 CIDR blocks"] == 0


def test_matches_are_cheap_to_keep() -> None:
    # A scan of real logs returns a hundred thousand of them: tracked, they set the
    # collector traversing them again and again.
    index = vedette.compile(["evil.example", "10.0.0.0/8"])
    matches = index.find(b"evil.example 10.1.2.3 " * 1000)
    assert len(matches) == 2000
    assert not any(gc.is_tracked(m) for m in matches)
    assert matches[0].indicators[0].value == "evil.example"
    # Most log lines have no match: they get the one empty tuple, nothing allocated.
    assert type(matches) is tuple and index.find(b"nothing here") == ()


def test_scan_inputs_are_the_files_a_scan_reads(tmp_path) -> None:
    (tmp_path / "logs/b").mkdir(parents=True)
    for name in ["logs/b/z.log", "logs/a.log", "logs/c.log.gz"]:
        (tmp_path / name).write_text("evil.example\n")
    logs, missing = str(tmp_path / "logs"), str(tmp_path / "missing.log")
    inputs, errors = vedette.scan_inputs([logs, "-", missing])
    # Names as the hits give them: the directory as given, its entries by name, below it.
    assert inputs == [f"{logs}/a.log", f"{logs}/b/z.log", f"{logs}/c.log.gz", "-"]
    [(file, category, message)] = errors
    assert (file, category) == (missing, "unreadable") and "no such file" in message
    scan = vedette.compile(["evil.example"]).scan_files([logs])
    assert [hit.file for hit in scan] == inputs[:3]


def test_every_public_name_is_there() -> None:
    missing = [name for name in vedette.__all__ if not hasattr(vedette, name)]
    assert missing == []
