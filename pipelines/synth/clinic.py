"""Orchestration: one seed -> a whole synthetic clinic written as three CSV files.

Each stage draws from its own child generator of `numpy.random.default_rng(seed)`, so the clean
data do not change when messy mode is switched on, and nothing depends on the wall clock.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import numpy as np

from . import dates
from .assessments import make_assessments
from .bookings import FILE_NAME as BOOKINGS_FILE, booking_rows, write_bookings
from .course import plan_courses
from .messy import add_bad_rows
from .patients import make_cohort, patients_table
from .schedule import build_schedule
from .sessions import make_sessions
from .writer import write_table

DAYS_PER_YEAR = 365.25
_STAGES = ("patients", "course", "schedule", "sessions", "assessments", "messy")


def generate_clinic(
    out_dir: Path,
    n_patients: int,
    seed: int,
    messy: bool = False,
    end: datetime.date = datetime.date(2026, 10, 31),
    years: float = 2.0,
) -> dict[str, int]:
    """Write patients.csv, sessions.csv, assessments.csv, appointments.csv (the bookings of the
    week after `end`: bookings.py) and messy_manifest.tsv when messy.

    The data cover `years` years ending at `end` (inclusive); nothing but the bookings is dated
    after `end`.
    Returns the number of data rows written per file name.
    """
    if n_patients < 0:
        raise ValueError("n_patients must be >= 0")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    end_day = dates.day_number(end)
    start_day = end_day - int(round(years * DAYS_PER_YEAR))
    rng = dict(zip(_STAGES, np.random.default_rng(seed).spawn(len(_STAGES))))

    cohort = make_cohort(rng["patients"], n_patients, start_day, end_day)
    course = plan_courses(rng["course"], cohort)
    schedule = build_schedule(rng["schedule"], cohort, course, end_day)
    tables = [
        patients_table(cohort),
        make_sessions(rng["sessions"], cohort, course, schedule),
        make_assessments(rng["assessments"], cohort, course, schedule, start_day, end_day),
    ]

    extra: dict[str, dict[int, list[list[str]]]] = {t.file_name: {} for t in tables}
    manifest = None
    if messy:
        extra, manifest = add_bad_rows(rng["messy"], tables, cohort, end)

    counts = {t.file_name: write_table(out_dir, t, extra[t.file_name]) for t in tables}
    counts[BOOKINGS_FILE] = write_bookings(out_dir, booking_rows(cohort, schedule, end_day))
    if manifest is not None:
        counts[manifest.file_name] = write_table(out_dir, manifest, delimiter="\t")
    return counts
