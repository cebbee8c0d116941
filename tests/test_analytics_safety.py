"""Safety analytics (pipelines/analytics/safety.py): PHQ-9 item 9, blood-pressure excursions,
side effects and adverse events, CADSS by infusion and reliable deterioration, against
hand-worked values on two small clinics, and property checks on the committed sample data.

Infusions clinic (sessions only; peak BP systolic/diastolic; thresholds 180 / 110):

| infusion | patient (site)  | peak BP  | excursion?          | side effects                 | adverse event     | CADSS |
|----------|-----------------|----------|---------------------|------------------------------|-------------------|-------|
| A1 6 Jan | A (Northside)   | 179/109  | no (both just under)| dissociation, nausea         |                   | 10    |
| A2 8 Jan | A               | 180/100  | yes (systolic edge) | dissociation                 |                   | 20    |
| A3 10 Jan| A               | 150/110  | yes (diastolic edge)| (none)                       |                   | 30    |
| A4 13 Jan| A               | 185/112  | yes (both)          | dissociation, nausea, nausea | vasovagal episode | 40    |
| B1 6 Jan | B (Riverside)   | 140/88   | no                  | dissociation                 |                   | 12    |
| B2 8 Jan | B               | 200/90   | yes (systolic)      | headache                     | (blank)           | 14    |
| C1 6 Jan | C (Riverside)   | (none)   | not judged          | dissociation                 |                   | (none)|

PHQ-9 clinic (course of three infusions 6, 8, 10 Jan 2025 at 09:00; scores at 08:30):

| patient | site      | PHQ-9 (item 9)                                          | other                         |
|---------|-----------|---------------------------------------------------------|-------------------------------|
| P1      | Northside | 18 (0) 6 Jan; 15 (1) 8 Jan; 12 (0) 10 Jan               | GAD-7 6 -> 10: +4 deteriorated|
| P2      | Northside | 20 (0) 6 Jan; incomplete (item 9 = 2) 10 Jan            |                               |
| P3      | Riverside | 16 (2) 6 Jan; total-only 14 on 10 Jan                   |                               |
| P4      | Riverside | total-only 16 on 6 Jan and 12 on 10 Jan                 |                               |
| P5      | Riverside | none                                                    |                               |
| P6      | Northside | 20 (3) - never infused: in no cohort                    |                               |
| P7      | Riverside | 10 (0) 6 Jan; 16 (0) 10 Jan: +6 deteriorated            |                               |
| P8      | Northside | 12 (0) 6 Jan; at 10 Jan 08:30 both 12 (0) and 13 (1)    | tie at the latest time        |
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from conftest import Clinic, assessment, patient, phq9_items, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.safety import (bp_excursions, cadss_by_infusion, item9_flags, reliable_deterioration,
                                        side_effect_rates)
from pipelines.analytics.stats import mean_interval, median_interval
from pipelines.settings import Settings, Thresholds

SETTINGS = Settings()
NOWHERE = CohortFilter(sites=("Nowhere",))
DAYS = ["2025-01-06", "2025-01-08", "2025-01-10", "2025-01-13"]


def infusion(sid, pid, day, systolic=140, diastolic=88, effects="dissociation", cadss=12, adverse=""):
    return session(sid, f"{day}T09:00:00", pid=pid, bp_peak_sys=systolic, bp_peak_dia=diastolic,
                   side_effects=effects, cadss_total=cadss, adverse_event=adverse)


@pytest.fixture(scope="module")
def infusions(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("infusions"))
    clinic.patients = [patient("A", site="Northside"), patient("B", site="Riverside"), patient("C", site="Riverside")]
    clinic.sessions = [
        infusion("A1", "A", DAYS[0], 179, 109, "dissociation;nausea", 10),
        infusion("A2", "A", DAYS[1], 180, 100, "dissociation", 20),
        infusion("A3", "A", DAYS[2], 150, 110, "", 30),
        infusion("A4", "A", DAYS[3], 185, 112, "dissociation;nausea;nausea", 40, "vasovagal episode"),
        infusion("B1", "B", DAYS[0]),
        infusion("B2", "B", DAYS[1], 200, 90, "headache", 14, " "),
        infusion("C1", "C", DAYS[0], None, None, "dissociation", None),
    ]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def phq9(pid, day, total, item9=0):
    return assessment(f"{pid}-{day}-{total}-{item9}", f"{day}T08:30:00", "PHQ-9", phq9_items(total, item9), pid=pid)


def total_only(pid, day, total, instrument="PHQ-9"):
    return assessment(f"{pid}-{instrument}-{day}", f"{day}T08:30:00", instrument, [], total, pid=pid)


@pytest.fixture(scope="module")
def phq9s(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("phq9s"))
    sites = {"P1": "Northside", "P2": "Northside", "P3": "Riverside", "P4": "Riverside", "P5": "Riverside",
             "P6": "Northside", "P7": "Riverside", "P8": "Northside"}
    clinic.patients = [patient(pid, site=site) for pid, site in sites.items()]
    clinic.sessions = [session(f"{pid}-S{k}", f"{day}T09:00:00", pid=pid)
                       for pid in sites if pid != "P6" for k, day in enumerate(DAYS[:3], start=1)]
    clinic.assessments = [
        phq9("P1", DAYS[0], 18), phq9("P1", DAYS[1], 15, item9=1), phq9("P1", DAYS[2], 12),
        total_only("P1", DAYS[0], 6, "GAD-7"), total_only("P1", DAYS[2], 10, "GAD-7"),
        phq9("P2", DAYS[0], 20),
        # 3 of 9 items missing: no valid total, but item 9 answered 2 -> still a positive flag
        assessment("P2-incomplete", f"{DAYS[2]}T08:30:00", "PHQ-9", [3, 3, 3, 3, 3, None, None, None, 2], pid="P2"),
        phq9("P3", DAYS[0], 16, item9=2), total_only("P3", DAYS[2], 14),
        total_only("P4", DAYS[0], 16), total_only("P4", DAYS[2], 12),
        phq9("P6", DAYS[0], 20, item9=3),
        phq9("P7", DAYS[0], 10), phq9("P7", DAYS[2], 16),
        phq9("P8", DAYS[0], 12), phq9("P8", DAYS[2], 12), phq9("P8", DAYS[2], 13, item9=1),
    ]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def wilson_per_100(k, n):
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    return pytest.approx((100 * k / n, 100 * ci.low, 100 * ci.high))


def by_patient(frame):
    return {row.patient_id: row for row in frame.itertuples(index=False)}


# --- PHQ-9 item 9 -------------------------------------------------------------------------

def test_item9_latest_ever_and_unknown(phq9s):
    rows = by_patient(item9_flags(phq9s, SETTINGS))
    # P5 has no PHQ-9; P6 was never infused (not a treated patient)
    assert set(rows) == {"P1", "P2", "P3", "P4", "P7", "P8"}
    expected = {
        # patient: (status at latest, positive latest, positive ever, n positive, n unknown, n PHQ-9)
        "P1": ("negative", False, True, 1, 0, 3),   # positive on 8 Jan only, negative again on 10 Jan
        "P2": ("positive", True, True, 1, 0, 2),    # the incomplete PHQ-9 with item 9 = 2 counts
        "P3": ("unknown", None, True, 1, 1, 2),     # latest is total-only: unknown, never "negative"
        "P4": ("unknown", None, None, 0, 2, 2),     # item 9 never answered: "ever" is unknown too
        "P7": ("negative", False, False, 0, 0, 2),
        "P8": ("positive", True, True, 1, 0, 3),    # two PHQ-9s at the latest time: the positive wins
    }
    for pid, (status, latest, ever, n_positive, n_unknown, n_phq9) in expected.items():
        row = rows[pid]
        assert row.item9_status_latest == status, pid
        assert (None if pd.isna(row.item9_positive_latest) else bool(row.item9_positive_latest)) == latest, pid
        assert (None if pd.isna(row.item9_positive_ever) else bool(row.item9_positive_ever)) == ever, pid
        assert (row.n_positive, row.n_unknown, row.n_phq9) == (n_positive, n_unknown, n_phq9), pid
    assert str(rows["P1"].first_positive_at) == str(rows["P1"].last_positive_at) == "2025-01-08 08:30:00"
    assert str(rows["P2"].latest_phq9_at) == str(rows["P2"].first_positive_at) == "2025-01-10 08:30:00"
    assert pd.isna(rows["P4"].first_positive_at) and pd.isna(rows["P7"].last_positive_at)


def test_item9_follows_the_cohort(phq9s):
    assert set(item9_flags(phq9s, SETTINGS, CohortFilter(sites=("Riverside",))).patient_id) == {"P3", "P4", "P7"}
    empty = item9_flags(phq9s, SETTINGS, NOWHERE)
    assert empty.empty and "item9_status_latest" in empty.columns


# --- reliable deterioration --------------------------------------------------------------

def test_reliable_deterioration_on_any_scale(phq9s):
    frame = reliable_deterioration(phq9s, SETTINGS)
    # P1 GAD-7 6 -> 10 (+4 >= 4); P7 PHQ-9 10 -> 16 (+6 >= 6). P1's PHQ-9 improved; P2 has no
    # valid follow-up (the incomplete PHQ-9 has no total); P3 16 -> 14, P4 16 -> 12, P8 12 -> 12 or 13.
    assert [(r.patient_id, r.instrument, r.baseline_score, r.latest_score, r.change, r.reliable_change_threshold)
            for r in frame.itertuples()] == [("P1", "GAD-7", 6, 10, 4, 4), ("P7", "PHQ-9", 10, 16, 6, 6)]
    assert list(reliable_deterioration(phq9s, SETTINGS, CohortFilter(sites=("Riverside",))).patient_id) == ["P7"]
    assert reliable_deterioration(phq9s, SETTINGS, NOWHERE).empty


# --- blood-pressure excursions -----------------------------------------------------------

def test_bp_excursions_at_the_exact_edges(infusions):
    row = bp_excursions(infusions, SETTINGS).iloc[0]
    # 7 infusions, 6 with a peak reading (C1 has none). Excursions: A2 (180), A3 (110), A4 (both),
    # B2 (200) = 4; A1 at 179/109 is not one. Systolic: A2, A4, B2 = 3; diastolic: A3, A4 = 2.
    assert (row.n_infusions, row.n_infusions_with_bp, row.n_excursions) == (7, 6, 4)
    assert (row.n_systolic_excursions, row.n_diastolic_excursions, row.patients_affected) == (3, 2, 2)
    assert (row.per_100, row.per_100_low, row.per_100_high) == wilson_per_100(4, 6)


@pytest.mark.parametrize(
    "systolic,diastolic,expected",
    [
        (180, 110, 4),  # the reference's defaults
        (179, 110, 5),  # A1's 179 now counts
        (180, 109, 5),  # A1's 109 now counts
        (190, 110, 3),  # A2 (180/100) no longer counts; A4 still does on its diastolic 112
        (201, 113, 0),
    ],
)
def test_configurable_thresholds_change_the_count(infusions, systolic, diastolic, expected):
    settings = Settings(thresholds=Thresholds(bp_excursion_systolic=systolic, bp_excursion_diastolic=diastolic))
    assert bp_excursions(infusions, settings).iloc[0].n_excursions == expected


def test_bp_excursions_by_site_and_filtered(infusions):
    frame = bp_excursions(infusions, SETTINGS, group_by=("site",)).set_index("site")
    # Northside (A): 4 infusions, 3 excursions; Riverside (B, C): 3 infusions, 2 with BP, 1 excursion
    assert frame.loc["Northside", ["n_infusions", "n_infusions_with_bp", "n_excursions", "patients_affected"]].tolist() \
        == [4, 4, 3, 1]
    assert frame.loc["Riverside", ["n_infusions", "n_infusions_with_bp", "n_excursions", "patients_affected"]].tolist() \
        == [3, 2, 1, 1]
    assert tuple(frame.loc["Riverside", ["per_100", "per_100_low", "per_100_high"]]) == wilson_per_100(1, 2)
    filtered = bp_excursions(infusions, SETTINGS, CohortFilter(sites=("Riverside",)))
    assert filtered[["n_infusions", "n_excursions"]].values.tolist() == [[3, 1]]
    assert bp_excursions(infusions, SETTINGS, NOWHERE).empty
    assert bp_excursions(infusions, SETTINGS, NOWHERE, group_by=("site",)).empty


# --- side effects and adverse events ------------------------------------------------------

def test_side_effect_rates_per_100_infusions(infusions):
    frame = side_effect_rates(infusions, SETTINGS).set_index("effect")
    # 7 infusions. dissociation: A1, A2, A4, B1, C1 = 5; nausea: A1, A4 (listed twice, counted
    # once) = 2; headache: B2 = 1; adverse events: A4 = 1 (B2's is blank).
    assert frame.n_infusions.unique().tolist() == [7]
    counts = frame.n_affected_infusions.to_dict()
    assert counts == {"dissociation": 5, "nausea": 2, "headache": 1, "adverse event (any)": 1}
    assert frame.loc["adverse event (any)", "kind"] == "adverse event"
    for effect, k in counts.items():
        assert tuple(frame.loc[effect, ["per_100", "per_100_low", "per_100_high"]]) == wilson_per_100(k, 7)
    assert frame.loc["dissociation", "per_100"] == pytest.approx(500 / 7)  # 71.4 per 100 infusions


def test_side_effects_by_site_list_every_effect_for_every_site(infusions):
    frame = side_effect_rates(infusions, SETTINGS, group_by=("site",))
    counts = {(r.site, r.effect): (r.n_infusions, r.n_affected_infusions) for r in frame.itertuples()}
    # Northside: A's 4 infusions; Riverside: B's 2 and C's 1. Headache is absent at Northside,
    # nausea and adverse events at Riverside: reported as 0.
    assert counts == {
        ("Northside", "dissociation"): (4, 3), ("Northside", "nausea"): (4, 2), ("Northside", "headache"): (4, 0),
        ("Northside", "adverse event (any)"): (4, 1),
        ("Riverside", "dissociation"): (3, 2), ("Riverside", "nausea"): (3, 0), ("Riverside", "headache"): (3, 1),
        ("Riverside", "adverse event (any)"): (3, 0),
    }
    zero = frame[(frame.site == "Riverside") & (frame.effect == "nausea")].iloc[0]
    assert (zero.per_100, zero.per_100_low, zero.per_100_high) == wilson_per_100(0, 3)
    assert side_effect_rates(infusions, SETTINGS, NOWHERE).empty
    assert side_effect_rates(infusions, SETTINGS, NOWHERE, group_by=("site",)).empty


# --- CADSS by infusion --------------------------------------------------------------------

def test_cadss_by_infusion_number(infusions):
    frame = cadss_by_infusion(infusions, SETTINGS)
    # Infusion 1: A 10, B 12 (C has no CADSS); 2: A 20, B 14; 3: A 30; 4: A 40. No maintenance
    # bucket below the 12th infusion.
    assert frame.infusion.tolist() == ["1", "2", "3", "4"]
    assert frame.n.tolist() == [2, 2, 1, 1] and frame.n_patients.tolist() == [2, 2, 1, 1]
    assert frame["mean"].tolist() == [11.0, 17.0, 30.0, 40.0]
    assert frame["median"].tolist() == [11.0, 17.0, 30.0, 40.0]
    first = frame.iloc[0]
    # n = 2: sd = sqrt(2), sem = 1, t(0.975, 1) = 12.706 -> 11 +/- 12.706
    assert first.sd == pytest.approx(math.sqrt(2))
    assert (first.mean_low, first.mean_high) == pytest.approx((11 - 12.7062, 11 + 12.7062), abs=1e-3)
    assert math.isnan(first.median_low)  # too few infusions for an order-statistic interval
    assert math.isnan(frame.iloc[2].mean_low) and math.isnan(frame.iloc[2].sd)


def test_cadss_maintenance_bucket_after_the_configured_infusion(infusions):
    settings = Settings(thresholds=Thresholds(trajectory_max_infusion=2))
    frame = cadss_by_infusion(infusions, settings)
    # Infusions 3 and 4 of A (30, 40) are maintenance: 2 infusions of 1 patient.
    assert frame.infusion.tolist() == ["1", "2", "maintenance"]
    maintenance = frame.iloc[2]
    assert pd.isna(maintenance.infusion_number)
    assert (maintenance.n, maintenance.n_patients, maintenance["mean"], maintenance["median"]) == (2, 1, 35.0, 35.0)
    by_site = cadss_by_infusion(infusions, settings, group_by=("site",))
    assert [(r.site, r.infusion, r.n, r.mean) for r in by_site.itertuples()] == [
        ("Northside", "1", 1, 10.0), ("Northside", "2", 1, 20.0), ("Northside", "maintenance", 2, 35.0),
        ("Riverside", "1", 1, 12.0), ("Riverside", "2", 1, 14.0),
    ]
    empty = cadss_by_infusion(infusions, settings, NOWHERE, group_by=("site",))
    assert empty.empty and list(empty.columns[:2]) == ["site", "infusion"]


def test_bad_grouping_is_refused(infusions):
    for function in (bp_excursions, side_effect_rates, cadss_by_infusion):
        with pytest.raises(ValueError, match="cannot group by"):
            function(infusions, SETTINGS, group_by=("site; DROP TABLE sessions",))


# --- properties on the committed sample data ------------------------------------------------


GROUPINGS = [(), ("site",), ("clinician", "route"), ("dose_band",)]


def assert_rates_are_proportions(frame, events, denominator):
    assert (frame[events] >= 0).all() and (frame[events] <= frame[denominator]).all()
    assert frame[["per_100_low", "per_100", "per_100_high"]].stack().between(0, 100).all()
    assert (frame.per_100_low <= frame.per_100 + 1e-9).all() and (frame.per_100 <= frame.per_100_high + 1e-9).all()


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_sample_bp_excursions_are_rates_that_add_up(sample, group_by):
    frame = bp_excursions(sample, SETTINGS, group_by=group_by)
    assert_rates_are_proportions(frame, "n_excursions", "n_infusions_with_bp")
    assert (frame.patients_affected <= frame.n_excursions).all()
    whole = bp_excursions(sample, SETTINGS).iloc[0]
    assert frame.n_infusions.sum() == whole.n_infusions == sample.execute("SELECT count(*) FROM sessions").fetchone()[0]
    assert frame.n_excursions.sum() == whole.n_excursions > 0


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_sample_side_effect_rates_are_rates_that_add_up(sample, group_by):
    frame = side_effect_rates(sample, SETTINGS, group_by=group_by)
    assert_rates_are_proportions(frame, "n_affected_infusions", "n_infusions")
    whole = side_effect_rates(sample, SETTINGS).set_index("effect")
    assert frame.groupby("effect").n_affected_infusions.sum().to_dict() == whole.n_affected_infusions.to_dict()
    assert set(frame.effect) == set(whole.index) and "adverse event (any)" in set(frame.effect)


@pytest.mark.parametrize("group_by", GROUPINGS)
def test_sample_cadss_summaries_are_consistent(sample, group_by):
    frame = cadss_by_infusion(sample, SETTINGS, group_by=group_by)
    assert (frame.n >= 1).all() and (frame.n_patients <= frame.n).all()
    assert frame[["mean", "median"]].stack().between(0, 92).all()
    defined = frame.dropna(subset=["mean_low", "median_low"])
    assert len(defined) > 0
    assert (defined.mean_low <= defined["mean"]).all() and (defined["mean"] <= defined.mean_high).all()
    assert (defined.median_low <= defined["median"]).all() and (defined["median"] <= defined.median_high).all()
    assert set(frame.infusion) <= {*map(str, range(1, 13)), "maintenance"}


def test_sample_cadss_matches_the_shared_interval_helpers(sample):
    frame = cadss_by_infusion(sample, SETTINGS).set_index("infusion")
    values = sample.execute("SELECT session_number, cadss_total FROM session_numbers WHERE cadss_total IS NOT NULL").df()
    for label, numbers in (("1", values.session_number == 1), ("6", values.session_number == 6),
                           ("maintenance", values.session_number > 12)):
        sample_values = values[numbers].cadss_total
        mean, median = mean_interval(sample_values), median_interval(sample_values)
        row = frame.loc[label]
        assert row.n == len(sample_values)
        assert (row["mean"], row.mean_low, row.mean_high) == pytest.approx((mean.value, mean.low, mean.high))
        assert (row["median"], row.median_low, row.median_high) == (median.value, median.low, median.high)


def test_sample_item9_flags_agree_with_the_assessments(sample):
    frame = item9_flags(sample, SETTINGS)
    assert set(frame.item9_status_latest) <= {"positive", "negative", "unknown"}
    assert (frame.n_positive >= 0).all() and (frame.n_positive + frame.n_unknown <= frame.n_phq9).all()
    positive_latest = frame.item9_positive_latest.fillna(False).astype(bool)
    assert frame.item9_positive_ever[positive_latest].all()
    ever = frame.item9_positive_ever.fillna(False).astype(bool)
    assert ((frame.n_positive > 0) == ever).all()
    assert (frame.first_positive_at[ever] <= frame.last_positive_at[ever]).all()
    (n_positive,) = sample.execute("SELECT count(*) FROM assessments a JOIN patient_cohorts c USING (patient_id) "
                               "WHERE instrument = 'PHQ-9' AND item9_positive").fetchone()
    assert frame.n_positive.sum() == n_positive


def test_sample_reliable_deterioration_meets_the_threshold(sample):
    frame = reliable_deterioration(sample, SETTINGS)
    assert len(frame) > 0 and (frame.change >= frame.reliable_change_threshold).all()
    (n_rows,) = sample.execute("SELECT count(*) FROM patient_outcomes WHERE reliable_deterioration").fetchone()
    assert len(frame) == n_rows
