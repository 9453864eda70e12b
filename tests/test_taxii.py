"""TAXII 2.1 against a real server: medallion with its memory backend, on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

import vedette
from vedette import taxii
from vedette.exceptions import TaxiiAuthError, TaxiiError

pytest.importorskip("medallion")

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
STIX = "application/stix+json;version=2.1"


def indicator(n: int, pattern: str, modified: str) -> dict:
    return {
        "type": "indicator",
        "spec_version": "2.1",
        "id": f"indicator--{n:08d}-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": modified,
        "pattern": pattern,
        "pattern_type": "stix",
        "valid_from": "2026-01-01T00:00:00Z",
        "labels": ["malicious-activity"],
    }


def server_data(port: int, objects: list[dict]) -> dict:
    manifest = [
        {
            "id": o["id"],
            "date_added": f"2026-01-0{n + 1}T00:00:00.000000Z",
            "version": o["modified"],
            "media_type": STIX,
        }
        for n, o in enumerate(objects)
    ]
    return {
        "/discovery": {
            "title": "test",
            "default": f"http://127.0.0.1:{port}/api1/",
            "api_roots": [f"http://127.0.0.1:{port}/api1/"],
        },
        "api1": {
            "information": {
                "title": "api1",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [
                {
                    "id": COLLECTION,
                    "title": "indicators",
                    "can_read": True,
                    "can_write": True,
                    "media_types": [STIX],
                    "objects": objects,
                    "manifest": manifest,
                }
            ],
        },
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A medallion TAXII 2.1 server with three indicators, stopped after the test."""
    port = free_port()
    objects = [
        indicator(1, "[domain-name:value = 'evil.example']", "2026-01-01T00:00:00.000Z"),
        indicator(2, "[ipv4-addr:value = '203.0.113.7']", "2026-01-01T00:00:00.000Z"),
        indicator(
            3,
            "[file:hashes.'SHA-256' = "
            "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
            "2026-01-01T00:00:00.000Z",
        ),
    ]
    (tmp_path / "data.json").write_text(json.dumps(server_data(port, objects)))
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "backend": {
                    "module": "medallion.backends.memory_backend",
                    "module_class": "MemoryBackend",
                    "filename": str(tmp_path / "data.json"),
                },
                "users": {"analyst": "s3cret"},
                "taxii": {"max_page_size": 2},
            }
        )
    )
    command = [
        shutil.which("medallion") or sys.executable,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        str(tmp_path / "config.json"),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/api1/"
    deadline = time.monotonic() + 20
    while True:
        try:
            taxii.poll(url, COLLECTION, user="analyst", password="s3cret", limit=1)
            break
        except TaxiiError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail("medallion did not start")
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def add_objects(url: str, objects: list[dict]) -> None:
    request = urllib.request.Request(
        f"{url}collections/{COLLECTION}/objects/",
        data=json.dumps({"objects": objects}).encode(),
        headers={
            "Content-Type": "application/taxii+json;version=2.1",
            "Accept": "application/taxii+json;version=2.1",
            "Authorization": "Basic " + base64.b64encode(b"analyst:s3cret").decode(),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 202)


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
