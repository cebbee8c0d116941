"""Data quality (analyst/admin): what each ingest did with the clinic's exports, which rows were
kept out and why, which loaded records are incomplete, who has no baseline, and how reliably a
PHQ-9 is taken before each infusion.

Every number comes from `pipelines.analytics.ingest_log` (runs, files, quarantine, updates, table
counts), `pipelines.analytics.completeness` (missing values) and `pipelines.analytics.coverage`
(baselines, completion), definitions in their docstrings; counts of patients reach a viewer
without patient-level access through `pipelines.reports.quality` (small cells blanked). The page
only arranges them, one tab per question, each table with a CSV download so a problem can be
sent back to whoever keeps the records.
"""

from __future__ import annotations

import streamlit as st

from dashboard import theme
from dashboard.access import current_viewer, sees_patient_level
from dashboard.charts.ingest import ingest_runs_chart, quarantine_rules_chart
from dashboard.charts.quality import GAP_LABELS, baseline_gaps_chart, completion_chart
from dashboard.data import ask, settings
from dashboard.suppressed import show_legend, table_cells, text_config
from dashboard.widgets import download_csv, require_database, vega_chart
from pipelines.analytics import completeness, coverage, ingest_log
from pipelines.reports.quality import suppressed_completion, suppressed_coverage, suppressed_missing

# Quarantine and history lists can be long on a large clinic: the browser gets this many rows,
# the CSV all of them.
MAX_ROWS_SHOWN = 1000
CHART_CONFIG = {"displayModeBar": False}

RUN_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run", width="small"),
    "started_at": st.column_config.DatetimeColumn("Started (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "seconds": st.column_config.NumberColumn("Seconds", format="%.1f"),
    "n_files": st.column_config.NumberColumn("Files", width="small"),
    "rows_in": st.column_config.NumberColumn("Rows in", format="localized"),
    "inserted": st.column_config.NumberColumn("Inserted", format="localized"),
    "updated": st.column_config.NumberColumn("Updated", format="localized"),
    "unchanged": st.column_config.NumberColumn("Unchanged", format="localized"),
    "quarantined": st.column_config.NumberColumn("Quarantined", format="localized"),
    "balanced": st.column_config.CheckboxColumn("Adds up",
                                                help="rows in = inserted + updated + unchanged + quarantined"),
    "deleted": st.column_config.NumberColumn("Deleted", format="localized",
                                             help="stored rows a full export left out, kept in history; not rows in"),
}
FILE_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run", width="small"),
    "path": st.column_config.TextColumn("File"),
    "kind": st.column_config.TextColumn("Export"),
    **{key: RUN_COLUMNS[key] for key in ("rows_in", "inserted", "updated", "unchanged", "quarantined", "seconds")},
    "sha256": st.column_config.TextColumn("SHA-256", help="Content hash: the quarantine is keyed on it"),
}
RULE_COLUMNS = {
    "rule": st.column_config.TextColumn("Rule"),
    "description": st.column_config.TextColumn("Meaning", width="medium"),
    "n_rows": st.column_config.NumberColumn("Rows", help="A row breaking several rules counts under each"),
    "n_files": st.column_config.NumberColumn("Files", width="small"),
    "example_reason": st.column_config.TextColumn("Example", width="large"),
}
QUARANTINE_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run", width="small"),
    "source_file": st.column_config.TextColumn("File"),
    "source_row": st.column_config.NumberColumn("Row", width="small",
                                                help="Data row in the file (1 = first after the header)"),
    "record_key": st.column_config.TextColumn("Id"),
    "rules": st.column_config.TextColumn("Rules"),
    "reason": st.column_config.TextColumn("Reason", width="large"),
    "raw_values": st.column_config.TextColumn("Values as exported", width="large"),
}
COVERAGE_COLUMNS = {
    "scale": st.column_config.TextColumn("Scale"),
    "n_with_baseline": st.column_config.NumberColumn("With a baseline", format="localized"),
    "n_without_baseline": st.column_config.NumberColumn("Without", format="localized"),
    **{reason: st.column_config.NumberColumn(label, format="localized") for reason, label in GAP_LABELS.items()},
}
GAP_COLUMNS = {
    "patient_id": st.column_config.TextColumn("Patient"),
    "instrument": st.column_config.TextColumn("Scale"),
    "reason_text": st.column_config.TextColumn("Why no baseline", width="large"),
    "site": st.column_config.TextColumn("Site"),
    "clinician": st.column_config.TextColumn("Clinician"),
    "first_session_at": st.column_config.DatetimeColumn("First infusion", format="YYYY-MM-DD HH:mm"),
    "days_too_early": st.column_config.NumberColumn("Latest score, days before", help="For scores only too early"),
    "first_after_start_at": st.column_config.DatetimeColumn("First score after start", format="YYYY-MM-DD HH:mm"),
}
COMPLETION_COLUMNS = {
    "infusion": st.column_config.NumberColumn("Infusion", width="small"),
    "n_infusions": st.column_config.NumberColumn("Infusions given", format="localized"),
    "n_with_score": st.column_config.NumberColumn("With a score before", format="localized"),
    "share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
}
UPDATE_COLUMNS = {
    "run_id": st.column_config.NumberColumn("Run", width="small"),
    "kind": st.column_config.TextColumn("Export"),
    "rows_in": st.column_config.NumberColumn("Rows in", format="localized"),
    "unchanged": st.column_config.NumberColumn("Unchanged", format="localized",
                                               help="Identical to the stored row, or repeated within the file"),
    "updated": st.column_config.NumberColumn("Updated", format="localized"),
    "versions_kept": st.column_config.NumberColumn("Earlier versions kept", format="localized"),
    "conflicting_rows": st.column_config.NumberColumn("Conflicting duplicates (rows)", format="localized"),
    "conflicting_ids": st.column_config.NumberColumn("… their ids", format="localized"),
}
MISSING_COLUMNS = {
    "kind": st.column_config.TextColumn("Export"),
    "field": st.column_config.TextColumn("Field"),
    "n_missing": st.column_config.NumberColumn("Records missing it", format="localized"),
    "n_records": st.column_config.NumberColumn("Of records", format="localized"),
    "share": st.column_config.ProgressColumn("Share", format="percent", min_value=0, max_value=1),
    "n_patients": st.column_config.NumberColumn("Patients concerned", format="localized"),
    "effect": st.column_config.TextColumn("What it means", width="large"),
}
INCOMPLETE_COLUMNS = {
    "kind": st.column_config.TextColumn("Export"),
    "record_key": st.column_config.TextColumn("Id"),
    "patient_id": st.column_config.TextColumn("Patient"),
    "field": st.column_config.TextColumn("Missing"),
    "source_file": st.column_config.TextColumn("File"),
    "source_row": st.column_config.NumberColumn("Row", width="small",
                                                help="Data row in the file (1 = first after the header)"),
}
HISTORY_COLUMNS = {
    "kind": st.column_config.TextColumn("Export"),
    "record_key": st.column_config.TextColumn("Id"),
    "patient_id": st.column_config.TextColumn("Patient"),
    "replaced_by_run": st.column_config.NumberColumn("Replaced in run"),
    "replaced_at": st.column_config.DatetimeColumn("Replaced (UTC)", format="YYYY-MM-DD HH:mm"),
    "loaded_by_run": st.column_config.NumberColumn("Old version from run"),
    "source_file": st.column_config.TextColumn("Old version's file"),
    "source_row": st.column_config.NumberColumn("Row"),
}


ROW_DETAIL_HIDDEN = ("Row-level detail is not shown to your role: these rows carry patient ids and the values as "
                     "exported. The counts above are complete; an administrator or clinician can see the rows.")


def as_numbers(frame):
    """Counts as floats for a chart: a blanked (<NA>) count becomes a gap, not an error."""
    return frame.astype({c: "float64" for c in frame.columns if str(frame[c].dtype) == "Int64"})


def show_table(frame, columns: dict, what: str) -> None:
    """`frame` with clinical headers, at most MAX_ROWS_SHOWN rows (a note says when cut)."""
    if len(frame) > MAX_ROWS_SHOWN:
        st.caption(f"Showing the first {MAX_ROWS_SHOWN:,} of {len(frame):,} {what}; the CSV has them all.")
    st.dataframe(frame.head(MAX_ROWS_SHOWN)[list(columns)], column_config=columns, hide_index=True)


st.title("Data quality")
require_database()
config = settings()
# Analysts see de-identified aggregates only (dashboard.access): counts yes, rows about a patient no.
patient_level = sees_patient_level(current_viewer(config.access).role, config.access)

runs = ask(ingest_log.ingest_runs, config)
counts = ask(ingest_log.table_counts)
if runs.empty:
    st.info("No ingest has run on this database yet, so there is nothing to check. Load the clinic's exports "
            "with `outcomes ingest EXPORTS/ --db ...`.")
    st.stop()
if counts.loc[counts["table"].isin(["patients", "sessions", "assessments", "quarantine"]), "rows"].sum() == 0:
    st.info("The database is empty: the ingest runs so far loaded no rows and quarantined none.")

# on_change="rerun": a tab's queries run when it is opened (the baseline gaps take a second on
# a large clinic), not all five on every visit.
runs_tab, quarantine_tab, incomplete_tab, baseline_tab, completion_tab, updates_tab = st.tabs(
    ["Ingest runs", "Quarantine", "Incomplete records", "Baselines", "Completion by infusion",
     "Duplicates and updates"],
    on_change="rerun", key="quality_tab")

if runs_tab.open:
    with runs_tab:
        latest = runs.iloc[0]
        st.subheader(f"Latest run: run {latest.run_id}")
        st.caption(f"Started {latest.started_at:%Y-%m-%d %H:%M:%S} UTC, took {latest.seconds:.1f} s, "
                   f"read {latest.n_files} file{'s' if latest.n_files != 1 else ''}. Every row read is inserted, "
                   "updated, unchanged or quarantined.")
        for column, (key, label) in zip(st.columns(5), [("rows_in", "Rows in"), ("inserted", "Inserted"),
                                                        ("updated", "Updated"), ("unchanged", "Unchanged"),
                                                        ("quarantined", "Quarantined")]):
            column.metric(label, f"{int(latest[key]):,}")
        if not runs["balanced"].all():
            st.warning("In some runs the counts do not add up to the rows read (see the runs table): "
                       "report it, the ingest should never lose a row.")

        st.subheader("What the database holds")
        st.dataframe(counts[["what", "rows"]], hide_index=True,
                     column_config={"what": st.column_config.TextColumn("Table"),
                                    "rows": st.column_config.NumberColumn("Rows", format="localized")})
        download_csv(counts, "table-counts.csv", key="download_counts")

        st.subheader("Every run")
        if len(runs) > 1:
            vega_chart(ingest_runs_chart(runs), key="runs_chart")
        show_table(runs, RUN_COLUMNS, "runs")
        download_csv(runs, "ingest-runs.csv", key="download_runs")
        st.subheader("Files of each run")
        files = ask(ingest_log.ingest_files, config)
        show_table(files, FILE_COLUMNS, "files")
        download_csv(files, "ingest-files.csv", key="download_files")

if quarantine_tab.open:
    with quarantine_tab:
        by_rule = ask(ingest_log.quarantine_by_rule, config)
        if by_rule.empty:
            st.info("No row has been quarantined: every row read passed the checks.")
        else:
            st.caption("Rows kept out of the tables, by the rule they broke (docs/ingest.md lists every rule). "
                       "Correct them in the source system and export again.")
            vega_chart(quarantine_rules_chart(by_rule), key="rules_chart")
            if not patient_level:  # an example reason quotes a row's values
                by_rule = by_rule.drop(columns=["example_reason"])
            show_table(by_rule, {k: v for k, v in RULE_COLUMNS.items() if k in by_rule}, "rules")
            download_csv(by_rule, "quarantine-by-rule.csv", key="download_rules")
            chosen = st.multiselect(
                "Rule", by_rule["rule"].tolist(), key="quarantine_rules", placeholder="Every rule",
                format_func=lambda rule: f"{rule.replace('_', ' ')} ({ingest_log.RULE_DESCRIPTIONS.get(rule, '')})")
            rows = ask(ingest_log.quarantined_rows, config, rules=tuple(chosen))
            st.metric("Quarantined rows", f"{len(rows):,}")
            if patient_level:
                show_table(rows, QUARANTINE_COLUMNS, "rows")
                download_csv(rows, "quarantine.csv", key="download_quarantine", audited_page="data-quality")
            else:
                st.info(ROW_DETAIL_HIDDEN)

if incomplete_tab.open:
    with incomplete_tab:
        st.caption("Rows with a value missing are loaded, not quarantined: the patient counts in every outcome, the "
                   "infusion counts as an infusion. What each gap means is listed; complete the record in the source "
                   "system and export again (docs/import-format.md, \"Required and optional values\").")
        missing = ask(completeness.missing_by_field, config)
        shown, columns = missing, MISSING_COLUMNS
        if not patient_level:  # "suppressed" where blanked, not empty; the share as a percentage
            blanked = suppressed_missing(missing, config.privacy.min_cell_size)
            shown = table_cells(blanked.assign(share=(100 * blanked["share"]).round(1)), config.privacy.min_cell_size)
            columns = text_config({**MISSING_COLUMNS, "share": st.column_config.TextColumn("Share (%)")}, shown)
        if missing["n_missing"].sum() == 0:
            st.info("No loaded record misses a value that an analysis uses.")
        st.dataframe(shown[list(MISSING_COLUMNS)], column_config=columns, hide_index=True)
        show_legend(shown, config.privacy.min_cell_size)
        download_csv(shown, "incomplete-by-field.csv", key="download_missing")
        if missing["n_missing"].sum() > 0:
            if patient_level:
                gaps = missing.loc[missing["n_missing"] > 0, "field"].tolist()
                chosen = st.multiselect("Field", gaps, key="incomplete_fields", placeholder="Every field")
                records = ask(completeness.incomplete_records, config, fields=tuple(chosen))
                show_table(records, INCOMPLETE_COLUMNS, "records")
                download_csv(records, "incomplete-records.csv", key="download_incomplete",
                             audited_page="data-quality")
            else:
                st.info(ROW_DETAIL_HIDDEN)

if baseline_tab.open:
    with baseline_tab:
        counted = ask(coverage.baseline_coverage, config)
        # Counts of patients: small cells blanked for a viewer without patient-level access.
        shown = counted if patient_level else suppressed_coverage(counted, config.privacy.min_cell_size)
        st.caption(f"A baseline is the latest valid score from {config.baseline_window_days} days before the "
                   "first infusion up to its start (clinical reference). Without one, a patient is left out of "
                   "that scale's outcome rates. PHQ-9 is expected of every treated patient, other scales of "
                   "those who were given them.")
        table = table_cells(shown, config.privacy.min_cell_size).assign(  # "suppressed" where blanked, not empty
            scale=shown["instrument"].map(theme.scale_name))[list(COVERAGE_COLUMNS)]
        coverage_config = text_config(COVERAGE_COLUMNS, table)
        if counted.empty:
            st.info("No treated patient yet: nobody to have a baseline.")
        elif counted["n_without_baseline"].sum() == 0:
            st.info("Every treated patient has a baseline on every scale they were given.")
            st.dataframe(table, column_config=coverage_config, hide_index=True)
        else:
            st.plotly_chart(baseline_gaps_chart(as_numbers(shown)), config=CHART_CONFIG)
            st.dataframe(table, column_config=coverage_config, hide_index=True)
            show_legend(table, config.privacy.min_cell_size)
            download_csv(table_cells(shown, config.privacy.min_cell_size), "baseline-coverage.csv",
                         key="download_coverage")
            if patient_level:
                scales = counted.loc[counted["n_without_baseline"] > 0, "instrument"].tolist()
                scale = st.selectbox("Scale", ["", *scales],
                                     format_func=lambda s: theme.scale_name(s) if s else "Every scale",
                                     key="baseline_scale")
                gaps = ask(coverage.patients_without_baseline, config, scale=scale or None)
                gaps = gaps.assign(reason_text=gaps["reason"].map(coverage.BASELINE_GAP_REASONS))
                show_table(gaps, GAP_COLUMNS, "patients")
                download_csv(gaps, "patients-without-baseline.csv", key="download_gaps", audited_page="data-quality")
            else:
                st.info(ROW_DETAIL_HIDDEN)

if completion_tab.open:
    with completion_tab:
        given = ask(coverage.baseline_coverage, config)["instrument"].tolist() or ["PHQ-9"]
        scale = st.selectbox("Scale", given, format_func=theme.scale_name, key="completion_scale")
        completion = ask(coverage.completion_by_infusion, config, scale=scale,
                         max_infusion=config.thresholds.trajectory_max_infusion)
        shown = completion if patient_level else suppressed_completion(completion, config.privacy.min_cell_size)
        if completion["n_infusions"].sum() == 0:
            st.info("No infusions are loaded yet.")
        else:
            st.caption(f"For each infusion number, the share of infusions given with a valid {theme.scale_name(scale)} taken before it "
                       "and after the previous infusion started; for the first infusion, within the baseline window.")
            st.plotly_chart(completion_chart(as_numbers(shown).dropna(subset=["share"]), scale), config=CHART_CONFIG)
            # "suppressed" where blanked, not empty; beside it the share as a percentage
            cells = shown if patient_level else table_cells(shown.assign(share=(100 * shown["share"]).round(1)),
                                                            config.privacy.min_cell_size)
            columns = COMPLETION_COLUMNS if patient_level else \
                text_config({**COMPLETION_COLUMNS, "share": st.column_config.TextColumn("Share (%)")}, cells)
            st.dataframe(cells[list(COMPLETION_COLUMNS)], column_config=columns, hide_index=True)
            show_legend(cells, config.privacy.min_cell_size)
            download_csv(cells, f"completion-{scale}.csv", key="download_completion")

if updates_tab.open:
    with updates_tab:
        st.caption("Unchanged rows (identical to what is stored, or repeated within a file) load once. Rows with new "
                   "values replace the stored ones, which are kept with the run that replaced them. Rows of one file "
                   "that share an id but differ are all quarantined: none can be trusted over the others.")
        updates = ask(ingest_log.updates_by_run, config)
        st.dataframe(updates[list(UPDATE_COLUMNS)], column_config=UPDATE_COLUMNS, hide_index=True)
        download_csv(updates, "updates-by-run.csv", key="download_updates")
        duplicates = ask(ingest_log.quarantined_rows, config, rules=("conflicting_duplicate",))
        st.subheader("Conflicting duplicates")
        if duplicates.empty:
            st.info("No file had two different rows with the same id.")
        elif not patient_level:
            st.info(f"{len(duplicates):,} rows. {ROW_DETAIL_HIDDEN}")
        else:
            show_table(duplicates, QUARANTINE_COLUMNS, "rows")
            download_csv(duplicates, "conflicting-duplicates.csv", key="download_duplicates",
                         audited_page="data-quality")
        st.subheader("Updated rows")
        history = ask(ingest_log.updated_records, config)
        if history.empty:
            st.info("No stored row has been replaced by a later export yet.")
        elif not patient_level:
            st.info(f"{len(history):,} earlier versions. {ROW_DETAIL_HIDDEN}")
        else:
            show_table(history, HISTORY_COLUMNS, "earlier versions")
            download_csv(history, "updated-rows.csv", key="download_history", audited_page="data-quality")
