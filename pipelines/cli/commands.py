"""The `outcomes` commands, one function each: `handler(args) -> exit code`, given the parsed
arguments of `pipelines.cli.parser`."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from .. import audit
from ..access_policy import local_mode_refusal, secrets_have_sign_in
from ..analytics import ingest_log
from ..db import connect, init_db, shadow_missing_columns
from ..export import ExportError, export_deidentified
from ..formats import ImportFormatError
from ..ingest import NothingToPublish, ingest, stderr_progress
from ..publish import discard, ingest_lock, publish, working_copy
from ..settings import load_settings
from .export_fhir import cmd_export_fhir
from .tables import FILE_HEADINGS, ROW_HEADINGS, RULE_HEADINGS, RUN_HEADINGS, frame_table, summary, text_table


def cmd_init(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    with ingest_lock(args.db):  # written beside the served file and swapped in, like an ingest
        work = working_copy(args.db)
        try:
            con = connect(work)
            init_db(con, settings)
            con.close()
            publish(work, args.db)
        finally:
            discard(work)
    print(f"Outcomes database ready at {args.db}")
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    progress = (lambda message: None) if args.quiet else stderr_progress
    if bool(args.paths) == args.store_only:
        print("error: give export files or folders to load, or --store-only (and then no files)", file=sys.stderr)
        return 2
    try:
        run = ingest(args.db, args.paths, settings, progress=progress, full_export=args.full_export)
    except NothingToPublish as nothing:
        print(nothing)
        return 0
    except ImportFormatError as error:
        print(f"error: {error}\nNothing was loaded; the database is unchanged.", file=sys.stderr)
        return 2
    print(summary(run))
    if run.totals.quarantined:
        print(f"\n{run.totals.quarantined} row(s) quarantined; see them with: outcomes quarantine --db {args.db}")
    return 0


def _seconds(started, finished) -> float:
    """Seconds a run took, to 0.01 s, rounded as DuckDB's round() does (half away from zero)."""
    scaled = Decimal((finished - started).total_seconds() * 100.0)
    return float(scaled.to_integral_value(rounding=ROUND_HALF_UP)) / 100.0


def cmd_runs(args: argparse.Namespace) -> int:
    con = connect(args.db, read_only=True)
    shadow_missing_columns(con)
    runs = ingest_log.ingest_runs(con).head(args.limit)
    runs = runs.assign(started=[f"{at:%Y-%m-%d %H:%M:%S}" for at in runs["started_at"]],
                       seconds=[_seconds(a, b) for a, b in zip(runs["started_at"], runs["finished_at"])])
    print(frame_table(runs, RUN_HEADINGS))
    if args.files:
        files = ingest_log.ingest_files(con)
        files = files[files["run_id"].isin(runs["run_id"])]
        print("\n" + frame_table(files.assign(sha256=files["sha256"].str[:12]), FILE_HEADINGS))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    con = connect(args.db, read_only=True)
    shadow_missing_columns(con)
    rules = (args.rule,) if args.rule else ()
    if args.by_rule:
        print(frame_table(ingest_log.quarantine_by_rule(con, run=args.run, rules=rules), RULE_HEADINGS))
    else:
        rows = ingest_log.quarantined_rows(con, rules=rules, run=args.run, limit=args.limit)
        print(frame_table(rows, ROW_HEADINGS))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    if getattr(args, "format", None):  # the one-page report to a file (pipelines/cli/report_file.py)
        from .report_file import cmd_report_file
        return cmd_report_file(args)
    from ..analytics.outcomes import cohort_outcomes
    from ..analytics.snapshot import open_snapshot
    from ..analytics.survival import time_to_response
    from .bases import with_basis

    settings = load_settings(args.config)
    con = open_snapshot(args.db)
    group_by = tuple(args.by or ())
    frame = cohort_outcomes(con, settings, args.scale, group_by=group_by, timepoint=args.timepoint)
    survival = time_to_response(con, settings, args.scale, group_by=group_by)["summary"]
    frame, basis_words = with_basis(con, settings, frame, args.scale, group_by, args.timepoint,
                                    getattr(args, "basis", "completers"))

    def rate(row, name):
        value = row[f"{name}_rate"]
        if value != value:  # NaN: no denominator, or the scale has no such outcome
            return "-"
        return f"{100 * value:.0f}% ({100 * row[f'{name}_low']:.0f}-{100 * row[f'{name}_high']:.0f})"

    if group_by:  # line each group's median time up with its rates
        frame = frame.merge(survival[[*group_by, "median_days"]], on=list(group_by), how="left")
    else:
        frame = frame.assign(median_days=survival["median_days"].iloc[0] if len(survival) else float("nan"))
    rows = []
    for _, row in frame.iterrows():
        rows.append((row["group"], int(row["n_patients"]), int(row["n_evaluable"]), rate(row, "response"),
                     rate(row, "remission"), rate(row, "reliable_improvement"),
                     "-" if row["median_change"] != row["median_change"] else f"{row['median_change']:g}",
                     "not reached" if row["median_days"] != row["median_days"] else f"{row['median_days']:g}"))
    print(f"{args.scale} outcomes at the {args.timepoint.replace('_', ' ')} score; rates {basis_words}, "
          "95% Wilson intervals")
    print(text_table(["group", "patients", "n evaluable", "response", "remission", "reliable improvement",
                  "median change", "median days to response"], rows))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from ..synth import generate_clinic  # numpy and pandas: loaded only for this command

    counts = generate_clinic(Path(args.out), n_patients=args.patients, seed=args.seed, messy=args.messy)
    print(f"Synthetic clinic (not real patients) written to {args.out}: "
          + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if getattr(args, "fhir", False):
        return cmd_export_fhir(args)
    if not args.deidentified:
        print("error: outcomes export writes de-identified extracts only and will not export identified "
              "data; add --deidentified to confirm (docs/export.md says what is kept and dropped), or --fhir "
              "to write scores back to the clinic's EHR", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    try:
        result = export_deidentified(args.db, args.out, settings.export, fmt=args.format, force=args.force)
    except ExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # An extract leaving the database is an export, logged like the dashboard's.
    audit.append(audit.audit_path(args.db, settings.access.audit_log), f"cli:{getpass.getuser()}", "operator",
                 "export", "outcomes export", None, f"de-identified {args.format} extract to {result.out}")
    tables = result.manifest["tables"]
    print(f"De-identified extract written to {result.out} in {result.seconds:.1f} s "
          f"(key {result.manifest['settings']['key_fingerprint']}, dates: {settings.export.date_mode})")
    print(text_table(["table", "file", "rows", "columns"],
                 [(name, t["file"], t["rows"], len(t["columns"])) for name, t in tables.items()]))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    path = audit.audit_path(args.db, settings.access.audit_log)
    try:
        if args.reanchor:
            head = audit.anchor(path)
            print(f"The head of {path} now records its {head.entries} entries as they are (in {audit.head_path(path)}).")
        entries, verification = audit.read(path)
    except audit.AuditKeyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.verify:
        if args.patient:
            entries = [e for e in entries if e.patient_id == args.patient]
        if args.user:
            entries = [e for e in entries if args.user.lower() in e.user.lower()]
        shown = entries[-args.limit:] if args.limit else entries
        print(f"Audit log {path}: {verification.entries} entries"
              + (f", showing the latest {len(shown)} that match" if len(shown) < verification.entries else ""))
        print(text_table(["at", "user", "role", "action", "page", "patient_id", "detail"],
                     [(e.at, e.user, e.role, e.action, e.page, e.patient_id, e.detail) for e in shown]))
    print(f"Protection: {'keyed' if verification.keyed else 'unkeyed'}: {verification.protection}")
    if verification.note:
        print(f"Note: {verification.note}")
    if not verification.ok:
        print(f"error: the audit log has been altered: {verification.problem}", file=sys.stderr)
        return 1
    print(f"Intact ({'keyed' if verification.keyed else 'unkeyed'}, {verification.entries} entries"
          + (", head matches" if verification.keyed and not verification.note else "")
          + "): the hash chain is intact, no entry has been changed, removed or reordered"
          + (", and nothing is missing from its end." if verification.keyed else
             "; its end is not anchored (no keyed entry yet)."))
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    """Start the dashboard, refusing first (before any port is opened) what the app would refuse."""
    settings = load_settings(args.config)
    if not secrets_have_sign_in() and (refusal := local_mode_refusal(args.address, settings.access)):
        print(f"error: {refusal}", file=sys.stderr)
        return 2
    env = {**os.environ, "OUTCOMES_DB": args.db, **({"OUTCOMES_CONFIG": args.config} if args.config else {})}
    # `streamlit run dashboard/app.py`, with the database opened before the first visitor
    command = [sys.executable, "-m", "dashboard.serve", "--server.address", args.address,
               "--server.port", str(args.port), "--server.headless", "true",
               # wherever it is started from (the project's .streamlit/config.toml is read only from
               # the current folder): no "Deploy" button or developer menu for clinic staff, and no
               # usage statistics sent to Streamlit (seen: data.streamlit.io/metrics.json)
               "--client.toolbarMode", "viewer", "--browser.gatherUsageStats", "false"]
    os.execvpe(command[0], command, env)
    return 0  # not reached
