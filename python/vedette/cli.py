"""The vedette command: compile feeds, scan logs, write one JSON object per hit."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from vedette import Index, IndexBuilder, LoadReport, Match, VedetteError, taxii

#: Logs are read and matched in blocks of whole lines of about this many bytes.
BLOCK_BYTES = 8 << 20


def _sample(name: str) -> Path:
    return Path(str(resources.files("vedette") / "data" / name))


def _open_log(path: str) -> BinaryIO:
    if path == "-":
        return sys.stdin.buffer
    with open(path, "rb") as probe:
        magic = probe.read(2)
    # gzip.open reads every member of a multi-member file.
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _blocks(stream: BinaryIO) -> Iterator[bytes]:
    """Blocks of whole lines: a hit never straddles two blocks."""
    rest = b""
    while chunk := stream.read(BLOCK_BYTES):
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1
        if cut == 0:
            rest = chunk
            continue
        rest = chunk[cut:]
        yield chunk[:cut]
    if rest:
        yield rest


def _report(name: str, report: LoadReport) -> None:
    skipped = sum(report.skipped.values())
    print(f"vedette: {name}: {report.loaded} loaded, {skipped} skipped", file=sys.stderr)
    for reason, count in report.skipped.items():
        print(f"vedette:   skipped {count}: {reason}", file=sys.stderr)


def _build(args: argparse.Namespace, feeds: Sequence[str]) -> Index:
    builder = IndexBuilder()
    for feed in feeds:
        _report(feed, builder.load(feed, strict=args.strict, source=Path(feed).name))
    if getattr(args, "taxii", None):
        password = args.taxii_password or os.environ.get("VEDETTE_TAXII_PASSWORD")
        result = taxii.poll(
            args.taxii,
            args.collection,
            user=args.taxii_user,
            password=password,
            added_after=args.added_after,
        )
        source = urllib.parse.urlsplit(args.taxii).hostname or args.taxii
        _report(
            f"{args.taxii} ({len(result.objects)} objects)",
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


def _hit(log: str, line: int, block: bytes, m: Match) -> dict:
    """One hit as JSON: where (file, line, span within the line), what, and why."""
    line_start = block.rfind(b"\n", 0, m.start) + 1
    return {
        "file": log,
        "line": line,
        "start": m.start - line_start,
        "end": m.end - line_start,
        "observed": block[m.start : m.end].decode("utf-8", "replace"),
        "kind": m.kind,
        "indicators": [
            {"value": i.value, "kind": i.kind, "source": i.source, "ref": i.ref}
            for i in m.indicators
        ],
    }


def _scan(index: Index, logs: Sequence[str], out) -> tuple[int, int, int]:
    lines = size = hits = 0
    for log in logs:
        with _open_log(log) as stream:
            line_base = 1
            for block in _blocks(stream):
                # Hits come in order: count the newlines between consecutive hits only,
                # so a block costs one pass however many hits it has.
                line, counted_to = line_base, 0
                for m in index.find(block):
                    line += block.count(b"\n", counted_to, m.start)
                    counted_to = m.start
                    out.write(json.dumps(_hit(log, line, block, m)) + "\n")
                    hits += 1
                newlines = block.count(b"\n")
                lines += newlines + (not block.endswith(b"\n"))
                line_base += newlines
                size += len(block)
    return lines, size, hits


def _cmd_scan(args: argparse.Namespace) -> int:
    feeds, logs = list(args.feed), list(args.logs)
    if args.sample:
        feeds.append(str(_sample("ipsum-level3.txt.gz")))
        logs = logs or [str(_sample("auth.log.gz"))]
    if not feeds and not args.index and not args.taxii:
        raise SystemExit("vedette scan: give --feed FEED, --taxii URL, --index FILE or --sample")
    if args.taxii and not args.collection:
        raise SystemExit("vedette scan: --taxii needs --collection ID")
    started = time.perf_counter()
    index = Index.load(args.index) if args.index else _build(args, feeds)
    lines, size, hits = _scan(index, logs or ["-"], sys.stdout)
    seconds = time.perf_counter() - started
    print(
        f"vedette: {len(index)} indicators, {lines} lines, {size} bytes, {hits} hits, "
        f"{seconds:.2f} s",
        file=sys.stderr,
    )
    return 0


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vedette", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    scan = commands.add_parser("scan", help="match logs against feeds, one JSON line per hit")
    scan.add_argument(
        "logs", nargs="*", metavar="LOG", help="log files (.gz read as such); - or none for stdin"
    )
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
    taxii_options.add_argument("--taxii-user", metavar="USER")
    taxii_options.add_argument(
        "--taxii-password", metavar="PASSWORD", help="or set VEDETTE_TAXII_PASSWORD"
    )
    taxii_options.add_argument(
        "--added-after", metavar="TIME", help="only objects added after this checkpoint"
    )
    scan.set_defaults(run=_cmd_scan)

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
    export.set_defaults(run=_cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:
        return 0
    except (VedetteError, OSError) as err:
        print(f"vedette: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
