"""The exceptions vedette raises. Each subclasses what callers already catch."""

from __future__ import annotations

from collections.abc import Sequence


class VedetteError(Exception):
    """Base class of every vedette error."""


class FeedError(VedetteError, ValueError):
    """A feed record could not be loaded (strict mode), or a feed could not be read.

    ``source`` names the feed (its path, or ``<bytes>``); ``line`` is the 1-based line or
    record number, when there is one.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.source = source
        self.line = line

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:  # keep the attributes through pickling
        return (type(self), (str(self), self.source, self.line))


class IndicatorError(VedetteError, ValueError):
    """A value is not a valid indicator of its kind. ``kind`` may be None (inferred)."""

    def __init__(self, message: str, kind: str | None = None, value: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.value = value

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), (str(self), self.kind, self.value))


class BuildError(VedetteError):
    """The indicators exceed a limit of the index."""


class IndexFormatError(VedetteError, ValueError):
    """Bytes or a file are not a valid saved index: truncated, corrupted, of another
    version, or hostile. ``offset`` is where reading stopped making sense."""

    def __init__(self, message: str, offset: int | None = None) -> None:
        super().__init__(message)
        self.offset = offset

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        return (type(self), (str(self), self.offset))


class ScanError(VedetteError):
    """Inputs of a file scan could not be read whole, raised where a scan cannot hand its
    errors back beside its hits (``vedette.dask.scan``, ``vedette.arrow.scan_batches``).
    ``errors`` lists ``(file, category, message)`` as ``Scan.errors`` does."""

    def __init__(self, errors: Sequence[tuple[str, str, str]]) -> None:
        self.errors = list(errors)
        super().__init__(self.errors)  # the one argument, so that pickling keeps it

    def __str__(self) -> str:
        shown = "; ".join(": ".join(error) for error in self.errors[:3])
        more = f"; and {len(self.errors) - 3} more" if len(self.errors) > 3 else ""
        inputs = "input" if len(self.errors) == 1 else "inputs"
        return f"{len(self.errors)} {inputs} not scanned whole: {shown}{more}"


class EngineError(VedetteError):
    """An update of a live ``Engine`` failed for a reason of the engine's own: it is
    closed (``category == "closed"``), a transaction had a failed operation
    (``"aborted"``), or a state directory holds something ``save`` did not write
    (``"state"``). A bad value, feed or limit raises ``IndicatorError``, ``FeedError``
    or ``BuildError`` instead, a corrupt index file ``IndexFormatError``, and a file
    that cannot be read or written an ``OSError``.
    """

    def __init__(self, message: str, category: str | None = None) -> None:
        super().__init__(message)
        self.category = category

    def __reduce__(self) -> tuple[type[EngineError], tuple[str, str | None]]:
        return (type(self), (str(self), self.category))


class TaxiiError(VedetteError):
    """A TAXII server could not be polled: not found, an HTTP error, a time-out."""


class TaxiiAuthError(TaxiiError, PermissionError):
    """A TAXII server refused the credentials (401 or 403)."""


__all__ = [
    "BuildError",
    "EngineError",
    "FeedError",
    "IndexFormatError",
    "IndicatorError",
    "ScanError",
    "TaxiiAuthError",
    "TaxiiError",
    "VedetteError",
]
