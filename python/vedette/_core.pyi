"""Type stubs of the compiled core (``vedette._core``)."""

import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Literal, Protocol, TypedDict, final

import numpy as np
import numpy.typing as npt
from typing_extensions import Self, disjoint_base

__all__ = [
    "Engine",
    "FileHit",
    "Index",
    "IndexBuilder",
    "Indicator",
    "LoadReport",
    "Match",
    "Scan",
    "ScanReport",
    "Scanner",
    "Snapshot",
    "Transaction",
    "Update",
    "Watcher",
    "__version__",
    "read_taxii_envelope",
    "scan_inputs",
]

__version__: str

class _ArrowArray(Protocol):
    """An object of the Arrow PyCapsule interface: a pyarrow or nanoarrow array."""

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]: ...

class _ArrowStream(Protocol):
    """An object of the Arrow PyCapsule interface's streams: a chunked array, a polars or
    pandas series."""

    def __arrow_c_stream__(self, requested_schema: object = None) -> object: ...

#: A column of IPv4 addresses: Arrow uint32, numpy uint32, or ints.
_Addresses = _ArrowArray | _ArrowStream | npt.NDArray[np.uint32] | Sequence[int]
#: A column of IPv6 addresses: Arrow fixed_size_binary(16), or an (n, 16) numpy uint8 array.
_Addresses6 = _ArrowArray | _ArrowStream | npt.NDArray[np.uint8]
#: A column of observed values: Arrow string, large_string or string_view, or strs.
_Values = _ArrowArray | _ArrowStream | Iterable[str | None]
_Hits = tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint32]]

_KindName = Literal[
    "ipv4",
    "ipv6",
    "domain",
    "hostname",
    "url",
    "email",
    "md5",
    "sha1",
    "sha224",
    "sha256",
    "sha384",
    "sha512",
    "string",
]
_TlpName = Literal["clear", "green", "amber", "amber+strict", "red"]
_FormatName = Literal["lines", "csv", "zeek", "misp", "misp-csv", "stix"]
_TimeLike = datetime | str | float | int
_OutputFormat = Literal["jsonl", "zeek", "ecs"]
_ScanError = tuple[str, Literal["unreadable", "corrupt", "long line"], str]

@final
class Indicator:
    """One indicator record: a canonical value, its kind and its feed's metadata. Pickles;
    its repr reads back."""

    def __new__(
        cls,
        id: int,
        value: str,
        kind: _KindName,
        source: str | None = None,
        ref: str | None = None,
        confidence: int | None = None,
        tlp: _TlpName | None = None,
        tags: list[str] = ...,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        description: str | None = None,
    ) -> Indicator: ...
    def __reduce__(self) -> tuple[type[Indicator], tuple[object, ...]]: ...
    @property
    def id(self) -> int: ...
    @property
    def value(self) -> str: ...
    @property
    def kind(self) -> _KindName: ...
    @property
    def source(self) -> str | None: ...
    @property
    def ref(self) -> str | None: ...
    @property
    def confidence(self) -> int | None: ...
    @property
    def tlp(self) -> _TlpName | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def valid_from(self) -> datetime | None: ...
    @property
    def valid_until(self) -> datetime | None: ...
    @property
    def description(self) -> str | None: ...

@final
class Match:
    """One occurrence in the text, with every valid indicator record that explains it.

    ``start``/``end`` are a half-open span: byte offsets for bytes, character offsets for str.
    Pickles; its repr reads back.
    """

    def __new__(
        cls, start: int, end: int, kind: _KindName, indicators: list[Indicator]
    ) -> Match: ...
    def __reduce__(self) -> tuple[type[Match], tuple[object, ...]]: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def kind(self) -> _KindName: ...
    @property
    def indicators(self) -> list[Indicator]: ...

@final
class LoadReport:
    """What one ``IndexBuilder.load`` (or ``Engine.load``) did. Pickles."""

    def __new__(
        cls,
        name: str,
        format: _FormatName | None,
        loaded: int,
        skipped: dict[str, int],
        errors: list[tuple[int | None, str, str]],
        masked_host_bits: int = 0,
        public_suffix_domains: int = 0,
    ) -> LoadReport: ...
    def __reduce__(self) -> tuple[type[LoadReport], tuple[object, ...]]: ...
    @property
    def name(self) -> str: ...
    @property
    def format(self) -> _FormatName | None: ...
    @property
    def loaded(self) -> int: ...
    @property
    def skipped(self) -> dict[str, int]:
        """Skipped records per reason."""
    @property
    def errors(self) -> list[tuple[int | None, str, str]]:
        """``(line, reason, message)`` of the first bad records."""
    @property
    def masked_host_bits(self) -> int:
        """Networks given with host bits set, loaded masked."""
    @property
    def public_suffix_domains(self) -> int:
        """Domain indicators loaded that are themselves a public suffix (``duckdns.org``,
        ``github.io``): they still match every name registered under them."""

@final
class FileHit:
    """One hit in a file (``Index.scan_files``): where, what was seen, the log record's
    field, time and uid, and every indicator record that explains it. Pickles."""

    def __new__(
        cls,
        file: str,
        line: int,
        start: int,
        end: int,
        observed: str,
        kind: _KindName,
        field: str | None = None,
        ts: datetime | None = None,
        uid: str | None = None,
        indicators: list[Indicator] = ...,
    ) -> FileHit: ...
    def __reduce__(self) -> tuple[type[FileHit], tuple[object, ...]]: ...
    @property
    def file(self) -> str:
        """The input as it was named (``-`` for standard input)."""
    @property
    def line(self) -> int:
        """1-based line number in the inflated input."""
    @property
    def start(self) -> int:
        """Byte offset of the observed text in its line (0 with ``end`` for a URL matched
        on a row's host and uri)."""
    @property
    def end(self) -> int: ...
    @property
    def observed(self) -> str: ...
    @property
    def kind(self) -> _KindName: ...
    @property
    def field(self) -> str | None:
        """The log field (``query``, ``id.resp_h``, ``dns.rrname``, ``host+uri``...) for a
        recognised Zeek or Suricata EVE log."""
    @property
    def ts(self) -> datetime | None:
        """The record's time (Zeek ``ts``, EVE ``timestamp``)."""
    @property
    def uid(self) -> str | None:
        """The record's connection id (Zeek ``uid``, EVE ``flow_id``)."""
    @property
    def indicators(self) -> list[Indicator]: ...

@final
class ScanReport:
    """What a finished scan read, and each input that could not be read whole."""

    @property
    def files(self) -> int: ...
    @property
    def bytes(self) -> int:
        """Bytes scanned, after inflating."""
    @property
    def lines(self) -> int: ...
    @property
    def hits(self) -> int: ...
    @property
    def seconds(self) -> float: ...
    @property
    def errors(self) -> list[_ScanError]:
        """``(file, category, message)`` of each input, or part of one, not scanned."""

def scan_inputs(paths: list[str]) -> tuple[list[str], list[_ScanError]]:
    """The inputs that ``Index.scan_files(paths)`` reads, named as its hits name them
    (directories walked, ``-`` for standard input), and the error of each path that names
    nothing: the files to partition a scan by on a cluster."""

def read_taxii_envelope(data: bytes) -> tuple[bool, str | None, int, int, int]:
    """The paging of a TAXII 2.1 envelope: ``(more, next, objects, start, end)``, where
    ``data[start:end]`` is its objects as they stand in the array. Raises ``ValueError``
    when the page is not an envelope."""

@final
class Scan:
    """The hits of ``Index.scan_files``, in input order, found on a thread of their own
    while this iterator hands them out. Dropping it early stops the scan."""

    def __iter__(self) -> Scan: ...
    def __next__(self) -> FileHit: ...
    @property
    def errors(self) -> list[_ScanError]:
        """Each input that could not be read whole; empty until every hit was read."""
    @property
    def stats(self) -> dict[str, float] | None:
        """``files``, ``bytes``, ``lines``, ``hits``, ``seconds``; ``None`` until every hit
        was read."""

@final
class Scanner:
    """A stream given in pieces (a socket, a pipe), matched line by line as they come:
    what ``Index.find`` on the whole stream reports, spans in stream offsets. Only a
    ``string`` indicator holding a newline can differ."""

    def feed(self, data: bytes) -> tuple[Match, ...]:
        """The matches of the lines ``data`` completes; its last partial line waits."""
    def finish(self) -> tuple[Match, ...]:
        """The matches of the last line, when the stream ends without a newline."""

@final
class Watcher:
    """Follows growing logs as ``tail -F`` does (appends, rotation by rename, truncation)
    and writes the hits of their new lines to ``output`` as they come, each flushed, in
    ``format``. The last ``retro_bytes`` of lines read from each log are kept for
    ``retro_hunt``."""

    def __new__(
        cls,
        paths: list[str],
        output: str | os.PathLike[str] | int,
        *,
        format: _OutputFormat = "jsonl",
        from_start: bool = False,
        retro_bytes: int = 67108864,
    ) -> Watcher: ...
    def poll(
        self, index: Index, *, version: int | None = None, at: _TimeLike | None = None
    ) -> tuple[int, int, list[_ScanError], list[tuple[int, int]]]:
        """Reads what the logs appended since the last poll and writes the hits of their
        whole lines against ``index``, each marked with ``version``: ``(bytes, hits,
        errors, seen)``, ``seen`` the hits per record id of ``index``. A log that cannot
        be read is polled again next time."""
    def retro_hunt(
        self, index: Index, *, version: int | None = None, at: _TimeLike | None = None
    ) -> tuple[int, int]:
        """Scans the lines read lately again against ``index`` (the indicators that just
        arrived); their hits are marked ``retro``. ``(bytes, hits)``."""
    def close(self) -> None:
        """Ends the output (a Zeek log's ``#close``) and closes it."""

@final
class Index:
    """A compiled, immutable set of indicators; safe to share between threads."""

    def find(self, data: bytes | str, *, at: _TimeLike | None = None) -> tuple[Match, ...]:
        """Every occurrence of every indicator valid at ``at`` (default: now), in order
        of start, then end.

        A tuple, so that a text without a match (most log lines) allocates nothing: the
        empty tuple is shared. Texts of 4 KiB or more are scanned with the GIL released,
        so threads scan blocks of a file in parallel; shorter ones hold it, which costs
        less than releasing it. The hits on one indicator record share one ``Indicator``
        object."""
    def is_match(self, data: bytes | str, *, at: _TimeLike | None = None) -> bool:
        """Whether any indicator occurs in ``data``; stops at the first."""
    def lookup(
        self, value: str, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> list[Indicator]:
        """The records one observed field value hits (parent domains and covering networks
        included)."""
    def scan_files(
        self,
        paths: list[str],
        *,
        threads: int | None = None,
        at: _TimeLike | None = None,
    ) -> Scan:
        """Scans files, directories (walked recursively) and ``-`` (standard input) on a
        thread of their own with the GIL released: each input inflated by its magic bytes
        (gzip, zstd, bzip2, xz), cut into chunks of whole lines scanned on ``threads``
        threads (default: one per core), Zeek and Suricata EVE logs recognised.

        An input that cannot be opened, or is corrupt part way, is listed in the scan's
        ``errors`` and the others are still scanned; the hits of a corrupt compressed
        input's readable part are kept."""
    def scan_to(
        self,
        paths: list[str],
        output: str | os.PathLike[str] | int,
        *,
        format: _OutputFormat = "jsonl",
        threads: int | None = None,
        at: _TimeLike | None = None,
        count: bool = False,
        progress: Callable[[dict[str, float]], object] | None = None,
        on_error: Callable[[str, str, str], object] | None = None,
    ) -> ScanReport:
        """Scans as ``scan_files`` does and writes the hits to ``output`` (a path, or an
        open file descriptor, which stays open) in ``format``; with ``count``, a
        ``file:hits`` line per input instead. ``progress(stats)`` is called about ten
        times a second and ``on_error(file, category, message)`` for each bad input, on
        the calling thread. Ctrl-C (``KeyboardInterrupt``) stops the scan."""
    def scanner(self, *, at: _TimeLike | None = None) -> Scanner:
        """A ``Scanner`` of one stream, for indicators valid at ``at`` (default: now)."""
    def indicators(self) -> list[Indicator]:
        """Every record, in id order: ``indicators()[i].id == i``."""
    def indicator(self, id: int) -> Indicator:
        """The record with id ``id``; ``IndexError`` when there is none."""
    def stats(self) -> dict[str, object]:
        """``entries``, ``records``, ``kinds`` (entries per kind) and ``memory`` (bytes)."""
    def match_ipv4(
        self, addresses: _Addresses, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]:
        """A mask of the addresses (host-order uint32) that an indicator covers: one bool
        per address, in order. The column is an Arrow ``uint32`` array or stream
        (pyarrow, polars, pandas...), a numpy ``uint32`` array or a list of ints, read
        where it is (a list is made an array first); a null row is ``False``. A numpy
        view that is not contiguous raises ``ValueError`` (pass
        ``np.ascontiguousarray(view)``); another type raises ``TypeError``, never a
        cast."""
    def match_ipv6(
        self, addresses: _Addresses6, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]:
        """A mask of the addresses (an ``(n, 16)`` uint8 array, network order, or an Arrow
        ``fixed_size_binary(16)`` column) hit: one bool per row, in order; a null row is
        ``False``. Any memory layout is read row by row; another number of columns raises
        ``ValueError``, another dtype or number of dimensions ``TypeError``."""
    def match_flows(
        self,
        src: _Addresses,
        dst: _Addresses,
        *,
        at: _TimeLike | None = None,
    ) -> _Hits:
        """``(rows, indicator_ids)``: one pair per flow and indicator that its source or
        destination hits. The columns are as ``match_ipv4`` takes them, of one length,
        chunked alike or not; a flow with a null end is looked up by its other end."""
    def lookup_many(
        self, values: _Values, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> _Hits:
        """``(rows, indicator_ids)``: one pair per row and record that the row's value hits,
        as ``lookup`` answers it (parent domains, covering networks), by row. The column
        is an Arrow ``string``, ``large_string`` or ``string_view`` array or stream (read
        where it is) or any iterable of ``str`` and ``None``; ``kind`` is each value's
        kind, or inferred per value when None, so a column may mix domains, URLs,
        addresses of both families, e-mails and hashes. A null, or a value that is no
        indicator of the kind, hits nothing. Runs without the GIL, on every core for a
        long column."""
    def write_zeek_intel(self, path: str | os.PathLike[str]) -> None:
        """Writes every indicator as a Zeek intel file."""
    def ipv4_bitmap(self) -> bytes:
        """The IPv4 addresses some indicator covers, as a roaring bitmap in the portable
        format (``pyroaring.BitMap.deserialize`` reads it)."""
    def to_bytes(self) -> bytes: ...
    @staticmethod
    def from_bytes(data: bytes) -> Index:
        """Reads ``to_bytes`` output; ``IndexFormatError`` on anything else."""
    def save(self, path: str | os.PathLike[str]) -> None: ...
    @staticmethod
    def load(path: str | os.PathLike[str]) -> Index:
        """Reads a saved index; ``IndexFormatError`` when it is not a valid one."""
    def __reduce__(self) -> tuple[object, tuple[bytes]]: ...
    def __len__(self) -> int:
        """The number of distinct ``(kind, value)`` entries."""

@final
class IndexBuilder:
    """Collects indicators, then compiles them into an ``Index``.

    Threads may share one: calls take its lock and run one at a time, the GIL released
    while they wait."""

    def __new__(
        cls,
        *,
        max_records: int | None = None,
        max_feed_bytes: int | None = None,
        max_line_bytes: int | None = None,
    ) -> IndexBuilder:
        """Limits, each ``None`` for its default: ``max_records`` held in all (50
        million; an ``add`` or a feed record past it is refused), ``max_feed_bytes`` of one
        feed once decompressed (256 MiB; a larger feed is refused whole: ``FeedError``),
        ``max_line_bytes`` of one line of a list, CSV or Zeek intel file (1 MiB; a longer
        line is a bad record)."""
    @property
    def limits(self) -> dict[str, int]:
        """``max_records``, ``max_feed_bytes`` and ``max_line_bytes``."""
    def add(
        self,
        value: str,
        kind: _KindName | None = None,
        *,
        source: str | None = None,
        confidence: int | None = None,
        tlp: _TlpName | None = None,
        tags: list[str] = ...,
        ref: str | None = None,
        valid_from: _TimeLike | None = None,
        valid_until: _TimeLike | None = None,
        description: str | None = None,
        override_allowlist: bool = False,
    ) -> None:
        """Adds one indicator; ``IndicatorError`` when the value is not valid or
        ``confidence`` is more than 100 (``OverflowError`` when it is below 0 or above 255).

        ``override_allowlist`` keeps it even where an allowlist covers it (the malicious
        subdomain of a benign parent)."""
    def allow(
        self, allowlist: list[str] | str | os.PathLike[str], *, name: str | None = None
    ) -> int:
        """Suppresses at build time every indicator that ``allowlist`` covers: a MISP
        warninglist file, or bare values (a network covers what lies inside it, a host name
        itself and its subdomains, anything else itself). A host name that is a public
        suffix (``github.io``, ``pages.dev``) covers only itself. Returns how many of its
        values were invalid and left out."""
    def suppressed(self) -> dict[str, int]:
        """How many indicators each allowlist suppresses, by list name."""
    def load(
        self,
        feed: bytes | str | os.PathLike[str],
        format: _FormatName | None = None,
        *,
        source: str | None = None,
        kind: _KindName | None = None,
        strict: bool = False,
        keep_non_ids: bool = False,
        zeek_domain_as_hostname: bool = False,
    ) -> LoadReport:
        """Loads a feed: a file, its bytes, or a MISP feed directory (gzip, zstd, bzip2 and
        xz inflated, format sniffed: block lists, CSV, Zeek intel, MISP events and CSV, STIX
        bundles).

        ``keep_non_ids`` keeps MISP attributes marked ``to_ids: false``;
        ``zeek_domain_as_hostname`` reads Zeek ``Intel::DOMAIN`` as exact host names."""
    def build(self) -> Index: ...
    def __len__(self) -> int: ...

class _SourceError(TypedDict):
    at: datetime
    message: str

class _SourceStatus(TypedDict):
    records: int
    stix_ids: int
    last_success: datetime | None
    last_error: _SourceError | None
    checkpoint: str | None

class _EngineStatus(TypedDict):
    version: int
    entries: int
    records: int
    delta_records: int
    removed_records: int
    compactions: int
    last_compaction_error: str | None
    memory: int
    sources: dict[str, _SourceStatus]

class _Sighting(TypedDict):
    source: str
    ref: str | None
    kind: _KindName
    value: str
    count: int
    first_seen: datetime
    last_seen: datetime

@final
class Update:
    """What one ``Engine`` update, or one transaction, did."""

    @property
    def version(self) -> int:
        """The version readers see after it: unchanged when no record changed."""
    @property
    def added(self) -> int:
        """Records added (a replaced record counts as one removed and one added)."""
    @property
    def removed(self) -> int: ...
    @property
    def unchanged(self) -> int:
        """Records given again exactly as they were."""
    @property
    def stale(self) -> int:
        """STIX objects older than the version the source holds, or already revoked:
        ignored."""
    @property
    def reports(self) -> list[LoadReport]:
        """The report of each load, in order."""

@final
class Snapshot:
    """One version of an ``Engine``'s records, pinned: later updates do not change what
    it answers. Its indicator ids mean something to it only: resolve them with its
    ``indicator``."""

    @property
    def version(self) -> int: ...
    def find(self, data: bytes | str, *, at: _TimeLike | None = None) -> tuple[Match, ...]:
        """As ``Index.find``: the GIL is released for texts of 4 KiB or more."""
    def is_match(self, data: bytes | str, *, at: _TimeLike | None = None) -> bool: ...
    def lookup(
        self, value: str, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> list[Indicator]: ...
    def match_ipv4(
        self, addresses: _Addresses, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]: ...
    def match_ipv6(
        self, addresses: _Addresses6, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]: ...
    def match_flows(
        self,
        src: _Addresses,
        dst: _Addresses,
        *,
        at: _TimeLike | None = None,
    ) -> _Hits: ...
    def lookup_many(
        self, values: _Values, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> _Hits: ...
    def indicator(self, id: int) -> Indicator:
        """The live record with id ``id``; ``IndexError`` when there is none."""
    def indicators(self) -> list[Indicator]:
        """Every live record."""
    def to_index(self) -> Index:
        """The snapshot as one ``Index`` (its record ids may differ from the snapshot's);
        ``BuildError`` when the records exceed a limit of the index."""
    def __len__(self) -> int:
        """The number of distinct ``(kind, value)`` entries."""

@final
class Transaction:
    """Changes recorded in ``with engine.transaction() as tx:``, published together as
    one new version when the block ends without an exception. An exception in the block
    publishes nothing; so does a change that fails (a bad value, a bad feed in strict
    mode), and its error is raised as the block ends."""

    def add(
        self,
        value: str,
        kind: _KindName | None = None,
        *,
        source: str,
        ref: str | None = None,
        confidence: int | None = None,
        tlp: _TlpName | None = None,
        tags: list[str] = ...,
        valid_from: _TimeLike | None = None,
        valid_until: _TimeLike | None = None,
        description: str | None = None,
    ) -> None: ...
    def remove(
        self,
        *,
        source: str,
        ref: str | None = None,
        value: str | None = None,
        kind: _KindName | None = None,
    ) -> None: ...
    def load(
        self,
        feed: bytes | str | os.PathLike[str],
        format: _FormatName | None = None,
        *,
        source: str,
        sync: bool = False,
        kind: _KindName | None = None,
        strict: bool = False,
        keep_non_ids: bool = False,
        zeek_domain_as_hostname: bool = False,
    ) -> None:
        """Records a load; a file is read when the block ends."""
    @property
    def update(self) -> Update | None:
        """What the commit did, once the block has ended without an error."""
    def __enter__(self) -> Transaction: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

# Not final: vedette.Engine subclasses it. Disjoint: its instances are laid out by Rust.
@disjoint_base
class Engine:
    """The live, always-current set of indicators: updates publish a new version
    atomically while readers, on any thread, match against the current one without
    waiting. Safe to share between threads. ``vedette.Engine`` subclasses it with the
    background pollers."""

    def __new__(
        cls,
        index: Index | None = None,
        *,
        sightings: bool = False,
        _dir: str | os.PathLike[str] | None = None,
    ) -> Self:
        """An engine holding ``index``'s records (each in the source its metadata names),
        or none. ``sightings`` counts the hits of each record for ``sightings()``.
        ``_dir`` is private: what ``open`` passes."""
    @classmethod
    def open(cls, dir: str | os.PathLike[str], *, sightings: bool = False) -> Self:
        """Reopens what ``save`` wrote into ``dir``, as an instance of ``cls``."""
    def add(
        self,
        value: str,
        kind: _KindName | None = None,
        *,
        source: str,
        ref: str | None = None,
        confidence: int | None = None,
        tlp: _TlpName | None = None,
        tags: list[str] = ...,
        valid_from: _TimeLike | None = None,
        valid_until: _TimeLike | None = None,
        description: str | None = None,
    ) -> Update:
        """Adds one record to ``source``, replacing the record of the same key (``(source,
        ref)``, else ``(source, kind, value)``); publishes on return."""
    def remove(
        self,
        *,
        source: str,
        ref: str | None = None,
        value: str | None = None,
        kind: _KindName | None = None,
    ) -> Update:
        """Removes ``source``'s records with ``ref``, or with ``value`` (of ``kind``,
        inferred by default); exactly one of the two, else ``ValueError``."""
    def load(
        self,
        feed: bytes | str | os.PathLike[str],
        format: _FormatName | None = None,
        *,
        source: str,
        sync: bool = False,
        kind: _KindName | None = None,
        strict: bool = False,
        keep_non_ids: bool = False,
        zeek_domain_as_hostname: bool = False,
    ) -> Update:
        """Loads a feed (a file or its bytes, inflated and sniffed as
        ``IndexBuilder.load`` does) into ``source``; with ``sync`` the source then holds
        exactly the feed's records. STIX objects replace older versions of themselves,
        and revoked ones are removed. A failed load publishes nothing, raises, and is
        kept in ``status()``."""
    def transaction(self) -> Transaction: ...
    def snapshot(self) -> Snapshot:
        """The current version, pinned."""
    @property
    def version(self) -> int:
        """Increases with every publish."""
    def find(self, data: bytes | str, *, at: _TimeLike | None = None) -> tuple[Match, ...]:
        """``Snapshot.find`` on the current version."""
    def is_match(self, data: bytes | str, *, at: _TimeLike | None = None) -> bool: ...
    def lookup(
        self, value: str, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> list[Indicator]: ...
    def match_ipv4(
        self, addresses: _Addresses, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]: ...
    def match_ipv6(
        self, addresses: _Addresses6, *, at: _TimeLike | None = None
    ) -> npt.NDArray[np.bool_]: ...
    def match_flows(
        self,
        src: _Addresses,
        dst: _Addresses,
        *,
        at: _TimeLike | None = None,
    ) -> _Hits:
        """The ids are those of the current version's snapshot: to resolve them, take a
        ``snapshot()`` and match on it."""
    def lookup_many(
        self, values: _Values, kind: _KindName | None = None, *, at: _TimeLike | None = None
    ) -> _Hits:
        """As ``match_flows``: ids of the current version's snapshot."""
    def status(self) -> _EngineStatus:
        """The engine's counts and approximate heap bytes (``memory``), and per source its
        records, last success, last error and checkpoint."""
    def sightings(self, reset: bool = True) -> list[_Sighting]:
        """The hits of each record since the last reset; empty unless the engine was made
        with ``sightings=True``."""
    def set_checkpoint(self, source: str, checkpoint: str) -> None:
        """Stores what a poller needs to resume ``source``; kept by ``save``."""
    def note_error(self, source: str, message: str) -> None:
        """Keeps ``message`` as ``source``'s last error in ``status()`` (and ``save``), for
        an update that failed before it reached the engine, such as a poll's network
        error; publishes nothing."""
    def compact(self) -> None:
        """Merges the pending changes into a new base now (readers go on meanwhile)."""
    def save(self, dir: str | os.PathLike[str]) -> None:
        """Writes the current version and the sources' state into ``dir``, atomically."""
    def close(self) -> None:
        """Takes no more updates (they raise ``EngineError``); reads go on working."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def __len__(self) -> int: ...
