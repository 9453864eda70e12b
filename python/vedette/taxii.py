"""A TAXII 2.1 client: discover API roots and collections, poll a collection's objects
page by page (filtered by type or id), resume from a checkpoint, publish objects.

Network I/O lives here, in Python; the pages go to the core's STIX reader as the bytes the
server sent (the core finds each page's ``more``, ``next`` and objects without building
them), never parsed into Python objects on the way::

    vedette.taxii.discover("https://taxii.example/taxii2/", token="...")  # roots, collections
    result = vedette.taxii.poll("https://taxii.example/api1/", "collection-id",
                                user="me", password="secret", types=taxii.READ_TYPES)
    builder.load(result.bundle(), format="stix", source="taxii.example")
    later = vedette.taxii.poll(..., added_after=result.checkpoint)   # only what is new

The checkpoint is the server's ``X-TAXII-Date-Added-Last`` of the last page: the
``date_added`` of the newest object seen, which is what ``added_after`` compares with.

Every function takes the connection's options as keywords (``Options``): Basic
credentials (``user``, ``password``) or a bearer ``token``; a CA bundle (``ca_file``)
and a client certificate (``cert_file``, ``key_file``) for TLS; ``timeout``; and how a
request that meets 429, a 5xx answer or a dropped connection is retried: ``retries``
times, after ``backoff`` seconds doubled at each attempt, or after the server's
``Retry-After`` when it sends one, never longer than ``max_retry_wait``.

Why not taxii2-client as a backend: it parses every page into Python dicts (what this
client avoids: a million indicators are a few seconds of ``json`` and the memory of
their dicts), brings ``requests`` with it, and adds nothing the core needs beyond what is
here: discovery, filters, paging, both kinds of credentials, TLS and retries. A caller
who has a taxii2-client session can still hand its envelopes to ``IndexBuilder.load``.
"""

from __future__ import annotations

import base64
import email.utils
import http.client
import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypedDict

from vedette import _core
from vedette.exceptions import TaxiiAuthError, TaxiiError

if TYPE_CHECKING:
    from typing_extensions import Unpack

MEDIA_TYPE = "application/taxii+json;version=2.1"

#: The object types the STIX reader uses: indicators give records, identities name their
#: creators, marking definitions give their TLP. ``match[type]`` of these leaves out the
#: reports, malware, relationships and sightings a collection also holds.
READ_TYPES = ("indicator", "identity", "marking-definition")

#: HTTP answers worth asking again: rate limiting and the server's passing troubles.
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


class Options(TypedDict, total=False):
    """How to reach a TAXII server; every key is optional."""

    #: Basic credentials.
    user: str | None
    password: str | None
    #: A bearer token (``Authorization: Bearer ...``), instead of Basic credentials.
    token: str | None
    #: CA certificates (PEM) to verify the server with, instead of the system's.
    ca_file: str | os.PathLike[str] | None
    #: A client certificate (PEM), and its key when the certificate file lacks it.
    cert_file: str | os.PathLike[str] | None
    key_file: str | os.PathLike[str] | None
    #: Seconds to wait for each answer: 30 by default.
    timeout: float
    #: Attempts after the first for 429, 5xx and dropped connections: 3 by default.
    retries: int
    #: The first wait before a retry, doubled at each: 1 s by default.
    backoff: float
    #: The longest wait before a retry: 120 s by default; a longer ``Retry-After`` fails.
    max_retry_wait: float


@dataclass(frozen=True)
class Collection:
    """A collection of an API root, as its server describes it."""

    id: str
    title: str
    description: str | None
    can_read: bool
    can_write: bool
    media_types: tuple[str, ...]


@dataclass(frozen=True)
class ApiRoot:
    """An API root and its collections; ``error`` says why they could not be listed (a
    root the credentials do not open, say), and then ``collections`` is empty."""

    url: str
    title: str | None
    versions: tuple[str, ...]
    max_content_length: int | None
    collections: tuple[Collection, ...]
    error: str | None = None


@dataclass(frozen=True)
class Discovery:
    """What a TAXII server's discovery endpoint lists, each API root with its
    collections."""

    url: str
    title: str | None
    description: str | None
    default: str | None
    api_roots: tuple[ApiRoot, ...]


@dataclass
class PollResult:
    """The objects of one poll, in server order, and where the next poll resumes. The
    objects are kept as the bytes the server sent."""

    #: Pass as ``added_after`` to the next poll; None when the collection had nothing new
    #: (then reuse the previous checkpoint).
    checkpoint: str | None = None
    #: Pages fetched.
    pages: int = 0
    #: Objects, in all pages.
    count: int = 0
    # Each page's objects as they stood in its array: JSON values joined by commas.
    _chunks: list[bytes] = field(default_factory=list, repr=False)

    def extend(self, other: PollResult) -> None:
        """Adds the pages of a later poll (or page) to this one."""
        self.pages += other.pages
        self.count += other.count
        self._chunks.extend(other._chunks)
        self.checkpoint = other.checkpoint or self.checkpoint

    def bundle(self) -> bytes:
        """The objects as a STIX bundle, for ``IndexBuilder.load(..., format="stix")``."""
        return b'{"type":"bundle","id":"bundle--taxii-poll","objects":[%s]}' % b",".join(
            self._chunks
        )

    @property
    def objects(self) -> list[dict[str, Any]]:
        """The objects, parsed (for a look at them: loading needs only ``bundle()``)."""
        objects: list[dict[str, Any]] = json.loads(self.bundle())["objects"]
        return objects


def source_of(url: str) -> str:
    """The engine source a TAXII API root's objects load into by default: its host name."""
    return urllib.parse.urlsplit(url).hostname or url


def _slash(url: str) -> str:
    return url if url.endswith("/") else url + "/"


def _objects_url(url: str, collection: str) -> str:
    quoted = urllib.parse.quote(collection, safe="")
    return urllib.parse.urljoin(_slash(url), f"collections/{quoted}/objects/")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class _Retry(Exception):
    """A failure worth asking again, with the wait the server asked for, if any."""

    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


class _Client:
    """One server's connection options, checked once: the headers, the TLS context, the
    retry policy. ``sleep`` waits between retries and returns True to give up (a poller
    passes its stop event's ``wait``)."""

    def __init__(
        self, sleep: Callable[[float], object] = time.sleep, **options: Unpack[Options]
    ) -> None:
        user, password, token = options.get("user"), options.get("password"), options.get("token")
        if token is not None and user is not None:
            raise ValueError("give a bearer token or Basic credentials, not both")
        if password is not None and user is None:
            raise ValueError("a password needs a user")
        self.auth: str | None = None
        if token is not None:
            self.auth = f"Bearer {token}"
        elif user is not None:
            basic = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.auth = f"Basic {basic}"
        self.timeout = float(options.get("timeout", 30.0))
        self.retries = int(options.get("retries", 3))
        self.backoff = float(options.get("backoff", 1.0))
        self.max_retry_wait = float(options.get("max_retry_wait", 120.0))
        if self.retries < 0 or self.backoff < 0 or self.max_retry_wait < 0:
            raise ValueError("retries, backoff and max_retry_wait must not be negative")
        self.sleep = sleep
        self.context = self._tls(options)

    @staticmethod
    def _tls(options: Options) -> ssl.SSLContext | None:
        ca_file, cert_file = options.get("ca_file"), options.get("cert_file")
        key_file = options.get("key_file")
        if key_file is not None and cert_file is None:
            raise ValueError("a key_file needs a cert_file")
        if ca_file is None and cert_file is None:
            return None  # urllib's default: the system's CA certificates
        try:
            context = ssl.create_default_context(cafile=ca_file)
            if cert_file is not None:
                context.load_cert_chain(cert_file, key_file)
        except (OSError, ssl.SSLError) as err:
            raise TaxiiError(f"cannot read the TLS certificates: {err}") from err
        return context

    def request(self, url: str, body: bytes | None = None) -> tuple[bytes, dict[str, str]]:
        """The body and headers (lower-case names) of the answer to a GET, or a POST of
        ``body``, retried as the options say."""
        attempt = 0
        while True:
            try:
                return self._once(url, body)
            except _Retry as err:
                if attempt >= self.retries:
                    tries = f" (after {attempt + 1} attempts)" if attempt else ""
                    raise TaxiiError(f"{err}{tries}") from None
                wait = self.backoff * 2.0 ** min(attempt, 32) if err.wait is None else err.wait
                if err.wait is not None and err.wait > self.max_retry_wait:
                    raise TaxiiError(
                        f"{err}, and asks to wait {err.wait:.0f} s, longer than "
                        f"max_retry_wait ({self.max_retry_wait:.0f} s)"
                    ) from None
                if self.sleep(min(wait, self.max_retry_wait)) is True:
                    raise TaxiiError(f"{err} (stopped before retrying)") from None
                attempt += 1

    def _once(self, url: str, body: bytes | None) -> tuple[bytes, dict[str, str]]:
        request = urllib.request.Request(url, headers={"Accept": MEDIA_TYPE}, data=body)
        if body is not None:
            request.add_header("Content-Type", MEDIA_TYPE)
        if self.auth:
            request.add_header("Authorization", self.auth)
        try:
            with urllib.request.urlopen(
                request, timeout=self.timeout, context=self.context
            ) as response:
                headers = {k.lower(): v for k, v in response.headers.items()}
                return response.read(), headers
        except urllib.error.HTTPError as err:
            if err.code in (401, 403):
                raise TaxiiAuthError(
                    f"TAXII server refused the credentials ({err.code}) for {url}"
                ) from err
            if err.code == 404:
                raise TaxiiError(f"no such TAXII API root or collection (404): {url}") from err
            message = f"TAXII server answered {err.code} {err.reason} for {url}"
            if err.code in RETRIED_STATUSES:
                raise _Retry(message, _retry_after(err.headers.get("Retry-After"))) from err
            raise TaxiiError(message) from err
        except urllib.error.URLError as err:
            if isinstance(err.reason, ssl.SSLError):
                # A certificate the server or we refuse does not get better by asking again.
                raise TaxiiError(f"TLS with {url} failed: {err.reason}") from err
            raise _Retry(f"cannot reach TAXII server at {url}: {err.reason}") from err
        except ssl.SSLError as err:
            # The same, when the server refuses our certificate after the handshake (TLS 1.3).
            raise TaxiiError(f"TLS with {url} failed: {err}") from err
        except TimeoutError as err:
            raise _Retry(f"TAXII server did not answer within {self.timeout} s: {url}") from err
        # A connection that ends mid-answer.
        except (ConnectionError, http.client.HTTPException) as err:
            raise _Retry(f"connection to TAXII server lost: {url}: {err}") from err

    def json(self, url: str) -> dict[str, Any]:
        """A GET of a TAXII resource: a JSON object."""
        body, _ = self.request(url)
        try:
            value = json.loads(body)
        except ValueError as err:
            raise TaxiiError(f"TAXII server sent invalid JSON for {url}: {err}") from err
        if not isinstance(value, dict):
            raise TaxiiError(f"TAXII server sent no JSON object for {url}")
        return value


def _discovery_url(url: str) -> str:
    """The discovery endpoint: the URL given, or ``/taxii2/`` of a bare host."""
    parts = urllib.parse.urlsplit(url)
    if parts.path in ("", "/"):
        return urllib.parse.urlunsplit(parts._replace(path="/taxii2/"))
    return _slash(url)


def _collections(client: _Client, api_root: str) -> tuple[Collection, ...]:
    listing = client.json(urllib.parse.urljoin(_slash(api_root), "collections/"))
    return tuple(
        Collection(
            id=str(c.get("id")),
            title=str(c.get("title", "")),
            description=c.get("description"),
            can_read=bool(c.get("can_read")),
            can_write=bool(c.get("can_write")),
            media_types=tuple(c.get("media_types") or ()),
        )
        for c in listing.get("collections") or ()
        if isinstance(c, dict)
    )


def collections(api_root: str, **options: Unpack[Options]) -> list[Collection]:
    """The collections of the API root ``api_root``. Raises as ``poll`` does."""
    return list(_collections(_Client(**options), api_root))


def discover(url: str, **options: Unpack[Options]) -> Discovery:
    """What the TAXII server at ``url`` offers: its discovery resource (``url``, or
    ``/taxii2/`` of a bare host) and, for each API root it lists, the root's information
    and collections. A root that cannot be read is listed with its ``error``; the
    discovery resource itself raises as ``poll`` does."""
    client = _Client(**options)
    endpoint = _discovery_url(url)
    found = client.json(endpoint)
    roots = []
    for root in found.get("api_roots") or ():
        # Roots may be given relative to the discovery endpoint.
        root_url = _slash(urllib.parse.urljoin(endpoint, str(root)))
        try:
            info = client.json(root_url)
            roots.append(
                ApiRoot(
                    url=root_url,
                    title=info.get("title"),
                    versions=tuple(info.get("versions") or ()),
                    max_content_length=info.get("max_content_length"),
                    collections=_collections(client, root_url),
                )
            )
        except TaxiiError as err:
            roots.append(ApiRoot(root_url, None, (), None, (), error=str(err)))
    default = found.get("default")
    return Discovery(
        url=endpoint,
        title=found.get("title"),
        description=found.get("description"),
        default=_slash(urllib.parse.urljoin(endpoint, default)) if default else None,
        api_roots=tuple(roots),
    )


def _page(body: bytes, url: str, checkpoint: str | None) -> tuple[PollResult, str | None]:
    """One page as a PollResult, and its ``next`` when the server has more."""
    try:
        more, next_page, count, start, end = _core.read_taxii_envelope(body)
    except ValueError as err:
        raise TaxiiError(f"TAXII server sent no envelope for {url}: {err}") from err
    chunks = [body[start:end]] if count else []
    page = PollResult(checkpoint=checkpoint or None, pages=1, count=count, _chunks=chunks)
    return page, next_page if more else None


def _pages(
    client: _Client,
    url: str,
    collection: str,
    *,
    added_after: str | None,
    types: Sequence[str] | None,
    ids: Sequence[str] | None,
    limit: int,
) -> Iterator[PollResult]:
    base = _objects_url(url, collection)
    params: dict[str, str] = {"limit": str(limit)}
    if added_after:
        params["added_after"] = added_after
    for name, values in (("match[type]", types), ("match[id]", ids)):
        if values is not None:
            if isinstance(values, str):
                raise TypeError(f"{name} takes a sequence of strings, not a string")
            params[name] = ",".join(values)
    while True:
        page_url = f"{base}?{urllib.parse.urlencode(params)}"
        body, headers = client.request(page_url)
        page, next_page = _page(body, page_url, headers.get("x-taxii-date-added-last"))
        yield page
        if not next_page:
            return
        params["next"] = next_page


def pages(
    url: str,
    collection: str,
    *,
    added_after: str | None = None,
    types: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int = 100,
    **options: Unpack[Options],
) -> Iterator[PollResult]:
    """The objects of ``collection`` under the API root ``url`` added after
    ``added_after`` (all of them when None), of the STIX ``types`` and ``ids`` given
    (``match[type]``, ``match[id]``; every one when None), one ``PollResult`` per page as
    the server sends it (following ``next``), each with the checkpoint of its last
    object. A caller that loads page by page can resume from any page's checkpoint.

    Raises as ``poll`` does, at the page that failed.
    """
    client = _Client(**options)
    return _pages(
        client, url, collection, added_after=added_after, types=types, ids=ids, limit=limit
    )


def poll(
    url: str,
    collection: str,
    *,
    added_after: str | None = None,
    types: Sequence[str] | None = None,
    ids: Sequence[str] | None = None,
    limit: int = 100,
    **options: Unpack[Options],
) -> PollResult:
    """Every object of ``collection`` under the API root ``url`` added after
    ``added_after`` (all of them when None), of the ``types`` and ``ids`` given,
    following ``next`` from page to page.

    Raises ``TaxiiAuthError`` on 401/403 and ``TaxiiError`` on 404, on other HTTP errors,
    time-outs and unreachable servers (once the retries are spent), on TLS failures and
    on pages that are not TAXII envelopes; ``ValueError`` on options that contradict
    each other.
    """
    result = PollResult()
    for page in pages(
        url, collection, added_after=added_after, types=types, ids=ids, limit=limit, **options
    ):
        result.extend(page)
    return result


def publish(
    url: str, collection: str, objects: list[dict[str, Any]], **options: Unpack[Options]
) -> dict[str, Any]:
    """POSTs ``objects`` (STIX 2.1) to the writable ``collection`` under the API root
    ``url`` in one envelope, and returns the server's status resource. Raises as
    ``poll`` does."""
    client = _Client(**options)
    body, _ = client.request(
        _objects_url(url, collection), json.dumps({"objects": objects}).encode()
    )
    try:
        status: dict[str, Any] = json.loads(body)
    except ValueError as err:
        raise TaxiiError(f"TAXII server sent invalid JSON for {url}: {err}") from err
    return status


__all__ = [
    "MEDIA_TYPE",
    "READ_TYPES",
    "ApiRoot",
    "Collection",
    "Discovery",
    "Options",
    "PollResult",
    "collections",
    "discover",
    "pages",
    "poll",
    "publish",
    "source_of",
]
