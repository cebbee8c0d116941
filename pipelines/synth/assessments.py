"""Scale administrations: when each scale is taken and how the answers look.

Timing. Every patient has one baseline: either the pre-infusion score of the first infusion, or
a score at the intake visit (0–14 days earlier), or — for a few — an old referral score from
20–40 days before treatment (so some have no valid baseline in a 30-day window). Scores are then
taken 10–45 minutes before every later infusion (with the session id), and most patients who
complete induction fill in a follow-up 1–7 days after the sixth infusion (remotely, any day,
no session id). Some scheduled scores are skipped.

Which scales. PHQ-9 for everyone; GAD-7 for anxiety and PTSD and for part of the others; the pain
NRS for chronic pain and a fifth of the others; PCL-5 for PTSD, at baseline, at the follow-up
and before every third infusion.

Answers. The course model gives a latent score; each item is then drawn as Binomial(item_max,
p_item) with p_item proportional to the latent severity and an item weight, so the item
pattern is coherent with the total. PHQ-9 item 9 (thoughts of self-harm) is drawn separately:
its chance of being non-zero grows steeply with severity (about one in six severe baselines)
and so fades as patients improve. Rows then get the realistic gaps of clinic exports: total
left blank on a fifth of complete rows, a few rows with missing items, a few total-only rows,
PHQ-9's difficulty question on half the rows, the pain score as item, total or both, and a few
legacy instrument spellings.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from . import dates
from . import patients as pt
from .course import INDUCTION_INFUSIONS, Course, effect_level, latent_score
from .scales import GAD7, N_ITEM_COLUMNS, PAIN_NRS, PCL5, PHQ9, SCALES, Scale
from .schedule import Schedule
from .sessions import SESSION_ID_DIGITS, SESSION_ID_PREFIX
from .writer import MISSING, Coded, IdText, Table

ASSESSMENT_ID_PREFIX, ASSESSMENT_ID_DIGITS = "A", 8
BASELINE, PRE_INFUSION, FOLLOW_UP = range(3)

PRE_INFUSION_LEAD_MINUTES = (10, 45)
STALE_BASELINE_DAYS = (20, 40)
INTAKE_HOURS_MINUTES = (8 * 60, 16 * 60 + 45)
FOLLOW_UP_DAYS = (1, 7)
FOLLOW_UP_HOURS_MINUTES = (7 * 60, 21 * 60 + 59)  # remote questionnaire, any day
P_FOLLOW_UP = 0.85
P_SKIP_VISIT = 0.06  # all scores of a pre-infusion visit missed
P_SKIP_SCALE = 0.02  # one scale missed at a visit
PCL5_EVERY_NTH_INFUSION = 3

P_GAD7 = {pt.DEPRESSION: 0.6, pt.BIPOLAR: 0.6, pt.ANXIETY: 1.0, pt.PTSD: 1.0, pt.CHRONIC_PAIN: 0.0, pt.OTHER: 0.3}
P_PAIN_CHRONIC, P_PAIN_OTHERS = 1.0, 0.2

# Relative item weights (how strongly each item tracks overall severity); normalized in use.
ITEM_WEIGHTS = {
    PHQ9.name: np.array([1.15, 1.15, 1.3, 1.35, 1.0, 1.1, 1.05, 0.9, 0.0]),  # item 9 drawn apart
    GAD7.name: np.array([1.1, 1.1, 1.15, 1.0, 0.75, 1.0, 0.9]),
    PCL5.name: np.array([1.0, 0.9, 0.8, 1.1, 1.0, 1.1, 1.1, 0.7, 1.0, 0.9,
                         1.0, 1.1, 1.0, 0.9, 1.0, 0.7, 1.1, 1.0, 1.1, 1.2]),
}
P_ITEM_MAX = 0.97
SELF_HARM_ITEM = 8  # zero-based column of PHQ-9 item 9
SELF_HARM_P_AT_20, SELF_HARM_POWER, SELF_HARM_P_MAX = 0.11, 2.0, 0.25
DIFFICULTY_COLUMN = 9  # zero-based column of PHQ-9's 10th question
P_DIFFICULTY_ANSWERED, DIFFICULTY_PER_POINT, DIFFICULTY_SD = 0.5, 1 / 7, 0.5

COMPLETE, TOTAL_ONLY, FEW_MISSING, MANY_MISSING = range(4)
P_TOTAL_ONLY = 0.01  # PHQ-9 and GAD-7 only
P_FEW_MISSING = 0.015  # 1–2 items blank
P_MANY_MISSING = 0.003  # 3 or more items blank
P_TOTAL_GIVEN = 0.8  # complete rows with the total filled in
PAIN_ITEM_ONLY, PAIN_TOTAL_ONLY = 0.5, 0.25  # the rest carry both
P_VARIANT_SPELLING = 0.03

HEADER = (
    ["assessment_id", "patient_id", "instrument", "administered_at", "session_id"]
    + [f"item_{i}" for i in range(1, N_ITEM_COLUMNS + 1)]
    + ["total"]
)
INSTRUMENT_LABELS = np.array([s.name for s in SCALES] + [s.variant for s in SCALES], dtype=object)


@dataclass
class _Visits:
    """Scoring visits (every scale a patient takes shares the visit), as parallel arrays."""

    pidx: np.ndarray
    stamp: np.ndarray  # local datetime64[m]
    kind: np.ndarray  # BASELINE, PRE_INFUSION or FOLLOW_UP
    number: np.ndarray  # infusion number for pre-infusion visits, else 0
    session_no: np.ndarray  # session id number, MISSING when not tied to an infusion
    infusions_done: np.ndarray
    days_since_infusion: np.ndarray

    @classmethod
    def make(cls, pidx, day, minute, kind, *, number, session_no, done, since) -> "_Visits":
        n = len(pidx)

        def full(value, dtype):
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        return cls(
            pidx=np.asarray(pidx, dtype=np.int32),
            stamp=dates.to_datetime64(day, minute),
            kind=full(kind, np.int8),
            number=full(number, np.int16),
            session_no=full(session_no, np.int64),
            infusions_done=full(done, np.int16),
            days_since_infusion=full(since, np.int16),
        )

    @classmethod
    def concat(cls, parts: list["_Visits"]) -> "_Visits":
        return cls(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)})

    def take(self, mask: np.ndarray) -> "_Visits":
        return _Visits(**{f.name: getattr(self, f.name)[mask] for f in fields(self)})


def make_assessments(
    rng: np.random.Generator, cohort: pt.Cohort, course: Course, schedule: Schedule, start_day: int, end_day: int
) -> Table:
    visits = _visits(rng, cohort, schedule, start_day, end_day)
    enrolled = _enrollment(rng, cohort)

    # One block of rows per scale, then everything in time order.
    blocks = []
    for code, scale in enumerate(SCALES):
        wanted = enrolled[scale.name][visits.pidx]
        if scale is PCL5:
            wanted &= (visits.kind != PRE_INFUSION) | (visits.number % PCL5_EVERY_NTH_INFUSION == 0)
        wanted &= (visits.kind == BASELINE) | (rng.random(len(wanted)) >= P_SKIP_SCALE)
        taken = visits.take(wanted)
        effect = effect_level(course, taken.pidx, taken.infusions_done, taken.days_since_infusion)
        latent = latent_score(rng, course, scale, taken.pidx, effect)
        items, total = _answers(rng, scale, latent)
        blocks.append((np.full(len(latent), code, dtype=np.int8), taken, items, total))

    scale_code = np.concatenate([b[0] for b in blocks])
    rows = _Visits.concat([b[1] for b in blocks])
    items = np.concatenate([b[2] for b in blocks])
    total = np.concatenate([b[3] for b in blocks])
    order = np.lexsort((scale_code, rows.pidx, rows.stamp))

    variant = rng.random(len(order)) < P_VARIANT_SPELLING
    instrument = scale_code[order] + len(SCALES) * variant
    items = items[order]
    columns = {
        "assessment_id": IdText(np.arange(1, len(order) + 1), ASSESSMENT_ID_PREFIX, ASSESSMENT_ID_DIGITS),
        "patient_id": Coded(rows.pidx[order], cohort.patient_id),
        "instrument": Coded(instrument, INSTRUMENT_LABELS),
        "administered_at": rows.stamp[order],
        "session_id": IdText(rows.session_no[order], SESSION_ID_PREFIX, SESSION_ID_DIGITS),
    }
    for j in range(N_ITEM_COLUMNS):
        columns[f"item_{j + 1}"] = items[:, j]
    columns["total"] = total[order]
    assert list(columns) == HEADER
    return Table("assessments.csv", columns)


def _visits(rng: np.random.Generator, cohort: pt.Cohort, schedule: Schedule, start_day: int, end_day: int) -> _Visits:
    n_pat = cohort.n
    session_no = np.arange(1, schedule.n + 1)
    first_row = np.full(n_pat, -1)
    is_first = schedule.number == 1
    first_row[schedule.pidx[is_first]] = np.flatnonzero(is_first)
    first_minute = schedule.minute[first_row].astype(np.int64)

    # Baselines taken apart from an infusion: at intake, or an old referral score.
    mode = cohort.baseline_mode
    apart = np.flatnonzero(mode != pt.BASELINE_AT_FIRST_INFUSION)
    stale = mode[apart] == pt.BASELINE_STALE_REFERRAL
    stale_day = dates.roll_back_to_weekday(
        cohort.first_day[apart] - rng.integers(*STALE_BASELINE_DAYS, len(apart), endpoint=True)
    )
    day = np.where(stale, np.maximum(stale_day, start_day), cohort.intake_day[apart])
    same_day = day == cohort.first_day[apart]
    minute = np.where(
        same_day,
        first_minute[apart] - rng.integers(*PRE_INFUSION_LEAD_MINUTES, len(apart), endpoint=True),
        _five_minute_times(rng, len(apart), INTAKE_HOURS_MINUTES),
    )
    baseline = _Visits.make(apart, day, minute, BASELINE, number=0, session_no=MISSING, done=0, since=0)

    # Before each infusion (the first one only for patients whose baseline is taken there).
    keep = (schedule.number > 1) | (mode[schedule.pidx] == pt.BASELINE_AT_FIRST_INFUSION)
    keep &= (schedule.number == 1) | (rng.random(schedule.n) >= P_SKIP_VISIT)
    rows = np.flatnonzero(keep)
    lead = rng.integers(*PRE_INFUSION_LEAD_MINUTES, len(rows), endpoint=True)
    pre = _Visits.make(
        schedule.pidx[rows], schedule.day[rows], schedule.minute[rows].astype(np.int64) - lead,
        np.where(schedule.number[rows] == 1, BASELINE, PRE_INFUSION), number=schedule.number[rows],
        session_no=session_no[rows], done=schedule.number[rows] - 1, since=schedule.days_since_prev[rows],
    )

    # Follow-up after the sixth infusion.
    sixth = np.flatnonzero((schedule.number == INDUCTION_INFUSIONS) & (rng.random(schedule.n) < P_FOLLOW_UP))
    offset = rng.integers(*FOLLOW_UP_DAYS, len(sixth), endpoint=True)
    fu_day = schedule.day[sixth] + offset
    follow = _Visits.make(
        schedule.pidx[sixth], fu_day, _five_minute_times(rng, len(sixth), FOLLOW_UP_HOURS_MINUTES), FOLLOW_UP,
        number=0, session_no=MISSING, done=INDUCTION_INFUSIONS, since=offset,
    ).take(fu_day <= end_day)

    return _Visits.concat([baseline, pre, follow])


def _five_minute_times(rng: np.random.Generator, n: int, window: tuple[int, int]) -> np.ndarray:
    return window[0] + 5 * rng.integers(0, (window[1] - window[0]) // 5 + 1, n)


def _enrollment(rng: np.random.Generator, cohort: pt.Cohort) -> dict[str, np.ndarray]:
    ind, n = cohort.indication, cohort.n
    p_gad = np.zeros(n)
    for code, p in P_GAD7.items():
        p_gad[ind == code] = p
    p_pain = np.where(ind == pt.CHRONIC_PAIN, P_PAIN_CHRONIC, P_PAIN_OTHERS)
    return {
        PHQ9.name: np.ones(n, dtype=bool),
        GAD7.name: rng.random(n) < p_gad,
        PAIN_NRS.name: rng.random(n) < p_pain,
        PCL5.name: ind == pt.PTSD,
    }


def _answers(rng: np.random.Generator, scale: Scale, latent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Item matrix (n x 20, MISSING = blank) and total column for one scale's rows."""
    n = len(latent)
    items = np.full((n, N_ITEM_COLUMNS), MISSING, dtype=np.int8)
    if scale is PAIN_NRS:
        value = np.rint(latent).astype(np.int16)
        u = rng.random(n)
        total_only = (u >= PAIN_ITEM_ONLY) & (u < PAIN_ITEM_ONLY + PAIN_TOTAL_ONLY)
        items[:, 0] = np.where(total_only, MISSING, value)
        total = np.where(u < PAIN_ITEM_ONLY, MISSING, value).astype(np.int16)
        return items, total

    weights = ITEM_WEIGHTS[scale.name]
    weights = weights * (scale.n_items / weights.sum())
    p = np.clip(latent[:, None] / scale.total_max * weights[None, :], 0.0, P_ITEM_MAX)
    scored = rng.binomial(scale.item_max, p).astype(np.int8)
    if scale is PHQ9:
        p_self_harm = np.minimum(SELF_HARM_P_AT_20 * (latent / 20) ** SELF_HARM_POWER, SELF_HARM_P_MAX)
        any_self_harm = rng.random(n) < p_self_harm
        scored[:, SELF_HARM_ITEM] = any_self_harm * (1 + rng.binomial(2, 0.25, n))
    total = scored.sum(axis=1, dtype=np.int16)

    pattern = _completeness(rng, n, total_only_allowed=scale in (PHQ9, GAD7))
    missing = np.zeros_like(scored, dtype=bool)
    for kind, low, high in ((FEW_MISSING, 1, 2), (MANY_MISSING, 3, scale.n_items - 1)):
        rows = np.flatnonzero(pattern == kind)
        how_many = rng.integers(low, high, len(rows), endpoint=True)
        rank = np.argsort(rng.random((len(rows), scale.n_items)), axis=1).argsort(axis=1)
        missing[rows] = rank < how_many[:, None]
    missing[pattern == TOTAL_ONLY] = True
    items[:, : scale.n_items] = np.where(missing, MISSING, scored)

    total_shown = np.where(
        (pattern == TOTAL_ONLY) | ((pattern == COMPLETE) & (rng.random(n) < P_TOTAL_GIVEN)), total, MISSING
    ).astype(np.int16)

    if scale is PHQ9:
        difficulty = np.clip(np.rint(total * DIFFICULTY_PER_POINT + rng.normal(0, DIFFICULTY_SD, n)), 0, 3)
        answered = (pattern != TOTAL_ONLY) & (rng.random(n) < P_DIFFICULTY_ANSWERED)
        items[:, DIFFICULTY_COLUMN] = np.where(answered, difficulty, MISSING)
    return items, total_shown


def _completeness(rng: np.random.Generator, n: int, total_only_allowed: bool) -> np.ndarray:
    u = rng.random(n)
    p_total_only = P_TOTAL_ONLY if total_only_allowed else 0.0
    edges = np.cumsum([p_total_only, P_FEW_MISSING, P_MANY_MISSING])
    return np.select(
        [u < edges[0], u < edges[1], u < edges[2]], [TOTAL_ONLY, FEW_MISSING, MANY_MISSING], COMPLETE
    ).astype(np.int8)
