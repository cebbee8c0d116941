"""The sample REDCap export: the same assessments as the CSV sample, as a REDCap project
would export them, for a few patients.

Why derived rather than generated: the REDCap reader's promise is that a clinic gets the same
outcomes whichever way it exports, so the sample is the CSV sample's own PHQ-9, GAD-7 and pain
answers re-laid as REDCap rows (tests/test_redcap.py checks the outcomes match).

Layout, as a longitudinal REDCap project with repeating instruments would export it:
each patient is a record; the first administration of each scale is in the non-repeating
`baseline_arm_1` event row (all scales side by side); every later administration is a
repeating-instrument row of `treatment_arm_1` (`redcap_repeat_instrument` = form name,
`redcap_repeat_instance` counting from 1 per record and form).

    python -m pipelines.synth.redcap            # rewrites data/sample/redcap/
"""

from __future__ import annotations

import csv
import re
import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .codes import scale_code

BASELINE, TREATMENT = "baseline_arm_1", "treatment_arm_1"
LABELS = {"PHQ-9": "PHQ-9 item", "GAD-7": "GAD-7 item", "PAIN-NRS": "Pain intensity 0-10"}
# The default REDCap mapping shipped with the package, read here as a data file (the sample is
# laid out the way that file says a clinic's project is), not through the importer's reader.
MAPPING_FILE = "redcap_mapping.toml"


@dataclass(frozen=True)
class InstrumentFields:
    """Where one scale lives in the sample REDCap project."""

    code: str
    form: str
    date: str
    items: tuple[str, ...]
    total: str | None = None
    session: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.date, *self.items, *(f for f in (self.total, self.session) if f))


def mapped_instruments() -> list[InstrumentFields]:
    """The forms of the packaged `redcap_mapping.toml`, in file order."""
    text = (resources.files("pipelines") / MAPPING_FILE).read_text(encoding="utf-8")
    return [InstrumentFields(code=code, form=spec["form"], date=spec["date"], items=tuple(spec["items"]),
                             total=spec.get("total"), session=spec.get("session"))
            for code, spec in tomllib.loads(text)["instruments"].items()]


def _code(instrument_text: str, instruments: list[InstrumentFields]) -> str | None:
    code = scale_code(instrument_text)
    return code if any(instrument.code == code for instrument in instruments) else None


def _redcap_time(text: str) -> str:
    """2024-12-09T09:35:00 -> 2024-12-09 09:35 (REDCap's datetime_ymd), other text as is."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(:00)?", text)
    return f"{match.group(1)} {match.group(2)}" if match else text.replace("T", " ")


def redcap_rows(assessments: list[dict], patient_ids: list[str]) -> tuple[list[str], list[dict]]:
    """The REDCap header and rows for `patient_ids`' PHQ-9 / GAD-7 / pain assessments."""
    instruments = mapped_instruments()
    header = ["record_id", "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
    for instrument in instruments:
        header += [*instrument.fields, f"{instrument.form}_complete"]
    wanted = set(patient_ids)
    by_patient: dict[str, list[tuple[InstrumentFields, dict]]] = {}
    for row in assessments:
        code = _code(row["instrument"], instruments)
        if row["patient_id"] in wanted and code:
            spec = next(i for i in instruments if i.code == code)
            by_patient.setdefault(row["patient_id"], []).append((spec, row))
    out = []
    for pid in patient_ids:
        baseline: dict = {"record_id": pid, "redcap_event_name": BASELINE}
        repeats, instances = [], {}
        for spec, row in sorted(by_patient.get(pid, []), key=lambda p: (p[1]["administered_at"], p[0].code)):
            cells = {spec.date: _redcap_time(row["administered_at"]), f"{spec.form}_complete": "2"}
            for n, field in enumerate(spec.items, start=1):
                cells[field] = row.get(f"item_{n}", "")
            if spec.total:
                cells[spec.total] = row.get("total", "")
            if spec.session:
                cells[spec.session] = row.get("session_id", "")
            if spec.date not in baseline:
                baseline.update(cells)
            else:
                instances[spec.form] = instances.get(spec.form, 0) + 1
                repeats.append({"record_id": pid, "redcap_event_name": TREATMENT,
                                "redcap_repeat_instrument": spec.form,
                                "redcap_repeat_instance": str(instances[spec.form]), **cells})
        out += [baseline, *repeats]
    return header, out


def data_dictionary(instruments: list[InstrumentFields]) -> tuple[list[str], list[list[str]]]:
    """A REDCap data dictionary (the project's metadata CSV) for the mapped forms."""
    header = ["Variable / Field Name", "Form Name", "Section Header", "Field Type", "Field Label",
              "Choices, Calculations, OR Slider Labels", "Field Note",
              "Text Validation Type OR Show Slider Number", "Text Validation Min", "Text Validation Max"]
    rows = [["record_id", instruments[0].form, "", "text", "Record ID", "", "", "", "", ""]]
    for spec in instruments:
        rows.append([spec.date, spec.form, "", "text", f"{spec.code} date and time", "", "", "datetime_ymd", "", ""])
        for n, field in enumerate(spec.items, start=1):
            if spec.code == "PAIN-NRS":
                choices = " | ".join(f"{v}, {v}" for v in range(11))
                rows.append([field, spec.form, "", "radio", LABELS[spec.code], choices, "", "", "", ""])
            elif spec.code == "PHQ-9" and n == 10:
                choices = ("0, Not difficult at all | 1, Somewhat difficult | 2, Very difficult | "
                           "3, Extremely difficult")
                rows.append([field, spec.form, "", "radio", "How difficult have these problems made things",
                             choices, "Not part of the total", "", "", ""])
            else:
                choices = "0, Not at all | 1, Several days | 2, More than half the days | 3, Nearly every day"
                rows.append([field, spec.form, "", "radio", f"{LABELS[spec.code]} {n}", choices, "", "", "", ""])
        if spec.total:
            rows.append([spec.total, spec.form, "", "text", f"{spec.code} total as recorded", "", "",
                         "integer", "", ""])
        if spec.session:
            rows.append([spec.session, spec.form, "", "text", "Infusion session id", "", "", "", "", ""])
    return header, rows


def write_redcap_sample(sample: Path, out: Path, n_patients: int = 10) -> list[str]:
    """Write export.csv, data_dictionary.csv and the mapping for the first `n_patients`
    patients of the CSV sample in `sample`; return their ids."""
    with open(sample / "assessments.csv", encoding="utf-8", newline="") as handle:
        assessments = [{k: v or "" for k, v in row.items()} for row in csv.DictReader(handle)]
    with open(sample / "patients.csv", encoding="utf-8", newline="") as handle:
        patients = sorted(row["patient_id"] for row in csv.DictReader(handle))
    with_scores = {row["patient_id"] for row in assessments}
    chosen = [pid for pid in patients if pid in with_scores][:n_patients]
    out.mkdir(parents=True, exist_ok=True)
    header, rows = redcap_rows(assessments, chosen)
    with open(out / "export.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    dict_header, dict_rows = data_dictionary(mapped_instruments())
    with open(out / "data_dictionary.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(dict_header)
        writer.writerows(dict_rows)
    with resources.as_file(resources.files("pipelines") / MAPPING_FILE) as default:
        shutil.copyfile(default, out / MAPPING_FILE)
    return chosen


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2] / "data" / "sample"
    print("patients:", ", ".join(write_redcap_sample(root, root / "redcap")))
