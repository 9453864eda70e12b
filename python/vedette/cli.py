"""The vedette command: compile feeds, scan logs, write one JSON object per hit."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Any

from vedette import (
    Engine,
    Index,
    IndexBuilder,
    LoadReport,
    VedetteError,
    Watcher,
    __version__,
    sightings,
    taxii,
)
from vedette.pollers import TaxiiPoller


def _sample(name: str) -> Path:
    return Path(str(resources.files("vedette") / "data" / name))


def _report(name: str, report: LoadReport) -> None:
    skipped = sum(report.skipped.values())
    print(f"vedette: {name}: {report.loaded} loaded, {skipped} skipped", file=sys.stderr)
    for reason, count in report.skipped.items():
        print(f"vedette:   skipped {count}: {reason}", file=sys.stderr)


def _build(args: argparse.Namespace, feeds: Sequence[str]) -> Index:
    builder = IndexBuilder(
        max_records=args.max_records,
        max_feed_bytes=args.max_feed_bytes,
        max_line_bytes=args.max_line_bytes,
    )
    for feed in feeds:
        _report(feed, builder.load(feed, strict=args.strict, source=Path(feed).name))
    if getattr(args, "taxii", None):
        result = taxii.poll(
            args.taxii,
            args.collection,
            added_after=args.added_after,
            types=taxii.READ_TYPES,
            **_taxii_options(args),
        )
        source = taxii.source_of(args.taxii)
        _report(
            f"{args.taxii} ({result.count} objects)",
            builder.load(result.bundle(), format="stix", source=source, strict=args.strict),
        )
        if result.checkpoint:
            print(
                f"vedette: TAXII checkpoint (--added-after): {result.checkpoint}", file=sys.stderr
            )
    for allowlist in getattr(args, "allow", []):
        builder.allow(allowlist)
    for name, count in builder.suppressed().items():
        print(f"vedette: allowlist {name}: {count} suppressed", file=sys.stderr)
    return builder.build()


class _Progress:
    """A status line on stderr while a scan runs: bytes, rate, hits, files."""

    def __init__(self) -> None:
        self.drawn = False

    def __call__(self, stats: dict[str, float]) -> None:
        seconds = max(stats["seconds"], 1e-9)
        mb = stats["bytes"] / 1e6
        line = (
            f"vedette: {mb:,.0f} MB, {mb / seconds:,.0f} MB/s, "
            f"{stats['hits']:,.0f} hits, {stats['files']:,.0f} files"
        )
        sys.stderr.write(f"\r{line}\x1b[K")
        sys.stderr.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def _error(file: str, category: str, message: str) -> None:
    print(f"vedette: {file}: {message}", file=sys.stderr)


def _cmd_scan(args: argparse.Namespace) -> int:
    feeds, logs = list(args.feed), list(args.logs)
    if args.sample:
        feeds.append(str(_sample("ipsum-level3.txt.gz")))
        logs = logs or [str(_sample("auth.log.gz"))]
    if not feeds and not args.index and not args.taxii:
        raise SystemExit("vedette scan: give --feed FEED, --taxii URL, --index FILE or --sample")
    if args.taxii and not args.collection:
        raise SystemExit("vedette scan: --taxii needs --collection ID")
    if args.threads is not None and args.threads < 1:
        raise SystemExit("vedette scan: -j needs 1 or more threads")
    started = time.perf_counter()
    index = Index.load(args.index) if args.index else _build(args, feeds)
    progress = _Progress() if sys.stderr.isatty() else None
    sys.stdout.flush()
    output: str | int = args.output or sys.stdout.fileno()
    try:
        report = index.scan_to(
            logs or ["-"],
            output,
            format=args.format,
            threads=args.threads,
            at=args.at,
            count=args.count,
            progress=progress,
            on_error=_error,
        )
    except KeyboardInterrupt:
        print("\nvedette: interrupted", file=sys.stderr)
        return 130
    finally:
        if progress:
            progress.clear()
    seconds = time.perf_counter() - started
    print(
        f"vedette: {len(index)} indicators, {report.files} files, {report.lines} lines, "
        f"{report.bytes} bytes, {report.hits} hits, {len(report.errors)} errors, {seconds:.2f} s",
        file=sys.stderr,
    )
    # As grep and ripgrep: 2 when something could not be read, else 0 with a hit, 1 without.
    if report.errors:
        return 2
    return 0 if report.hits else 1


def _cmd_compile(args: argparse.Namespace) -> int:
    index = _build(args, args.feeds)
    index.save(args.output)
    print(f"vedette: {len(index)} indicators written to {args.output}", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    if not args.feeds and not args.index:
        raise SystemExit("vedette export: give FEED... or --index FILE")
    index = Index.load(args.index) if args.index else _build(args, args.feeds)
    index.write_zeek_intel(args.output)
    print(f"vedette: {len(index)} indicators written to {args.output} (zeek)", file=sys.stderr)
    return 0


def _cmd_discover(args: argparse.Namespace) -> int:
    found = taxii.discover(args.taxii, **_taxii_options(args))
    print(f"{found.url}  {found.title or ''}".rstrip())
    for root in found.api_roots:
        default = "  (default)" if root.url == found.default else ""
        print(f"  {root.url}  {root.title or ''}{default}".rstrip())
        if root.error:
            print(f"    error: {root.error}")
        for c in root.collections:
            access = ("r" if c.can_read else "-") + ("w" if c.can_write else "-")
            print(f"    {c.id}  {access}  {c.title}")
    return 0


def _taxii_options(args: argparse.Namespace) -> taxii.Options:
    """The connection options of the --taxii-* flags (secrets also from the environment)."""
    return taxii.Options(
        user=args.taxii_user,
        password=args.taxii_password or os.environ.get("VEDETTE_TAXII_PASSWORD"),
        token=args.taxii_token or os.environ.get("VEDETTE_TAXII_TOKEN"),
        ca_file=args.taxii_ca,
        cert_file=args.taxii_cert,
        key_file=args.taxii_key,
    )


def _add_taxii_connection(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--taxii-user", metavar="USER", help="Basic credentials")
    group.add_argument(
        "--taxii-password", metavar="PASSWORD", help="or set VEDETTE_TAXII_PASSWORD"
    )
    group.add_argument(
        "--taxii-token", metavar="TOKEN", help="a bearer token, or set VEDETTE_TAXII_TOKEN"
    )
    group.add_argument("--taxii-ca", metavar="PEM", help="CA certificates to verify the server")
    group.add_argument("--taxii-cert", metavar="PEM", help="a client certificate")
    group.add_argument("--taxii-key", metavar="PEM", help="the client certificate's key")


class _TaxiiPoller(TaxiiPoller):
    """The engine's TAXII poller (resuming from the engine's checkpoint) that also queues
    each bundle it loads for the retro-hunt, posts the sightings after each poll, and
    prints its errors."""

    def __init__(self, engine: Engine, args: argparse.Namespace, seen: _Sightings) -> None:
        self.pages: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        super().__init__(
            engine,
            args.taxii,
            args.collection,
            interval=args.interval,
            added_after=args.added_after,
            on_load=self.pages.put,
            **_taxii_options(args),
        )
        self.args, self.seen = args, seen
        self.identity_sent = False

    def publish_sightings(self) -> int:
        """Posts the sightings counted since the last call; the sensor's Identity goes
        with the first batch. Returns the Sightings posted."""
        if self.args.publish_sightings is None:
            return 0
        objects = sightings.to_stix(self.seen.take(), sensor=self.args.sensor)
        if self.identity_sent:
            objects = [o for o in objects if o["type"] == "sighting"]
        if not objects:
            return 0
        taxii.publish(
            self.args.taxii,
            self.args.publish_sightings or self.args.collection,
            objects,
            **_taxii_options(self.args),
        )
        self.identity_sent = True
        return sum(o["type"] == "sighting" for o in objects)

    def poll(self) -> None:
        try:
            super().poll()
            self.publish_sightings()
        except Exception as err:
            # The engine keeps its snapshot; the poller counts the error and backs off.
            print(f"vedette: {self.args.taxii}: {err}", file=sys.stderr)
            raise


class _Sightings:
    """Hits per indicator record since the last report, for ``--publish-sightings``, by
    record identity (source, ref, kind, value) across index versions; taken in the shape
    of ``Engine.sightings``."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[tuple[str | None, str | None, str, str], int] = {}
        self.first: dict[tuple[str | None, str | None, str, str], datetime] = {}
        self.last: dict[tuple[str | None, str | None, str, str], datetime] = {}

    def add(self, index: Index, seen: list[tuple[int, int]]) -> None:
        now = datetime.now(timezone.utc)
        with self.lock:
            for record_id, count in seen:
                record = index.indicator(record_id)
                key = (record.source, record.ref, record.kind, record.value)
                self.counts[key] = self.counts.get(key, 0) + count
                self.first.setdefault(key, now)
                self.last[key] = now

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            taken = [
                {
                    "source": k[0],
                    "ref": k[1],
                    "kind": k[2],
                    "value": k[3],
                    "count": n,
                    "first_seen": self.first[k],
                    "last_seen": self.last[k],
                }
                for k, n in self.counts.items()
            ]
            self.counts, self.first, self.last = {}, {}, {}
        return taken


def _cmd_watch(args: argparse.Namespace) -> int:
    if args.taxii and not args.collection:
        raise SystemExit("vedette watch: --taxii needs --collection ID")
    if args.publish_sightings is not None and not args.taxii:
        raise SystemExit("vedette watch: --publish-sightings needs --taxii")
    state = Path(args.state) if args.state else None
    if state is not None and (state / "state.json").exists():
        engine = Engine.open(state)
    elif args.index:
        engine = Engine(Index.load(args.index))
    else:
        engine = Engine()
    for feed in args.feed:
        # The file is the source's whole list: what it no longer holds is removed.
        update = engine.load(feed, source=Path(feed).name, sync=True, strict=args.strict)
        for report in update.reports:
            _report(feed, report)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    poller, seen = None, _Sightings()
    if args.taxii:
        poller = _TaxiiPoller(engine, args, seen)
        poller.start()
    sys.stdout.flush()
    output: str | int = args.output or sys.stdout.fileno()
    watcher = Watcher(
        args.logs, output, format=args.format, from_start=args.from_start, retro_bytes=args.retro
    )
    print(f"vedette: watching {len(args.logs)} logs, {len(engine)} indicators", file=sys.stderr)
    read = hits = retro = 0
    version, index = -1, None
    try:
        while not stop.is_set():
            if engine.version != version:
                # One index per published version: hits name their records through it.
                snapshot = engine.snapshot()
                version, index = snapshot.version, snapshot.to_index()
            assert index is not None
            while poller is not None and not poller.pages.empty():
                page = IndexBuilder()
                page.load(poller.pages.get(), format="stix", source=poller.source)
                retro += watcher.retro_hunt(page.build(), version=version)[1]
            got, found, errors, hit_records = watcher.poll(index, version=version)
            read, hits = read + got, hits + found
            if hit_records and args.publish_sightings is not None:
                seen.add(index, hit_records)
            for file, _category, message in errors:
                print(f"vedette: {file}: {message}", file=sys.stderr)
            if not got:
                stop.wait(args.poll)
    finally:
        stop.set()
        watcher.close()
        if poller is not None:
            poller.stop()
            poller.join()
            try:
                poller.publish_sightings()
            except (VedetteError, OSError, ValueError) as err:
                print(f"vedette: publishing sightings: {err}", file=sys.stderr)
        if state is not None:
            engine.save(state)
        engine.close()
    print(
        f"vedette: {read} bytes read, {hits} hits, {retro} retro-hunt hits, "
        f"engine version {engine.version}",
        file=sys.stderr,
    )
    return 0


def _add_feed_limits(parser: argparse.ArgumentParser) -> None:
    limits = parser.add_argument_group("feed limits")
    limits.add_argument(
        "--max-records", type=int, metavar="N", help="records loaded in all (50 million)"
    )
    limits.add_argument(
        "--max-feed-bytes",
        type=int,
        metavar="BYTES",
        help="bytes of one feed once decompressed (256 MiB); a larger feed is refused",
    )
    limits.add_argument(
        "--max-line-bytes",
        type=int,
        metavar="BYTES",
        help="bytes of one feed line (1 MiB); a longer line is a bad record",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vedette", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vedette {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    scan = commands.add_parser(
        "scan",
        help="match logs against feeds, one JSON line per hit",
        description="Exit status: 0 some hit, 1 no hit, 2 some input could not be read.",
    )
    scan.add_argument(
        "logs",
        nargs="*",
        metavar="LOG",
        help="log files or directories (gzip, zstd, bzip2, xz read as such); - or none for stdin",
    )
    scan.add_argument(
        "-j", "--threads", type=int, metavar="N", help="scanning threads (default: one per core)"
    )
    scan.add_argument(
        "--format",
        choices=["jsonl", "zeek", "ecs"],
        default="jsonl",
        help="jsonl: a JSON object per hit (default); zeek: a Zeek intel.log; ecs: ECS documents",
    )
    scan.add_argument(
        "--at", metavar="TIME", help="evaluate validity at this time (RFC 3339 or Unix seconds)"
    )
    scan.add_argument("--count", action="store_true", help="print FILE:HITS per input instead")
    scan.add_argument("-o", "--output", metavar="FILE", help="write hits here (default: stdout)")
    scan.add_argument(
        "--feed", action="append", default=[], metavar="FEED", help="a feed to compile (repeatable)"
    )
    scan.add_argument("--index", metavar="FILE", help="a compiled index (vedette compile -o FILE)")
    scan.add_argument("--sample", action="store_true", help="use the bundled sample feed and log")
    scan.add_argument("--strict", action="store_true", help="fail on the first bad feed record")
    scan.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="WARNINGLIST",
        help="a MISP warninglist whose values are never reported (repeatable)",
    )
    taxii_options = scan.add_argument_group("TAXII 2.1")
    taxii_options.add_argument(
        "--taxii", metavar="URL", help="an API root to poll for STIX indicators"
    )
    taxii_options.add_argument("--collection", metavar="ID", help="the collection to poll")
    _add_taxii_connection(taxii_options)
    taxii_options.add_argument(
        "--added-after", metavar="TIME", help="only objects added after this checkpoint"
    )
    _add_feed_limits(scan)
    scan.set_defaults(run=_cmd_scan)

    watch = commands.add_parser(
        "watch",
        help="follow growing logs against a live engine, one JSON line per hit as it is found",
        description="Follows logs as tail -F does; hits are flushed as found, each with the "
        "engine's version. When a TAXII poll brings indicators, the lines read lately are "
        "scanned again against them (hits say retro: true). SIGINT/SIGTERM end it, exit 0.",
    )
    watch.add_argument("logs", nargs="+", metavar="LOG", help="logs to follow")
    watch.add_argument(
        "--feed", action="append", default=[], metavar="FEED", help="a feed to load (repeatable)"
    )
    watch.add_argument("--index", metavar="FILE", help="a compiled index to start from")
    watch.add_argument("--strict", action="store_true", help="fail on the first bad feed record")
    watch.add_argument("--format", choices=["jsonl", "zeek", "ecs"], default="jsonl")
    watch.add_argument("-o", "--output", metavar="FILE", help="write hits here (default: stdout)")
    watch.add_argument(
        "--retro",
        type=int,
        default=64 << 20,
        metavar="BYTES",
        help="bytes of each log kept for the retro-hunt (default: 64 MiB)",
    )
    watch.add_argument(
        "--from-start", action="store_true", help="read the logs from their start, not their end"
    )
    watch.add_argument(
        "--poll", type=float, default=0.05, metavar="SECONDS", help=argparse.SUPPRESS
    )
    watch.add_argument(
        "--state", metavar="DIR", help="the engine's state: resumed at start, saved at exit"
    )
    watch_taxii = watch.add_argument_group("TAXII 2.1")
    watch_taxii.add_argument("--taxii", metavar="URL", help="an API root to poll")
    watch_taxii.add_argument("--collection", metavar="ID", help="the collection to poll")
    _add_taxii_connection(watch_taxii)
    watch_taxii.add_argument(
        "--added-after", metavar="TIME", help="the first poll's checkpoint (later: the engine's)"
    )
    watch_taxii.add_argument(
        "--interval", type=float, default=60.0, metavar="SECONDS", help="between polls (60)"
    )
    watch_taxii.add_argument(
        "--publish-sightings",
        nargs="?",
        const="",
        metavar="COLLECTION",
        help="post STIX Sightings of the hits after each poll (to the polled collection, "
        "or to COLLECTION)",
    )
    watch_taxii.add_argument(
        "--sensor",
        default=socket.gethostname(),
        metavar="NAME",
        help="the sensor's name in the Sightings (default: the host name)",
    )
    watch.set_defaults(run=_cmd_watch)

    comp = commands.add_parser("compile", help="compile feeds into an index file")
    comp.add_argument("feeds", nargs="+", metavar="FEED")
    comp.add_argument("-o", "--output", required=True, metavar="FILE")
    comp.add_argument("--strict", action="store_true", help="fail on the first bad feed record")
    comp.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="WARNINGLIST",
        help="a MISP warninglist whose values are left out (repeatable)",
    )
    _add_feed_limits(comp)
    comp.set_defaults(run=_cmd_compile)

    export = commands.add_parser("export", help="write feeds or an index out in another format")
    export.add_argument("feeds", nargs="*", metavar="FEED")
    export.add_argument("--index", metavar="FILE", help="a compiled index instead of feeds")
    export.add_argument(
        "--format", choices=["zeek"], default="zeek", help="zeek: a Zeek intel file"
    )
    export.add_argument("-o", "--output", required=True, metavar="FILE")
    export.add_argument("--strict", action="store_true", help="fail on the first bad feed record")
    export.add_argument("--allow", action="append", default=[], metavar="WARNINGLIST")
    _add_feed_limits(export)
    export.set_defaults(run=_cmd_export)

    discover = commands.add_parser(
        "discover", help="list a TAXII 2.1 server's API roots and their collections"
    )
    discover.add_argument(
        "taxii", metavar="URL", help="the discovery endpoint, or the server (/taxii2/)"
    )
    _add_taxii_connection(discover.add_argument_group("TAXII 2.1"))
    discover.set_defaults(run=_cmd_discover)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except BrokenPipeError:
        return 0
    except (VedetteError, OSError, ValueError) as err:
        print(f"vedette: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
