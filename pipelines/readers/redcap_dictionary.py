"""A REDCap project's data dictionary, and what the REDCap reader learns from it: which
export column is which field when the header holds labels, and which code an answer given
as a label stands for.

REDCap exports either "raw" (variable names as the header, choice codes as answers) or
"labels" (Data Exports: "CSV / Microsoft Excel (labels)"; API `exportRecords` with
`rawOrLabel=label` and/or `rawOrLabelHeaders=label`): field labels as the header
(`1. Little interest or pleasure in doing things`, `Event Name`, `Complete?`) and choice
labels as answers (`Several days`, `Checked`). Both are read; a labels export needs the
project's data dictionary (Project Setup: "Download the current Data Dictionary") beside it
to know its columns, and reads its answers through the dictionary's choices. Without one, the
answers of PHQ-9 and GAD-7 items are read through their standard answer labels.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from ..formats import ImportFormatError, normalise_header
from .csv_export import read_header

DICTIONARY_COLUMNS = {"variable_field_name", "form_name", "field_type"}
EVENT_COLUMNS = {"event_name", "arm_num", "unique_event_name"}

# REDCap's own columns and the header a labels export gives each (REDCap's generated R/SPSS
# syntax: `label(data$redcap_repeat_instrument)="Repeat Instrument"`; the project XML:
# `<TranslatedText>Data Access Group</TranslatedText>`). Form status columns are `Complete?`.
FIXED_LABELS = {
    "event_name": "redcap_event_name",
    "repeat_instrument": "redcap_repeat_instrument",
    "repeat_instance": "redcap_repeat_instance",
    "data_access_group": "redcap_data_access_group",
    "survey_identifier": "redcap_survey_identifier",
}
FIXED_COLUMNS = frozenset(FIXED_LABELS.values())

# Choices of the two field types whose choices are not written in the dictionary.
IMPLICIT_CHOICES = {"yesno": (("1", "Yes"), ("0", "No")), "truefalse": (("1", "True"), ("0", "False"))}

# The standard answer labels (as in the REDCap Shared Library PHQ-9 and GAD-7 instruments),
# used for these scales' items when no data dictionary comes with the export.
_FREQUENCY = (("0", "Not at all"), ("1", "Several days"), ("2", "More than half the days"),
              ("3", "Nearly every day"))
_DIFFICULTY = (("0", "Not difficult at all"), ("1", "Somewhat difficult"), ("2", "Very difficult"),
               ("3", "Extremely difficult"))
STANDARD_ITEM_CHOICES = {
    "PHQ-9": (_FREQUENCY,) * 9 + (_DIFFICULTY,),
    "GAD-7": (_FREQUENCY,) * 7,
}

# What a checkbox column holds when its option is ticked: `1` (raw), `Checked` (labels), or
# the option's own label (API `exportCheckboxLabel=true`). Anything else is "not ticked".
CHECKED = ("1", "checked")


@dataclass(frozen=True)
class Field:
    name: str
    form: str
    type: str
    label: str
    choices: tuple[tuple[str, str], ...] = ()  # (code, label), in the dictionary's order

    def columns(self) -> list[tuple[str, str]]:
        """The export columns this field gives, each (variable name, normalised label header)."""
        if self.type == "checkbox":
            return [(f"{self.name}___{checkbox_code(code)}", normalise_header(f"{self.label} (choice={label})"))
                    for code, label in self.choices]
        return [(self.name, normalise_header(self.label))]


@dataclass(frozen=True)
class Dictionary:
    source: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)


def checkbox_code(code: str) -> str:
    """REDCap names a checkbox option's column `field___<code>`: the code lower-cased, a minus
    written as `_`, other characters that cannot be in a variable name dropped."""
    return re.sub(r"[^a-z0-9_]", "", code.lower().replace("-", "_"))


def parse_choices(text: str) -> tuple[tuple[str, str], ...]:
    """`0, Not at all | 1, Several days` -> (("0", "Not at all"), ("1", "Several days"))."""
    choices = []
    for part in (text or "").split("|"):
        code, sep, label = part.partition(",")
        if sep and code.strip():
            choices.append((code.strip(), label.strip()))
    return tuple(choices)


def _plain(label: str) -> str:
    """A field label as a labels export writes it: HTML tags removed."""
    return re.sub(r"<[^>]*>", "", label or "").strip()


def is_dictionary(header: list[str]) -> bool:
    return DICTIONARY_COLUMNS <= set(header)


def read_dictionary(path: str | Path) -> Dictionary:
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ImportFormatError(f"{path}: the REDCap data dictionary cannot be read ({error})") from None
    names = [normalise_header(cell) for cell in rows[0]]

    def cell(row: list[str], column: str) -> str:
        index = next((i for i, n in enumerate(names) if n == column or n.startswith(column + "_")), None)
        return row[index].strip() if index is not None and index < len(row) else ""

    fields = []
    for row in rows[1:]:
        name = cell(row, "variable_field_name")
        if not name:
            continue
        kind = cell(row, "field_type").lower()
        choices = IMPLICIT_CHOICES.get(kind) or parse_choices(cell(row, "choices_calculations_or_slider_labels"))
        fields.append(Field(name=name.lower(), form=cell(row, "form_name"), type=kind,
                            label=_plain(cell(row, "field_label")), choices=choices if kind != "calc" else ()))
    return Dictionary(source=str(path), fields=tuple(fields))


def is_events(header: list[str]) -> bool:
    """The project's events (API `exportEvents` as CSV; REDCapR's test projects' `event.csv`)."""
    return EVENT_COLUMNS <= set(header)


def is_metadata(header: list[str]) -> bool:
    """A REDCap file that describes the project and holds no records: skipped by ingest."""
    return is_dictionary(header) or is_events(header)


def _beside(export: str | Path, kind) -> Path | None:
    """The last CSV (by file name) in the export's folder whose header `kind` accepts."""
    found = []
    for candidate in sorted(Path(export).parent.glob("*.csv")):
        if candidate.resolve() == Path(export).resolve():
            continue
        try:
            if kind(read_header(candidate)):
                found.append(candidate)
        except ImportFormatError:  # an unreadable neighbour is not this export's problem
            continue
    return found[-1] if found else None


def find_dictionary(export: str | Path) -> Dictionary | None:
    """The data dictionary lying beside the export: a CSV in the same folder whose header has
    `Variable / Field Name`, `Form Name` and `Field Type`. With several, the last by file name
    (REDCap names them `<Project>_DataDictionary_<date>.csv`, so the newest)."""
    found = _beside(export, is_dictionary)
    return read_dictionary(found) if found else None


def find_events(export: str | Path) -> tuple[tuple[str, str, str], ...]:
    """The project's events lying beside the export, each (event label, arm number, unique
    event name): a CSV whose header has `event_name`, `arm_num` and `unique_event_name`."""
    found = _beside(export, is_events)
    if found is None:
        return ()
    try:
        with open(found, encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise ImportFormatError(f"{found}: the REDCap events file cannot be read ({error})") from None
    rows = [{normalise_header(k or ""): (v or "").strip() for k, v in row.items()} for row in rows]
    return tuple((r["event_name"], r["arm_num"], r["unique_event_name"]) for r in rows if r.get("unique_event_name"))


def checkbox_columns(path: str | Path) -> dict[int, str]:
    """The header's checkbox columns by position, `side_effects___1` as written: the header
    normaliser would fold the three underscores that mark one into one."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = next(csv.reader(handle), [])
    return {i: cell.strip().lower() for i, cell in enumerate(first)
            if re.fullmatch(r"[a-z][a-z0-9_]*?___[a-z0-9_]+", cell.strip().lower())}


def resolve_header(header: list[str], dictionary: Dictionary | None,
                   checkboxes: dict[int, str] | None = None) -> tuple[list[str], bool]:
    """Each export column's variable name, and whether the header held labels.

    A column is taken as it is when it is a variable name (a raw header). Otherwise it is
    matched to the field whose label it is (compared as normalised headers: case, spaces and
    punctuation ignored; HTML in the label dropped), REDCap's own columns by their fixed
    labels, and a checkbox option by `<label> (choice=<option label>)`. Two fields may share a
    label (`Infusion session id` on three forms): REDCap writes columns in dictionary order,
    so the first such field after the previous column's field is taken. The first column is
    always the record id (REDCap exports it first). A raw checkbox column keeps its own name
    (`checkboxes`, from `checkbox_columns`). A column that matches nothing keeps its own
    name and is not read; the form status columns, all headed `Complete?`, become
    `unmatched_<n>`."""
    expected: list[tuple[str, str]] = []
    for field in dictionary.fields if dictionary else ():
        expected += field.columns()
    raw_names = {name for name, _ in expected} | FIXED_COLUMNS | {"record_id"}
    resolved, labelled, position = [], False, 0
    for index, cell in enumerate(header):
        if index == 0 and "record_id" not in header:
            resolved.append("record_id")
        elif index in (checkboxes or {}):
            resolved.append(checkboxes[index])
        elif cell in raw_names:
            resolved.append(cell)
        elif cell in FIXED_LABELS:
            resolved.append(FIXED_LABELS[cell])
            labelled = True
        elif cell == "complete":
            resolved.append(f"unmatched_{index}")
            labelled = True
        else:
            match = next((i for i in range(position, len(expected)) if expected[i][1] == cell), None)
            if match is None:
                match = next((i for i in range(len(expected)) if expected[i][1] == cell), None)
            if match is None:
                resolved.append(cell)  # a raw name the dictionary does not list, or a column not read
            else:
                resolved.append(expected[match][0])
                labelled, position = True, match + 1
    if labelled:
        # Labels REDCap repeats per form for columns no field is behind (`Survey Timestamp`)
        # are not read; a repeated field name is still refused by the reader.
        resolved = [f"unmatched_{i}" if resolved.count(name) > 1 and name not in raw_names else name
                    for i, name in enumerate(resolved)]
    return resolved, labelled


def answer_choices(dictionary: Dictionary | None, field: str, scale: str | None = None,
                   item: int | None = None) -> tuple[tuple[str, str], ...]:
    """The choices an answer of `field` is read through: the dictionary's, or (no dictionary
    entry with choices) the scale's standard answer labels for item `item`."""
    entry = dictionary.field(field) if dictionary else None
    if entry and entry.choices:
        return entry.choices
    standard = STANDARD_ITEM_CHOICES.get(scale or "", ())
    return standard[item - 1] if item and item <= len(standard) else ()
