"""Feed formats end to end on the real samples, each checked against an independent
reading written here in plain Python."""

from __future__ import annotations

import collections
import json

import vedette
from vedette.cli import main

ZEEK_KINDS = {
    "Intel::DOMAIN": "domain",
    "Intel::URL": "url",
    "Intel::EMAIL": "email",
    "Intel::FILE_NAME": "string",
    "Intel::SOFTWARE": "string",
    "Intel::USER_NAME": "string",
}
HASH_BY_LEN = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}


def zeek_reading(path) -> collections.Counter:
    """Rows per kind of a Zeek intel file, by its `#fields` header."""
    counts: collections.Counter = collections.Counter()
    columns: list[str] = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#fields"):
            columns = line.split("\t")[1:]
            continue
        if not line or line.startswith("#"):
            continue
        row = dict(zip(columns, line.split("\t"), strict=False))
        value, kind = row["indicator"], row["indicator_type"]
        if kind in ("Intel::ADDR", "Intel::SUBNET"):
            counts["ipv6" if ":" in value else "ipv4"] += 1
        elif kind in ("Intel::FILE_HASH", "Intel::CERT_HASH"):
            counts[HASH_BY_LEN[len(value)]] += 1
        else:
            counts[ZEEK_KINDS[kind]] += 1
    return counts


def test_zeek_intel_files(data) -> None:
    for path in sorted((data / "zeek/intel").glob("*.intel")):
        builder = vedette.IndexBuilder()
        report = builder.load(path)
        assert report.format == "zeek", path.name
        want = zeek_reading(path)
        assert report.loaded + sum(report.skipped.values()) == sum(want.values()), path.name
        # Records are loaded per row; bad rows (a URL filed as DOMAIN) are named, not lost.
        assert report.loaded >= sum(want.values()) - 3, (path.name, report.skipped)


def test_zeek_export_round_trip(tmp_path, capsys) -> None:
    feed = tmp_path / "feed.txt"
    feed.write_text("evil.example\n10.0.0.5-10.0.0.6\nhttp://bad.example/x\n2001:db8::/32\n")
    out = tmp_path / "out.intel"
    assert main(["export", str(feed), "-o", str(out)]) == 0
    lines = [line.split("\t")[:2] for line in out.read_text().splitlines()[1:]]
    assert lines == [
        ["evil.example", "Intel::DOMAIN"],
        ["10.0.0.5", "Intel::ADDR"],
        ["10.0.0.6", "Intel::ADDR"],
        ["bad.example/x", "Intel::URL"],
        ["2001:db8::/32", "Intel::SUBNET"],
    ]
    again = vedette.IndexBuilder()
    assert again.load(out).loaded == 5


def misp_reading(event_file) -> collections.Counter:
    """`to_ids` attributes per MISP type, objects included."""
    doc = json.loads(event_file.read_text())
    events = [e.get("Event", e) for e in doc.get("response", [doc])]
    counts: collections.Counter = collections.Counter()
    for event in events:
        attributes = list(event.get("Attribute", []))
        for obj in event.get("Object", []):
            attributes.extend(obj.get("Attribute", []))
        for attribute in attributes:
            if attribute.get("to_ids") in (True, "1", 1):
                counts[attribute["type"]] += 1
    return counts


SINGLE = {
    "ip-src",
    "ip-dst",
    "domain",
    "hostname",
    "url",
    "uri",
    "filename",
    "user-agent",
    "mutex",
    "email",
    "email-src",
    "email-dst",
    "email-reply-to",
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "ip-src|port",
    "ip-dst|port",
    "hostname|port",
}
DOUBLE = {
    "domain|ip",
    "filename|md5",
    "filename|sha1",
    "filename|sha224",
    "filename|sha256",
    "filename|sha384",
    "filename|sha512",
}


def test_misp_events(data) -> None:
    for path in sorted((data / "misp/eset-events").glob("*.json")):
        builder = vedette.IndexBuilder()
        report = builder.load(path)
        assert report.format == "misp", path.name
        want = misp_reading(path)
        records = sum(n for t, n in want.items() if t in SINGLE)
        records += 2 * sum(n for t, n in want.items() if t in DOUBLE)
        invalid = sum(n for reason, n in report.skipped.items() if reason.startswith("invalid"))
        assert report.loaded + invalid == records, (path.name, report.skipped)
        unsupported = sum(n for t, n in want.items() if t not in SINGLE | DOUBLE)
        assert (
            sum(n for r, n in report.skipped.items() if r.startswith("unsupported")) == unsupported
        )


def test_misp_feed_directory_reports_missing_events(data) -> None:
    feed = data / "misp/tweetfeed-feed"
    manifest = json.loads((feed / "manifest.json").read_text())
    present = [uuid for uuid in manifest if (feed / f"{uuid}.json").exists()]
    report = vedette.IndexBuilder().load(feed)
    assert report.skipped["missing event file"] == len(manifest) - len(present)
    want = sum(sum(misp_reading(feed / f"{uuid}.json").values()) for uuid in present)
    assert (
        report.loaded + sum(n for r, n in report.skipped.items() if r.startswith("invalid")) == want
    )


def test_to_ids_false_is_kept_on_request() -> None:
    event = {
        "Event": {
            "info": "x",
            "Attribute": [
                {"type": "domain", "value": "a.example", "to_ids": False, "uuid": "u1"},
                {"type": "ip-dst", "value": "192.0.2.1", "to_ids": True, "uuid": "u2"},
            ],
        }
    }
    data = json.dumps(event).encode()
    default = vedette.IndexBuilder()
    assert default.load(data, strict=True).skipped == {"to_ids false": 1}
    keep = vedette.IndexBuilder()
    assert keep.load(data, keep_non_ids=True).loaded == 2


def test_public_suffix_domains_are_counted() -> None:
    builder = vedette.IndexBuilder()
    report = builder.load(b"duckdns.org\nevil.duckdns.org\ngithub.io\n")
    assert (report.loaded, report.public_suffix_domains) == (3, 2)
    assert builder.build().is_match("http://anyone.duckdns.org/")
