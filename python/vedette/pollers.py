"""Background pollers of a live engine: a TAXII collection, a feed file (docs/semantics.md
§10.8).

Each poller is a daemon thread that polls at once, then every ``interval`` seconds, and
loads what it found into the engine. A failed poll changes nothing in the engine (its
snapshot stays), is counted, and is kept as ``last_error``, in the poller and in the
engine's ``status()``; each consecutive failure doubles the wait before the next poll, up
to ``max_delay``, and the first success brings it back to ``interval``::

    poller = engine.poll_taxii("https://taxii.example/api1/", "collection-id", interval=60)
    poller.polls, poller.failures, poller.last_error, poller.last_success
    engine.close()                                    # stops and joins every poller

``vedette.Engine.poll_taxii`` and ``watch_file`` start them; they can be made and started
by hand too, and then ``stop()`` and ``join()`` end them.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from vedette import _core, taxii

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from vedette._core import _FormatName, _KindName

#: The longest wait a failing poller backs off to, unless its interval is longer.
MAX_BACKOFF_SECONDS = 15 * 60.0


class Poller(threading.Thread):
    """A thread that calls ``poll()`` at once, then every ``interval`` seconds until
    ``stop()``, backing off after failures. Subclasses define ``poll``.

    ``interval`` may be a fraction of a second. ``max_delay`` caps the backoff; by
    default ten intervals, at most 15 minutes, and never less than one interval.
    """

    def __init__(
        self,
        engine: _core.Engine,
        *,
        source: str,
        interval: float,
        max_delay: float | None = None,
        name: str,
    ) -> None:
        if not (isinstance(interval, (int, float)) and math.isfinite(interval) and interval > 0):
            raise ValueError(f"interval must be a number of seconds above 0, not {interval!r}")
        super().__init__(name=name, daemon=True)
        self.engine = engine
        #: The engine source the poller loads into.
        self.source = source
        self.interval = float(interval)
        if max_delay is None:
            max_delay = max(self.interval, min(10 * self.interval, MAX_BACKOFF_SECONDS))
        self.max_delay = max(float(max_delay), self.interval)
        #: Polls done, failed ones included.
        self.polls = 0
        #: Polls that failed, in all.
        self.failures = 0
        #: Polls that failed since the last success: they set the backoff.
        self.consecutive_failures = 0
        #: The exception of the last failed poll (kept after a later success).
        self.last_error: Exception | None = None
        #: When the last poll succeeded (UTC), or None.
        self.last_success: datetime | None = None
        # Named so, not `_stop`: threading.Thread has a method of that name.
        self._stopping = threading.Event()

    def poll(self) -> None:
        """One poll: loads what is new into the engine, or raises."""
        raise NotImplementedError

    @property
    def delay(self) -> float:
        """The wait before the next poll: ``interval``, doubled for each consecutive
        failure, at most ``max_delay``."""
        # min() on the exponent first: 2.0 ** 2000 overflows.
        return min(self.interval * 2.0 ** min(self.consecutive_failures, 64), self.max_delay)

    def stop(self) -> None:
        """Asks the thread to end: a poll under way finishes, no other one starts."""
        self._stopping.set()

    @property
    def stopped(self) -> bool:
        """Whether ``stop()`` was called."""
        return self._stopping.is_set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self.poll_once()
            self._stopping.wait(self.delay)

    def poll_once(self) -> bool:
        """Polls once, as the thread does every interval, counting the outcome; returns
        whether the poll succeeded. Raises nothing."""
        try:
            self.poll()
        # Every exception: a poller that died on an unexpected one would leave the engine
        # silently stale for months, while a counted one shows in status().
        except Exception as err:
            self.failures += 1
            self.consecutive_failures += 1
            self.last_error = err
            self.engine.note_error(self.source, str(err) or type(err).__name__)
            return False
        else:
            self.consecutive_failures = 0
            self.last_success = datetime.now(timezone.utc)
            return True
        finally:
            self.polls += 1

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "running" if self.is_alive() else "not started"
        return (
            f"{type(self).__name__}(source={self.source!r}, {state}, polls={self.polls}, "
            f"failures={self.failures})"
        )


class TaxiiPoller(Poller):
    """Polls a TAXII 2.1 collection into the engine's ``source`` (by default the host
    name of ``url``), as STIX: newer versions replace, revoked ones are removed.

    Each poll asks for the objects added after the engine's checkpoint of the source (the
    server's ``X-TAXII-Date-Added-Last`` of the last page loaded, kept by ``save``, so a
    reopened engine resumes), or after ``added_after`` while the source has none. It
    loads them in batches of whole pages, ``batch_objects`` objects or more (and the
    rest at the end), and after each batch calls ``on_load`` with the bundle loaded and
    stores the checkpoint of its last page.
    """

    def __init__(
        self,
        engine: _core.Engine,
        url: str,
        collection: str,
        *,
        source: str | None = None,
        interval: float = 60.0,
        added_after: str | None = None,
        types: Sequence[str] | None = taxii.READ_TYPES,
        max_delay: float | None = None,
        on_load: Callable[[bytes], None] | None = None,
        batch_objects: int = 10_000,
        **options: Unpack[taxii.Options],
    ) -> None:
        source = source if source is not None else taxii.source_of(url)
        super().__init__(
            engine,
            source=source,
            interval=interval,
            max_delay=max_delay,
            name=f"vedette-taxii {source}",
        )
        self.url, self.collection, self.types = url, collection, types
        self.added_after, self.on_load = added_after, on_load
        self.batch_objects = batch_objects
        # Retries wait on the stop event: close() does not wait out a server's Retry-After.
        self._client = taxii._Client(sleep=self._stopping.wait, **options)

    @property
    def checkpoint(self) -> str | None:
        """Where the next poll resumes: the engine's checkpoint of the source, else
        ``added_after``."""
        status = self.engine.status()["sources"].get(self.source)
        return (status and status["checkpoint"]) or self.added_after

    def poll(self) -> None:
        # In batches, not the whole poll at once: a first poll of a large collection
        # would make one bundle past the engine's max_feed_bytes, refused at every poll,
        # and a failure on page 900 would lose the 899 before it.
        batch = taxii.PollResult()
        pages = taxii._pages(
            self._client,
            self.url,
            self.collection,
            added_after=self.checkpoint,
            types=self.types,
            ids=None,
            limit=100,
        )
        for page in pages:
            batch.extend(page)
            if batch.count >= self.batch_objects:
                self._load(batch)
                batch = taxii.PollResult()
        self._load(batch)

    def _load(self, batch: taxii.PollResult) -> None:
        if batch.count:
            bundle = batch.bundle()
            self.engine.load(bundle, format="stix", source=self.source)
            if self.on_load is not None:
                self.on_load(bundle)
        # After the load: a load that failed keeps the old checkpoint, so the next poll
        # asks for the same objects again.
        if batch.checkpoint:
            self.engine.set_checkpoint(self.source, batch.checkpoint)


def _identity(stat: os.stat_result) -> tuple[int, ...]:
    """What tells one version of a file from the next: a rename brings a new inode, a
    rewrite a new size or modification (or change) time."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class FilePoller(Poller):
    """Rereads a feed file into the engine's ``source`` (by default the file's name)
    whenever it changed, as a sync load: the source then holds exactly the file's
    records, so a value gone from the file is removed.

    A missing or unreadable file is a failed poll (the source keeps its records), until
    the file is back. A file that changed while it was read is read again at the next
    poll; the safe way to update a watched file is to write a new one beside it and
    rename it over.
    """

    def __init__(
        self,
        engine: _core.Engine,
        path: str | os.PathLike[str],
        *,
        source: str | None = None,
        interval: float = 5.0,
        format: _FormatName | None = None,
        kind: _KindName | None = None,
        strict: bool = False,
        max_delay: float | None = None,
    ) -> None:
        self.path = Path(path)
        source = source if source is not None else self.path.name
        super().__init__(
            engine,
            source=source,
            interval=interval,
            max_delay=max_delay,
            name=f"vedette-file {source}",
        )
        self.format, self.kind, self.strict = format, kind, strict
        #: Loads done: the polls that found the file changed and loaded it.
        self.loads = 0
        self._loaded: tuple[int, ...] | None = None

    def poll(self) -> None:
        # We keep the identity seen *before* the read: a file rewritten or replaced while
        # it was read (what was read may be neither version) then differs from it at the
        # next poll, which reads it again. The identity after the read would hide that.
        seen = _identity(os.stat(self.path))
        if seen == self._loaded:
            return
        self.engine.load(
            self.path,
            format=self.format,
            source=self.source,
            sync=True,
            kind=self.kind,
            strict=self.strict,
        )
        self.loads += 1
        self._loaded = seen


__all__ = ["MAX_BACKOFF_SECONDS", "FilePoller", "Poller", "TaxiiPoller"]
