"""The `outcomes` command: build and inspect a clinic's outcomes database.

`main` runs it (the console script, and `python -m pipelines.cli`); `parser` holds the
arguments, `commands` one function per command, `tables` how results are printed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..settings import SettingsError
from .parser import build_parser
from .tables import summary

__all__ = ["main", "build_parser", "summary"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "db", None) and args.command in ("runs", "quarantine", "report", "export") and not Path(args.db).exists():
        print(f"error: no outcomes database at {args.db} (create one with: outcomes ingest PATH --db {args.db})",
              file=sys.stderr)
        return 2
    try:
        return args.handler(args)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
