"""vedette: compile threat-indicator feeds into indexes and match logs and flows against them.

>>> import vedette
>>> index = vedette.compile(["evil.example", "203.0.113.0/24"])
>>> [(m.kind, m.indicators[0].value) for m in index.find("GET http://a.evil.example/ 203.0.113.9")]
[('domain', 'evil.example'), ('ipv4', '203.0.113.0/24')]
"""

from __future__ import annotations

from collections.abc import Iterable

from vedette import exceptions
from vedette._core import (
    FileHit,
    Index,
    IndexBuilder,
    Indicator,
    LoadReport,
    Match,
    Scan,
    Scanner,
    ScanReport,
    Snapshot,
    Transaction,
    Update,
    Watcher,
    __version__,
    scan_inputs,
)
from vedette.engine import Engine
from vedette.exceptions import (
    BuildError,
    EngineError,
    FeedError,
    IndexFormatError,
    IndicatorError,
    ScanError,
    VedetteError,
)


def compile(values: Iterable[str], *, source: str | None = None) -> Index:
    """Compiles bare values (kinds inferred) into an index: a shortcut for scripts."""
    builder = IndexBuilder()
    for value in values:
        builder.add(value, source=source)
    return builder.build()


__all__ = [
    "BuildError",
    "Engine",
    "EngineError",
    "FeedError",
    "FileHit",
    "Index",
    "IndexBuilder",
    "IndexFormatError",
    "Indicator",
    "IndicatorError",
    "LoadReport",
    "Match",
    "Scan",
    "ScanError",
    "ScanReport",
    "Scanner",
    "Snapshot",
    "Transaction",
    "Update",
    "VedetteError",
    "Watcher",
    "__version__",
    "compile",
    "exceptions",
    "scan_inputs",
]
