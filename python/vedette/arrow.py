"""Hits of a file scan as Arrow record batches: the one table layout of ``vedette.dask``
and of the Spark recipe in docs/clusters.md.

One row per hit, as a scan counts them and as the JSON lines, Zeek and ECS writers
write them (docs/semantics.md §9.6): the columns of the hit, then one list column per
field of the indicator records that explain it, each list in the order of
``FileHit.indicators``. ``confidence`` is the highest of the records' confidences, the
usual triage filter, so that it needs no list function. pandas'
``frame.explode(list(RECORD_COLUMNS))`` gives one row per (hit, record) pair.

| column | Arrow type (null: where there is none) |
| --- | --- |
| ``file``, ``observed``, ``kind`` | string: the input as named, the text seen, its kind |
| ``line``, ``start``, ``end`` | int64: the 1-based line, the byte span in the line |
| ``field``, ``uid`` | string, null outside a recognised log |
| ``ts`` | timestamp[us, UTC], null outside a recognised log |
| ``confidence`` | int32: the highest of the records', null when none has one |
| ``indicator_value``, ``indicator_kind`` | list<string>, one per record |
| ``indicator_source``, ``indicator_ref`` | list<string>, null elements |
| ``indicator_tlp``, ``indicator_description`` | list<string>, null elements |
| ``indicator_confidence`` | list<int32>, null elements |
| ``indicator_tags`` | list<list<string>> |
| ``indicator_valid_from``, ``indicator_valid_until`` | list<timestamp[us, UTC]>, null elements |

Times are microseconds because the core keeps them so and Spark's ``TIMESTAMP`` is
microseconds; ``to_pandas`` turns ``ts`` into pandas' usual ``datetime64[ns, UTC]``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

try:
    import pyarrow as pa
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        'vedette.arrow needs pyarrow: pip install "vedette[dask]" (or pyarrow)'
    ) from err

from vedette._core import FileHit, Index
from vedette.exceptions import ScanError

_STRING = pa.string()
_TIME = pa.timestamp("us", tz="UTC")

#: The per-record list columns, in the order of ``FileHit.indicators``.
RECORD_COLUMNS: tuple[str, ...] = (
    "indicator_value",
    "indicator_kind",
    "indicator_source",
    "indicator_ref",
    "indicator_confidence",
    "indicator_tlp",
    "indicator_tags",
    "indicator_valid_from",
    "indicator_valid_until",
    "indicator_description",
)

#: The layout of every batch: one row per hit.
SCHEMA: Any = pa.schema(
    [
        ("file", _STRING),
        ("line", pa.int64()),
        ("start", pa.int64()),
        ("end", pa.int64()),
        ("observed", _STRING),
        ("kind", _STRING),
        ("field", _STRING),
        ("ts", _TIME),
        ("uid", _STRING),
        ("confidence", pa.int32()),
        ("indicator_value", pa.list_(_STRING)),
        ("indicator_kind", pa.list_(_STRING)),
        ("indicator_source", pa.list_(_STRING)),
        ("indicator_ref", pa.list_(_STRING)),
        ("indicator_confidence", pa.list_(pa.int32())),
        ("indicator_tlp", pa.list_(_STRING)),
        ("indicator_tags", pa.list_(pa.list_(_STRING))),
        ("indicator_valid_from", pa.list_(_TIME)),
        ("indicator_valid_until", pa.list_(_TIME)),
        ("indicator_description", pa.list_(_STRING)),
    ]
)

#: Rows per batch: large enough that the per-batch cost vanishes, small enough that a
#: batch of hits with many records stays a few megabytes.
BATCH_ROWS = 65_536


def _columns(hit: FileHit) -> Iterator[object]:
    """The values of one row, in the order of ``SCHEMA``."""
    records = hit.indicators
    confidences = [record.confidence for record in records]
    known = [c for c in confidences if c is not None]
    yield from (hit.file, hit.line, hit.start, hit.end, hit.observed, hit.kind)
    yield from (hit.field, hit.ts, hit.uid, max(known) if known else None)
    yield [record.value for record in records]
    yield [record.kind for record in records]
    yield [record.source for record in records]
    yield [record.ref for record in records]
    yield confidences
    yield [record.tlp for record in records]
    yield [record.tags for record in records]
    yield [record.valid_from for record in records]
    yield [record.valid_until for record in records]
    yield [record.description for record in records]


def _batch(columns: list[list[object]]) -> Any:
    return pa.RecordBatch.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


def hit_batches(hits: Iterable[FileHit], *, rows: int = BATCH_ROWS) -> Iterator[Any]:
    """The hits as ``pyarrow.RecordBatch`` es of ``SCHEMA``, ``rows`` hits each (the last
    one fewer); no batch at all for no hits."""
    if rows < 1:
        raise ValueError(f"rows must be at least 1, not {rows}")
    columns: list[list[object]] = [[] for _ in SCHEMA]
    for hit in hits:
        for column, value in zip(columns, _columns(hit), strict=True):
            column.append(value)
        if len(columns[0]) == rows:
            yield _batch(columns)
            columns = [[] for _ in SCHEMA]
    if columns[0]:
        yield _batch(columns)


def scan_batches(
    index: Index,
    paths: Sequence[str],
    *,
    threads: int | None = 1,
    at: datetime | str | float | int | None = None,
    rows: int = BATCH_ROWS,
) -> Iterator[Any]:
    """Scans ``paths`` with ``index.scan_files`` and yields the hits as batches of
    ``SCHEMA``; then raises ``ScanError`` if an input could not be read whole.

    The error comes after the hits of the other inputs (and of a corrupt input's
    readable part) were yielded, so that a consumer that stops at the error has them
    all. ``threads`` defaults to one: under a cluster scheduler each task is one core's
    work already."""
    scan = index.scan_files(list(paths), threads=threads, at=at)
    yield from hit_batches(scan, rows=rows)
    if scan.errors:
        raise ScanError(list(scan.errors))


def _pandas_type(arrow_type: Any) -> Any:
    import pandas as pd

    if arrow_type == _STRING:
        return pd.StringDtype("pyarrow")
    if arrow_type == pa.int32():
        return pd.Int32Dtype()
    if pa.types.is_list(arrow_type):
        return pd.ArrowDtype(arrow_type)
    return None  # int64 (never null) and the timestamp: numpy's


def to_pandas(batches: Iterable[Any]) -> Any:
    """The batches (of ``SCHEMA``) as one pandas DataFrame: strings as
    ``string[pyarrow]``, ``line``/``start``/``end`` as ``int64``, ``ts`` as
    ``datetime64[ns, UTC]`` (``NaT`` outside a recognised log), ``confidence`` as
    ``Int32``, the record columns as ``pandas.ArrowDtype`` lists. No batches give the
    empty frame of these dtypes."""
    table = pa.Table.from_batches(list(batches), schema=SCHEMA)
    frame = table.to_pandas(types_mapper=_pandas_type)
    # pyarrow keeps the microseconds since pandas 2; nanoseconds are what pandas users
    # and Dask's own readers expect.
    frame["ts"] = frame["ts"].astype("datetime64[ns, UTC]")
    return frame


def spark_schema() -> str:
    """``SCHEMA`` as a Spark DDL string, for ``DataFrame.mapInArrow(f, schema)``."""
    return ", ".join(f"`{field.name}` {_spark_type(field.type)}" for field in SCHEMA)


def _spark_type(arrow_type: Any) -> str:
    if pa.types.is_list(arrow_type):
        return f"ARRAY<{_spark_type(arrow_type.value_type)}>"
    names = {_STRING: "STRING", pa.int64(): "BIGINT", pa.int32(): "INT", _TIME: "TIMESTAMP"}
    return names[arrow_type]


__all__ = [
    "BATCH_ROWS",
    "RECORD_COLUMNS",
    "SCHEMA",
    "hit_batches",
    "scan_batches",
    "spark_schema",
    "to_pandas",
]
