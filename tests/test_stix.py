"""STIX bundles on the real samples, and the pattern subset against stix2-patterns."""

from __future__ import annotations

import json
import re

import pytest

import vedette

# The equality atoms the subset compiles, read here with a regex: path, then value.
ATOM = re.compile(r"([a-z0-9-]+:[A-Za-z0-9_.'-]+)\s*=\s*'((?:[^'\\]|\\.)*)'")
KIND_OF_PATH = {
    "ipv4-addr:value": "ipv4",
    "ipv6-addr:value": "ipv6",
    "domain-name:value": "domain",
    "url:value": "url",
    "email-addr:value": "email",
    "file:name": "string",
}


def reading(bundle: dict) -> set[tuple[str, str]]:
    """`(path kind, raw value)` of every `=` atom of every stix indicator."""
    atoms = set()
    for obj in bundle.get("objects", []):
        if obj.get("type") != "indicator" or obj.get("pattern_type", "stix") != "stix":
            continue
        if obj.get("revoked"):
            continue
        for path, value in ATOM.findall(obj["pattern"]):
            if path.endswith(".type"):
                continue
            if path.startswith("file:hashes."):
                atoms.add(("hash", value.lower()))
            elif path.startswith("network-traffic:"):
                atoms.add(("ip", value))
            elif path in KIND_OF_PATH:
                atoms.add((KIND_OF_PATH[path], value))
    return atoms


@pytest.mark.parametrize("folder", ["talos-stix20", "tweetfeed", "oasis-examples", "unit42-stix20"])
def test_real_bundles_agree_with_an_independent_reading(data, folder) -> None:
    for path in sorted((data / "stix" / folder).glob("*.json")):
        bundle = json.loads(path.read_text())
        if "objects" not in bundle:
            continue  # TweetFeed's manifest.json
        builder = vedette.IndexBuilder()
        report = builder.load(path)
        assert report.format == "stix", path.name
        assert "invalid pattern" not in report.skipped, (path.name, report.errors)
        index = builder.build()
        got = {(i.kind, i.value) for i in index.indicators()}
        hashes = {v for k, v in got if k in ("md5", "sha1", "sha256", "sha512")}
        for kind, value in reading(bundle):
            if kind == "hash":
                assert value in hashes, (path.name, value)
                continue
            try:
                found = index.lookup(value, None if kind == "ip" else kind)
            except vedette.IndicatorError:
                # Not a valid value of its kind: the load report counts it.
                assert any(r.startswith("invalid") for r in report.skipped), (path.name, value)
                continue
            assert found, (path.name, kind, value)


PATTERNS = [
    "[ipv4-addr:value = '198.51.100.1']",
    "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
    "[domain-name:value = 'evil.example' OR domain-name:value = 'bad.example']",
    "[domain-name:value IN ('a.example', 'b.example')]",
    "[url:value = 'http://evil.example/a?b=c']",
    "[email-addr:value = 'bad@evil.example']",
    "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
    "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND file:name = 'x.exe']",
    "[network-traffic:dst_ref.type = 'ipv4-addr' AND "
    "network-traffic:dst_ref.value = '203.0.113.7']",
    "[ipv4-addr:value = '1.2.3.4'] OR [domain-name:value = 'c.example']",
    "[email-message:from_ref.value = 'ceo@evil.example']",
    "[domain-name:value = 'it''s']",
    "[domain-name:value = 'evil.example'",
    "[domain-name:value MATCHES '^evil']",
    "[domain-name:value = 'a.example' AND domain-name:value = 'b.example']",
    "[ipv4-addr:value = '1.2.3.4'] FOLLOWEDBY [ipv4-addr:value = '5.6.7.8']",
    "[ipv4-addr:value = '1.2.3.4'] WITHIN 5 SECONDS",
    "[process:name = 'evil.exe']",
    "ipv4-addr:value = '1.2.3.4'",
    "[ipv4-addr:value != '1.2.3.4']",
]


def load_pattern(pattern: str) -> tuple[vedette.LoadReport, set[str]]:
    indicator = {
        "type": "indicator",
        "spec_version": "2.1",
        "id": "indicator--1",
        "created": "2026-01-01T00:00:00Z",
        "modified": "2026-01-01T00:00:00Z",
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
    }
    builder = vedette.IndexBuilder()
    report = builder.load(json.dumps({"type": "bundle", "objects": [indicator]}).encode())
    return report, {i.value for i in builder.build().indicators()}


@pytest.mark.parametrize("pattern", PATTERNS)
def test_subset_agrees_with_stix2_patterns(pattern) -> None:
    validator = pytest.importorskip("stix2patterns.validator")
    from stix2patterns.pattern import Pattern

    report, values = load_pattern(pattern)
    valid = not validator.run_validator(pattern)
    assert ("invalid pattern" not in report.skipped) == valid, (pattern, report.skipped)
    if not values:
        return
    # What we compiled is exactly the reference's equality/IN/ISSUBSET values.
    inspected = Pattern(pattern).inspect().comparisons
    theirs = set()
    for comparisons in inspected.values():
        for path, op, value in comparisons:
            if path[-1] == "type":
                continue
            literal = value[1:-1].replace("\\'", "'") if value.startswith("'") else value
            if op == "IN":
                theirs |= {v.strip().strip("'") for v in value.strip("()").split(",")}
            elif path[0] != "name" or op == "=":
                theirs.add(literal)
    canonical = {vedette.compile([v]).indicators()[0].value for v in theirs if "." in v}
    assert values <= canonical | theirs, (pattern, values, theirs)
