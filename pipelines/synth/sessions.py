"""Infusion rows: who gave it where, dose and titration, vitals, dissociation, side effects.

Dosing: IV racemic ketamine starts at 0.5 mg/kg over ~40 minutes; IM starts at 0.5 mg/kg;
intranasal esketamine is 56 or 84 mg with two hours of observation. During induction, a patient
whose depression has improved by less than a quarter so far ("slow responder") is titrated up by
a personal step of 0.1–0.25 mg/kg at each infusion, to at most 1.0 mg/kg (intranasal: to 84 mg);
maintenance keeps the last induction dose. Weight is stable per patient (±1 kg).

Vitals: ketamine raises blood pressure; the peak is 10–30 mmHg systolic and 5–15 diastolic above
the pre-infusion reading, a little more at higher doses. A few patients (more often those with
controlled hypertension) are prone to excursions (peak ≥ 180 systolic or ≥ 110 diastolic), so
excursions cluster in those patients and make up ~2–3% of sessions overall.

Dissociation (CADSS total) is highest at the first infusions and habituates over sessions; it
rises with dose. Side effects are drawn per session (dissociation mostly when CADSS is high);
adverse events are rare free-text notes.
"""

from __future__ import annotations

import numpy as np

from . import dates
from . import patients as pt
from .course import INDUCTION_INFUSIONS, Course, induction_gain
from .scales import PHQ9
from .schedule import Schedule
from .writer import MISSING, Coded, IdText, Table

SESSION_ID_PREFIX, SESSION_ID_DIGITS = "S", 7
P_UTC_OFFSET = 0.02  # rows whose time was exported in UTC with an explicit offset

START_MG_PER_KG, MAX_MG_PER_KG = 0.5, 1.0
TITRATION_STEPS = np.array([0.1, 0.15, 0.2, 0.25])
SLOW_RESPONSE_BELOW = 0.25  # share of baseline PHQ-9 gained so far under which the dose goes up
ESKETAMINE_DOSES_MG = (56.0, 84.0)
P_ESKETAMINE_START_HIGH = 0.3
WEIGHT_WOBBLE_KG = 1.0
IV_DURATIONS, IV_DURATION_SHARES = (35, 40, 45, 50, 60), (0.05, 0.70, 0.10, 0.07, 0.08)
IM_DURATIONS, IM_DURATION_SHARES = (30, 40, 45, 60), (0.2, 0.3, 0.3, 0.2)
INTRANASAL_DURATION = 120

P_OTHER_SITE = 0.03  # sessions given at the patient's other site
P_OWN_CLINICIAN = 0.8  # otherwise a colleague based at the session's site

BP_SYS_MEAN, BP_SYS_SD, BP_SYS_RANGE, BP_SYS_VISIT_SD = 124.0, 9.0, (105, 145), 6.0
BP_DIA_MEAN, BP_DIA_SD, BP_DIA_RANGE, BP_DIA_VISIT_SD = 78.0, 6.0, (65, 92), 4.0
SYS_RISE, DIA_RISE = (10, 30), (5, 15)
MIN_PULSE_PRESSURE = 30  # mmHg between peak systolic and diastolic
EXCURSION_SYS, EXCURSION_DIA = 180, 110
P_EXCURSION_PRONE = 0.06
P_EXCURSION_PRONE_HYPERTENSIVE = 0.5
P_EXCURSION_IF_PRONE, P_EXCURSION_OTHERWISE = 0.28, 0.003
EXCURSION_PEAK_SYS, EXCURSION_PEAK_DIA = (180, 205), (110, 118)
HR_MEAN, HR_SD, HR_RANGE, HR_VISIT_SD = 76.0, 8.0, (55, 100), 5.0
SPO2_VALUES = np.arange(92, 100)
SPO2_SHARES = np.array([0.01, 0.02, 0.04, 0.08, 0.15, 0.25, 0.30, 0.15])

# CADSS mean = (late + (first - late) * exp(-(k - 1) / habituation)) * (mg/kg / 0.5) ** dose_power
CADSS_FIRST, CADSS_LATE, CADSS_HABITUATION, CADSS_DOSE_POWER = 18.0, 7.0, 2.5, 0.8
CADSS_SENSITIVITY_LOG_SD, CADSS_GAMMA_SHAPE, CADSS_MAX = 0.4, 3.0, 92

SIDE_EFFECTS = ("dissociation", "nausea", "dizziness", "headache", "anxiety", "blurred vision")
SIDE_EFFECT_RATES = np.array([np.nan, 0.15, 0.12, 0.08, 0.06, 0.07])  # dissociation from CADSS
DISSOCIATION_BASE, DISSOCIATION_PER_CADSS_POINT = 0.25, 0.05
NAUSEA_PER_EXTRA_MG_PER_KG = 0.1

ADVERSE_EVENTS = (
    "vomiting, resolved with ondansetron",
    "vasovagal episode, recovered lying flat",
    "panic reaction, settled with reassurance",
    "emergence agitation, midazolam 1 mg given",
    "headache, resolved with acetaminophen",
    "transient hypertension, infusion paused 10 min",
)
HYPERTENSION_EVENT = len(ADVERSE_EVENTS) - 1
P_ADVERSE_EVENT = 0.003
P_ADVERSE_EVENT_IF_EXCURSION = 0.15

HEADER = (
    "session_id,patient_id,started_at,route,dose_mg,weight_kg,duration_min,clinician,site,bp_pre_sys,"
    "bp_pre_dia,bp_peak_sys,bp_peak_dia,hr_pre,spo2_min,cadss_total,side_effects,adverse_event"
).split(",")


def make_sessions(rng: np.random.Generator, cohort: pt.Cohort, course: Course, schedule: Schedule) -> Table:
    n_pat, pidx, k = cohort.n, schedule.pidx, schedule.number
    n = schedule.n
    route = cohort.route[pidx]

    mg_per_kg, titrated = _titration(rng, course, schedule)
    wobble = rng.uniform(-WEIGHT_WOBBLE_KG, WEIGHT_WOBBLE_KG, n)
    weight = np.round(np.clip(cohort.weight_kg[pidx] + wobble, *pt.WEIGHT_RANGE_KG), 1)
    esketamine_high = (rng.random(n_pat) < P_ESKETAMINE_START_HIGH)[pidx] | titrated
    dose = np.where(
        route == pt.INTRANASAL,
        np.where(esketamine_high, ESKETAMINE_DOSES_MG[1], ESKETAMINE_DOSES_MG[0]),
        np.round(mg_per_kg * weight, 1),
    )
    duration = np.select(
        [route == pt.IV, route == pt.IM],
        [
            rng.choice(IV_DURATIONS, n, p=IV_DURATION_SHARES),
            rng.choice(IM_DURATIONS, n, p=IM_DURATION_SHARES),
        ],
        INTRANASAL_DURATION,
    )
    # Effective dose on the IV scale, for dose-dependent effects (esketamine 56 mg ~ 0.5 mg/kg IV).
    dose_level = np.where(route == pt.INTRANASAL, START_MG_PER_KG * dose / ESKETAMINE_DOSES_MG[0], mg_per_kg)

    site = np.where(rng.random(n) < P_OTHER_SITE, 1 - cohort.site[pidx], cohort.site[pidx]).astype(np.int8)
    own = cohort.clinician[pidx]
    clinician = np.where(rng.random(n) < P_OWN_CLINICIAN, own, pt.pick_clinician_at(rng, site))

    vitals = _vitals(rng, cohort, pidx, dose_level)
    cadss = _cadss(rng, n_pat, pidx, k, dose_level)
    side_effects = _side_effects(rng, cadss, dose_level)
    adverse = _adverse_events(rng, vitals["excursion"])

    stamps = dates.to_datetime64(schedule.day, schedule.minute)
    started_at = dates.iso_local(stamps)
    utc = np.flatnonzero(rng.random(n) < P_UTC_OFFSET)
    started_at[utc] = dates.iso_utc_from_local(stamps[utc])

    columns = {
        "session_id": IdText(np.arange(1, n + 1), SESSION_ID_PREFIX, SESSION_ID_DIGITS),
        "patient_id": Coded(pidx, cohort.patient_id),
        "started_at": started_at,
        "route": Coded(route, np.array(pt.ROUTES, dtype=object)),
        "dose_mg": dose,
        "weight_kg": weight,
        "duration_min": duration.astype(np.int16),
        "clinician": Coded(clinician, np.array(pt.CLINICIANS, dtype=object)),
        "site": Coded(site, np.array(pt.SITES, dtype=object)),
        "bp_pre_sys": vitals["bp_pre_sys"],
        "bp_pre_dia": vitals["bp_pre_dia"],
        "bp_peak_sys": vitals["bp_peak_sys"],
        "bp_peak_dia": vitals["bp_peak_dia"],
        "hr_pre": vitals["hr_pre"],
        "spo2_min": vitals["spo2_min"],
        "cadss_total": cadss,
        "side_effects": side_effects,
        "adverse_event": adverse,
    }
    assert list(columns) == HEADER
    return Table("sessions.csv", columns)


def _titration(rng: np.random.Generator, course: Course, schedule: Schedule) -> tuple[np.ndarray, np.ndarray]:
    """mg/kg per session and whether the patient has been titrated up by then."""
    pidx, k = schedule.pidx, schedule.number
    gained = course.improvement[PHQ9.name][pidx] * induction_gain(course.tau[pidx], k - 1)
    step_up = (k >= 2) & (k <= INDUCTION_INFUSIONS) & (gained < SLOW_RESPONSE_BELOW)
    # Count step-ups so far per patient: cumulative sum in patient/infusion order.
    order = np.lexsort((k, pidx))
    steps_sorted = np.cumsum(step_up[order])
    first_of_patient = np.r_[True, pidx[order][1:] != pidx[order][:-1]]
    before_patient = np.maximum.accumulate(np.where(first_of_patient, steps_sorted - step_up[order], 0))
    steps = np.empty_like(steps_sorted)
    steps[order] = steps_sorted - before_patient
    step_size = rng.choice(TITRATION_STEPS, size=len(course.tau))[pidx]
    mg_per_kg = np.minimum(MAX_MG_PER_KG, START_MG_PER_KG + step_size * steps)
    return mg_per_kg, steps > 0


def _vitals(rng: np.random.Generator, cohort: pt.Cohort, pidx: np.ndarray, dose_level: np.ndarray) -> dict:
    n_pat, n = cohort.n, len(pidx)

    def patient_level(mean, sd, lo_hi):
        return np.clip(rng.normal(mean, sd, n_pat), *lo_hi)

    def per_visit(mean_by_patient, visit_sd, lo_hi):
        return np.clip(np.rint(mean_by_patient[pidx] + rng.normal(0, visit_sd, n)), *lo_hi).astype(np.int16)

    sys_pre = per_visit(patient_level(BP_SYS_MEAN, BP_SYS_SD, BP_SYS_RANGE), BP_SYS_VISIT_SD, BP_SYS_RANGE)
    dia_pre = per_visit(patient_level(BP_DIA_MEAN, BP_DIA_SD, BP_DIA_RANGE), BP_DIA_VISIT_SD, BP_DIA_RANGE)
    hr = per_visit(patient_level(HR_MEAN, HR_SD, HR_RANGE), HR_VISIT_SD, HR_RANGE)

    extra = dose_level - START_MG_PER_KG
    sys_peak = np.rint(sys_pre + rng.uniform(*SYS_RISE, n) + 10 * extra)
    dia_peak = np.rint(dia_pre + rng.uniform(*DIA_RISE, n) + 4 * extra)
    sys_peak = np.minimum(sys_peak, EXCURSION_SYS - 1)
    dia_peak = np.minimum(dia_peak, EXCURSION_DIA - 1)

    prone_p = np.where(cohort.hypertensive, P_EXCURSION_PRONE_HYPERTENSIVE, P_EXCURSION_PRONE)
    prone = rng.random(n_pat) < prone_p
    excursion = rng.random(n) < np.where(prone[pidx], P_EXCURSION_IF_PRONE, P_EXCURSION_OTHERWISE)
    systolic_kind = rng.random(n) < 0.7
    sys_exc = rng.integers(*EXCURSION_PEAK_SYS, n, endpoint=True)
    dia_exc = rng.integers(*EXCURSION_PEAK_DIA, n, endpoint=True)
    sys_peak = np.where(excursion & systolic_kind, sys_exc, sys_peak)
    dia_peak = np.where(excursion & ~systolic_kind, dia_exc, dia_peak)
    # A diastolic excursion comes with a systolic rise: keep a physiological pulse pressure.
    sys_peak = np.maximum(sys_peak, dia_peak + MIN_PULSE_PRESSURE)

    spo2 = rng.choice(SPO2_VALUES, size=n, p=SPO2_SHARES / SPO2_SHARES.sum())
    return {
        "bp_pre_sys": sys_pre,
        "bp_pre_dia": dia_pre,
        "bp_peak_sys": sys_peak.astype(np.int16),
        "bp_peak_dia": dia_peak.astype(np.int16),
        "hr_pre": hr,
        "spo2_min": spo2.astype(np.int16),
        "excursion": excursion,
    }


def _cadss(rng: np.random.Generator, n_pat: int, pidx: np.ndarray, k: np.ndarray, dose_level: np.ndarray) -> np.ndarray:
    sensitivity = np.exp(rng.normal(-0.5 * CADSS_SENSITIVITY_LOG_SD**2, CADSS_SENSITIVITY_LOG_SD, n_pat))
    habituation = CADSS_LATE + (CADSS_FIRST - CADSS_LATE) * np.exp(-(k - 1) / CADSS_HABITUATION)
    mean = habituation * (dose_level / START_MG_PER_KG) ** CADSS_DOSE_POWER * sensitivity[pidx]
    draw = rng.poisson(rng.gamma(CADSS_GAMMA_SHAPE, mean / CADSS_GAMMA_SHAPE))
    return np.minimum(draw, CADSS_MAX).astype(np.int16)


def _side_effects(rng: np.random.Generator, cadss: np.ndarray, dose_level: np.ndarray) -> Coded:
    """Semicolon lists in a fixed order, encoded as a bit mask looked up in all 64 combinations."""
    n = len(cadss)
    rates = np.tile(SIDE_EFFECT_RATES, (n, 1))
    rates[:, 0] = np.minimum(0.97, DISSOCIATION_BASE + DISSOCIATION_PER_CADSS_POINT * cadss)
    rates[:, 1] += NAUSEA_PER_EXTRA_MG_PER_KG * (dose_level - START_MG_PER_KG)
    present = rng.random((n, len(SIDE_EFFECTS))) < rates
    mask = present @ (1 << np.arange(len(SIDE_EFFECTS)))
    labels = np.array(
        [";".join(e for j, e in enumerate(SIDE_EFFECTS) if m >> j & 1) for m in range(1 << len(SIDE_EFFECTS))],
        dtype=object,
    )
    return Coded(mask, labels)


def _adverse_events(rng: np.random.Generator, excursion: np.ndarray) -> Coded:
    n = len(excursion)
    other = rng.random(n) < P_ADVERSE_EVENT
    hypertensive = excursion & (rng.random(n) < P_ADVERSE_EVENT_IF_EXCURSION)
    code = np.where(hypertensive, HYPERTENSION_EVENT, np.where(other, rng.integers(0, HYPERTENSION_EVENT, n), MISSING))
    return Coded(code, np.array(ADVERSE_EVENTS, dtype=object))
