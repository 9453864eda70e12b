"""Scanning files on a Dask cluster into a Dask DataFrame of hits.

    import vedette, vedette.dask
    from distributed import Client

    client = Client("scheduler:8786")      # or none: Dask's local scheduler
    hits = vedette.dask.scan(["/logs/zeek/2024-06-01"], vedette.Index.load("intel.vdx"))
    hits[hits.confidence >= 80].groupby("file").size().compute()

**One row per hit.** The columns are ``vedette.arrow``'s (``SCHEMA``, its docstring has
the table): the hit's ``file``, ``line``, ``start``, ``end``, ``observed``, ``kind``,
``field``, ``ts`` (``datetime64[ns, UTC]``, ``NaT`` outside a recognised log), ``uid``,
the highest record ``confidence``, and one list column per field of the indicator
records (``indicator_value``, ``indicator_source``, ...). A hit that two feeds explain
(or an address inside three networks) stays one row, so rows count hits as a scan and
the hit writers do (docs/semantics.md §9.6), and grouping or joining on the hit columns
needs no de-duplication; ``frame.explode(list(vedette.arrow.RECORD_COLUMNS))`` gives one
row per (hit, record) pair when a question is about the records. The lists are
pyarrow-backed (``pandas.ArrowDtype``): they go to Parquet as they are, and Dask's
conversion of object columns to strings leaves them alone.

**One partition per file.** Directories are walked on the client by the core's rules
(``vedette.scan_inputs``, docs/semantics.md §9.1), so that each file is a task of its
own; the paths must name the same files on the workers (a shared file system). A file
is never split, since a compressed stream cannot be entered in the middle: a large file
is one partition, its hits held in one worker's memory. Split such logs before (Zeek
rotates hourly), or raise ``threads`` so that the one task uses more cores;
``files_per_partition`` groups many small files into fewer tasks.

**The index goes to each worker once.** It is scattered to every worker (``broadcast``)
as its bytes and a digest of them; a worker process turns the bytes into an ``Index``
once, when they arrive, and keeps the last two it loaded by digest, so that every
partition, a later scan with the same index, and a reload after the worker spilled it
to disk share one copy.

**Errors are never dropped.** A file that cannot be read whole (docs/semantics.md §9.1,
§9.2) makes its partition raise ``ScanError``, naming the file, as Dask's own readers
fail on a bad file. With ``errors="ignore"`` the hits of what could be read are kept,
and ``scan_errors`` (same arguments) is the frame of the inputs not scanned whole. The
two share their tasks: ``dask.compute(hits, errs)`` reads each file once.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

try:
    import dask.dataframe as dd
    import pandas as pd
    from dask.base import tokenize
    from dask.delayed import delayed
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        f"vedette.dask needs Dask, pandas and pyarrow ({err.name} is missing): "
        'pip install "vedette[dask]"'
    ) from err

from vedette import arrow
from vedette._core import Index, scan_inputs
from vedette.exceptions import ScanError

_Paths = str | os.PathLike[str] | Iterable[str | os.PathLike[str]]
_TimeLike = datetime | str | float | int
_Error = tuple[str, str, str]

#: How many loaded indexes a worker process keeps: the running scan's and the next one
#: (a refreshed feed). More would keep old indexes, often hundreds of megabytes, alive in
#: long-lived workers.
_KEEP = 2
_CACHE: OrderedDict[str, Index] = OrderedDict()
#: Per digest, how often an index arrived in this process and how often it was loaded:
#: what "once per worker" is checked against.
_RECEIVED: Counter[str] = Counter()
_LOADS: Counter[str] = Counter()
_LOCK = threading.Lock()


class _IndexRef:
    """An index on its way to the workers: pickled as its digest and bytes, unpickled to
    the receiving process's cached copy (``_load``)."""

    __slots__ = ("_data", "digest", "index")

    def __init__(self, digest: str, index: Index, data: bytes | None = None) -> None:
        self.digest = digest
        self.index = index
        self._data = data

    @classmethod
    def of(cls, index: Index) -> _IndexRef:
        data = index.to_bytes()
        return cls(hashlib.blake2b(data, digest_size=16).hexdigest(), index, data)

    def __reduce__(self) -> tuple[Any, tuple[str, bytes]]:
        data = self._data if self._data is not None else self.index.to_bytes()
        return (_load, (self.digest, data))

    def __dask_tokenize__(self) -> tuple[str, str]:
        # Scattering keys the data by this token: the same index is one key, however
        # often it is scanned with, and the scan tasks of `scan` and `scan_errors` match.
        return ("vedette.Index", self.digest)


def _load(digest: str, data: bytes) -> _IndexRef:
    """The ``_IndexRef`` of ``digest`` in this process, loading ``data`` only if this
    process has not loaded the index yet."""
    with _LOCK:
        _RECEIVED[digest] += 1
        index = _CACHE.get(digest)
        if index is None:
            index = Index.from_bytes(data)
            _LOADS[digest] += 1
            _CACHE[digest] = index
            while len(_CACHE) > _KEEP:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(digest)
    return _IndexRef(digest, index)


def _expand(paths: _Paths) -> list[str]:
    """The files that ``paths`` name, walked by the core (``vedette.scan_inputs``), in
    order. A path that names nothing, or a directory that cannot be listed, stays in the
    list, so that the worker that scans it reports it as a local scan would."""
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    files: list[str] = []
    for path in (os.fspath(each) for each in given):
        if path == "-":
            raise ValueError("standard input (-) cannot be scanned on a cluster")
        inputs, errors = scan_inputs([path])
        files += inputs
        files += (file for file, _, _ in errors)
    return files


def _client(client: Any) -> Any:
    """``client``, else the default distributed client, else None (Dask's local
    scheduler)."""
    if client is not None:
        return client
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:  # no client: Dask's default scheduler runs the graph
        return None


def _scan_part(
    files: list[str], ref: _IndexRef, threads: int | None, at: _TimeLike | None
) -> tuple[Any, list[_Error]]:
    """One partition's work, run on a worker: the hits frame and the errors."""
    scan = ref.index.scan_files(files, threads=threads, at=at)
    return arrow.to_pandas(arrow.hit_batches(scan)), list(scan.errors)


def _hits(part: tuple[Any, list[_Error]], errors: str) -> Any:
    frame, failed = part
    if failed and errors == "raise":
        raise ScanError(failed)
    return frame


def _errors(part: tuple[Any, list[_Error]]) -> Any:
    failed = part[1]
    columns = ("file", "category", "message")
    return pd.DataFrame(
        {name: [error[i] for error in failed] for i, name in enumerate(columns)},
        dtype=pd.StringDtype("pyarrow"),
    )


def _parts(
    paths: _Paths,
    index: Index,
    client: Any,
    threads: int | None,
    at: _TimeLike | None,
    files_per_partition: int,
) -> list[Any]:
    """One delayed ``_scan_part`` per group of files, keyed by what it scans, so that the
    graphs of ``scan`` and ``scan_errors`` share them."""
    if files_per_partition < 1:
        raise ValueError(f"files_per_partition must be at least 1, not {files_per_partition}")
    files = _expand(paths)
    ref = _IndexRef.of(index)
    client = _client(client)
    shipped = ref if client is None else client.scatter(ref, broadcast=True, hash=True)
    # No files is one empty partition: a frame of no partitions is not a frame.
    groups = [
        files[i : i + files_per_partition] for i in range(0, len(files), files_per_partition)
    ] or [[]]
    return [
        delayed(_scan_part)(
            group,
            shipped,
            threads,
            at,
            dask_key_name=f"vedette-scan-{tokenize(group, ref.digest, threads, at)}",
        )
        for group in groups
    ]


def scan(
    paths: _Paths,
    index: Index,
    *,
    client: Any = None,
    threads: int | None = 1,
    at: _TimeLike | None = None,
    files_per_partition: int = 1,
    errors: Literal["raise", "ignore"] = "raise",
) -> Any:
    """The hits of ``index`` in ``paths`` (files and directories), as a Dask DataFrame
    of ``vedette.arrow.SCHEMA`` in pandas' dtypes, a partition per file.

    ``client`` defaults to the current distributed client; without one Dask's local
    scheduler runs the scan. An explicit client that is not the default computes with
    ``client.compute(hits)``. ``threads`` (default one, since each task has a core) and
    ``at`` (default: the time each file is scanned) are ``Index.scan_files``'s. A file
    that cannot be read whole raises ``ScanError`` when its partition is computed;
    ``errors="ignore"`` keeps what could be read, and ``scan_errors`` lists it."""
    if errors not in ("raise", "ignore"):
        raise ValueError(f"errors must be 'raise' or 'ignore', not {errors!r}")
    parts = _parts(paths, index, client, threads, at, files_per_partition)
    frames = [delayed(_hits, pure=True)(part, errors) for part in parts]
    return dd.from_delayed(frames, meta=arrow.to_pandas([]), verify_meta=False)


def scan_errors(
    paths: _Paths,
    index: Index,
    *,
    client: Any = None,
    threads: int | None = 1,
    at: _TimeLike | None = None,
    files_per_partition: int = 1,
) -> Any:
    """The inputs of ``scan(paths, index, ...)`` (same arguments) not scanned whole, as
    a Dask DataFrame with the string columns ``file``, ``category`` (``unreadable``,
    ``corrupt``, ``long line``) and ``message``. Computed together with the hits
    (``dask.compute(hits, errs)``), each file is read once."""
    parts = _parts(paths, index, client, threads, at, files_per_partition)
    frames = [delayed(_errors, pure=True)(part) for part in parts]
    return dd.from_delayed(frames, meta=_errors((None, [])), verify_meta=False)


__all__ = ["scan", "scan_errors"]
