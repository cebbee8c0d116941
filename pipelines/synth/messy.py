"""Messy mode: realistic bad rows mixed into the clean files, and a manifest saying where they are.

Every fault class gets at least two rows. Each bad row starts from a clean row (so everything
else about it is plausible), takes a fresh id that no clean row uses, and gets exactly one thing
wrong. The exceptions are the duplicate classes, which reuse an existing id on purpose:
`conflicting_duplicate` lists both rows of the pair, `exact_duplicate` only the later repeat.
Rows are inserted at random positions, not appended.

The manifest (`messy_manifest.tsv`, tab-separated: file, row, key, fault) gives the 1-based data-row number
(header excluded) in the file as written, and the row's id.
Note: a `before_birth` date is necessarily also more than a year before intake; it is labelled
`before_birth` only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from itertools import count
from typing import Callable

import numpy as np

from . import patients as pt
from .scales import GAD7, N_ITEM_COLUMNS, PAIN_NRS, PHQ9, SCALES, Scale
from .sessions import HR_RANGE
from .writer import MISSING, Table, render_rows

FAULTS = (
    "unparseable_date", "impossible_date", "future_date", "before_birth", "before_intake", "unknown_patient",
    "unknown_instrument", "item_out_of_range", "item_not_whole", "total_mismatch", "total_out_of_range",
    "impossible_vitals", "dose_out_of_range", "conflicting_duplicate", "wrong_field_count", "bad_patient_row",
    "exact_duplicate",
)
# Tab-separated and not *.csv, so `outcomes ingest FOLDER` does not take it for an export.
MANIFEST_FILE = "messy_manifest.tsv"
MIN_PATIENTS = 10
FUTURE_YEARS_AHEAD = 5
BEFORE_INTAKE_DAYS = (400, 900)
UNKNOWN_PATIENT_OFFSET = 5000  # far above the fresh ids given to bad patient rows


@dataclass
class _FileFaults:
    """Bad rows planned for one file: inserted rows, plus clean rows that the manifest lists."""

    table: Table
    inserted: list[tuple[int, list[str], str, str]] = field(default_factory=list)  # pos, fields, key, fault
    listed_clean: list[tuple[int, str, str]] = field(default_factory=list)  # clean row, key, fault

    def col(self, name: str) -> int:
        return self.table.header.index(name)

    def template(self, row: int) -> list[str]:
        return render_rows(self.table, [row])[0]


def add_bad_rows(
    rng: np.random.Generator, tables: list[Table], cohort: pt.Cohort, end: datetime.date
) -> tuple[dict[str, dict[int, list[list[str]]]], Table]:
    """Plan bad rows for the three tables; returns rows to splice in per file, and the manifest."""
    if cohort.n < MIN_PATIENTS:
        raise ValueError(f"messy mode needs at least {MIN_PATIENTS} patients")
    patients, sessions, assessments = (_FileFaults(t) for t in tables)
    ids = _FreshIds(patients.table, sessions.table, assessments.table)
    _patient_faults(rng, patients, ids)
    _session_faults(rng, sessions, ids, end)
    _assessment_faults(rng, assessments, cohort, ids, end)

    extra, manifest_rows = {}, []
    for faults in (patients, sessions, assessments):
        splice, rows = _place(faults)
        extra[faults.table.file_name] = splice
        manifest_rows += rows
    manifest = Table(
        MANIFEST_FILE,
        {
            "file": np.array([r[0] for r in manifest_rows], dtype=object),
            "row": np.array([r[1] for r in manifest_rows], dtype=np.int64),
            "key": np.array([r[2] for r in manifest_rows], dtype=object),
            "fault": np.array([r[3] for r in manifest_rows], dtype=object),
        },
    )
    return extra, manifest


class _FreshIds:
    """Ids guaranteed not to be used by any clean row."""

    def __init__(self, patients: Table, sessions: Table, assessments: Table):
        width = len(patients.columns["patient_id"][0])
        last_patient = int(patients.columns["patient_id"][-1])
        self._patients = (f"{k:0{width}d}" for k in count(last_patient + 1))
        self._unknown = (f"{k:0{width}d}" for k in count(last_patient + UNKNOWN_PATIENT_OFFSET))
        s, a = sessions.columns["session_id"], assessments.columns["assessment_id"]
        self._sessions = (f"{s.prefix}{k:0{s.digits}d}" for k in count(sessions.n_rows + 1))
        self._assessments = (f"{a.prefix}{k:0{a.digits}d}" for k in count(assessments.n_rows + 1))

    def patient(self) -> str:
        return next(self._patients)

    def unknown_patient(self) -> str:
        return next(self._unknown)

    def session(self) -> str:
        return next(self._sessions)

    def assessment(self) -> str:
        return next(self._assessments)


def _insert(rng, faults: _FileFaults, fields: list[str], key: str, fault: str, after: int = -1) -> None:
    pos = int(rng.integers(after + 1, faults.table.n_rows + 1))
    faults.inserted.append((pos, fields, key, fault))


def _duplicates(rng, faults: _FileFaults, alter: Callable[[list[str]], None], conflict_from: np.ndarray) -> None:
    """One conflicting pair (both listed) and two exact repeats (repeat listed) of clean rows.

    The conflicting copy is a clean row altered by `alter`; its original is drawn from `conflict_from`.
    """
    conflict = int(rng.choice(conflict_from))
    others = rng.choice(faults.table.n_rows - 1, size=2, replace=False)
    repeats = [int(i) + (i >= conflict) for i in others]  # any two rows but the conflicting one
    row = faults.template(conflict)
    faults.listed_clean.append((conflict, row[0], "conflicting_duplicate"))
    copy = list(row)
    alter(copy)
    _insert(rng, faults, copy, row[0], "conflicting_duplicate")
    for i in repeats:
        row = faults.template(i)
        _insert(rng, faults, row, row[0], "exact_duplicate", after=i)


def _patient_faults(rng, faults: _FileFaults, ids: _FreshIds) -> None:
    n = faults.table.n_rows
    for column, bad_value in (("birth_year", "19x0"), ("primary_indication", "flu")):
        row = faults.template(int(rng.integers(n)))
        row[0] = ids.patient()
        row[faults.col(column)] = bad_value
        _insert(rng, faults, row, row[0], "bad_patient_row")
    repeat = int(rng.integers(n))
    row = faults.template(repeat)
    _insert(rng, faults, row, row[0], "exact_duplicate", after=repeat)


def _session_faults(rng, faults: _FileFaults, ids: _FreshIds, end: datetime.date) -> None:
    cols = faults.table.columns
    iv_rows = np.flatnonzero(cols["route"].codes == pt.IV)
    last_year = end.year - 1

    def bad(column: str | None, value: str, fault: str, rows=None) -> None:
        row = faults.template(int(rng.choice(rows if rows is not None else faults.table.n_rows)))
        row[0] = ids.session()
        if column is not None:
            row[faults.col(column)] = value
        _insert(rng, faults, row, row[0], fault)

    bad("started_at", "next tuesday", "unparseable_date")
    bad("started_at", f"03/15/{last_year} 9am", "unparseable_date")
    bad("started_at", f"{last_year}-02-30T10:00:00", "impossible_date")
    bad("started_at", f"{last_year}-13-01T09:30:00", "impossible_date")
    bad("started_at", f"{end.year + FUTURE_YEARS_AHEAD}-03-14T10:15:00", "future_date")
    bad("started_at", f"{end.year + FUTURE_YEARS_AHEAD}-09-02T13:45:00", "future_date")
    for _ in range(2):
        bad("patient_id", ids.unknown_patient(), "unknown_patient")
    bad("bp_pre_sys", "20", "impossible_vitals")
    bad("bp_peak_sys", "400", "impossible_vitals")
    bad("spo2_min", "130", "impossible_vitals")
    bad("dose_mg", "0", "dose_out_of_range", iv_rows)
    bad("dose_mg", "5000", "dose_out_of_range", iv_rows)

    too_few = faults.template(int(rng.integers(faults.table.n_rows)))[:-3]
    too_many = faults.template(int(rng.integers(faults.table.n_rows))) + ["extra"]
    for row in (too_few, too_many):
        row[0] = ids.session()
        _insert(rng, faults, row, row[0], "wrong_field_count")

    def other_heart_rate(row: list[str]) -> None:
        hr = int(row[hr_col])
        row[hr_col] = str(hr + 7 if hr + 7 <= HR_RANGE[1] else hr - 7)

    hr_col = faults.col("hr_pre")
    _duplicates(rng, faults, other_heart_rate, np.arange(faults.table.n_rows))


def _assessment_faults(rng, faults: _FileFaults, cohort: pt.Cohort, ids: _FreshIds, end: datetime.date) -> None:
    cols = faults.table.columns
    code = cols["instrument"].codes
    items = np.column_stack([cols[f"item_{j}"] for j in range(1, PHQ9.n_items + 1)])
    complete_phq9 = np.flatnonzero((code == SCALES.index(PHQ9)) & (items != MISSING).all(axis=1))
    gad_items = items[:, : GAD7.n_items]
    complete_gad7 = np.flatnonzero((code == SCALES.index(GAD7)) & (gad_items != MISSING).all(axis=1))
    at, sid, total = faults.col("administered_at"), faults.col("session_id"), faults.col("total")
    item = lambda j: faults.col(f"item_{j}")  # noqa: E731
    last_year = end.year - 1

    def new_row(rows=complete_phq9, patient: int | None = None) -> list[str]:
        row = faults.template(int(rng.choice(rows)))
        row[0] = ids.assessment()
        row[sid] = ""  # a stand-alone score: no link to an infusion
        if patient is not None:
            row[1] = cohort.patient_id[patient]
        return row

    def add(row: list[str], fault: str) -> None:
        _insert(rng, faults, row, row[0], fault)

    for value, fault in (
        ("next tuesday", "unparseable_date"),
        (f"03/15/{last_year} 9am", "unparseable_date"),
        (f"{last_year}-02-30T10:00:00", "impossible_date"),
        (f"{last_year}-13-01T11:20:00", "impossible_date"),
        (f"{end.year + FUTURE_YEARS_AHEAD}-01-20T09:10:00", "future_date"),
        (f"{end.year + FUTURE_YEARS_AHEAD}-06-11T15:40:00", "future_date"),
    ):
        row = new_row()
        row[at] = value
        add(row, fault)

    birth = cohort.birth_year.astype(np.int64)
    intake = cohort.intake_day.astype(np.int64)
    for patient in rng.choice(cohort.n, size=2, replace=False):
        row = new_row(patient=int(patient))
        row[at] = f"{birth[patient] - 2}-06-15T10:30:00"
        add(row, "before_birth")
    intake_year = intake.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    old_enough = np.flatnonzero(intake_year - birth >= 5)
    for patient in rng.choice(old_enough, size=2, replace=False):
        day = intake[patient] - int(rng.integers(*BEFORE_INTAKE_DAYS))
        row = new_row(patient=int(patient))
        row[at] = f"{np.datetime64(int(day), 'D')}T10:00:00"
        add(row, "before_intake")

    for _ in range(2):
        row = new_row()
        row[1] = ids.unknown_patient()
        add(row, "unknown_patient")

    for name in ("BDI-II", "MADRS"):
        row = new_row()
        row[2] = name
        add(row, "unknown_instrument")

    for j, value, fault in ((4, "4", "item_out_of_range"), (2, "-1", "item_out_of_range"),
                            (3, "1.5", "item_not_whole"), (6, "two", "item_not_whole")):
        row = new_row()
        row[item(j)] = value
        row[total] = ""  # the bad item is the only fault
        add(row, fault)

    for rows in (complete_phq9, complete_gad7 if len(complete_gad7) else complete_phq9):
        row = new_row(rows)
        n_items = _scale_of(row[2]).n_items
        true_sum = sum(int(row[item(j)]) for j in range(1, n_items + 1))
        row[total] = str(true_sum + 3 if true_sum + 3 <= _scale_of(row[2]).total_max else true_sum - 3)
        add(row, "total_mismatch")

    row = new_row()
    for j in range(1, N_ITEM_COLUMNS + 1):
        row[item(j)] = ""
    row[total] = str(PHQ9.total_max + 4)  # PHQ-9 total-only 31
    add(row, "total_out_of_range")
    row = new_row()
    row[2] = PAIN_NRS.name
    for j in range(1, N_ITEM_COLUMNS + 1):
        row[item(j)] = ""
    row[total] = str(PAIN_NRS.total_max + 2)  # pain 12
    add(row, "total_out_of_range")

    too_few = new_row()[:-4]
    too_many = new_row() + ["", "3"]
    add(too_few, "wrong_field_count")
    add(too_many, "wrong_field_count")

    def other_first_item(row: list[str]) -> None:
        """Change item 1 by one point; keep the copy internally consistent (total re-summed)."""
        scale = _scale_of(row[2])
        row[item(1)] = str(int(row[item(1)]) + 1 if int(row[item(1)]) < scale.item_max else int(row[item(1)]) - 1)
        if row[total] != "":
            row[total] = str(sum(int(row[item(j)]) for j in range(1, scale.n_items + 1)))

    _duplicates(rng, faults, other_first_item, np.flatnonzero(cols["item_1"] != MISSING))


def _scale_of(instrument: str) -> Scale:
    return next(s for s in SCALES if instrument in (s.name, s.variant))


def _place(faults: _FileFaults) -> tuple[dict[int, list[list[str]]], list[tuple[str, int, str, str]]]:
    """Final row numbers of inserted and listed rows; rows to splice in, keyed by clean position."""
    name = faults.table.file_name
    ordered = sorted(enumerate(faults.inserted), key=lambda t: (t[1][0], t[0]))
    splice: dict[int, list[list[str]]] = {}
    manifest = []
    positions = np.array([item[1][0] for item in ordered], dtype=np.int64)
    for r, (_, (pos, fields, key, fault)) in enumerate(ordered):
        splice.setdefault(pos, []).append(fields)
        manifest.append((name, pos + r + 1, key, fault))
    for clean_row, key, fault in faults.listed_clean:
        before = int(np.searchsorted(positions, clean_row, side="right"))
        manifest.append((name, clean_row + 1 + before, key, fault))
    manifest.sort(key=lambda m: m[1])
    return splice, manifest
