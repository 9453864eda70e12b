"""TAXII 2.1 against a real server: medallion with its memory backend, on 127.0.0.1."""

from __future__ import annotations

import json
import time

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


# --- discovery, filters, credentials, TLS, retries -----------------------------------


@pytest.fixture
def gateway(server):
    """Makes a Gateway in front of the medallion server; closes them all after the test."""
    from taxii_server import Gateway

    made: list[Gateway] = []

    def make(**kwargs) -> Gateway:
        made.append(Gateway(server, **kwargs))
        return made[-1]

    yield make
    for g in made:
        g.close()


@pytest.fixture(scope="module")
def certificates(tmp_path_factory):
    import shutil

    from taxii_server import make_certificates

    if shutil.which("openssl") is None:
        pytest.skip("the openssl tool is not installed")
    return make_certificates(tmp_path_factory.mktemp("tls"))


def test_discover_lists_roots_and_collections(server) -> None:
    host = server.removesuffix("api1/")
    found = taxii.discover(host, user="analyst", password="s3cret")
    assert (found.url, found.title, found.default) == (host + "taxii2/", "test", server)
    api1, api2 = found.api_roots
    assert (api1.url, api1.title, api1.error) == (server, "api1", None)
    assert api1.versions == ("application/taxii+json;version=2.1",)
    (collection,) = api1.collections
    assert (collection.id, collection.title) == (COLLECTION, "indicators")
    assert collection.can_read and collection.can_write
    assert taxii.collections(server, user="analyst", password="s3cret") == [collection]
    # A listed root the server does not serve is named with its error; the other stays.
    assert api2.url == host + "api2/" and api2.collections == ()
    assert api2.error is not None and "404" in api2.error


def test_cli_discover(server, capfd) -> None:
    from vedette.cli import main

    host = server.removesuffix("api1/")
    assert main(["discover", host, "--taxii-user", "analyst", "--taxii-password", "s3cret"]) == 0
    out = capfd.readouterr().out.splitlines()
    assert out[0] == f"{host}taxii2/  test"
    assert out[1] == f"  {server}  api1  (default)"
    assert out[2] == f"    {COLLECTION}  rw  indicators"
    assert out[3] == f"  {host}api2/"
    assert out[4].startswith("    error: no such TAXII API root")


def test_filters_by_type_and_id(medallion_server) -> None:
    server = medallion_server.url
    malware = {
        "type": "malware",
        "spec_version": "2.1",
        "id": "malware--00000009-0000-4000-8000-000000000000",
        "created": "2026-01-01T00:00:00.000Z",
        "modified": "2026-01-01T00:00:00.000Z",
        "name": "dropper",
        "is_family": False,
    }
    add_objects(server, [malware])
    auth = {"user": "analyst", "password": "s3cret"}
    everything = taxii.poll(server, COLLECTION, **auth)
    indicators = taxii.poll(server, COLLECTION, types=taxii.READ_TYPES, **auth)
    assert everything.count == 4 and indicators.count == 3
    assert {o["type"] for o in indicators.objects} == {"indicator"}
    one = "indicator--00000002-0000-4000-8000-000000000000"
    picked = taxii.poll(server, COLLECTION, ids=[one, malware["id"]], types=["malware"], **auth)
    assert [o["id"] for o in picked.objects] == [malware["id"]]
    asked = [r for r in medallion_server.requests() if "match" in r]
    # The server's log shows the query decoded.
    assert any("&match[type]=indicator,identity,marking-definition" in r for r in asked)
    assert any(f"&match[id]={one},malware--" in r for r in asked)
    with pytest.raises(TypeError, match="sequence"):
        taxii.poll(server, COLLECTION, types="indicator", **auth)  # type: ignore[arg-type]


def test_pages_reach_the_core_as_bytes(server) -> None:
    result = taxii.poll(server, COLLECTION, user="analyst", password="s3cret", limit=2)
    assert (result.pages, result.count) == (2, 3)
    report = vedette.IndexBuilder().load(result.bundle(), format="stix")
    assert report.loaded == 3
    assert json.loads(result.bundle())["objects"] == result.objects


def test_a_page_that_is_not_an_envelope_is_an_error(gateway) -> None:
    front = gateway(answers=[(200, {"Content-Type": "application/json"}, b"[1, 2]")])
    with pytest.raises(TaxiiError, match="no envelope"):
        taxii.poll(front.url, COLLECTION, user="analyst", password="s3cret")


def test_bearer_token(gateway) -> None:
    front = gateway(token="t0k3n")
    result = taxii.poll(front.url, COLLECTION, token="t0k3n")
    assert result.count == 3
    assert front.seen[0].authorization == "Bearer t0k3n"
    with pytest.raises(TaxiiAuthError):
        taxii.poll(front.url, COLLECTION, token="wrong")
    with pytest.raises(ValueError, match="not both"):
        taxii.poll(front.url, COLLECTION, token="t0k3n", user="analyst")


def test_tls_with_a_ca_bundle_and_a_client_certificate(gateway, certificates) -> None:
    from taxii_server import server_tls

    front = gateway(tls=server_tls(certificates, client_certificates=True))
    assert front.url.startswith("https://")
    mine = {
        "ca_file": certificates["ca"],
        "cert_file": certificates["client"],
        "key_file": certificates["client_key"],
    }
    result = taxii.poll(front.url, COLLECTION, user="analyst", password="s3cret", **mine)
    assert result.count == 3
    # The server's certificate is signed by a CA the system does not know, nor the other.
    for ca in (None, certificates["other_ca"]):
        with pytest.raises(TaxiiError, match="TLS"):
            taxii.poll(
                front.url,
                COLLECTION,
                ca_file=ca,
                cert_file=certificates["client"],
                key_file=certificates["client_key"],
                retries=0,
            )
    # A server that asks for no client certificate: the CA bundle is enough, and needed.
    server_only = gateway(tls=server_tls(certificates, client_certificates=False))
    auth = {"user": "analyst", "password": "s3cret"}
    assert taxii.poll(server_only.url, COLLECTION, ca_file=certificates["ca"], **auth).count == 3
    with pytest.raises(TaxiiError, match="CERTIFICATE_VERIFY_FAILED"):
        taxii.poll(server_only.url, COLLECTION, retries=0)  # the system's CAs only
    # No client certificate: the server ends the handshake.
    with pytest.raises(TaxiiError):
        taxii.poll(front.url, COLLECTION, ca_file=certificates["ca"], retries=0)
    with pytest.raises(TaxiiError, match="certificates"):
        taxii.poll(front.url, COLLECTION, ca_file=certificates["ca"] / "missing")


def test_retries_honour_retry_after(gateway) -> None:
    front = gateway(answers=[(429, {"Retry-After": "1"}, b"slow down"), (503, {}, b"busy")])
    result = taxii.poll(front.url, COLLECTION, user="analyst", password="s3cret", backoff=0.05)
    assert result.count == 3
    first, second, third = front.seen[:3]
    assert second.at - first.at >= 0.95  # the server's Retry-After, not the backoff
    assert 0.05 <= third.at - second.at < 0.9  # the backoff: no Retry-After this time


def test_retries_give_up(gateway) -> None:
    front = gateway(answers=[(502, {}, b"")] * 3)
    with pytest.raises(TaxiiError, match=r"502 .* \(after 3 attempts\)"):
        taxii.poll(front.url, COLLECTION, retries=2, backoff=0.01)
    assert len(front.seen) == 3
    front = gateway(answers=[(429, {"Retry-After": "3600"}, b"")])
    with pytest.raises(TaxiiError, match="max_retry_wait"):
        taxii.poll(front.url, COLLECTION)
    assert len(front.seen) == 1
    front = gateway(answers=[(400, {}, b"")])
    with pytest.raises(TaxiiError, match="400"):
        taxii.poll(front.url, COLLECTION, backoff=0.01)
    assert len(front.seen) == 1  # a client error is not asked again


def test_retry_after_as_a_date() -> None:
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    from vedette.taxii import _retry_after

    later = datetime.now(timezone.utc) + timedelta(seconds=30)
    assert 25 < (_retry_after(format_datetime(later, usegmt=True)) or 0) <= 30
    assert _retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert _retry_after("7") == 7.0
    assert _retry_after("soon") is None and _retry_after(None) is None


def test_poller_with_a_token_and_close_during_a_retry(gateway) -> None:
    front = gateway(token="t0k3n")
    with vedette.Engine() as engine:
        poller = engine.poll_taxii(front.url, COLLECTION, token="t0k3n", interval=60)
        deadline = time.monotonic() + 20
        while poller.polls == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert poller.last_error is None and len(engine) == 3
        asked = [s.path for s in front.seen]
        assert all("match%5Btype%5D=indicator" in p for p in asked)
    slow = gateway(answers=[(503, {"Retry-After": "60"}, b"")])
    engine = vedette.Engine()
    poller = engine.poll_taxii(slow.url, COLLECTION, token="t0k3n")
    while not slow.seen:
        time.sleep(0.02)
    started = time.monotonic()
    engine.close()  # the poller waits out no Retry-After
    assert time.monotonic() - started < 5
    assert not poller.is_alive()
