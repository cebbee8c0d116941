"""The expected-course references, computed by the ingest and stored beside the outcome tables.

Why: the expected course (`analytics.expected`) compares each patient with the clinic's
reference distribution of percent change per scale, baseline band and infusion k. That reference
is clinic-wide: computed by whoever opened a new database version first, it cost the dashboard
seconds per ingest at 200,000 patients (and every patient's scores held in the server's memory).
So the ingest computes it once, in its working copy before the swap, from the stored outcome
tables (`precomputed.scores_by_infusion`, pipelines/precomputed.py), into schema `precomputed`:

- `expected_reference`: the reference rows of every scale (expected.REFERENCE_COLUMNS, with
  `band_order`);
- `expected_behind`: the patients whose latest follow-up is not on track, numbered per scale
  (`position`) in the worklist's order;
- `expected_about`: the run the outcome tables belong to, a fingerprint of the SQL and the
  thresholds (`Thresholds`' fields that shape the reference) it was computed with.

A reader uses them (`current`) only when they belong to the stored tables' run, this version's
SQL and the reader's own thresholds; otherwise `analytics.expected` computes as before. The SQL
is one definition for both (sql/precomputed/expected_*.sql): analytics runs the same files over
one scale's rows. `store_expected` reads only the stored tables, so it serves after a full or an
incremental refresh of them; the reference is clinic-wide, so it is recomputed whole each run.
"""

from __future__ import annotations

import hashlib
from typing import Callable

import duckdb

from . import precomputed, sql
from .settings import Settings

TABLES = ("expected_reference", "expected_behind", "expected_about")
QUERIES = ("precomputed/expected_progress", "precomputed/expected_reference", "precomputed/expected_behind")
# What expected_reference.sql and expected_behind.sql read of expected_progress.sql's rows.
PROGRESS_COLUMNS = ("patient_id", "instrument", "k", "baseline_band", "pct_change", "is_latest_followup")
# The names the SQL reads while the ingest computes (its `caller` suffix): temporary, dropped after.
_CALLER = "_stored"


def prefix(catalog: str) -> str:
    """How the SQL files name a table of schema `precomputed` of `catalog` (their `{{stored}}`)."""
    escaped = catalog.replace('"', '""')
    return f'"{escaped}".{precomputed.SCHEMA}.'


def definitions() -> str:
    """A fingerprint of the SQL the references are computed by."""
    digest = hashlib.sha256(repr(TABLES).encode())
    for name in QUERIES:
        digest.update(sql.read(name).encode())
    return digest.hexdigest()


def thresholds(settings: Settings) -> str:
    """The thresholds that shape the references, as stored text (a fingerprint a reader compares
    with its own settings)."""
    t = settings.thresholds
    return (f"trajectory_max_infusion={t.trajectory_max_infusion};"
            f"min_reference_patients={t.min_reference_patients};"
            f"not_on_track_percentile={float(t.not_on_track_percentile)!r}")


def quantile_parameters(settings: Settings) -> list:
    """The parameters of expected_reference.sql for these settings: max k, min patients, and the
    quantile of percent change that is the not-on-track percentile of improvement (twice)."""
    t = settings.thresholds
    percentile = float(t.not_on_track_percentile)
    if not 0 < percentile < 100:
        raise ValueError(f"not_on_track_percentile must lie between 0 and 100, not {percentile}")
    quantile = 1 - percentile / 100  # the percentile P of improvement is the (100 - P)th of change
    return [t.trajectory_max_infusion, t.min_reference_patients, quantile, quantile]


def store_expected(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Compute the references of every scale from the stored outcome tables of the connection's
    database and store them (schema `precomputed`), replacing earlier ones. Call on the ingest's
    working copy, in a transaction, after the outcome tables are stored (`incremental.refresh`: whole
    or for the patients a run changed). Raises ValueError when they are not current."""
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    if not precomputed.current(con, catalog):
        raise ValueError("the stored outcome tables are not current: nothing to compute the references from")
    stored = prefix(catalog)
    schema = precomputed.SCHEMA
    scales = [code for (code,) in con.execute("SELECT DISTINCT code FROM instrument_bands ORDER BY code").fetchall()]
    for table in TABLES:
        con.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
    progress, reference = f"expected_progress{_CALLER}", f"expected_reference{_CALLER}"
    # Only the columns the reference and the patients behind read (DuckDB pushes the projection
    # into the query: the scores and dates of millions of rows are not materialised).
    con.execute(f"CREATE OR REPLACE TEMP TABLE {progress} AS SELECT {', '.join(PROGRESS_COLUMNS)} FROM ("
                + sql.render("precomputed/expected_progress", stored=stored) + ")",
                [scales, settings.thresholds.trajectory_max_infusion])
    try:
        con.execute(f"CREATE TABLE {schema}.expected_reference AS "
                    + sql.render("precomputed/expected_reference", caller=_CALLER), quantile_parameters(settings))
        con.execute(f"CREATE OR REPLACE TEMP VIEW {reference} AS SELECT * FROM {schema}.expected_reference")
        con.execute(f"CREATE TABLE {schema}.expected_behind AS "
                    + sql.render("precomputed/expected_behind", caller=_CALLER))
        con.execute(f"CREATE TABLE {schema}.expected_about AS SELECT run_id, ?::VARCHAR AS definitions, "
                    f"?::VARCHAR AS thresholds FROM {schema}.about", [definitions(), thresholds(settings)])
    finally:
        try:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{reference}")
            con.execute(f"DROP TABLE IF EXISTS temp.main.{progress}")
        except duckdb.TransactionException:
            pass  # a failed step aborted the caller's transaction: its rollback drops them


def store_expected_references(con: duckdb.DuckDBPyConnection, settings: Settings,
                              progress: Callable[[str], None]) -> None:
    """The ingest's step: `store_expected` in its own transaction, after the outcome tables'. If it
    fails, the run still publishes without references, and readers compute them as before."""
    progress("computing the expected-course references for the dashboard")
    try:
        con.execute("BEGIN TRANSACTION")
        store_expected(con, settings)
        con.execute("COMMIT")
    except (duckdb.Error, ValueError) as error:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            pass
        progress(f"the expected-course references were not stored ({str(error).splitlines()[0]}); "
                 f"readers will compute them when they need them")


def current(con: duckdb.DuckDBPyConnection, catalog: str, settings: Settings) -> bool:
    """Whether database `catalog` (as attached on `con`) holds references a reader with `settings`
    may use: beside current outcome tables (`precomputed.current`), of the same run, computed by
    this version's SQL with the same thresholds."""
    if not precomputed.current(con, catalog):
        return False
    _, tables, _ = con.execute(sql.read("precomputed/stored"), [catalog, precomputed.SCHEMA]).fetchone()
    if not set(TABLES) <= set(tables):
        return False
    about = con.execute(sql.render("precomputed/expected_stored", stored=prefix(catalog))).fetchall()
    return about == [(True, definitions(), thresholds(settings))]
