"""``vedette.Engine``: the core's live engine, with the background pollers that feed it."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Literal, TypeVar

from vedette import _core, taxii
from vedette.exceptions import EngineError
from vedette.pollers import FilePoller, Poller, TaxiiPoller

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from vedette._core import _FormatName, _KindName

_P = TypeVar("_P", bound=Poller)

# Guards every engine's poller list: pollers start and stop rarely.
_POLLERS_LOCK = threading.Lock()


class Engine(_core.Engine):
    """The live, always-current set of indicators (``vedette._core.Engine``), which can
    also run background pollers: ``poll_taxii`` and ``watch_file`` start one, ``close()``
    (or the end of a ``with`` block) stops and joins them all, then closes the engine.

    >>> with Engine() as engine:
    ...     engine.add("evil.example", source="etisp").version
    1
    """

    # Class-level defaults, replaced per instance on first change: the constructor is the
    # core's, and Engine.open builds through it.
    _pollers: tuple[Poller, ...] = ()
    _closing: bool = False

    @property
    def pollers(self) -> tuple[Poller, ...]:
        """The pollers started on this engine, in order (stopped ones included)."""
        return self._pollers

    def poll_taxii(
        self,
        url: str,
        collection: str,
        *,
        source: str | None = None,
        interval: float = 60.0,
        added_after: str | None = None,
        types: Sequence[str] | None = taxii.READ_TYPES,
        **options: Unpack[taxii.Options],
    ) -> TaxiiPoller:
        """Starts polling the TAXII 2.1 ``collection`` under the API root ``url`` every
        ``interval`` seconds into ``source`` (by default the host name of ``url``), from
        the source's checkpoint (``added_after`` while it has none), asking for the STIX
        ``types`` the reader uses (all types when None). ``options`` are the connection's
        (``vedette.taxii.Options``: credentials, TLS, retries). Returns the poller.
        Raises ``EngineError`` once the engine is closing."""
        poller = TaxiiPoller(
            self,
            url,
            collection,
            source=source,
            interval=interval,
            added_after=added_after,
            types=types,
            **options,
        )
        return self._start(poller)

    def watch_file(
        self,
        path: str | os.PathLike[str],
        *,
        source: str | None = None,
        interval: float = 5.0,
        format: _FormatName | None = None,
        kind: _KindName | None = None,
        strict: bool = False,
    ) -> FilePoller:
        """Starts checking the feed file ``path`` every ``interval`` seconds and reloads
        it into ``source`` (by default its file name) when it changed, as a sync load: a
        value gone from the file is removed. Returns the poller. Raises ``EngineError``
        once the engine is closing."""
        poller = FilePoller(
            self,
            path,
            source=source,
            interval=interval,
            format=format,
            kind=kind,
            strict=strict,
        )
        return self._start(poller)

    def _start(self, poller: _P) -> _P:
        with _POLLERS_LOCK:
            if self._closing:
                raise EngineError("the engine is closed: it starts no pollers", "closed")
            self._pollers = (*self._pollers, poller)
            poller.start()
        return poller

    def close(self) -> None:
        """Stops every poller and waits for it (a poll under way finishes), then takes no
        more updates (they raise ``EngineError``); reads go on working."""
        with _POLLERS_LOCK:
            self._closing = True
            pollers = self._pollers
        for poller in pollers:
            poller.stop()
        for poller in pollers:
            poller.join()
        super().close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        self.close()
        return False


__all__ = ["Engine"]
