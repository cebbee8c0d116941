"""The `outcomes` command's arguments: one sub-command per job, each with its help text and its
handler in `pipelines.cli.commands`."""

from __future__ import annotations

import argparse

from ..analytics.cohorts import GROUPABLE
from ..settings import DEFAULT_DB
from ..spark.command import add_spark_command
from .commands import (cmd_audit, cmd_dashboard, cmd_export, cmd_ingest, cmd_init, cmd_quarantine, cmd_report,
                       cmd_runs, cmd_synth)
from .demo import cmd_demo
from .report_file import FORMATS, iso_date


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
    load.add_argument("paths", nargs="*", help="export files (CSV, REDCap, FHIR JSON/NDJSON), read as named (no wildcards), "
                                               "or folders whose *.csv, *.json and *.ndjson files are loaded")
    load.add_argument("--store-only", action="store_true",
                      help="load no files, only the patients' check-ins saved on the dashboard (every run loads "
                      "them too); the dashboard runs this after each check-in (docs/ingest.md)")
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

    demo = with_db(commands.add_parser(
        "demo", help="build the demo database: the sample with its dates moved to end yesterday",
        description="Load the synthetic sample with every date moved forward by the same number of days, so the "
        "data ends yesterday and the Worklist shows a realistic morning; the pages say the dates were moved. "
        "Rebuilt only when it no longer ends yesterday; a database holding a clinic's own data is never touched."))
    demo.add_argument("--sample", default="data/sample", help="the sample's folder of CSV exports (default data/sample)")
    demo.set_defaults(handler=cmd_demo)

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
    add_report_file_options(report)
    report.add_argument("--basis", default="completers", choices=["completers", "itt", "locf"],
                        help="who response and remission are counted over: completers (default), intention to "
                             "treat, or last observation carried forward (docs/analytics.md)")
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
        "export", help="write de-identified analytic tables (Parquet or CSV) for analysts, or scores back to "
        "the EHR as FHIR (--fhir)",
        description="Write the analytic tables (patients' cohort attributes, infusions, scores, outcomes per "
        "scale, paired PHQ-9/GAD-7 outcomes) with every id replaced by a keyed hash (HMAC-SHA256; key from "
        "$OUTCOMES_EXPORT_KEY or the [export] settings, never a default), dates shifted per patient or cut to "
        "the month, birth year in bands with ages 90 and over grouped, clinician and site names pseudonymised, "
        "and no free text, plus manifest.json. With --fhir instead: scores as FHIR R4 QuestionnaireResponse and "
        "total Observation resources (NDJSON) for the clinic's EHR. The database is opened read-only. See docs/export.md."))
    export.add_argument("--deidentified", action="store_true",
                        help="required (unless --fhir): confirms the extract is de-identified (identified "
                        "extracts are not offered)")
    export.add_argument("--format", choices=["parquet", "csv"], default="parquet", help="file format (default parquet)")
    export.add_argument("--out", required=True, help="folder to write into; created, and must be empty")
    export.add_argument("--force", action="store_true", help="write into a non-empty folder, replacing an earlier "
                        "export's files there")
    export.add_argument("--fhir", action="store_true", help="instead: write scores back to the clinic's EHR as FHIR R4 "
                        "(QuestionnaireResponse and total Observation, NDJSON; identified: docs/export.md)")
    export.add_argument("--all-scores", action="store_true", help="with --fhir: every valid score, not only those "
                        "patients entered at check-in")
    export.set_defaults(handler=cmd_export)
    add_spark_command(commands)  # outcomes spark (pipelines/spark/command.py)

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


def add_report_file_options(report: argparse.ArgumentParser) -> None:
    """`outcomes report --format pdf|html --out FILE`: the one-page report (pipelines/cli/report_file.py)."""
    report.add_argument("--format", choices=FORMATS, help="write the director's one-page outcomes report (PDF or "
                        "HTML, small cells suppressed) to --out instead of printing the table")
    report.add_argument("--out", help="the report file to write (with --format)")
    report.add_argument("--from", dest="start_from", type=iso_date, metavar="DATE",
                        help="with --format: patients whose first infusion is on or after DATE (YYYY-MM-DD)")
    report.add_argument("--to", dest="start_to", type=iso_date, metavar="DATE",
                        help="with --format: patients whose first infusion is on or before DATE")
    report.add_argument("--site", action="append", help="with --format: only this site (repeatable)")
    report.add_argument("--clinician", action="append", help="with --format: only this clinician (repeatable)")
    report.add_argument("--indication", action="append",
                        help="with --format: only this primary indication, e.g. depression (repeatable)")
    report.add_argument("--page-size", choices=("A4", "Letter"),
                        help="with --format: the page (default [report] page_size, Letter)")
