"""The clinical-course model: who responds, who stops early, who continues, who relapses.

Each patient has, per scale, a latent baseline severity B and an achievable improvement f
(the fraction of B a full six-infusion induction removes). After j infusions the fraction of f
reached is the saturating curve

    g(j) = (1 - exp(-j / tau)) / (1 - exp(-6 / tau)),   g(0) = 0, g(6) = 1,

so, as in real-world IV ketamine cohorts, most of the drop comes after the first two or three
infusions and the curve is flat afterwards. The latent score at a visit is B * (1 - f * effect)
plus visit-to-visit noise (effect is g, reduced by wear-off and relapse, see `effect_level`).

Phenotypes set f for depression (PHQ-9): non-responders change little, partial responders
improve by a quarter to a half, responders by half or more (the best ones remit). GAD-7, pain and
PCL-5 improvements are correlated with the PHQ-9 one but weaker and noisier.

Phenotype also drives the course: non-responders stop before the sixth infusion more often and
rarely go on to maintenance; responders often do. In maintenance the effect wears off a little
with the time since the last infusion, and some patients relapse: their effect fades over
successive maintenance infusions until scores are partly or fully back at baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import patients as pt
from .scales import GAD7, PAIN_NRS, PCL5, PHQ9, SCALES, Scale

INDUCTION_INFUSIONS = 6

NON_RESPONDER, PARTIAL, RESPONDER = range(3)
PHENOTYPE_SHARES = (0.26, 0.28, 0.46)
# PHQ-9 improvement fraction f by phenotype: uniform ranges, responders skewed towards remission.
NON_RESPONDER_F = (-0.08, 0.22)
PARTIAL_F = (0.22, 0.50)
RESPONDER_F_BETA = (1.6, 1.4)  # f = 0.5 + 0.5 * Beta(a, b)
TAU_RANGE = (0.9, 1.8)  # speed of the induction response, in infusions

P_STOP_EARLY = np.array([0.30, 0.20, 0.13])  # by phenotype
STOP_AFTER_SHARES = (0.30, 0.25, 0.20, 0.15, 0.10)  # infusions received by early stoppers: 1..5
P_MAINTENANCE = np.array([0.12, 0.40, 0.62])  # among completers, by phenotype
MAINTENANCE_COUNT_P = 0.2  # geometric: mean 5 maintenance infusions, ~13% reach 10 or more
MAX_MAINTENANCE = 30
P_RELAPSE = 0.3  # among maintenance patients who improved (partial or responder)
RELAPSE_DEPTH = (0.5, 1.0)  # fraction of the gained improvement eventually lost
RELAPSE_SPAN = (2, 5)  # maintenance infusions over which the relapse unfolds
WEAR_OFF_PER_DAY = 0.005  # effect lost per day since the last infusion…
WEAR_OFF_MAX_DAYS = 70  # …up to this many days

# Latent baseline (mean, sd) by indication, per scale; clipped to the scale's range.
PHQ9_BASELINE = {
    pt.DEPRESSION: (19.5, 4.0),
    pt.BIPOLAR: (19.0, 4.0),
    pt.ANXIETY: (15.5, 4.5),
    pt.PTSD: (17.5, 4.5),
    pt.CHRONIC_PAIN: (15.0, 5.0),
    pt.OTHER: (16.5, 5.0),
}
GAD7_BASELINE = {
    pt.DEPRESSION: (11.5, 4.0),
    pt.BIPOLAR: (11.5, 4.0),
    pt.ANXIETY: (15.5, 3.5),
    pt.PTSD: (14.5, 4.0),
    pt.CHRONIC_PAIN: (9.0, 4.0),
    pt.OTHER: (10.5, 4.0),
}
PAIN_BASELINE = {pt.CHRONIC_PAIN: (6.8, 1.4)}
PAIN_BASELINE_OTHERS = (4.0, 2.0)
PCL5_BASELINE = (51.0, 10.0)
# Other scales' f = coupling * f_PHQ9 + noise: correlated with depression, weaker.
COUPLING = {GAD7.name: (0.8, 0.15), PAIN_NRS.name: (0.55, 0.15), PCL5.name: (0.8, 0.15)}
MIN_BASELINE = {PHQ9.name: 3.0, GAD7.name: 0.0, PAIN_NRS.name: 1.0, PCL5.name: 15.0}


@dataclass
class Course:
    phenotype: np.ndarray
    baseline: dict[str, np.ndarray]  # scale name -> latent baseline severity
    improvement: dict[str, np.ndarray]  # scale name -> f
    tau: np.ndarray
    planned_induction: np.ndarray  # 1..6; fewer than 6 = stops early
    planned_maintenance: np.ndarray  # 0 = no maintenance
    relapse_depth: np.ndarray  # 0 = no relapse
    relapse_span: np.ndarray


def plan_courses(rng: np.random.Generator, cohort: pt.Cohort) -> Course:
    n = cohort.n
    phenotype = rng.choice(3, size=n, p=PHENOTYPE_SHARES).astype(np.int8)
    f = np.select(
        [phenotype == NON_RESPONDER, phenotype == PARTIAL],
        [rng.uniform(*NON_RESPONDER_F, n), rng.uniform(*PARTIAL_F, n)],
        0.5 + 0.5 * rng.beta(*RESPONDER_F_BETA, n),
    )
    improvement = {PHQ9.name: f}
    for name, (coupling, sd) in COUPLING.items():
        improvement[name] = np.clip(coupling * f + rng.normal(0.0, sd, n), -0.15, 0.95)

    baseline = {
        PHQ9.name: _by_indication(rng, cohort.indication, PHQ9_BASELINE, None),
        GAD7.name: _by_indication(rng, cohort.indication, GAD7_BASELINE, None),
        PAIN_NRS.name: _by_indication(rng, cohort.indication, PAIN_BASELINE, PAIN_BASELINE_OTHERS),
        PCL5.name: rng.normal(*PCL5_BASELINE, n),
    }
    for scale in SCALES:
        baseline[scale.name] = np.clip(baseline[scale.name], MIN_BASELINE[scale.name], scale.total_max)

    stops = rng.random(n) < P_STOP_EARLY[phenotype]
    stop_after = rng.choice(np.arange(1, INDUCTION_INFUSIONS), size=n, p=STOP_AFTER_SHARES)
    planned_induction = np.where(stops, stop_after, INDUCTION_INFUSIONS).astype(np.int8)

    maintains = ~stops & (rng.random(n) < P_MAINTENANCE[phenotype])
    count = np.minimum(rng.geometric(MAINTENANCE_COUNT_P, n), MAX_MAINTENANCE)
    planned_maintenance = np.where(maintains, count, 0).astype(np.int16)

    relapses = maintains & (phenotype != NON_RESPONDER) & (rng.random(n) < P_RELAPSE)
    depth = np.where(relapses, rng.uniform(*RELAPSE_DEPTH, n), 0.0)
    span = rng.integers(RELAPSE_SPAN[0], RELAPSE_SPAN[1] + 1, n)

    return Course(
        phenotype=phenotype,
        baseline=baseline,
        improvement=improvement,
        tau=rng.uniform(*TAU_RANGE, n),
        planned_induction=planned_induction,
        planned_maintenance=planned_maintenance,
        relapse_depth=depth,
        relapse_span=span,
    )


def _by_indication(rng, indication, table, default) -> np.ndarray:
    mean = np.full(len(indication), np.nan if default is None else default[0])
    sd = np.full(len(indication), np.nan if default is None else default[1])
    for code, (m, s) in table.items():
        mean[indication == code] = m
        sd[indication == code] = s
    return rng.normal(mean, sd)


def induction_gain(tau: np.ndarray, infusions_done: np.ndarray) -> np.ndarray:
    """g(j): share of the achievable improvement reached after j induction infusions."""
    j = np.minimum(infusions_done, INDUCTION_INFUSIONS)
    return (1 - np.exp(-j / tau)) / (1 - np.exp(-INDUCTION_INFUSIONS / tau))


def effect_level(
    course: Course, pidx: np.ndarray, infusions_done: np.ndarray, days_since_infusion: np.ndarray
) -> np.ndarray:
    """Share of the patient's achievable improvement present at a visit (0 = baseline state).

    Induction gain, times wear-off since the last infusion, times the relapse factor, which
    falls over the maintenance infusions received (infusions beyond the sixth).
    """
    gain = induction_gain(course.tau[pidx], infusions_done)
    wear = 1 - WEAR_OFF_PER_DAY * np.minimum(days_since_infusion, WEAR_OFF_MAX_DAYS)
    in_maintenance = np.maximum(infusions_done - INDUCTION_INFUSIONS, 0)
    relapse = 1 - course.relapse_depth[pidx] * np.minimum(1.0, in_maintenance / course.relapse_span[pidx])
    return np.where(infusions_done > 0, gain * wear * relapse, 0.0)


def latent_score(
    rng: np.random.Generator, course: Course, scale: Scale, pidx: np.ndarray, effect: np.ndarray
) -> np.ndarray:
    """Latent (continuous) score at a visit, before it is expressed as item answers."""
    b = course.baseline[scale.name][pidx]
    f = course.improvement[scale.name][pidx]
    score = b * (1 - f * effect) + rng.normal(0.0, scale.visit_noise_sd, len(pidx))
    return np.clip(score, 0.0, scale.total_max)
