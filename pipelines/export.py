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

from . import safe_csv, sql
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
    con.execute("SET VARIABLE export_hash_chars = ?", [int(chars)])
    con.execute(sql.read("export/pseudonym_macro"))


def _install_dates(con, date_mode: str) -> None:
    """`export_date(value, shift_days)`: a patient's dates move together (shift) or lose their
    day (month)."""
    if date_mode == "shift":
        con.execute("CREATE OR REPLACE TEMP MACRO export_date(value, shift_days) AS value + to_days(shift_days)")
    else:
        con.execute("CREATE OR REPLACE TEMP MACRO export_date(value, shift_days) AS date_trunc('month', value)::DATE")


def _pseudonyms_sql(settings: ExportSettings, as_of_year: int) -> str:
    """sql/export/pseudonyms.sql with the [export] settings' numbers filled in."""
    return (sql.read("export/pseudonyms").replace("$shift_days", str(int(settings.shift_days)))
            .replace("$as_of_year", str(int(as_of_year)))
            .replace("$top_code_age", str(int(settings.top_code_age)))
            .replace("$band", str(int(settings.birth_year_band_years)))
            .replace("{top_label}", f"{settings.top_code_age} or older"))


EXPORTED = ("patients", "sessions", "scores", "patient_outcomes", "nhs_paired_outcomes")


def _tables(settings: ExportSettings) -> list[Table]:
    """The exported tables: their SQL (`sql/export/<table>.sql`, rendered for the configured
    name modes; dates go through `export_date`, see `_install_dates`) and what each leaves out.

    Every column is named in the SQL files: a column added to a view later is not exported until
    someone decides there how to treat it (`SELECT *` would let a new date or free-text column
    through)."""

    def staff(column: str, mode: str, domain: str) -> str:
        # Looked up in the small table of names hashed once (not hashed again on every row).
        lookup = f"(SELECT n.pseudonym FROM export_names AS n WHERE n.domain = '{domain}' AND n.value = {column})"
        return f"{lookup} AS {column.split('.')[-1]}," if mode == "pseudonym" else ""

    allowed = ", ".join("'" + e.replace("'", "''") + "'" for e in settings.side_effects_allowed)
    names_dropped = {
        name: "staff name (identifies a clinician): dropped by clinician_mode = \"drop\""
        if name == "clinician" else "site name (a place): dropped by site_mode = \"drop\""
        for name, mode in (("clinician", settings.clinician_mode), ("site", settings.site_mode)) if mode == "drop"
    }
    provenance = {"source_file": "file name of the clinic's export (may name the clinic or a person)",
                  "source_row": "row in that export: links back to the identified record",
                  "run_id": "ingest bookkeeping, not analytic"}
    fragments = {
        "patients": {"site": staff("c.site", settings.site_mode, "site"),
                     "clinician": staff("c.clinician", settings.clinician_mode, "clinician")},
        "sessions": {"site": staff("s.site", settings.site_mode, "site"),
                     "clinician": staff("s.clinician", settings.clinician_mode, "clinician"),
                     "allowed_side_effects": allowed},
    }
    dropped = {
        "patients": {
            "patient_id": "medical record number: replaced by its keyed hash",
            "birth_year": "date element (Safe Harbor (b)(2)(i)(C)): replaced by birth_year_band",
            "intake_date": "patients table, not exported: a date not needed beside first_session_at",
            "contraindications": "free text recorded at intake",
            **names_dropped, **provenance},
        "sessions": {
            "session_id": "the clinic system's infusion id: replaced by its keyed hash",
            "patient_id": "replaced by the patient's keyed hash",
            "adverse_event": "free text: replaced by adverse_event_recorded (true/false)",
            **names_dropped, **provenance},
        "scores": {
            "patient_id": "replaced by the patient's keyed hash",
            "assessment_key": "the clinic's assessment id, or patient id|scale|time: replaced by its keyed hash",
            "session_id": "replaced by the infusion's keyed hash (joins sessions.session_id)"},
        "patient_outcomes": {"patient_id": "replaced by the patient's keyed hash"},
        "nhs_paired_outcomes": {"patient_id": "replaced by the patient's keyed hash"},
    }
    return [Table(name, sql.render(f"export/{name}", **fragments.get(name, {})), dropped[name]) for name in EXPORTED]


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
        _install_dates(con, settings.date_mode)
        con.execute(_pseudonyms_sql(settings, now.year))
        for kind, mapping, id_column in (("patients", "export_patients", "patient_id"),
                                         ("infusions", "export_sessions", "session_id")):
            (n_ids, n_pseudonyms), = con.execute(
                f"SELECT count(DISTINCT {id_column}), count(DISTINCT pseudonym) FROM {mapping}").fetchall()
            if n_ids != n_pseudonyms:  # 64 bits make this astronomically rare; merged records would be worse
                raise ExportError(f"two {kind} share a pseudonym at hash_chars = {settings.hash_chars}; "
                                  "raise hash_chars in the [export] settings")
        tables = {}
        con.execute(safe_csv.sql_macro())
        for table in _tables(settings):
            target = staging / f"{table.name}.{fmt}"
            options = "FORMAT parquet, COMPRESSION zstd" if fmt == "parquet" else "FORMAT csv, HEADER true"
            described = con.execute(f"DESCRIBE ({table.sql})").fetchall()
            query = table.sql if fmt == "parquet" else _spreadsheet_safe(table.sql, described)
            (rows,), = con.execute(f"COPY ({query}) TO '{_quote(target)}' ({options})").fetchall()
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


def _spreadsheet_safe(query: str, described: list[tuple]) -> str:
    """`query` with its text columns passed through the `spreadsheet_safe` macro
    (`pipelines.safe_csv`), for a CSV that a spreadsheet opens without running formulas."""
    columns = ", ".join(f'spreadsheet_safe("{name}") AS "{name}"' if kind == "VARCHAR" else f'"{name}"'
                        for name, kind, *_ in described)
    return f"SELECT {columns} FROM ({query})"


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")
