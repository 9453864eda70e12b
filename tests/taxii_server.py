"""A real TAXII 2.1 server for the tests: medallion with its memory backend, on 127.0.0.1,
which can be stopped and started again on its port, and whose request log says what
clients asked for. The fixtures are in conftest.py."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
            # api2 is listed but not served: discovery must report it and go on.
            "api_roots": [f"http://127.0.0.1:{port}/api1/", f"http://127.0.0.1:{port}/api2/"],
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
                taxii.poll(self.url, COLLECTION, user=USER, password=PASSWORD, limit=1, retries=0)
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


@dataclass
class Seen:
    """A request the gateway received."""

    at: float
    method: str
    path: str
    authorization: str | None


class Gateway:
    """An HTTP or HTTPS front of a medallion server, as a site puts one before its TAXII
    server: it can demand a bearer ``token`` (and then passes Basic credentials on), serve
    TLS with the ``tls`` context given (which may demand client certificates), and answer
    the requests it gets with ``answers`` first, in turn, each ``(status, headers, body)``,
    before it forwards the rest. ``seen`` lists every request it got."""

    def __init__(
        self,
        upstream: str,
        *,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        answers: list[tuple[int, dict[str, str], bytes]] | None = None,
    ) -> None:
        self.upstream = upstream.rstrip("/").rsplit("/", 1)[0]  # the server, not its root
        self.token, self.answers = token, list(answers or [])
        self.seen: list[Seen] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                gateway.handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                gateway.handle(self, self.rfile.read(length))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        port = self.server.server_address[1]
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{port}/api1/"
        self.root = f"{scheme}://127.0.0.1:{port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def handle(self, request: BaseHTTPRequestHandler, body: bytes | None) -> None:
        auth = request.headers.get("Authorization")
        self.seen.append(Seen(time.monotonic(), request.command, request.path, auth))
        if self.answers:
            self.reply(request, *self.answers.pop(0))
            return
        if self.token is not None:
            if auth != f"Bearer {self.token}":
                self.reply(request, 401, {}, b'{"title": "bad token"}')
                return
            auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("accept",)}
        headers["Content-Type"] = request.headers.get("Content-Type") or STIX
        if auth:
            headers["Authorization"] = auth
        forward = urllib.request.Request(
            self.upstream + request.path, data=body, headers=headers, method=request.command
        )
        try:
            with urllib.request.urlopen(forward, timeout=10) as answer:
                self.reply(request, answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as err:
            self.reply(request, err.code, dict(err.headers.items()), err.read())

    @staticmethod
    def reply(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in (
                "content-length",
                "transfer-encoding",
                "connection",
                "date",
                "server",
            ):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        request.wfile.write(body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_certificates(directory: Path) -> dict[str, Path]:
    """A test CA, a server certificate for 127.0.0.1 and a client certificate, both signed
    by it, and a second CA that signed neither, with the openssl tool: PEM files by name
    (``ca``, ``server``, ``server_key``, ``client``, ``client_key``, ``other_ca``)."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=directory, check=True, capture_output=True)

    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for ca in ("ca", "other_ca"):
        openssl(
            "req",
            "-x509",
            *ec,
            "-keyout",
            f"{ca}.key",
            "-out",
            f"{ca}.pem",
            "-days",
            "2",
            "-subj",
            f"/CN=vedette test {ca}",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        )
    for name, ext in (
        ("server", "subjectAltName=IP:127.0.0.1"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        (directory / f"{name}.ext").write_text(ext + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
        )
    return {
        "ca": directory / "ca.pem",
        "other_ca": directory / "other_ca.pem",
        "server": directory / "server.pem",
        "server_key": directory / "server.key",
        "client": directory / "client.pem",
        "client_key": directory / "client.key",
    }


def server_tls(files: dict[str, Path], *, client_certificates: bool) -> ssl.SSLContext:
    """A server's TLS context with the test certificate, demanding a client certificate
    signed by the test CA when asked to."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files["server"], files["server_key"])
    if client_certificates:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(files["ca"])
    return context
