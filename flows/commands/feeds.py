"""`satudata feeds validate` and `satudata feeds try`: the feed registry."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flows.settings import Settings


def cmd_feeds_validate(args: argparse.Namespace) -> int:
    from flows.registry import RegistryError, load_registry

    path = Path(args.file) if args.file else Settings.from_env().feeds_file
    try:
        registry = load_registry(path)
    except RegistryError as e:
        problems = "\n".join(f"  {line}" for line in str(e).splitlines())
        print(f"feed registry is NOT valid:\n{problems}", file=sys.stderr)
        return 1
    missing = [f.id for f in registry.feeds if f.channel == "landing" and not f.files()]
    print(f"{path}: valid: {len(registry.datasets)} datasets, {len(registry.feeds)} feeds")
    for feed_id in missing:
        print(f"  note: feed {feed_id} has no file in its landing folder yet")
    return 0


def cmd_feeds_try(args: argparse.Namespace) -> int:
    """`satudata feeds try`: read a file as a feed would, in a throwaway warehouse, and
    propose (or check) its registry entry (flows/onboard/)."""
    from flows.onboard import TryRequest, UsageError, parse_header_rows, try_file

    try:
        header_rows = parse_header_rows(args.header_rows) if args.header_rows else None
    except UsageError as e:
        print(f"satudata feeds try: {e}", file=sys.stderr)
        return 2
    # a tab is hard to type on a command line: "tab" or "\t" mean one
    delimiter = {"tab": "\t", "\\t": "\t"}.get(args.delimiter, args.delimiter)
    request = TryRequest(
        file=Path(args.file), dataset=args.dataset, regency=args.regency,
        feed_id=args.feed, registry=Path(args.registry) if args.registry else None,
        sheet=args.sheet, header_rows=header_rows, delimiter=delimiter, rows=args.rows)
    return try_file(request)

