"""Reader for REDCap flat CSV record exports: the PHQ-9 / GAD-7 / pain scales, and the
infusions when the mapping names a sessions form.

A REDCap record export has one row per record x event (and per repeat instance of a repeating
instrument or event), with every form's fields side by side. Each row x mapped form with at
least one answer becomes one canonical assessments (or sessions) row, exactly as the project's
own exports would give it, so validation, quarantine, counts and idempotency are the core's own.
Raw exports (variable names, choice codes) and labels exports (field labels, choice labels) are
both read; `redcap_dictionary` says how. Which field is which comes from `redcap_mapping`.

Why one staged pass per form: a non-repeating event row can carry several forms, and the core
keys quarantine and upserts on the file's data row (`source_row`). Staging one form at a time
keeps `source_row` the REDCap file's own data row (so a quarantine message names the row a
clinic can find) while staying unique within each pass. Each pass's `StagedFile.sha256` is
the file's hash plus `#<scale>` so the core's "already quarantined" check, which is keyed on
hash and row, does not mistake a second bad form on the same row for a re-read;
`content_sha256` gives back the file's own hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import duckdb

from .. import sql
from ..formats import ASSESSMENTS, SESSIONS, ExportKind, ImportFormatError, normalise_header
from .csv_export import read_csv_into, read_header
from .redcap_dictionary import (CHECKED, IMPLICIT_CHOICES, Dictionary, answer_choices, checkbox_code,
                                checkbox_columns, find_dictionary, find_events, is_metadata, resolve_header)
from .redcap_mapping import (MAPPING_FILE, InstrumentFields, Mapping, SessionFields, load_mapping,
                             mapping_for, mapping_path)
from .rows import Reject, StagedFile, file_sha256, row_position, skipped_rows

__all__ = ["InstrumentFields", "Mapping", "SessionFields", "load_mapping", "mapping_for", "mapping_path",
           "is_redcap", "is_metadata", "check_redcap", "file_kinds", "describe", "stage_redcap", "content_sha256"]

RECORD, EVENT = "record_id", "redcap_event_name"
REPEAT_INSTRUMENT, REPEAT_INSTANCE = "redcap_repeat_instrument", "redcap_repeat_instance"
DATA_ACCESS_GROUP = "redcap_data_access_group"
Form = InstrumentFields | SessionFields


@dataclass(frozen=True)
class Layout:
    """One export as the reader sees it: its columns' variable names, and the forms it holds."""

    path: str
    columns: list[str]  # each header column's variable name (see redcap_dictionary.resolve_header)
    labelled: bool  # the header held labels
    dictionary: Dictionary | None
    forms: tuple[Form, ...]  # the mapped forms present, sessions first
    events: tuple[tuple[str, str, str], ...] = ()  # (label, arm, unique name), from an events file beside

    def kind_of(self, form: Form) -> ExportKind:
        return SESSIONS if isinstance(form, SessionFields) else ASSESSMENTS


def is_redcap(header: list[str], path: str | Path | None = None) -> bool:
    """A REDCap record export: REDCap's own event, repeat or data access group columns (raw
    header), or their labels (`Event Name`, `Repeat Instrument`, `Data Access Group`); or,
    with a data dictionary beside `path`, a first column that is the project's record id."""
    present = set(header)
    if present & {EVENT, REPEAT_INSTRUMENT, DATA_ACCESS_GROUP}:
        return True  # the record id is the first column, whatever the project calls it
    if is_metadata(header):
        return False
    if present & {"event_name", "repeat_instrument", "data_access_group"}:
        return True
    if path is None or not header:
        return False
    dictionary = find_dictionary(path)
    first = dictionary.fields[0] if dictionary and dictionary.fields else None
    return first is not None and header[0] in (first.name, normalise_header(first.label))


def _has(field: str, columns: set[str]) -> bool:
    """A field is in the export as its own column, or as its checkbox columns `field___<code>`."""
    return field in columns or any(c.startswith(field + "___") for c in columns)


def layout(path: str | Path, mapping: Mapping | None = None) -> Layout:
    """Read the export's header and fit it to the mapping, or ImportFormatError naming the
    file and each mapped field it lacks. A form none of whose fields are in the export is
    simply not part of this export (REDCap lets a clinic export chosen forms only)."""
    path = str(path)
    mapping = mapping or mapping_for(path)
    dictionary = find_dictionary(path)
    columns, labelled = resolve_header(read_header(path), dictionary, checkbox_columns(path))
    hint = ""
    if labelled and dictionary is None:
        hint = (" The header holds field labels (a labels export): put the project's data dictionary "
                "(Project Setup > Data Dictionary > Download, a CSV) in the same folder so its columns can be "
                "matched to fields, or export with variable names as the header.")
    # A repeated field name would collapse into one parsed column, so every row would have
    # one field too many and be quarantined: refuse the file instead, as for our own exports.
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise ImportFormatError(f"{path}: the header repeats column(s) {', '.join(duplicated)}"
                                + (f".{hint}" if hint else ""))
    present = set(columns)
    forms: list[Form] = [mapping.sessions] if mapping.sessions else []
    found, problems = [], []
    for form in [*forms, *mapping.instruments]:
        missing = [f for f in form.fields if not _has(f, present)]
        if len(missing) == len(form.fields):
            continue
        if missing:
            problems.append(f"{form.code} ({form.form}): {', '.join(missing)}")
        found.append(form)
    if problems:
        raise ImportFormatError(
            f"{path}: the REDCap mapping {mapping.source} names field(s) missing from the export: "
            f"{'; '.join(problems)}. Fix the field names in a {MAPPING_FILE} next to the export.{hint}"
        )
    if not found:
        raise ImportFormatError(
            f"{path}: a REDCap export, but none of the fields named in {mapping.source} are in it.{hint}"
        )
    return Layout(path=path, columns=columns, labelled=labelled, dictionary=dictionary, forms=tuple(found),
                  events=find_events(path))


def check_redcap(path: str | Path, mapping: Mapping | None = None) -> Layout:
    """Fail before anything is written if the export and its mapping do not fit."""
    return layout(path, mapping)


def file_kinds(path: str | Path, mapping: Mapping | None = None) -> list[ExportKind]:
    """The kinds of row the export gives, in loading order (sessions before assessments): also
    the kinds a full export of it is the truth for (sessions only when `[sessions]` is mapped
    and its form is in the export; assessments only for the scales of the forms in it)."""
    export = layout(path, mapping)
    return [kind for kind in (SESSIONS, ASSESSMENTS) if any(export.kind_of(f) is kind for f in export.forms)]


def describe(path: str | Path, mapping: Mapping | None = None) -> str:
    """What the progress messages call the file: its layout, and the checkbox fields it holds
    that the mapping does not read (they are ignored, not quarantined)."""
    export = layout(path, mapping)
    kinds = "+".join(k.name for k in file_kinds(path, mapping))
    mapped = {f for form in export.forms for f in form.fields}
    ignored = sorted({c.partition("___")[0] for c in export.columns if "___" in c} - mapped)
    note = f"; checkbox fields not in the mapping, not read: {', '.join(ignored)}" if ignored else ""
    return f"REDCap {kinds} ({'labels' if export.labelled else 'raw'} export{note})"


def content_sha256(staged: StagedFile) -> str:
    """The export file's own hash (a REDCap pass's sha256 carries `#<form>`)."""
    return staged.sha256.partition("#")[0]


def stage_redcap(con: duckdb.DuckDBPyConnection, path: str | Path, scan_no: int = 0,
                 mapping: Mapping | None = None, kind: ExportKind = ASSESSMENTS) -> Iterator[StagedFile]:
    """Read the export once into temp table `redcap_rows` (all text, with each row's
    1-based data row), then, per mapped form of `kind`, build `staged_raw`/`staged` in the
    shape `stage_csv` gives for that kind of export and yield its StagedFile. Consume each one
    (validate + merge) before asking for the next: the next pass replaces `staged`."""
    export = layout(path, mapping)
    path = export.path
    forms = [form for form in export.forms if export.kind_of(form) is kind]
    sha256 = file_sha256(path)
    columns = {name if name else f"unnamed_{i}": "VARCHAR" for i, name in enumerate(export.columns)}
    file_rejects = read_csv_into(con, path, columns, "redcap_raw", "SELECT *", scan_no)
    # Rows the CSV parser could not split: quarantined once, with the file's first pass. Which
    # forms they hold cannot be told (`Reject.unknown_kind`): in a full export they hold back
    # the deletions of every kind the export holds, not only the first pass's.
    first_pass = export.forms[0]
    (first_rowid,) = con.execute("SELECT coalesce(min(rowid), 0) FROM redcap_raw").fetchall()[0]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE redcap_rows AS SELECT {row_position(first_rowid, skipped_rows(con))}"
        " AS source_row, * FROM redcap_raw"
    )
    con.execute("DROP TABLE redcap_raw")
    try:
        for form in forms:
            rejects = _stage_form(con, form, export, set(columns))
            if form is first_pass:
                rejects = sorted(file_rejects + rejects, key=lambda r: r.source_row)
            (n_rows,) = con.execute("SELECT count(*) FROM staged_raw").fetchall()[0]
            yield StagedFile(path=path, sha256=f"{sha256}#{form.code}", kind=kind, n_rows=n_rows, rejects=rejects,
                             scale=form.code if kind is ASSESSMENTS else None)
    finally:
        try:
            con.execute("DROP TABLE IF EXISTS redcap_rows")
        except duckdb.Error:
            pass  # the transaction has failed; the original error matters


def _stage_form(con, form: Form, export: Layout, present: set[str]) -> list[Reject]:
    """Build `staged_raw` and view `staged` for one form; return the rows with a numeric
    answer that is neither a number nor one of its field's choice labels (rejected, like the
    CSV reader's cast errors)."""
    kind = export.kind_of(form)
    record, instance = _text(RECORD, present), _text(REPEAT_INSTANCE, present)
    event = _event(_text(EVENT, present), export.events)
    # Stable across re-exports: the same record, event, form and instance is the same row, so
    # a re-ingest is unchanged and an edited answer is an update.
    key = (f"'redcap|' || coalesce({record}, '') || '|' || coalesce({event}, '') || '|' || "
           f"{_sql_string(form.code)} || '|' || coalesce({instance}, '1')")
    if isinstance(form, InstrumentFields):
        mapped = {"administered_at": form.date, "session_id": form.session, "total": form.total,
                  **{f"item_{n}": field for n, field in enumerate(form.items, start=1)}}
        fixed = {"patient_id": record, "instrument": _sql_string(form.code), "assessment_id": key}
    else:
        mapped, fixed = dict(form.columns), {"patient_id": record}
        if "session_id" not in mapped:
            fixed["session_id"] = key
        if "site" not in mapped:  # the data access group is the site unless a site field is mapped
            fixed["site"] = _text(DATA_ACCESS_GROUP, present)
    mapped = {column: field for column, field in mapped.items() if field}
    values, from_dictionary = {}, set()
    for column, field in mapped.items():
        entry = export.dictionary.field(field) if export.dictionary else None
        if field not in present or (entry and entry.type == "checkbox"):
            values[column] = _checkbox(field, present, entry.choices if entry else ())
            continue
        item = int(column[5:]) if column.startswith("item_") else None
        choices = answer_choices(export.dictionary, field, form.code, item)
        if entry and entry.choices:
            from_dictionary.add(column)
        if column in kind.numeric:
            values[column] = _coded(_text(field, present), choices, labels_first=export.labelled)
        else:
            values[column] = _labelled(_text(field, present), choices)
        if column == "adverse_event" and entry and entry.type in IMPLICIT_CHOICES:
            # a yes/no field: "No" is no adverse event (the column is free text, blank if none)
            no = f"lower({_text(field, present)}) IN ('0', 'no', 'false')"
            values[column] = f"CASE WHEN {no} THEN NULL ELSE {values[column]} END"

    # A row belongs to the form when one of its answers is filled in (a form left blank gives
    # no row) and, on a repeating instrument's row, when the instrument it names is this form
    # (by name or label, ignoring case and punctuation: `PHQ-9` names `phq9`) or no mapped form.
    filled = " OR ".join(f"{values[c]} IS NOT NULL" for c, f in mapped.items() if f in form.answers) or "false"
    repeat = _norm_sql(_text(REPEAT_INSTRUMENT, present))
    forms = ", ".join(_sql_string(_norm(f.form)) for f in export.forms)
    belongs = (f"AND ({filled}) AND ({repeat} IS NULL OR {repeat} = {_sql_string(_norm(form.form))}"
               f" OR {repeat} NOT IN ({forms}))")
    numbers = [(column, mapped[column]) for column in kind.numeric if column in values]
    bad_cells = ", ".join(
        f"CASE WHEN {values[c]} IS NOT NULL AND TRY_CAST({values[c]} AS DOUBLE) IS NULL THEN {{'column': '{c}', "
        f"'field': {_sql_string(f)}, 'value': {_text(f, present)}, 'coded': {str(c in from_dictionary).lower()}}} END"
        for c, f in numbers
    )
    con.execute(sql.render("readers/redcap_instrument", bad_cells=bad_cells, belongs=belongs))
    shown = [c for c in (RECORD, EVENT, REPEAT_INSTRUMENT, REPEAT_INSTANCE, DATA_ACCESS_GROUP) if c in present]
    shown += [c for f in form.fields for c in sorted(present) if c == f or c.startswith(f + "___")]
    rejects = []
    for source_row, cells, raw in con.execute(
        f"""
        SELECT source_row, bad_cells, to_json(struct_pack({', '.join(f'{_q(f)} := {_q(f)}' for f in shown)}))
        FROM redcap_instrument WHERE len(bad_cells) > 0 ORDER BY source_row
        """
    ).fetchall():
        rejects.append(_reject(form, source_row, cells, raw))

    def cell(name: str) -> str:
        if name in fixed:
            return fixed[name]
        if name in kind.numeric:
            return f"TRY_CAST({values[name]} AS DOUBLE)" if name in values else "NULL::DOUBLE"
        return values.get(name, "NULL::VARCHAR")

    select = ", ".join(f"{cell(c)} AS {c}" for c in kind.columns)
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE staged_raw AS
        SELECT source_row, {select} FROM redcap_instrument WHERE len(bad_cells) = 0 ORDER BY source_row
        """
    )
    con.execute("DROP TABLE redcap_instrument")
    con.execute("CREATE OR REPLACE TEMP VIEW staged AS SELECT source_row, * EXCLUDE (source_row) FROM staged_raw")
    return rejects


def _reject(form: Form, source_row: int, cells: list[dict], raw: str) -> Reject:
    text = ", ".join(f'{c["column"]} ({c["field"]}) "{c["value"]}"' for c in cells)
    what = "session" if isinstance(form, SessionFields) else form.code
    if all(c["coded"] for c in cells):
        return Reject(source_row, raw, "unknown_code",
                      f"{what} answer is neither a code nor a label of its field's choices: {text}")
    if all(c["column"].startswith("item_") for c in cells):
        return Reject(source_row, raw, "item_not_whole", f"{what} item answers must be whole numbers: {text}")
    return Reject(source_row, raw, "not_a_number", f"{what} not a number: {text}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _text(name: str | None, present: set[str]) -> str:
    return f"nullif(trim({_q(name)}), '')" if name and name in present else "NULL::VARCHAR"


def _norm(text: str) -> str:
    """A form name or label compared loosely: ASCII letters and digits only, lower case."""
    return re.sub(r"[^A-Za-z0-9]", "", text).lower()


def _norm_sql(expression: str) -> str:
    return f"lower(regexp_replace({expression}, '[^A-Za-z0-9]', '', 'g'))"


def _event(text: str, events) -> str:
    """The event as its unique name when the project's events are known: a labels export
    writes the event's label (`Baseline`), or with several arms `Baseline (Arm 2: Drug B)`
    (as the project XML's StudyEventDef Name), where a raw export writes `baseline_arm_2`.
    So the same event gives the same key in either layout. Unknown text stays as it is."""
    if not events:
        return text
    names = [name for name, _, _ in events]
    whens = " ".join(
        (f"WHEN {text} = {_sql_string(name)} THEN {_sql_string(unique)} " if names.count(name) == 1 else "")
        + f"WHEN starts_with({text}, {_sql_string(f'{name} (Arm {arm}: ')}) THEN {_sql_string(unique)}"
        for name, arm, unique in events
    )
    uniques = ", ".join(_sql_string(unique) for _, _, unique in events)
    return f"CASE WHEN {text} IN ({uniques}) THEN {text} {whens} ELSE {text} END"


def _coded(text: str, choices, labels_first: bool = False) -> str:
    """A numeric answer given as its code (as is) or as its choice label (read as the code;
    case and surrounding spaces ignored). Anything else stays as it is, to be rejected.

    A label can be another choice's code (choices `1, 0 | 2, 1`: the label "1" is code 2). In a
    labels export (`labels_first`) every answer is a label, so "1" is read as a label first;
    in a raw export as a code first."""
    if not choices:
        return text
    codes = ", ".join(_sql_string(code) for code, _ in choices)
    labels = " ".join(f"WHEN {_sql_string(label.lower())} THEN {_sql_string(code)}" for code, label in choices)
    as_label = f"CASE lower({text}) {labels} ELSE NULL END"
    if labels_first:
        return f"coalesce({as_label}, {text})"
    return f"CASE WHEN {text} IN ({codes}) THEN {text} ELSE coalesce({as_label}, {text}) END"


def _labelled(text: str, choices) -> str:
    """A text answer (a route, an adverse event) given as its code is read as its label, the
    way the clinic's own exports write it."""
    if not choices:
        return text
    whens = " ".join(f"WHEN {_sql_string(code)} THEN {_sql_string(label)}" for code, label in choices)
    return f"CASE {text} {whens} ELSE {text} END"


def _checkbox(field: str, present: set[str], choices) -> str:
    """A checkbox field's columns `field___<code>` as the `;`-separated labels of the options
    ticked (`1`, `Checked`, or the option's label); without a dictionary the codes stand in."""
    if not choices:
        choices = [(c.partition("___")[2], c.partition("___")[2]) for c in sorted(present) if c.startswith(field + "___")]
    parts = []
    for code, label in choices:
        column = f"{field}___{checkbox_code(code)}"
        if column in present:
            ticked = ", ".join(_sql_string(v) for v in sorted({*CHECKED, label.lower()}))
            parts.append(f"CASE WHEN lower(trim({_q(column)})) IN ({ticked}) THEN {_sql_string(label.replace(';', ','))} END")
    return f"nullif(concat_ws(';', {', '.join(parts)}), '')" if parts else "NULL::VARCHAR"
