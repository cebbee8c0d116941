"""The `outcomes` command: build and inspect a clinic's outcomes database."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd

from . import audit
from .access_policy import local_mode_refusal, secrets_have_sign_in
from .analytics import ingest_log
from .analytics.cohorts import GROUPABLE
from .db import connect, init_db, shadow_missing_columns
from .export import ExportError, export_deidentified
from .formats import ImportFormatError
from .ingest import RunResult, deletion_lines, ingest, stderr_progress
from .publish import discard, ingest_lock, publish, working_copy
from .settings import DEFAULT_DB, SettingsError, load_settings


def _table(columns: list[str], rows: list[tuple]) -> str:
    """A plain text table: numbers right-aligned, text left-aligned."""
    if not rows:
        return "(none)"
    cells = [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values):
        return "  ".join(v.rjust(w) if n else v.ljust(w) for v, w, n in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths]), *map(line, cells)])


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
    try:
        run = ingest(args.db, args.paths, settings, progress=progress, full_export=args.full_export)
    except ImportFormatError as error:
        print(f"error: {error}\nNothing was loaded; the database is unchanged.", file=sys.stderr)
        return 2
    print(summary(run))
    if run.totals.quarantined:
        print(f"\n{run.totals.quarantined} row(s) quarantined; see them with: outcomes quarantine --db {args.db}")
    return 0


def summary(run: RunResult) -> str:
    """The end-of-run table: one line per file and a total line; after a full export, a
    `deleted` column (stored rows the export left out: a count for the run, not per file) and
    what was deleted per kind."""
    full = run.deletions is not None
    columns = ["file", "kind", "rows in", "inserted", "updated", "unchanged", "quarantined",
               *(["deleted"] if full else []), "seconds"]
    rows = [(f.path, f.kind, f.rows_in, f.inserted, f.updated, f.unchanged, f.quarantined,
             *([None] if full else []), f.seconds)
            for f in run.files]
    t = run.totals
    rows.append(("TOTAL", "", t.rows_in, t.inserted, t.updated, t.unchanged, t.quarantined,
                 *([run.deleted] if full else []), round(sum(f.seconds for f in run.files), 3)))
    text = f"Ingest run {run.run_id}\n" + _table(columns, rows)
    if full:
        text += "\n\nFull export (" + (", ".join(run.full_export) or "no rows") + "):\n"
        text += "\n".join(f"  {line}" for line in deletion_lines(run.deletions)) or "  nothing to delete"
    if run.warnings:
        text += "\n\nWarnings (tolerated and loaded, nothing quarantined for them):\n"
        text += "\n".join(f"  {path}: {warning}" for path, warnings in run.warnings.items() for warning in warnings)
    return text


# What `outcomes runs` and `outcomes quarantine` print: the ingest log's columns under the CLI's
# headings (the answers are the Data quality page's, `pipelines.analytics.ingest_log`).
RUN_HEADINGS = {"run_id": "run", "started": "started (UTC)", "seconds": "seconds", "n_files": "files",
                "rows_in": "rows in", "inserted": "inserted", "updated": "updated", "unchanged": "unchanged",
                "quarantined": "quarantined", "deleted": "deleted"}
FILE_HEADINGS = {"run_id": "run", "path": "file", "kind": "kind", "sha256": "sha256", "rows_in": "rows in",
                 "inserted": "inserted", "updated": "updated", "unchanged": "unchanged",
                 "quarantined": "quarantined", "seconds": "seconds"}
RULE_HEADINGS = {"rule": "rule", "n_rows": "rows"}
ROW_HEADINGS = {"run_id": "run", "source_file": "file", "source_row": "row", "kind": "kind", "record_key": "key",
                "reason": "reason"}


def _plain(value):
    """A DataFrame cell as the Python value `_table` prints: numbers as int/float, missing as None."""
    if value is None or value is pd.NA or (not isinstance(value, (list, tuple)) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def _frame_table(frame: pd.DataFrame, headings: dict[str, str]) -> str:
    """`frame`'s columns `headings` (in that order) as a `_table` under the headings' names."""
    rows = [tuple(_plain(value) for value in row) for row in frame[list(headings)].itertuples(index=False)]
    return _table(list(headings.values()), rows)


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
    print(_frame_table(runs, RUN_HEADINGS))
    if args.files:
        files = ingest_log.ingest_files(con)
        files = files[files["run_id"].isin(runs["run_id"])]
        print("\n" + _frame_table(files.assign(sha256=files["sha256"].str[:12]), FILE_HEADINGS))
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    con = connect(args.db, read_only=True)
    shadow_missing_columns(con)
    rules = (args.rule,) if args.rule else ()
    if args.by_rule:
        print(_frame_table(ingest_log.quarantine_by_rule(con, run=args.run, rules=rules), RULE_HEADINGS))
    else:
        rows = ingest_log.quarantined_rows(con, rules=rules, run=args.run, limit=args.limit)
        print(_frame_table(rows, ROW_HEADINGS))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from .analytics.outcomes import cohort_outcomes
    from .analytics.snapshot import open_snapshot
    from .analytics.survival import time_to_response

    settings = load_settings(args.config)
    con = open_snapshot(args.db)
    group_by = tuple(args.by or ())
    frame = cohort_outcomes(con, settings, args.scale, group_by=group_by, timepoint=args.timepoint)
    survival = time_to_response(con, settings, args.scale, group_by=group_by)["summary"]

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
    print(f"{args.scale} outcomes at the {args.timepoint.replace('_', ' ')} score; rates over patients in the "
          "clinical range at baseline with a follow-up (n evaluable), 95% Wilson intervals")
    print(_table(["group", "patients", "n evaluable", "response", "remission", "reliable improvement",
                  "median change", "median days to response"], rows))
    return 0


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth import generate_clinic  # numpy and pandas: loaded only for this command

    counts = generate_clinic(Path(args.out), n_patients=args.patients, seed=args.seed, messy=args.messy)
    print(f"Synthetic clinic (not real patients) written to {args.out}: "
          + ", ".join(f"{name} {count:,}" for name, count in counts.items()))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    if not args.deidentified:
        print("error: outcomes export writes de-identified extracts only and will not export identified "
              "data; add --deidentified to confirm (docs/export.md says what is kept and dropped)", file=sys.stderr)
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
    print(_table(["table", "file", "rows", "columns"],
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
        print(_table(["at", "user", "role", "action", "page", "patient_id", "detail"],
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
    app = Path(__file__).resolve().parent.parent / "dashboard" / "app.py"
    env = {**os.environ, "OUTCOMES_DB": args.db, **({"OUTCOMES_CONFIG": args.config} if args.config else {})}
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.address", args.address,
               "--server.port", str(args.port), "--server.headless", "true"]
    os.execvpe(command[0], command, env)
    return 0  # not reached


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="outcomes",
        description="Infusion Outcomes: score and validate a ketamine clinic's exports (patients, infusion "
        "sessions, symptom scales such as PHQ-9 and GAD-7) into an outcomes database, and inspect what was loaded.",
    )
    parser.add_argument("--config", help="settings file (TOML): clinic time zone, baseline window, plausible "
                        "vital-sign and dose ranges. Default: $OUTCOMES_CONFIG or built-in defaults.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_db(sub: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sub.add_argument("--db", default=DEFAULT_DB, help=f"outcomes database file (default {DEFAULT_DB})")
        return sub

    init = with_db(commands.add_parser(
        "init", help="create an empty outcomes database",
        description="Create the outcomes database: tables for patients, infusions and assessments, the scale "
        "registry, and the outcome views (baseline, change, response, remission, reliable change)."))
    init.set_defaults(handler=cmd_init)

    load = with_db(commands.add_parser(
        "ingest", help="load clinic exports (files or folders of CSV)",
        description="Load the clinic's exports: patients, infusion sessions and symptom-scale assessments. Each "
        "assessment is scored (prorating a few missing items as the scale allows) and checked; rows that fail a "
        "check (impossible dates or vital signs, unknown patients or scales, answers out of range, totals that "
        "disagree with the items) are quarantined with the reason, never dropped. Rows already loaded are left as "
        "they are; changed rows replace the old version, which is kept in history. The whole run is one "
        "transaction: a file that is not a known export stops it with nothing written."))
    load.add_argument("paths", nargs="+", help="export files (CSV, REDCap, FHIR JSON/NDJSON), read as named (no wildcards), "
                                               "or folders whose *.csv, *.json and *.ndjson files are loaded")
    load.add_argument("--quiet", action="store_true", help="no progress lines, only the summary")
    load.add_argument("--full-export", action="store_true",
                      help="the files are the clinic's whole export for the kinds they hold (patients, sessions, "
                      "assessments): stored rows of those kinds that no file sends are deleted, kept in history "
                      "with the run (docs/ingest.md). Without it nothing is ever deleted")
    load.set_defaults(handler=cmd_ingest)

    synth = commands.add_parser(
        "synth", help="write a synthetic clinic's exports (never real patients)",
        description="Write realistic synthetic exports for a ketamine clinic: induction series of six infusions, "
        "maintenance for some, early stoppers, responders and non-responders on PHQ-9, GAD-7, pain and PCL-5, "
        "dose titration, blood pressure at peak, dissociation (CADSS) and side effects. Same seed, same files.")
    synth.add_argument("--patients", type=int, default=300, help="number of patients (default 300)")
    synth.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    synth.add_argument("--out", required=True, help="folder to write patients.csv, sessions.csv, assessments.csv")
    synth.add_argument("--messy", action="store_true",
                       help="add realistic bad rows of every quarantine class, listed in messy_manifest.tsv")
    synth.set_defaults(handler=cmd_synth)

    runs = with_db(commands.add_parser(
        "runs", help="list recent ingest runs and their counts",
        description="Recent ingest runs: when, how many rows came in, and how many were inserted, updated, "
        "unchanged or quarantined (rows in = inserted + updated + unchanged + quarantined)."))
    runs.add_argument("--limit", type=int, default=20, help="runs to show (default 20)")
    runs.add_argument("--files", action="store_true", help="also list each file with its SHA-256 and timing")
    runs.set_defaults(handler=cmd_runs)

    report = with_db(commands.add_parser(
        "report", help="clinic outcomes: response, remission, reliable improvement, time to response",
        description="Outcome rates for one scale with 95%% intervals, over patients in the clinical range at "
        "baseline with a follow-up score, optionally by site, clinician, indication, route, sex, age band or dose "
        "band; and the median days from the first infusion to response (Kaplan-Meier)."))
    report.add_argument("--scale", default="PHQ-9", help="PHQ-9 (default), GAD-7, PAIN-NRS or PCL-5")
    report.add_argument("--by", action="append", choices=GROUPABLE, help="group by this attribute (repeatable)")
    report.add_argument("--timepoint", default="latest", choices=["latest", "after_induction"],
                        help="judge outcomes on the latest score (default) or the score after induction")
    report.set_defaults(handler=cmd_report)

    quarantine = with_db(commands.add_parser(
        "quarantine", help="list quarantined rows with the reason",
        description="Rows that were not loaded because they failed a check, with file, row and reason, so the "
        "clinic can correct them at the source and re-export."))
    quarantine.add_argument("--run", type=int, help="only rows first met in this run")
    quarantine.add_argument("--rule", help="only rows that broke this rule (e.g. item_out_of_range)")
    quarantine.add_argument("--by-rule", action="store_true", help="count rows per rule instead of listing them")
    quarantine.add_argument("--limit", type=int, default=200, help="rows to show (default 200)")
    quarantine.set_defaults(handler=cmd_quarantine)

    export = with_db(commands.add_parser(
        "export", help="write de-identified analytic tables (Parquet or CSV) for analysts",
        description="Write the analytic tables (patients' cohort attributes, infusions, scores, outcomes per "
        "scale, paired PHQ-9/GAD-7 outcomes) with every id replaced by a keyed hash (HMAC-SHA256; key from "
        "$OUTCOMES_EXPORT_KEY or the [export] settings, never a default), dates shifted per patient or cut to "
        "the month, birth year in bands with ages 90 and over grouped, clinician and site names pseudonymised, "
        "and no free text, plus manifest.json. The database is opened read-only. See docs/export.md."))
    export.add_argument("--deidentified", action="store_true",
                        help="required: confirms the extract is de-identified (identified exports are not offered)")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    export.add_argument("--out", required=True, help="folder to write into; created, and must be empty")
    export.add_argument("--force", action="store_true", help="write into a non-empty folder, replacing an earlier "
                        "export's files there")
    export.set_defaults(handler=cmd_export)

    audit = with_db(commands.add_parser(
        "audit", help="list the audit log: who viewed or exported which patient's record",
        description="The audit log kept beside the database (or at [access] audit_log / $OUTCOMES_AUDIT_LOG): every "
        "view of a patient's record and every export in the dashboard, with user, role, time, page and patient. "
        "Checks the keyed hash chain and the head kept outside the log's folder, and exits 1 if any entry was "
        "changed, removed or reordered, entries are missing from the end, or the log was deleted or rewritten "
        "(docs/access.md)."))
    audit.add_argument("--verify", action="store_true", help="only check the log, list no entries")
    audit.add_argument("--reanchor", action="store_true", help="after investigating a reported problem, record "
                       "the log's present end as its head (the next check starts from there)")
    audit.add_argument("--patient", help="only entries about this patient id")
    audit.add_argument("--user", help="only entries of users whose name contains this text")
    audit.add_argument("--limit", type=int, default=50, help="latest entries to show (default 50; 0 = all)")
    audit.set_defaults(handler=cmd_audit)

    dashboard = with_db(commands.add_parser(
        "dashboard", help="start the dashboard (checks the access settings first)",
        description="Start the Streamlit dashboard on the database. Without sign-in configured "
        "(.streamlit/secrets.toml [auth]) it runs in local single-user mode and refuses to listen on an address "
        "other computers can reach, unless [access] allow_local_mode_on_network = true. See docs/access.md."))
    dashboard.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    dashboard.add_argument("--port", type=int, default=8501, help="port (default 8501)")
    dashboard.set_defaults(handler=cmd_dashboard)
    return parser


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


if __name__ == "__main__":
    sys.exit(main())
