"""De-identified analytic extracts: `outcomes export --deidentified`.

An analyst gets the outcome tables without anything that points at a person (docs/export.md
lists every column kept and dropped, and why). The rules, after HIPAA Safe Harbor
(45 CFR 164.514(b)(2)) where it applies:

- Ids (patient, infusion, assessment) are replaced by a keyed hash, HMAC-SHA256 with a secret
  key, cut to `hash_chars` hex characters. Without the key a hash cannot be reversed, nor
  recomputed from a guessed MRN (a plain SHA-256 of a 6-digit MRN falls to a million guesses);
  with the same key the same id gives the same hash, so extracts taken months apart join.
  Medical record numbers and "any other unique identifying number" are Safe Harbor
  identifiers (b)(2)(i)(H) and (R); the key is what keeps the hash from being translated back
  (164.514(c) would want a code not derived from the id at all: docs/export.md says why not).
- Dates: every date of one patient moves by the same keyed-random number of days (1 to
  `shift_days`, earlier or later, never 0), so intervals stay exact; or every date is cut to
  its month. (Safe Harbor (b)(2)(i)(C) itself keeps only the year: shifted or month dates make
  a pseudonymised extract for a data-use agreement or an expert determination, not a
  Safe Harbor one; docs/export.md says so.)
- Birth year becomes a band; patients aged 90 or more in the export year are one "90 or older"
  group with no birth band or age at start ((b)(2)(i)(C)).
- Clinician and site names become keyed pseudonyms or are dropped; free text (adverse events,
  contraindications, side effects outside the controlled list, quarantined raw rows) and
  provenance (source file and row) are never exported.

The hash is computed inside DuckDB (HMAC built from its `sha256` on the key's inner and outer
pads), so 200,000 patients and millions of scores take seconds, and the key only ever lives
in a session variable of a read-only connection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from .db import connect
from .settings import ExportSettings

KEY_ENV = "OUTCOMES_EXPORT_KEY"
MIN_KEY_LENGTH = 16
FORMATS = ("parquet", "csv")
MANIFEST = "manifest.json"


class ExportError(Exception):
    """An export that must not run: no key, a non-empty output folder, ... (exit code 2)."""


@dataclass(frozen=True)
class Table:
    """One exported table: the SQL that builds it and the columns deliberately left out."""

    name: str
    sql: str
    dropped: dict[str, str]  # source column -> why it is not exported


def resolve_key(settings: ExportSettings, environ=os.environ) -> tuple[bytes, str]:
    """The secret key and where it came from; `$OUTCOMES_EXPORT_KEY` wins over the settings file."""
    if environ.get(KEY_ENV):
        key, source = environ[KEY_ENV], "environment"
    elif settings.key:
        key, source = settings.key, "settings"
    else:
        raise ExportError(
            f"no export key: set ${KEY_ENV} (or key in the [export] settings) to a secret of at least "
            f"{MIN_KEY_LENGTH} characters, e.g. python -c \"import secrets; print(secrets.token_hex(32))\"; "
            "keep it apart from the extracts")
    if len(key) < MIN_KEY_LENGTH:
        raise ExportError(f"export key from the {source} is {len(key)} characters; use at least "
                          f"{MIN_KEY_LENGTH} (a short key can be guessed, and with it every id)")
    return key.encode("utf-8"), source


def pseudonym(key: bytes, domain: str, value: str, chars: int = 16) -> str:
    """The keyed hash of one value, in Python: what the SQL computes (used by the tests and by
    anyone holding the key who must find one patient's rows, e.g. to honour a withdrawal)."""
    return hmac.new(key, f"{domain}:{value}".encode("utf-8"), hashlib.sha256).hexdigest()[:chars]


def _pads(key: bytes) -> tuple[bytes, bytes]:
    """HMAC's inner and outer pads (RFC 2104): HMAC(k, m) = H(k^opad || H(k^ipad || m))."""
    if len(key) > 64:  # SHA-256 block size; longer keys are hashed first
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def _install_hash(con, key: bytes, chars: int) -> None:
    """`pseudonym(domain, value)` as a SQL macro on this connection (NULL stays NULL).

    The domain ('patient', 'session', ...) goes into the hashed text, so an infusion id that
    happens to equal a patient id does not get the patient's hash."""
    ipad, opad = _pads(key)
    con.execute("SET VARIABLE export_ipad = ?", [ipad])
    con.execute("SET VARIABLE export_opad = ?", [opad])
    con.execute(
        f"""
        CREATE OR REPLACE TEMP MACRO pseudonym(domain, value) AS
            left(sha256(getvariable('export_opad')
                        || unhex(sha256(getvariable('export_ipad') || encode(domain || ':' || value)))), {int(chars)})
        """
    )


# Per patient: the pseudonym, the date shift, and the birth band. Built once (one HMAC per
# patient, not per score row) from `patients`, so patients with scores but no infusion have one.
# Likewise one HMAC per infusion and per staff or site name.
PSEUDONYMS_SQL = """
CREATE OR REPLACE TEMP TABLE export_patients AS
WITH hashed AS (
    SELECT
        patient_id,
        birth_year,
        pseudonym('patient', patient_id) AS pseudonym,
        -- 32 bits of a separate keyed hash: magnitude 1..N days, and a sign; never 0, so no
        -- patient keeps real dates.
        ('0x' || left(pseudonym('date-shift', patient_id), 8))::UBIGINT AS draw
    FROM patients
),
final AS (
    SELECT
        patient_id,
        pseudonym,
        (CASE WHEN (draw // $shift_days) % 2 = 0 THEN 1 ELSE -1 END * (1 + draw % $shift_days))::INTEGER AS shift_days,
        -- Safe Harbor (b)(2)(i)(C): ages over 89, and any date element that shows one, are a
        -- single 90-or-older category; judged at the export year, the oldest age in the data.
        birth_year IS NOT NULL AND $as_of_year - birth_year >= $top_code_age AS top_coded,
        CASE
            WHEN birth_year IS NULL THEN NULL
            WHEN $as_of_year - birth_year >= $top_code_age THEN '{top_label}'
            ELSE (birth_year // $band * $band)::VARCHAR || '-' || (birth_year // $band * $band + $band - 1)::VARCHAR
        END AS birth_year_band
    FROM hashed
)
SELECT * FROM final;

-- Infusions and staff/site names, each hashed once: sessions and scores join these.
CREATE OR REPLACE TEMP TABLE export_sessions AS
SELECT session_id, pseudonym('session', session_id) AS pseudonym FROM sessions;

CREATE OR REPLACE TEMP TABLE export_names AS
WITH names AS (
    SELECT 'clinician' AS domain, clinician AS value FROM patients
    UNION SELECT 'clinician', clinician FROM sessions
    UNION SELECT 'site', site FROM patients
    UNION SELECT 'site', site FROM sessions
)
-- Prefixed ("clinician-3f2a...") so a staff or site pseudonym is never mistaken for a patient's.
SELECT domain, value, domain || '-' || pseudonym(domain, value) AS pseudonym FROM names WHERE value IS NOT NULL
"""


def _tables(settings: ExportSettings) -> list[Table]:
    """The exported tables' SQL, written for the configured date and name modes.

    Every column is named: a column added to a view later is not exported until someone decides
    here how to treat it (`SELECT *` would let a new date or free-text column through)."""

    def when(column: str) -> str:
        # A patient's dates move together (shift) or lose their day (month).
        if settings.date_mode == "shift":
            return f"{column} + to_days(m.shift_days)"
        return f"date_trunc('month', {column})::DATE"

    def staff(column: str, mode: str, domain: str) -> str:
        # Looked up in the small table of names hashed once (not hashed again on every row).
        lookup = f"(SELECT n.pseudonym FROM export_names AS n WHERE n.domain = '{domain}' AND n.value = {column})"
        return f"{lookup} AS {column.split('.')[-1]}," if mode == "pseudonym" else ""

    allowed = "[" + ", ".join("'" + e.replace("'", "''") + "'" for e in settings.side_effects_allowed) + "]"
    names_dropped = {
        name: "staff name (identifies a clinician): dropped by clinician_mode = \"drop\""
        if name == "clinician" else "site name (a place): dropped by site_mode = \"drop\""
        for name, mode in (("clinician", settings.clinician_mode), ("site", settings.site_mode)) if mode == "drop"
    }
    provenance = {"source_file": "file name of the clinic's export (may name the clinic or a person)",
                  "source_row": "row in that export: links back to the identified record",
                  "run_id": "ingest bookkeeping, not analytic"}
    return [
        Table("patients", f"""
            WITH final AS (
                SELECT
                    m.pseudonym AS patient_id,
                    {staff('c.site', settings.site_mode, 'site')}
                    {staff('c.clinician', settings.clinician_mode, 'clinician')}
                    c.primary_indication,
                    c.sex,
                    m.birth_year_band,
                    CASE WHEN NOT m.top_coded THEN c.age_at_start END AS age_at_start,
                    c.age_band,
                    c.route,
                    c.mean_dose_mg_per_kg,
                    c.dose_band,
                    {when('c.first_session_at')} AS first_session_at,
                    {when('c.last_session_at')} AS last_session_at,
                    c.n_sessions,
                    -- From the exported (moved) start, so the real month does not undo the shift.
                    date_trunc('month', {when('c.first_session_at')})::DATE AS start_month
                FROM patient_cohorts AS c
                JOIN export_patients AS m USING (patient_id)
            )
            SELECT * FROM final ORDER BY patient_id
            """, {
                "patient_id": "medical record number: replaced by its keyed hash",
                "birth_year": "date element (Safe Harbor (b)(2)(i)(C)): replaced by birth_year_band",
                "intake_date": "patients table, not exported: a date not needed beside first_session_at",
                "contraindications": "free text recorded at intake",
                **names_dropped, **provenance}),
        Table("sessions", f"""
            WITH final AS (
                SELECT
                    x.pseudonym AS session_id,
                    m.pseudonym AS patient_id,
                    {when('s.started_at')} AS started_at,
                    s.session_number,
                    s.route,
                    s.dose_mg,
                    s.weight_kg,
                    s.dose_mg_per_kg,
                    s.duration_min,
                    {staff('s.clinician', settings.clinician_mode, 'clinician')}
                    {staff('s.site', settings.site_mode, 'site')}
                    s.bp_pre_sys,
                    s.bp_pre_dia,
                    s.bp_peak_sys,
                    s.bp_peak_dia,
                    s.hr_pre,
                    s.spo2_min,
                    s.cadss_total,
                    -- The controlled list only: a free-typed entry becomes 'other'.
                    list_transform(s.side_effects,
                                   lambda e: CASE WHEN list_contains({allowed}, e) THEN e ELSE 'other' END) AS side_effects,
                    coalesce(trim(s.adverse_event), '') <> '' AS adverse_event_recorded
                FROM session_numbers AS s
                JOIN export_patients AS m USING (patient_id)
                JOIN export_sessions AS x USING (session_id)
            )
            SELECT * FROM final ORDER BY patient_id, started_at, session_id
            """, {
                "session_id": "the clinic system's infusion id: replaced by its keyed hash",
                "patient_id": "replaced by the patient's keyed hash",
                "adverse_event": "free text: replaced by adverse_event_recorded (true/false)",
                **names_dropped, **provenance}),
        Table("scores", f"""
            WITH final AS (
                SELECT
                    m.pseudonym AS patient_id,
                    s.instrument,
                    {when('s.administered_at')} AS administered_at,
                    s.total,
                    s.severity,
                    s.complete,
                    s.prorated,
                    s.item9_positive,
                    s.sessions_before,
                    s.days_since_first_session,
                    pseudonym('assessment', s.assessment_key) AS assessment_key,
                    x.pseudonym AS session_id,
                    s.total_only
                FROM scores AS s
                JOIN export_patients AS m USING (patient_id)
                LEFT JOIN export_sessions AS x USING (session_id)
            )
            SELECT * FROM final ORDER BY patient_id, instrument, administered_at, assessment_key
            """, {
                "patient_id": "replaced by the patient's keyed hash",
                "assessment_key": "the clinic's assessment id, or patient id|scale|time: replaced by its keyed hash",
                "session_id": "replaced by the infusion's keyed hash (joins sessions.session_id)"}),
        Table("patient_outcomes", f"""
            WITH final AS (
                SELECT
                    m.pseudonym AS patient_id,
                    o.instrument,
                    {when('o.baseline_at')} AS baseline_at,
                    o.baseline_score,
                    {when('o.latest_at')} AS latest_at,
                    o.latest_score,
                    o.after_induction_score,
                    o.n_followups,
                    o.change,
                    o.pct_change,
                    o.baseline_caseness,
                    o.response,
                    o.remission,
                    o.reliable_improvement,
                    o.reliable_deterioration,
                    o.recovery,
                    o.reliable_recovery,
                    {when('o.first_session_at')} AS first_session_at,
                    {when('o.after_induction_at')} AS after_induction_at
                FROM patient_outcomes AS o
                JOIN export_patients AS m USING (patient_id)
            )
            SELECT * FROM final ORDER BY patient_id, instrument
            """, {"patient_id": "replaced by the patient's keyed hash"}),
        Table("nhs_paired_outcomes", """
            WITH final AS (
                SELECT
                    m.pseudonym AS patient_id,
                    n.phq9_baseline_score,
                    n.phq9_latest_score,
                    n.gad7_baseline_score,
                    n.gad7_latest_score,
                    n.baseline_caseness,
                    n.reliable_improvement,
                    n.reliable_deterioration,
                    n.recovery,
                    n.reliable_recovery
                FROM nhs_paired_outcomes AS n
                JOIN export_patients AS m USING (patient_id)
            )
            SELECT * FROM final ORDER BY patient_id
            """, {"patient_id": "replaced by the patient's keyed hash"}),
    ]


@dataclass
class ExportResult:
    out: Path
    manifest: dict
    seconds: float


def export_deidentified(db: str | Path, out: str | Path, settings: ExportSettings, fmt: str = "parquet",
                        force: bool = False, environ=os.environ, now: dt.datetime | None = None) -> ExportResult:
    """Write the de-identified tables and `manifest.json` into `out`.

    Files are written into a hidden folder next to `out` and moved in at the end, so a failed
    export leaves no half-written extract behind. Rows are ordered by pseudonym, never by the
    real id, so row order does not leak the id order either."""
    started = dt.datetime.now(dt.timezone.utc)
    now = now or started
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    key, key_source = resolve_key(settings, environ)
    db, out = Path(db), Path(out)
    if not db.is_file():
        raise ExportError(f"no outcomes database at {db}")
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"{out} is not empty; choose an empty or new folder, or add --force to replace "
                          "an earlier export there")

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        con = connect(db, read_only=True)
    except duckdb.Error as error:  # e.g. an ingest holds the write lock
        shutil.rmtree(staging, ignore_errors=True)
        raise ExportError(f"cannot open {db} read-only: {error}") from None
    try:
        _install_hash(con, key, settings.hash_chars)
        con.execute(PSEUDONYMS_SQL.replace("$shift_days", str(int(settings.shift_days)))
                    .replace("$as_of_year", str(int(now.year)))
                    .replace("$top_code_age", str(int(settings.top_code_age)))
                    .replace("$band", str(int(settings.birth_year_band_years)))
                    .replace("{top_label}", f"{settings.top_code_age} or older"))
        for kind, mapping, id_column in (("patients", "export_patients", "patient_id"),
                                         ("infusions", "export_sessions", "session_id")):
            (n_ids, n_pseudonyms), = con.execute(
                f"SELECT count(DISTINCT {id_column}), count(DISTINCT pseudonym) FROM {mapping}").fetchall()
            if n_ids != n_pseudonyms:  # 64 bits make this astronomically rare; merged records would be worse
                raise ExportError(f"two {kind} share a pseudonym at hash_chars = {settings.hash_chars}; "
                                  "raise hash_chars in the [export] settings")
        tables = {}
        for table in _tables(settings):
            target = staging / f"{table.name}.{fmt}"
            options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
            (rows,), = con.execute(f"COPY ({table.sql}) TO '{_quote(target)}' ({options})").fetchall()
            described = con.execute(f"DESCRIBE ({table.sql})").fetchall()
            tables[table.name] = {
                "file": target.name,
                "rows": int(rows),
                "columns": [{"name": name, "type": kind} for name, kind, *_ in described],
                "dropped": table.dropped,
            }
        (run_id,), = con.execute("SELECT max(run_id) FROM ingest_runs").fetchall()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        con.close()

    public = {k: v for k, v in asdict(settings).items() if k != "key"}
    public["side_effects_allowed"] = list(public["side_effects_allowed"])
    manifest = {
        "deidentified": True,
        "exported_at": now.astimezone(dt.timezone.utc).isoformat(timespec="seconds"),
        "source": {"database": db.name, "ingest_run_id": run_id},
        "format": fmt,
        "tables": tables,
        "settings": {
            **public,
            "as_of_year": now.year,
            "hash": f"HMAC-SHA256, first {settings.hash_chars} hex characters",
            "key_source": key_source,
            # Lets two extracts be checked for the same key without revealing it.
            "key_fingerprint": pseudonym(key, "key-fingerprint", "", 8),
        },
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    try:
        out.mkdir(exist_ok=True)
        for name in [MANIFEST, *(f"{t}.{ext}" for t in tables for ext in FORMATS)]:
            (out / name).unlink(missing_ok=True)  # an earlier export's files (only with --force)
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    return ExportResult(out=out, manifest=manifest, seconds=seconds)


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
