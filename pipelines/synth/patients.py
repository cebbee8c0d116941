"""Who comes to the clinic: demographics, referral reason, site, treatment route, intake timing.

Patients start treatment (first infusion) on weekdays spread evenly over the generated period.
Intake is 0–21 days before the first infusion. Every patient also gets a "baseline mode" saying
how their baseline scores were taken (see assessments.py): at the first infusion, at the intake
visit, or — for a few — as an old referral score 20–40 days before treatment, which leaves some
patients without a valid baseline in the 30-day window.

Patient ids are assigned in intake order with small gaps (registration numbers), zero-padded
to six digits so that leading zeros are part of the id.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import dates
from .writer import Coded, Table

INDICATIONS = ("depression", "bipolar_depression", "anxiety", "ptsd", "chronic_pain", "other")
INDICATION_SHARES = (0.50, 0.10, 0.10, 0.12, 0.13, 0.05)
DEPRESSION, BIPOLAR, ANXIETY, PTSD, CHRONIC_PAIN, OTHER = range(6)

SEXES = ("female", "male", "other")
SEX_SHARES = (0.58, 0.40, 0.02)

SITES = ("Northside", "Riverside")
SITE_SHARES = (0.6, 0.4)
# Synthetic names. Three clinicians are based at Northside, two at Riverside.
CLINICIANS = (
    "Dr. Amara Okafor",
    "Dr. Daniel Reyes",
    "Dr. Priya Natarajan",
    "Dr. Henrik Larsen",
    "Dr. Grace Whitfield",
)
CLINICIAN_HOME_SITE = np.array([0, 0, 0, 1, 1])
CLINICIAN_CASELOAD = np.array([0.40, 0.35, 0.25, 0.55, 0.45])  # share within the home site
AWAY_CLINICIAN_SHARE = 0.03  # patients whose named clinician is based at the other site

ROUTES = ("iv", "intranasal", "im")
ROUTE_SHARES = (0.85, 0.10, 0.05)
IV, INTRANASAL, IM = range(3)

BIRTH_YEAR_RANGE = (1940, 2005)
AGE_MEAN, AGE_SD, AGE_MIN, AGE_MAX = 43.0, 13.0, 18, 85
WEIGHT_MEDIAN_KG, WEIGHT_LOG_SD, WEIGHT_RANGE_KG = 80.0, 0.2, (45.0, 140.0)

# Only mild, treated conditions: patients with real contraindications were never infused.
MILD_CONTRAINDICATIONS = (
    "controlled hypertension",
    "obstructive sleep apnea",
    "substance use disorder in sustained remission",
    "mild hepatic impairment",
    "glaucoma",
)
CONTRAINDICATION_WEIGHTS = np.array([0.50, 0.20, 0.15, 0.08, 0.07])
HYPERTENSION = 0
CONTRAINDICATED_SHARE = 0.06
TWO_CONTRAINDICATIONS_SHARE = 0.2

# How the baseline was measured (see assessments.py).
BASELINE_AT_FIRST_INFUSION, BASELINE_AT_INTAKE, BASELINE_STALE_REFERRAL = range(3)
BASELINE_MODE_SHARES = (0.50, 0.45, 0.05)
MAX_INTAKE_GAP_DAYS = 21
MAX_INTAKE_BASELINE_GAP_DAYS = 14  # an intake-visit baseline is at most two weeks old
LEAD_IN_DAYS = 41  # first infusions start this long after the period start, so referral scores fit
ID_GAP_SHARE = 0.1  # registration numbers that never became patients
PATIENT_ID_DIGITS = 6


@dataclass
class Cohort:
    """Per-patient attributes, one array element per patient (index = patient index)."""

    patient_id: np.ndarray  # object array of zero-padded id strings
    birth_year: np.ndarray
    sex: np.ndarray
    indication: np.ndarray
    site: np.ndarray
    clinician: np.ndarray
    intake_day: np.ndarray  # day numbers
    first_day: np.ndarray  # day of the first infusion
    baseline_mode: np.ndarray
    route: np.ndarray
    weight_kg: np.ndarray
    contraindication_code: np.ndarray  # index into contraindication_labels, -1 = none
    contraindication_labels: np.ndarray
    hypertensive: np.ndarray  # has "controlled hypertension" recorded

    @property
    def n(self) -> int:
        return len(self.patient_id)


def _choice(rng: np.random.Generator, n: int, shares) -> np.ndarray:
    return rng.choice(len(shares), size=n, p=np.asarray(shares) / np.sum(shares)).astype(np.int8)


def make_cohort(rng: np.random.Generator, n: int, start_day: int, end_day: int) -> Cohort:
    first_lo = min(start_day + LEAD_IN_DAYS, end_day)
    first = rng.integers(first_lo, end_day + 1, size=n)
    first = dates.roll_forward_to_weekday(first)
    first = np.where(first > end_day, first - 3, first)  # a Monday past the end -> the Friday before
    first = np.maximum(first, start_day)

    baseline_mode = _choice(rng, n, BASELINE_MODE_SHARES)
    max_gap = np.where(baseline_mode == BASELINE_AT_INTAKE, MAX_INTAKE_BASELINE_GAP_DAYS, MAX_INTAKE_GAP_DAYS)
    intake = dates.roll_forward_to_weekday(first - rng.integers(0, max_gap + 1))
    intake = np.minimum(np.maximum(intake, start_day), first)

    # Registration order = intake order; ties broken by first infusion then a random key.
    order = np.lexsort((rng.random(n), first, intake))
    first, intake, baseline_mode = first[order], intake[order], baseline_mode[order]

    numbers = np.cumsum(1 + (rng.random(n) < ID_GAP_SHARE))
    width = max(PATIENT_ID_DIGITS, len(str(int(numbers[-1])))) if n else PATIENT_ID_DIGITS
    patient_id = np.array([f"{k:0{width}d}" for k in numbers.tolist()], dtype=object)

    age = np.clip(np.rint(rng.normal(AGE_MEAN, AGE_SD, n)), AGE_MIN, AGE_MAX)
    birth_year = np.clip(dates.year_of(intake) - age - (rng.random(n) < 0.5), *BIRTH_YEAR_RANGE)

    site = _choice(rng, n, SITE_SHARES)
    clinician = _pick_clinician(rng, site)

    route = _choice(rng, n, ROUTE_SHARES)
    weight = np.exp(rng.normal(np.log(WEIGHT_MEDIAN_KG), WEIGHT_LOG_SD, n))
    weight = np.round(np.clip(weight, *WEIGHT_RANGE_KG), 1)

    code, labels = _contraindications(rng, n)
    first_listed = np.where(code >= 0, code // len(MILD_CONTRAINDICATIONS), -1)
    second_listed = np.where(code >= 0, code % len(MILD_CONTRAINDICATIONS), -1)
    hypertensive = (first_listed == HYPERTENSION) | (second_listed == HYPERTENSION)

    return Cohort(
        patient_id=patient_id,
        birth_year=birth_year.astype(np.int16),
        sex=_choice(rng, n, SEX_SHARES),
        indication=_choice(rng, n, INDICATION_SHARES),
        site=site,
        clinician=clinician,
        intake_day=intake.astype(np.int32),
        first_day=first.astype(np.int32),
        baseline_mode=baseline_mode,
        route=route,
        weight_kg=weight,
        contraindication_code=code,
        contraindication_labels=labels,
        hypertensive=hypertensive,
    )


def clinicians_at(site: int) -> tuple[np.ndarray, np.ndarray]:
    """Clinicians based at a site and their caseload shares there."""
    ids = np.flatnonzero(CLINICIAN_HOME_SITE == site)
    weights = CLINICIAN_CASELOAD[ids]
    return ids, weights / weights.sum()


def pick_clinician_at(rng: np.random.Generator, site: np.ndarray) -> np.ndarray:
    """A clinician based at the given site (vectorized over `site`)."""
    out = np.empty(len(site), dtype=np.int8)
    for s in range(len(SITES)):
        rows = np.flatnonzero(site == s)
        ids, weights = clinicians_at(s)
        out[rows] = rng.choice(ids, size=len(rows), p=weights)
    return out


def _pick_clinician(rng: np.random.Generator, site: np.ndarray) -> np.ndarray:
    away = rng.random(len(site)) < AWAY_CLINICIAN_SHARE
    return pick_clinician_at(rng, np.where(away, 1 - site, site))


def _contraindications(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Code = first * K + second for "first;second" (second == first means a single item)."""
    k = len(MILD_CONTRAINDICATIONS)
    labels = np.empty(k * k, dtype=object)
    for a in range(k):
        for b in range(k):
            names = [MILD_CONTRAINDICATIONS[a]] if a == b else [MILD_CONTRAINDICATIONS[a], MILD_CONTRAINDICATIONS[b]]
            labels[a * k + b] = ";".join(names)
    p = CONTRAINDICATION_WEIGHTS / CONTRAINDICATION_WEIGHTS.sum()
    has = rng.random(n) < CONTRAINDICATED_SHARE
    first = rng.choice(k, size=n, p=p)
    second = np.where(rng.random(n) < TWO_CONTRAINDICATIONS_SHARE, (first + rng.integers(1, k, size=n)) % k, first)
    code = np.where(has, first * k + second, -1)
    return code.astype(np.int16), labels


PATIENTS_HEADER = [
    "patient_id", "birth_year", "sex", "primary_indication", "site", "clinician", "intake_date", "contraindications",
]


def patients_table(cohort: Cohort) -> Table:
    """The patients.csv table (one row per patient, in registration order)."""
    labels = lambda names: np.array(names, dtype=object)  # noqa: E731
    columns = {
        "patient_id": cohort.patient_id,
        "birth_year": cohort.birth_year,
        "sex": Coded(cohort.sex, labels(SEXES)),
        "primary_indication": Coded(cohort.indication, labels(INDICATIONS)),
        "site": Coded(cohort.site, labels(SITES)),
        "clinician": Coded(cohort.clinician, labels(CLINICIANS)),
        "intake_date": cohort.intake_day.astype("datetime64[D]"),
        "contraindications": Coded(cohort.contraindication_code, cohort.contraindication_labels),
    }
    assert list(columns) == PATIENTS_HEADER
    return Table("patients.csv", columns)
