"""Cumulative incidence of response with stopping as a competing event
(pipelines/analytics/competing.py): the estimator against a hand-worked example, against
statsmodels' `CumIncidenceRight` and lifelines' `AalenJohansenFitter` (independent
implementations of the same Aalen-Johansen estimator, delta-method variance and log(-log)
interval), and the event times against a small clinic."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from statsmodels.duration.survfunc import CumIncidenceRight

from conftest import Clinic, assessment, patient, session
from pipelines.analytics.cohorts import CohortFilter
from pipelines.analytics.competing import aalen_johansen, cumulative_incidence, event_counts, share_by_day
from pipelines.analytics.survival import kaplan_meier
from pipelines.settings import Settings

SETTINGS = Settings()

# Eight patients (day, event: 1 responded, 2 stopped, 0 censored):
DAYS = [2, 2, 4, 5, 5, 7, 9, 10]
EVENTS = [1, 2, 0, 1, 1, 2, 0, 1]
# Aalen-Johansen by hand, S = "no event yet" (all-cause Kaplan-Meier), F1 response, F2 stopped:
# t=2:  n=8, one response, one stop: F1 = 1 x 1/8 = 0.125, F2 = 0.125, S = 1 - 2/8 = 0.75
# t=4:  n=6, a censoring: nothing changes
# t=5:  n=5, two responses: F1 = 0.125 + 0.75 x 2/5 = 0.425, S = 0.75 x 3/5 = 0.45
# t=7:  n=3, a stop: F2 = 0.125 + 0.45 x 1/3 = 0.275, S = 0.45 x 2/3 = 0.30
# t=9:  n=2, a censoring
# t=10: n=1, a response: F1 = 0.425 + 0.30 x 1/1 = 0.725, S = 0; F1 + F2 = 1
HAND_F1 = [0.125, 0.125, 0.425, 0.425, 0.425, 0.725]
HAND_F2 = [0.125, 0.125, 0.125, 0.275, 0.275, 0.275]


def test_cif_steps_match_the_hand_worked_example():
    curve, summary = aalen_johansen(DAYS, EVENTS)
    assert curve["time"].tolist() == [2, 4, 5, 7, 9, 10]
    assert curve["at_risk"].tolist() == [8, 6, 5, 3, 2, 1]
    assert curve["responded"].tolist() == pytest.approx(HAND_F1)
    assert curve["stopped_share"].tolist() == pytest.approx(HAND_F2)
    assert summary == {"n": 8, "responses": 4, "stopped": 2, "censored": 2}


def test_first_step_variance_is_the_binomial_one():
    # At t=2 nobody has been censored: F1 = 1/8 and its variance is that of a proportion,
    # (1/8)(7/8)/8 = 7/512; the log(-log) interval of 0.125 with se 0.11693:
    # 0.125^exp(+-1.96 x 0.11693 / (0.125 ln 0.125)) = 0.125^exp(-+0.8817): 0.125^2.4150 = 0.0066
    # to 0.125^0.4141 = 0.4227.
    curve, _ = aalen_johansen(DAYS, EVENTS)
    first = curve.iloc[0]
    assert first.responded_se == pytest.approx(np.sqrt(7 / 512))
    assert (first.responded_low, first.responded_high) == pytest.approx((0.0066, 0.4227), abs=1e-4)


def test_kaplan_meier_overstates_response_when_stops_are_censored():
    # 1 - KM at day 5 treats the stop at day 2 as still able to respond: 1 - (7/8)(3/5) = 0.475
    # against the cumulative incidence 0.425; by day 10 KM says everyone responded (1.0).
    km, _ = kaplan_meier(DAYS, [e == 1 for e in EVENTS])
    curve, _ = aalen_johansen(DAYS, EVENTS)
    assert share_by_day(km, 5) == pytest.approx(0.475)
    assert share_by_day(curve, 5) == pytest.approx(0.425)
    assert share_by_day(km, 10) == pytest.approx(1.0) and share_by_day(curve, 10) == pytest.approx(0.725)


def compare_with_statsmodels(days, events):
    ours, _ = aalen_johansen(days, events)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # its variance divides by n - d = 0 at the end
        reference = CumIncidenceRight(np.asarray(days, dtype=float), np.asarray(events))
    assert reference.times.tolist() == ours["time"].tolist()
    for k, (cif, se) in enumerate((("responded", "responded_se"), ("stopped_share", "stopped_se"))):
        assert ours[cif].to_numpy() == pytest.approx(reference.cinc[k])
        finite = np.isfinite(reference.cinc_se[k])
        assert finite.sum() >= len(finite) - 1
        assert ours[se].to_numpy()[finite] == pytest.approx(reference.cinc_se[k][finite])


def compare_with_lifelines(days, events):
    """lifelines' AalenJohansenFitter breaks tied event times apart by a tiny random jitter; the
    estimate at each of our times is its step function read there (a tie of a response and a
    stop gives the same F either way round), and its interval is the same delta-method variance
    on the log(-log) scale. Its two interval columns are named the wrong way round, hence the
    min and max."""
    from lifelines import AalenJohansenFitter

    ours, _ = aalen_johansen(days, events)
    for cause, cif, low, high in ((1, "responded", "responded_low", "responded_high"),
                                  (2, "stopped_share", "stopped_low", "stopped_high")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "tied event times were detected": it jitters them
            fitter = AalenJohansenFitter(seed=16).fit(np.asarray(days, dtype=float), np.asarray(events),
                                                      event_of_interest=cause)
        times = fitter.cumulative_density_.index.to_numpy()
        at = np.searchsorted(times, ours["time"].to_numpy() + 1e-3, side="right") - 1
        assert ours[cif].to_numpy() == pytest.approx(fitter.cumulative_density_.iloc[at, 0].to_numpy())
        band = fitter.confidence_interval_.iloc[at].to_numpy()
        inside = (ours[cif] > 0).to_numpy() & (ours["time"] < max(days)).to_numpy()
        assert ours[low].to_numpy()[inside] == pytest.approx(band.min(axis=1)[inside], abs=1e-6)
        assert ours[high].to_numpy()[inside] == pytest.approx(band.max(axis=1)[inside], abs=1e-6)


def test_matches_lifelines_on_the_hand_worked_example():
    compare_with_lifelines(DAYS, EVENTS)


def test_matches_lifelines_on_the_sample(sample):
    # lifelines' jitter could move an event past a censoring of the same day (events come first
    # at a tie), so censoring times are moved half a day later; and below zero (where lifelines
    # loses the first event), so every time is moved a day later. Neither changes an estimate.
    counts = event_counts(sample, SETTINGS)
    days = np.repeat(counts["days"].to_numpy(dtype=float), counts["patients"].to_numpy()) + 1
    events = np.repeat(counts["event"].to_numpy(), counts["patients"].to_numpy())
    days = np.where(events == 0, days + 0.5, days)
    compare_with_lifelines(days, events)


def test_matches_statsmodels_on_the_hand_worked_example():
    compare_with_statsmodels(DAYS, EVENTS)


def test_matches_statsmodels_on_the_sample(sample):
    counts = event_counts(sample, SETTINGS)
    days = np.repeat(counts["days"].to_numpy(), counts["patients"].to_numpy())
    events = np.repeat(counts["event"].to_numpy(), counts["patients"].to_numpy())
    compare_with_statsmodels(days, events)


def test_cumulative_incidence_stays_below_kaplan_meier_on_the_sample(sample):
    from pipelines.analytics.survival import time_to_response
    km = time_to_response(sample, SETTINGS)["curve"]
    cif = cumulative_incidence(sample, SETTINGS)["curve"]
    for day in (7, 14, 28, 62):
        assert share_by_day(cif, day) <= share_by_day(km, day) + 1e-12
    assert share_by_day(cif, 62) < share_by_day(km, 62) - 0.1


# A small clinic. The data's end is the latest infusion, 1 May 2025; "stopped" = no infusion in
# the 90 days (settings.treatment.ended_after_days) before it, i.e. the last on or before 31 Jan.
# | patient | baseline | infusions                 | follow-up                  | event, day |
# | R       | 20       | 6, 8, 10 Jan              | 8 on 10 Jan 08:30 (-60%)   | responded, day 4 |
# | S       | 20       | 6, 8, 10 Jan              | 15 on 10 Jan 08:30         | stopped at the last infusion, day 4 |
# | B90     | 20       | 6, 31 Jan (90 days)       | 15 on 31 Jan 08:30         | stopped, day 25 |
# | B89     | 20       | 6 Jan, 1 Feb (89 days)    | 15 on 1 Feb 08:30          | censored at the follow-up, day 26 |
# | C       | 20       | 6 Jan, 30 Apr, 1 May      | 15 on 30 Apr 08:30         | censored, day 114 |
# | Q       | 20       | 6 Jan, 1 May              | none                       | censored, day 0 |
# | N       | 8        | 6, 8, 10 Jan              | 2 on 10 Jan                | below the clinical range: left out |
# | D       | 20       | 6 Jan, 14 Apr; discharged 16 Apr | 15 on 14 Apr 08:30  | stopped by the discharge (17 days is no gap), at the last infusion (earlier than the discharge), day 98 |
# | L       | 20       | 6 Jan, 28 Apr; discharged 5 May  | 15 on 28 Apr 08:30  | discharged after the data's end: censored, day 112 |
# | A       | 20       | 6 Jan, 20 Apr; discharged 1 Mar  | 15 on 20 Apr 08:30  | re-admitted after the discharge: censored, day 104 |
COURSES = {"R": ["01-06", "01-08", "01-10"], "S": ["01-06", "01-08", "01-10"], "B90": ["01-06", "01-31"],
           "B89": ["01-06", "02-01"], "C": ["01-06", "04-30", "05-01"], "Q": ["01-06", "05-01"],
           "N": ["01-06", "01-08", "01-10"], "D": ["01-06", "04-14"], "L": ["01-06", "04-28"],
           "A": ["01-06", "04-20"]}
FOLLOWUPS = {"R": ("01-10", 8), "S": ("01-10", 15), "B90": ("01-31", 15), "B89": ("02-01", 15),
             "C": ("04-30", 15), "N": ("01-10", 2), "D": ("04-14", 15), "L": ("04-28", 15),
             "A": ("04-20", 15)}
DISCHARGES = {"D": "2025-04-16", "L": "2025-05-05", "A": "2025-03-01"}


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = Clinic(tmp_path_factory.mktemp("competing"))
    clinic.patients = [{**patient(pid, site="Northside" if pid in ("R", "S", "B90") else "Riverside"),
                        "discharge_date": DISCHARGES.get(pid, "")} for pid in COURSES]
    clinic.sessions = [session(f"{pid}-{day}", f"2025-{day}T09:00:00", pid=pid)
                       for pid, days in COURSES.items() for day in days]
    clinic.assessments = [assessment(f"{pid}-base", "2025-01-06T08:30:00", "PHQ-9", [], 8 if pid == "N" else 20,
                                     pid=pid) for pid in COURSES]
    clinic.assessments += [assessment(f"{pid}-fu", f"2025-{day}T08:30:00", "PHQ-9", [], total, pid=pid)
                           for pid, (day, total) in FOLLOWUPS.items()]
    clinic.load()
    connection = clinic.connect()
    yield connection
    connection.close()


def test_event_times_follow_the_definitions(con):
    counts = event_counts(con, SETTINGS)
    got = sorted(zip(counts["days"], counts["event"], counts["patients"]))
    # R responded day 4; S stopped day 4; B90 stopped day 25; B89 censored 26; C 114; Q 0;
    # D stopped (discharged) day 98; L censored 112; A (re-admitted) censored 104.
    assert got == [(0, 0, 1), (4, 1, 1), (4, 2, 1), (25, 2, 1), (26, 0, 1), (98, 2, 1), (104, 0, 1),
                   (112, 0, 1), (114, 0, 1)]


def test_a_discharge_stops_treatment_at_the_earlier_of_discharge_and_last_infusion(con):
    # Riverside: D, discharged 16 Apr 2 days after its last infusion (14 Apr), far short of the
    # 90-day gap: stopped at 14 Apr, day 98; L, discharged 5 May, after the data's end (1 May),
    # is still in treatment; A, discharged 1 Mar but infused again on 20 Apr (a re-admission),
    # is censored at its follow-up (day 104), as are B89, C, Q.
    counts = event_counts(con, SETTINGS, cohort=CohortFilter(sites=("Riverside",)))
    assert sorted(zip(counts["days"], counts["event"])) == [(0, 0), (26, 0), (98, 2), (104, 0), (112, 0), (114, 0)]


def test_a_longer_gap_setting_keeps_the_90_day_patient_in_treatment(con):
    # With ended_after_days = 91, B90's 90 days without an infusion is not yet a stop.
    settings = Settings(treatment=type(SETTINGS.treatment)(paused_after_days=42, ended_after_days=91))
    counts = event_counts(con, settings)
    assert (25, 2) not in set(zip(counts["days"], counts["event"]))
    assert (25, 0) in set(zip(counts["days"], counts["event"]))  # censored at its follow-up (31 Jan, day 25)


def test_grouped_curves_split_the_patients(con):
    # Northside: R, S, B90 (day 4: one response, one stop of 3 -> F1 = 1/3).
    result = cumulative_incidence(con, SETTINGS, group_by=("site",))
    summary = result["summary"].set_index("site")
    assert summary.loc["Northside", ["n", "responses", "stopped", "censored"]].tolist() == [3, 1, 2, 0]
    assert summary.loc["Riverside", ["n", "responses", "stopped", "censored"]].tolist() == [6, 0, 1, 5]
    north = result["curve"][result["curve"]["site"] == "Northside"]
    assert share_by_day(north, 4) == pytest.approx(1 / 3)


def test_published_curve_is_thinned_and_small_clinics_blanked(con, sample):
    from pipelines.reports.response_course import cumulative_incidence as published
    shown = published(con, SETTINGS)  # 9 patients: fewer than 11
    assert shown["curve"].empty and bool(shown["summary"]["suppressed"].iloc[0])
    curve = published(sample, SETTINGS)["curve"]
    assert (curve["at_risk"] >= 11).all() and (curve["at_risk"].diff().dropna() <= -11).all()
    assert "responses" not in curve and "censored" not in curve


def test_published_curve_is_hidden_when_few_lack_a_follow_up(con):
    # The small clinic: 9 in the clinical range, Q without any follow-up (Kaplan-Meier has 5):
    # with min_cell = 2, one patient without a follow-up is a small cell both curves' n would
    # give away, so the cumulative incidence is not published; with min_cell = 1 it is.
    from pipelines.reports.response_course import cumulative_incidence as published
    hidden = published(con, SETTINGS, min_cell=2)
    assert hidden["curve"].empty and "no follow-up" in hidden["summary"]["note"].iloc[0]
    assert str(hidden["summary"]["n"].iloc[0]) == "<NA>"
    shown = published(con, SETTINGS, min_cell=1)
    assert len(shown["curve"]) and shown["summary"]["note"].iloc[0] == "" and shown["summary"]["n"].iloc[0] == 9
