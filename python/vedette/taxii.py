"""A TAXII 2.1 client: poll a collection's objects page by page, resume from a checkpoint.

Network I/O lives here, in Python; the objects are handed to the core's STIX reader::

    result = vedette.taxii.poll("https://taxii.example/api1/", "collection-id",
                                user="me", password="secret")
    builder.load(result.bundle(), format="stix", source="taxii.example")
    later = vedette.taxii.poll(..., added_after=result.checkpoint)   # only what is new

The checkpoint is the server's ``X-TAXII-Date-Added-Last`` of the last page: the
``date_added`` of the newest object seen, which is what ``added_after`` compares with.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from vedette.exceptions import TaxiiAuthError, TaxiiError

MEDIA_TYPE = "application/taxii+json;version=2.1"


@dataclass
class PollResult:
    """The objects of one poll, in server order, and where the next poll resumes."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    #: Pass as ``added_after`` to the next poll; None when the collection had nothing new
    #: (then reuse the previous checkpoint).
    checkpoint: str | None = None
    pages: int = 0

    def bundle(self) -> bytes:
        """The objects as a STIX bundle, for ``IndexBuilder.load(..., format="stix")``."""
        return json.dumps(
            {"type": "bundle", "id": "bundle--taxii-poll", "objects": self.objects}
        ).encode()


def source_of(url: str) -> str:
    """The engine source a TAXII API root's objects load into by default: its host name."""
    return urllib.parse.urlsplit(url).hostname or url


def _objects_url(url: str, collection: str) -> str:
    root = url if url.endswith("/") else url + "/"
    return urllib.parse.urljoin(
        root, f"collections/{urllib.parse.quote(collection, safe='')}/objects/"
    )


def _basic(user: str | None, password: str | None) -> str | None:
    if user is None:
        return None
    token = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
    return f"Basic {token}"


def _request(
    url: str, auth: str | None, timeout: float, body: bytes | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept": MEDIA_TYPE}, data=body)
    if body is not None:
        request.add_header("Content-Type", MEDIA_TYPE)
    if auth:
        request.add_header("Authorization", auth)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.load(response), dict(response.headers.items())
    except urllib.error.HTTPError as err:
        if err.code in (401, 403):
            raise TaxiiAuthError(
                f"TAXII server refused the credentials ({err.code}) for {url}"
            ) from err
        if err.code == 404:
            raise TaxiiError(f"no such TAXII API root or collection (404): {url}") from err
        raise TaxiiError(f"TAXII server answered {err.code} {err.reason} for {url}") from err
    except TimeoutError as err:
        raise TaxiiError(f"TAXII server did not answer within {timeout} s: {url}") from err
    except urllib.error.URLError as err:
        raise TaxiiError(f"cannot reach TAXII server at {url}: {err.reason}") from err
    except json.JSONDecodeError as err:
        raise TaxiiError(f"TAXII server sent invalid JSON for {url}: {err}") from err


def pages(
    url: str,
    collection: str,
    *,
    user: str | None = None,
    password: str | None = None,
    added_after: str | None = None,
    limit: int = 100,
    timeout: float = 30.0,
) -> Iterator[PollResult]:
    """The objects of ``collection`` under the API root ``url`` added after
    ``added_after`` (all of them when None), one ``PollResult`` per page as the server
    sends it (following ``next``), each with the checkpoint of its last object. A caller
    that loads page by page can resume from any page's checkpoint.

    Raises as ``poll`` does, at the page that failed.
    """
    base, auth = _objects_url(url, collection), _basic(user, password)
    params: dict[str, str] = {"limit": str(limit)}
    if added_after:
        params["added_after"] = added_after
    while True:
        envelope, headers = _request(f"{base}?{urllib.parse.urlencode(params)}", auth, timeout)
        last = {k.lower(): v for k, v in headers.items()}.get("x-taxii-date-added-last")
        yield PollResult(objects=envelope.get("objects", []), checkpoint=last or None, pages=1)
        if not envelope.get("more") or not envelope.get("next"):
            return
        params["next"] = str(envelope["next"])


def poll(
    url: str,
    collection: str,
    *,
    user: str | None = None,
    password: str | None = None,
    added_after: str | None = None,
    limit: int = 100,
    timeout: float = 30.0,
) -> PollResult:
    """Every object of ``collection`` under the API root ``url`` added after
    ``added_after`` (all of them when None), following ``next`` from page to page.

    Raises ``TaxiiAuthError`` on 401/403 and ``TaxiiError`` on 404, other HTTP errors,
    time-outs and unreachable servers.
    """
    result = PollResult()
    for page in pages(
        url,
        collection,
        user=user,
        password=password,
        added_after=added_after,
        limit=limit,
        timeout=timeout,
    ):
        result.pages += 1
        result.objects.extend(page.objects)
        result.checkpoint = page.checkpoint or result.checkpoint
    return result


def publish(
    url: str,
    collection: str,
    objects: list[dict[str, Any]],
    *,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 30.0,
) -> dict[str, Any]:
    """POSTs ``objects`` (STIX 2.1) to the writable ``collection`` under the API root
    ``url`` in one envelope, and returns the server's status resource. Raises as
    ``poll`` does."""
    body = json.dumps({"objects": objects}).encode()
    status, _ = _request(_objects_url(url, collection), _basic(user, password), timeout, body)
    return status
