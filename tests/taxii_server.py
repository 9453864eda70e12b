"""A real TAXII 2.1 server for the tests: medallion with its memory backend, on 127.0.0.1,
which can be stopped and started again on its port, and whose request log says what
clients asked for. The fixtures are in conftest.py."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from vedette import taxii
from vedette.exceptions import TaxiiError

COLLECTION = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
STIX = "application/stix+json;version=2.1"
USER, PASSWORD = "analyst", "s3cret"


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


#: What the server holds when it starts: a domain, an address and a hash.
INDICATORS = [
    indicator(1, "[domain-name:value = 'evil.example']", "2026-01-01T00:00:00.000Z"),
    indicator(2, "[ipv4-addr:value = '203.0.113.7']", "2026-01-01T00:00:00.000Z"),
    indicator(
        3,
        "[file:hashes.'SHA-256' = "
        "'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
        "2026-01-01T00:00:00.000Z",
    ),
]


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
    """A port nothing listens on (until someone binds it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Medallion:
    """A medallion process serving ``objects`` (and what is POSTed later, until it
    stops: the memory backend starts again from ``objects``)."""

    def __init__(self, directory: Path, objects: list[dict]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/api1/"
        self.log = directory / "medallion.log"
        self.process: subprocess.Popen[bytes] | None = None
        (directory / "data.json").write_text(json.dumps(server_data(self.port, objects)))
        self.config = directory / "config.json"
        backend = {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": str(directory / "data.json"),
        }
        config = {"backend": backend, "users": {USER: PASSWORD}, "taxii": {"max_page_size": 2}}
        self.config.write_text(json.dumps(config))

    def start(self, seconds: float = 20) -> None:
        """Starts the server and waits until it answers."""
        command = [shutil.which("medallion") or sys.executable, "--host", "127.0.0.1"]
        command += ["--port", str(self.port), str(self.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + seconds
        while True:
            try:
                taxii.poll(self.url, COLLECTION, user=USER, password=PASSWORD, limit=1)
                return
            except TaxiiError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    raise RuntimeError("medallion did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def requests(self) -> list[str]:
        """The request lines served so far (``GET /api1/...?added_after=... HTTP/1.1``)."""
        lines = self.log.read_text(errors="replace").splitlines()
        return [line.split('"')[1] for line in lines if line.count('"') >= 2]


def add_objects(url: str, objects: list[dict]) -> None:
    request = urllib.request.Request(
        f"{url}collections/{COLLECTION}/objects/",
        data=json.dumps({"objects": objects}).encode(),
        headers={
            "Content-Type": "application/taxii+json;version=2.1",
            "Accept": "application/taxii+json;version=2.1",
            "Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(),
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 202)
