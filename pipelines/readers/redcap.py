"""Reader for REDCap flat CSV exports of the PHQ-9 / GAD-7 / pain instruments.

A REDCap record export has one row per record x event (and per repeat instance of a repeating
instrument), with every form's fields side by side. Each row x instrument with at least one
answer becomes one canonical assessments row, exactly as the project's own assessments export
would give it, so validation, quarantine, counts and idempotency are the core's own.

Which field is which comes from a small TOML mapping (`redcap_mapping.toml`) a clinic can edit:
the packaged default, or a file of that name next to the export, which replaces it.

Why one staged pass per instrument: a non-repeating event row can carry several instruments,
and the core keys quarantine and upserts on the file's data row (`source_row`). Staging one
instrument at a time keeps `source_row` the REDCap file's own data row (so a quarantine
message names the row a clinic can find) while staying unique within each pass. Each pass's
`StagedFile.sha256` is the file's hash plus `#<instrument>` so the core's "already
quarantined" check, which is keyed on hash and row, does not mistake a second bad instrument
on the same row for a re-read; `content_sha256` gives back the file's own hash.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterator

import duckdb

from .. import sql
from ..formats import ASSESSMENTS, ImportFormatError, normalise_header
from .csv_export import read_csv_into, read_header
from .rows import Reject, StagedFile, file_sha256, row_position, skipped_rows

MAPPING_FILE = "redcap_mapping.toml"
RECORD, EVENT = "record_id", "redcap_event_name"
REPEAT_INSTRUMENT, REPEAT_INSTANCE = "redcap_repeat_instrument", "redcap_repeat_instance"


@dataclass(frozen=True)
class InstrumentFields:
    """Where one scale lives in a REDCap export (field names normalised like headers)."""

    code: str
    form: str
    date: str
    items: tuple[str, ...]
    total: str | None = None
    session: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.date, *self.items, *(f for f in (self.total, self.session) if f))

    @property
    def answers(self) -> tuple[str, ...]:
        """Fields whose being filled in means the scale was administered."""
        return (*self.items, *((self.total,) if self.total else ()))


@dataclass(frozen=True)
class Mapping:
    source: str  # the TOML file it came from, for messages
    instruments: tuple[InstrumentFields, ...]


def is_redcap(header: list[str]) -> bool:
    """A REDCap record export: `record_id` plus REDCap's own event or repeat columns."""
    present = set(header)
    return RECORD in present and bool(present & {EVENT, REPEAT_INSTRUMENT})


def mapping_path(export: str | Path) -> Path | None:
    """The clinic's mapping beside the export, if there is one (it replaces the default)."""
    local = Path(export).parent / MAPPING_FILE
    return local if local.is_file() else None


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read a mapping TOML (default: the packaged pipelines/redcap_mapping.toml)."""
    if path is None:
        resource = resources.files("pipelines") / MAPPING_FILE
        text, source = resource.read_text(encoding="utf-8"), str(resource)
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = tomllib.loads(text)
        instruments = tuple(
            InstrumentFields(
                code=code,
                form=str(spec["form"]).strip(),
                date=normalise_header(spec["date"]),
                items=tuple(normalise_header(item) for item in spec["items"]),
                total=normalise_header(spec["total"]) if spec.get("total") else None,
                session=normalise_header(spec["session"]) if spec.get("session") else None,
            )
            for code, spec in data["instruments"].items()
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ImportFormatError(
            f"{source}: not a valid REDCap mapping ({type(error).__name__}: {error}); each "
            '[instruments."CODE"] needs form, date and items'
        ) from None
    if not instruments:
        raise ImportFormatError(f"{source}: the REDCap mapping names no instruments")
    return Mapping(source=source, instruments=instruments)


def mapping_for(export: str | Path) -> Mapping:
    return load_mapping(mapping_path(export))


def present_instruments(path: str, header: list[str], mapping: Mapping) -> list[InstrumentFields]:
    """The mapped instruments this export carries, or ImportFormatError naming the file and
    each mapped field it lacks. A form none of whose fields are in the export is simply not
    part of this export (REDCap lets a clinic export chosen forms only)."""
    present = set(header)
    # A repeated field name would collapse into one parsed column, so every row would have
    # one field too many and be quarantined: refuse the file instead, as for our own exports.
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ImportFormatError(f"{path}: the header repeats column(s) {', '.join(duplicated)}")
    found, problems = [], []
    for instrument in mapping.instruments:
        missing = [f for f in instrument.fields if f not in present]
        if len(missing) == len(instrument.fields):
            continue
        if missing:
            problems.append(f"{instrument.code} ({instrument.form}): {', '.join(missing)}")
        found.append(instrument)
    if problems:
        raise ImportFormatError(
            f"{path}: the REDCap mapping {mapping.source} names field(s) missing from the export: "
            f"{'; '.join(problems)}. Fix the field names in a {MAPPING_FILE} next to the export."
        )
    if not found:
        raise ImportFormatError(
            f"{path}: a REDCap export, but none of the fields named in {mapping.source} are in it"
        )
    return found


def check_redcap(path: str | Path, mapping: Mapping | None = None) -> list[InstrumentFields]:
    """Fail before anything is written if the export and its mapping do not fit."""
    mapping = mapping or mapping_for(path)
    return present_instruments(str(path), read_header(path), mapping)


def content_sha256(staged: StagedFile) -> str:
    """The export file's own hash (a REDCap pass's sha256 carries `#<instrument>`)."""
    return staged.sha256.partition("#")[0]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(name: str | None, present: set[str]) -> str:
    return f"nullif(trim({_q(name)}), '')" if name and name in present else "NULL::VARCHAR"


def stage_redcap(
    con: duckdb.DuckDBPyConnection, path: str | Path, scan_no: int = 0, mapping: Mapping | None = None
) -> Iterator[StagedFile]:
    """Read the export once into temp table `redcap_rows` (all text, with each row's
    1-based data row), then, per mapped instrument, build `staged_raw`/`staged` in the shape
    `stage_csv` gives for an assessments export and yield its StagedFile. Consume each one
    (validate + merge) before asking for the next: the next pass replaces `staged`."""
    path = str(path)
    header = read_header(path)
    instruments = present_instruments(path, header, mapping or mapping_for(path))
    present = set(header)
    sha256 = file_sha256(path)
    columns = {name if name else f"unnamed_{i}": "VARCHAR" for i, name in enumerate(header)}
    # Rows the CSV parser could not split: quarantined once, with the first instrument's pass.
    file_rejects = read_csv_into(con, path, columns, "redcap_raw", "SELECT *", scan_no)
    (first_rowid,) = con.execute("SELECT coalesce(min(rowid), 0) FROM redcap_raw").fetchall()[0]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE redcap_rows AS SELECT {row_position(first_rowid, skipped_rows(con))}"
        " AS source_row, * FROM redcap_raw"
    )
    con.execute("DROP TABLE redcap_raw")
    try:
        for number, instrument in enumerate(instruments):
            rejects = _stage_instrument(con, instrument, present)
            if number == 0:
                rejects = sorted(file_rejects + rejects, key=lambda r: r.source_row)
            (n_rows,) = con.execute("SELECT count(*) FROM staged_raw").fetchall()[0]
            yield StagedFile(path=path, sha256=f"{sha256}#{instrument.code}", kind=ASSESSMENTS,
                             n_rows=n_rows, rejects=rejects)
    finally:
        try:
            con.execute("DROP TABLE IF EXISTS redcap_rows")
        except duckdb.Error:
            pass  # the transaction has failed; the original error matters


def _stage_instrument(con, instrument: InstrumentFields, present: set[str]) -> list[Reject]:
    """Build `staged_raw` and view `staged` for one instrument; return the rows whose
    answers are not numbers (rejected, like the CSV reader's cast errors)."""
    answers = [f for f in instrument.answers if f in present]
    filled = " OR ".join(f"{_text(f, present)} IS NOT NULL" for f in answers) or "false"
    repeat = _text(REPEAT_INSTRUMENT, present)
    # A repeating row belongs to the instrument it names; a non-repeating row to every
    # instrument with an answer in it. Either way a form left blank gives no row.
    belongs = f"({repeat} = {_sql_string(instrument.form)} OR {repeat} IS NULL) AND ({filled})"
    numbers = [("total", instrument.total)] if instrument.total else []
    numbers += [(f"item_{n}", field) for n, field in enumerate(instrument.items, start=1)]
    numbers = [(column, field) for column, field in numbers if field in present]
    bad_cells = ", ".join(
        f"CASE WHEN {_text(field, present)} IS NOT NULL AND TRY_CAST({_text(field, present)} AS DOUBLE) IS NULL "
        f"THEN {{'column': '{column}', 'field': {_sql_string(field)}, 'value': {_text(field, present)}}} END"
        for column, field in numbers
    )
    con.execute(sql.render("readers/redcap_instrument", bad_cells=bad_cells, belongs=f"AND {belongs}"))
    fields = [f for f in (RECORD, EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE, *instrument.fields) if f in present]
    rejects = []
    for source_row, cells, raw in con.execute(
        f"""
        SELECT source_row, bad_cells, to_json(struct_pack({', '.join(f'{_q(f)} := {_q(f)}' for f in fields)}))
        FROM redcap_instrument WHERE len(bad_cells) > 0 ORDER BY source_row
        """
    ).fetchall():
        text = ", ".join(f'{c["column"]} ({c["field"]}) "{c["value"]}"' for c in cells)
        if all(c["column"].startswith("item_") for c in cells):
            rule, message = "item_not_whole", f"{instrument.code} item answers must be whole numbers: {text}"
        else:
            rule, message = "not_a_number", f"{instrument.code} not a number: {text}"
        rejects.append(Reject(source_row, raw, rule, message))

    by_column = dict(numbers)
    record, event, instance = _text(RECORD, present), _text(EVENT, present), _text(REPEAT_INSTANCE, present)

    def cell(name: str) -> str:
        if name in ASSESSMENTS.numeric:
            field = by_column.get(name)
            return f"TRY_CAST({_text(field, present)} AS DOUBLE)" if field else "NULL::DOUBLE"
        return {
            "patient_id": record,
            "instrument": _sql_string(instrument.code),
            "administered_at": _text(instrument.date, present),
            # Stable across re-exports: the same record, event, form and instance is the same
            # assessment, so a re-ingest is unchanged and an edited answer is an update.
            "assessment_id": (f"'redcap|' || coalesce({record}, '') || '|' || coalesce({event}, '') || '|' || "
                              f"{_sql_string(instrument.code)} || '|' || coalesce({instance}, '1')"),
            "session_id": _text(instrument.session, present),
        }[name]

    select = ", ".join(f"{cell(c)} AS {c}" for c in ASSESSMENTS.columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staged_raw AS
        SELECT source_row, {select} FROM redcap_instrument WHERE len(bad_cells) = 0 ORDER BY source_row
        """
    )
    con.execute("DROP TABLE redcap_instrument")
    con.execute("CREATE OR REPLACE TEMP VIEW staged AS SELECT source_row, * EXCLUDE (source_row) FROM staged_raw")
    return rejects


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
