"""`outcomes report --format pdf|html --out FILE`: the director's one-page outcomes report for a
period and cohort, written to a file (`pipelines.reports.board`), with small cells suppressed
as on the Clinic outcomes page, since the file is meant to be handed over."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import getpass
import sys
from pathlib import Path

from .. import audit
from ..analytics.cohorts import CohortFilter, cohort_options
from ..settings import load_settings

FORMATS = ("pdf", "html")


def iso_date(text: str) -> dt.date:
    """An argparse type: a date written YYYY-MM-DD, or a message saying so."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None


def report_cohort(args: argparse.Namespace) -> CohortFilter:
    """The cohort of the command line: first-infusion dates, sites, clinicians, indications."""
    return CohortFilter(start_from=args.start_from, start_to=args.start_to, sites=tuple(args.site or ()),
                        clinicians=tuple(args.clinician or ()), indications=tuple(args.indication or ()))


def unknown_names(cohort: CohortFilter, options: dict) -> list[str]:
    """A line for each site, clinician or indication asked for that no patient has (a typo
    would otherwise give a report of nobody without a word)."""
    lines = []
    for field, option in (("sites", "--site"), ("clinicians", "--clinician"), ("indications", "--indication")):
        known = options.get(field, [])
        for name in getattr(cohort, field):
            if name not in known:
                lines.append(f"{option} {name!r}: no patient has it (known: {', '.join(map(str, known)) or 'none'})")
    return lines


def cmd_report_file(args: argparse.Namespace) -> int:
    from ..analytics.snapshot import open_snapshot
    from ..reports.benchmarks import BenchmarkError
    from ..reports.board import build_board
    from ..reports.board_html import board_html
    from ..reports.board_pdf import board_pdf

    if not args.out:
        print("error: --format needs --out FILE, the file to write the report to", file=sys.stderr)
        return 2
    if args.start_from and args.start_to and args.start_from > args.start_to:
        print(f"error: --from {args.start_from} is after --to {args.start_to}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if not out.parent.is_dir():
        print(f"error: cannot write {out}: the folder {out.parent} does not exist", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    if args.page_size:
        settings = dataclasses.replace(settings, report=dataclasses.replace(settings.report, page_size=args.page_size))
    con = open_snapshot(args.db)
    cohort = report_cohort(args)
    for line in unknown_names(cohort, cohort_options(con)):
        print(f"warning: {line}", file=sys.stderr)
    try:
        board = build_board(con, settings, cohort)
    except BenchmarkError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document = board_pdf(board) if args.format == "pdf" else board_html(board).encode("utf-8")
    # A report leaving the database is an export, logged like the dashboard's downloads.
    audit.append(audit.audit_path(args.db, settings.access.audit_log), f"cli:{getpass.getuser()}", "operator",
                 "export", "outcomes report", None, f"one-page report ({args.format}, {board.cohort_text}) to {out}")
    out.write_bytes(document)
    print(f"One-page outcomes report ({args.format.upper()}, {board.page_size}) written to {out}: "
          f"{board.cohort_text}; counts under {board.min_cell} patients, and any that would give one back, "
          f"shown as \"suppressed\"")
    return 0
