"""Sightings back to the feed: a live engine's counted hits as STIX 2.1 Sightings and MISP
sightings, and STIX objects posted to a real medallion collection."""

from __future__ import annotations

import vedette
from vedette import sightings

REF = "indicator--00000001-0000-4000-8000-000000000000"


def _counted() -> list[dict]:
    engine = vedette.Engine(sightings=True)
    engine.add("evil.example", source="alliance", ref=REF)
    engine.add("bad.example", source="list")
    for text in ["a.evil.example", "x evil.example y", "bad.example"]:
        engine.find(text)
    return engine.sightings(reset=True)


def test_to_stix_makes_sightings_of_stix_indicators() -> None:
    objects = sightings.to_stix(_counted(), sensor="sensor-1")
    identity, sighting = objects  # bad.example has no STIX ref: no Sighting
    assert identity["type"] == "identity" and identity["name"] == "sensor-1"
    assert identity == sightings.sensor_identity("sensor-1"), "a stable id per sensor"
    assert sighting["type"] == "sighting" and sighting["spec_version"] == "2.1"
    assert sighting["sighting_of_ref"] == REF and sighting["count"] == 2
    assert sighting["where_sighted_refs"] == [identity["id"]]
    assert sighting["first_seen"] <= sighting["last_seen"]
    assert sighting["id"].startswith("sighting--") and sighting["created"].endswith("Z")
    assert sightings.to_stix([], sensor="sensor-1") == []


def test_to_misp_makes_one_sighting_per_record() -> None:
    entries = sightings.to_misp(_counted(), source="sensor-1")
    assert sorted(e.get("value", e.get("uuid")) for e in entries) == ["bad.example", "evil.example"]
    assert all(e["type"] == "0" and e["source"] == "sensor-1" for e in entries)
    assert all(e["timestamp"].isdigit() for e in entries)
