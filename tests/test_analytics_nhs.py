"""NHS Talking Therapies paired outcome (PHQ-9 + GAD-7) against hand-worked values, and
property checks on the committed sample data.

Cut-offs: caseness PHQ-9 >= 10, GAD-7 >= 8; reliable change PHQ-9 6, GAD-7 4. Every patient
has three infusions from 2025-01-06 09:00, baselines at 08:30 that day, follow-ups on 10 Jan.

| patient | site      | PHQ-9  | GAD-7   | caseness (either) | recovery (below both) | reliable improvement | deterioration |
|---------|-----------|--------|---------|-------------------|-----------------------|----------------------|---------------|
| N1      | Riverside | 15 -> 8 (-7) | 10 -> 5 (-5) | yes       | yes                   | yes (both)           | no            |
| N2      | Riverside | 12 -> 5 (-7) | 9 -> 9       | yes       | no: GAD-7 still 9     | yes (PHQ-9)          | no            |
| N3      | Northside | 14 -> 6 (-8) | 6 -> 11 (+5) | yes (PHQ) | no: GAD-7 11          | no: GAD-7 worse      | yes           |
| N4      | Northside | 8 -> 3 (-5)  | 5 -> 2 (-3)  | no        | not applicable        | no                   | no            |
| N5      | Northside | 16 -> 9 (-7) | 7 -> 3 (-4)  | yes (PHQ) | yes                   | yes (both)           | no            |
| N6      | Riverside | 18 -> 10     | none         | not paired |                      |                      |               |
| N7      | Northside | 20 -> 8      | 12, no follow-up | not paired |                  |                      |               |
"""

from __future__ import annotations

import math

import pytest

from conftest import Clinic, assessment, patient, session, only_row
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.nhs import PAIRED_OUTCOMES, paired_outcome
from pipelines.settings import Settings

SETTINGS = Settings()
BASELINE, FOLLOW_UP = "2025-01-06T08:30:00", "2025-01-10T08:30:00"

PAIRS = {  # patient: (site, PHQ-9 baseline, follow-up, GAD-7 baseline, follow-up)
    "N1": ("Riverside", 15, 8, 10, 5),
    "N2": ("Riverside", 12, 5, 9, 9),
    "N3": ("Northside", 14, 6, 6, 11),
    "N4": ("Northside", 8, 3, 5, 2),
    "N5": ("Northside", 16, 9, 7, 3),
    "N6": ("Riverside", 18, 10, None, None),
    "N7": ("Northside", 20, 8, 12, None),
}


def scores(pid, phq9_start, phq9_end, gad7_start, gad7_end):
    rows = []
    for instrument, values in (("PHQ-9", (phq9_start, phq9_end)), ("GAD-7", (gad7_start, gad7_end))):
        for when, total in zip((BASELINE, FOLLOW_UP), values):
            if total is not None:
                rows.append(assessment(f"{pid}-{instrument}-{when}", when, instrument, [], total, pid=pid))
    return rows


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("nhs"))
    clinic.patients = [patient(pid, site=site) for pid, (site, *_) in PAIRS.items()]
    clinic.sessions = [session(f"{pid}-S{k}", f"2025-01-{day}T09:00:00", pid=pid)
                       for pid in PAIRS for k, day in enumerate(("06", "08", "10"), start=1)]
    clinic.assessments = [row for pid, (_, *values) in PAIRS.items() for row in scores(pid, *values)]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def test_view_judges_the_pair(con):
    rows = {pid: flags for pid, *flags in con.execute(
        "SELECT patient_id, baseline_caseness, recovery, reliable_improvement, reliable_deterioration, "
        "reliable_recovery FROM nhs_paired_outcomes ORDER BY patient_id").fetchall()}
    assert rows == {
        "N1": [True, True, True, False, True],
        "N2": [True, False, True, False, False],
        "N3": [True, False, False, True, False],
        "N4": [False, None, False, False, None],
        "N5": [True, True, True, False, True],
    }
    # N2 recovered on PHQ-9 alone (5 < 10) but not on the pair: GAD-7 stayed at 9 >= 8.
    (phq9_recovery,) = con.execute("SELECT recovery FROM patient_outcomes WHERE patient_id = 'N2' "
                                   "AND instrument = 'PHQ-9'").fetchone()
    assert phq9_recovery is True


def test_counts_rates_and_denominators(con):
    row = only_row(paired_outcome(con, SETTINGS))
    # 7 treated; N1-N5 paired (N6 no GAD-7, N7 no GAD-7 follow-up); N4 not in caseness.
    assert (row.group, row.n_patients, row.n_paired, row.n_caseness) == ("all", 7, 5, 4)
    # recovery N1, N5 of 4 in caseness; reliable improvement N1, N2, N5 of 5 paired;
    # deterioration N3 of 5
    assert (row.recovery_n, row.recovery_rate) == (2, 0.5)
    assert (row.reliable_recovery_n, row.reliable_recovery_rate) == (2, 0.5)
    assert (row.reliable_improvement_n, row.reliable_improvement_rate) == (3, 0.6)
    assert (row.reliable_deterioration_n, row.reliable_deterioration_rate) == (1, 0.2)
    # Wilson, 2 of 4: 0.5 +- 0.34996 (z^2 = 3.8415; half-width 1.96/1.9604 * sqrt(0.0625 + 0.060023))
    assert (row.recovery_low, row.recovery_high) == (pytest.approx(0.1500, abs=1e-4), pytest.approx(0.8500, abs=1e-4))


def test_grouping_by_site(con):
    frame = paired_outcome(con, SETTINGS, group_by=("site",))
    assert list(frame.site) == ["Northside", "Riverside"]
    north, river = frame.iloc[0], frame.iloc[1]
    # Northside N3, N4, N5, N7: paired N3-N5, caseness N3, N5; recovery N5; improvement N5; deterioration N3
    assert (north.n_patients, north.n_paired, north.n_caseness) == (4, 3, 2)
    assert (north.recovery_rate, north.reliable_improvement_n, north.reliable_deterioration_n) == (0.5, 1, 1)
    assert north.reliable_improvement_rate == pytest.approx(1 / 3)
    # Riverside N1, N2, N6: paired N1, N2 in caseness; recovery N1; improvement both
    assert (river.n_patients, river.n_paired, river.n_caseness) == (3, 2, 2)
    assert (river.recovery_rate, river.reliable_improvement_rate, river.reliable_deterioration_rate) == (0.5, 1, 0)


def test_filter_matches_the_group(con):
    grouped = paired_outcome(con, SETTINGS, group_by=("site",)).set_index("site")
    filtered = only_row(paired_outcome(con, SETTINGS, cohort=CohortFilter(sites=("Riverside",))))
    for column in ("n_patients", "n_paired", "n_caseness", "recovery_n", "reliable_improvement_n"):
        assert filtered[column] == grouped.loc["Riverside", column]


def test_empty_cohort(con):
    row = only_row(paired_outcome(con, SETTINGS, cohort=CohortFilter(sites=("Nowhere",))))
    assert (row.n_patients, row.n_paired, row.n_caseness, row.recovery_n) == (0, 0, 0, 0)
    assert all(math.isnan(row[f"{name}_{s}"]) for name in PAIRED_OUTCOMES for s in ("rate", "low", "high"))
    assert paired_outcome(con, SETTINGS, cohort=CohortFilter(sites=("Nowhere",)), group_by=("sex",)).empty


# --- properties on the committed sample data ------------------------------------------------


@pytest.mark.parametrize("group_by", [(), ("site",), ("clinician", "sex"), ("age_band",), ("start_month",)])
def test_sample_properties(sample, group_by):
    frame = paired_outcome(sample, SETTINGS, group_by=group_by)
    assert len(frame) >= 1
    assert ((0 <= frame.n_caseness) & (frame.n_caseness <= frame.n_paired) & (frame.n_paired <= frame.n_patients)).all()
    for name, denominator in PAIRED_OUTCOMES.items():
        n, rate, low, high = (frame[f"{name}_{s}"] for s in ("n", "rate", "low", "high"))
        assert ((n >= 0) & (n <= frame[denominator])).all()
        rated = frame[denominator] > 0
        assert rate[rated].between(0, 1).all() and rate[~rated].isna().all()
        assert ((low[rated] <= rate[rated] + 1e-12) & (rate[rated] <= high[rated] + 1e-12)).all()
    assert (frame.reliable_recovery_n <= frame.recovery_n).all()
    # improvement needs deterioration on neither: the two never overlap
    assert (frame.reliable_improvement_n + frame.reliable_deterioration_n <= frame.n_paired).all()
    if group_by:
        whole = only_row(paired_outcome(sample, SETTINGS))
        assert frame.n_paired.sum() == whole.n_paired and frame.recovery_n.sum() == whole.recovery_n


def test_sample_pairs_are_patients_with_both_scales_followed_up(sample):
    (expected,) = sample.execute("""
        SELECT count(*) FROM (
            SELECT patient_id FROM patient_outcomes
            WHERE instrument IN ('PHQ-9', 'GAD-7') AND n_followups > 0
            GROUP BY patient_id HAVING count(*) = 2)""").fetchone()
    row = only_row(paired_outcome(sample, SETTINGS))
    assert expected > 0 and row.n_paired == expected
