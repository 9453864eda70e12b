"""TAXII 2.1 against a real server: medallion with its memory backend, on 127.0.0.1."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("medallion")

from taxii_server import COLLECTION, add_objects, free_port, indicator

import vedette
from vedette import taxii
from vedette.exceptions import TaxiiAuthError, TaxiiError


def test_poll_pages_through_the_collection(server) -> None:
    result = taxii.poll(server, COLLECTION, user="analyst", password="s3cret", limit=2)
    assert sorted(o["id"][:19] for o in result.objects) == [
        "indicator--00000001",
        "indicator--00000002",
        "indicator--00000003",
    ]
    assert result.pages >= 2
    assert result.checkpoint is not None


def test_new_indicator_shows_up_on_the_next_poll_and_matches(server) -> None:
    first = taxii.poll(server, COLLECTION, user="analyst", password="s3cret")
    add_objects(
        server, [indicator(4, "[domain-name:value = 'late.example']", "2026-02-01T00:00:00.000Z")]
    )
    second = taxii.poll(
        server, COLLECTION, user="analyst", password="s3cret", added_after=first.checkpoint
    )
    assert [o["id"][:19] for o in second.objects] == ["indicator--00000004"]

    builder = vedette.IndexBuilder()
    for result in (first, second):
        report = builder.load(result.bundle(), format="stix", source="taxii")
        assert sum(report.skipped.values()) == 0
    index = builder.build()
    hits = index.find("dns query a.late.example from 203.0.113.7")
    assert [(m.kind, m.indicators[0].ref) for m in hits] == [
        ("domain", "indicator--00000004-0000-4000-8000-000000000000"),
        ("ipv4", "indicator--00000002-0000-4000-8000-000000000000"),
    ]


def test_wrong_password_is_an_auth_error(server) -> None:
    with pytest.raises(TaxiiAuthError):
        taxii.poll(server, COLLECTION, user="analyst", password="wrong")


def test_unknown_collection_and_dead_server(server) -> None:
    with pytest.raises(TaxiiError, match="404"):
        taxii.poll(server, "no-such-collection", user="analyst", password="s3cret")
    with pytest.raises(TaxiiError):
        taxii.poll(f"http://127.0.0.1:{free_port()}/api1/", COLLECTION, timeout=2)


def test_cli_scans_with_a_taxii_collection(server, tmp_path, capfd) -> None:
    from vedette.cli import main

    log = tmp_path / "dns.log"
    log.write_text("query www.evil.example A\nquery benign.example A\n")
    argv = [
        "scan",
        "--taxii",
        server,
        "--collection",
        COLLECTION,
        "--taxii-user",
        "analyst",
        "--taxii-password",
        "s3cret",
        str(log),
    ]
    assert main(argv) == 0
    out, err = capfd.readouterr()
    hits = [json.loads(line) for line in out.splitlines()]
    assert [(h["line"], h["observed"], h["indicators"][0]["source"]) for h in hits] == [
        (1, "www.evil.example", "127.0.0.1")
    ]
    assert "checkpoint" in err


def test_publish_posts_sightings_to_the_collection(server) -> None:
    from vedette import sightings

    engine = vedette.Engine(sightings=True)
    ref = "indicator--00000001-0000-4000-8000-000000000000"
    engine.add("evil.example", source="alliance", ref=ref)
    engine.find("a.evil.example b.evil.example")
    objects = sightings.to_stix(engine.sightings(), sensor="sensor-1")
    status = taxii.publish(server, COLLECTION, objects, user="analyst", password="s3cret")
    assert status.get("success_count") == len(objects) == 2
    posted = taxii.poll(server, COLLECTION, user="analyst", password="s3cret").objects
    (sighting,) = [o for o in posted if o["type"] == "sighting"]
    assert (sighting["sighting_of_ref"], sighting["count"]) == (ref, 2)  # two hosts, two hits
    assert any(o["type"] == "identity" and o["name"] == "sensor-1" for o in posted)
