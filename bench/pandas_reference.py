"""A straightforward pandas implementation of the clinic-wide numbers, for bench/analytics.py.

It starts from the same base rows the SQL views start from (valid scores, infusions,
patients), loaded into DataFrames before timing starts, and derives the numbers the way an
analyst would in pandas. The benchmark checks that both implementations agree, then
compares their speed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

BASELINE_WINDOW_DAYS = 30
PHQ9_CASENESS, PHQ9_REMISSION_BELOW, RESPONSE_DROP_PCT = 10, 5, 50


def load_frames(con) -> dict[str, pd.DataFrame]:
    """The base rows, read once (not timed)."""
    return {
        "scores": con.execute(
            "SELECT patient_id, instrument, administered_at, total, sessions_before, assessment_key FROM scores"
        ).df(),
        "sessions": con.execute("SELECT patient_id, started_at FROM sessions").df(),
        "item9": con.execute(
            "SELECT patient_id, administered_at, assessment_key, item9_positive FROM assessments "
            "WHERE instrument = 'PHQ-9'"
        ).df(),
    }


def phq9_outcomes(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per patient: baseline, follow-ups, latest, the response/remission flags and the day of
    the first response (or of the last follow-up when censored)."""
    sessions = frames["sessions"]
    first = sessions.groupby("patient_id", as_index=False)["started_at"].min().rename(
        columns={"started_at": "first_session_at"})
    phq9 = frames["scores"][frames["scores"]["instrument"] == "PHQ-9"].merge(first, on="patient_id")
    phq9 = phq9.sort_values(["patient_id", "administered_at", "assessment_key"])
    window_start = phq9["first_session_at"].dt.normalize() - pd.Timedelta(days=BASELINE_WINDOW_DAYS)
    in_window = (phq9["administered_at"].dt.normalize() >= window_start) & (
        phq9["administered_at"] <= phq9["first_session_at"])
    baseline = phq9[in_window].groupby("patient_id").tail(1)[["patient_id", "administered_at", "total"]]
    baseline = baseline.rename(columns={"administered_at": "baseline_at", "total": "baseline_score"})
    follow = phq9.merge(baseline, on="patient_id")
    follow = follow[follow["administered_at"] > follow["baseline_at"]]
    latest = follow.groupby("patient_id").agg(latest_score=("total", "last"), n_followups=("total", "size"),
                                             last_day=("administered_at", "last"))
    responded = follow[(follow["baseline_score"] > 0)
                       & ((follow["baseline_score"] - follow["total"]) * 100
                          >= RESPONSE_DROP_PCT * follow["baseline_score"])]
    first_response = responded.groupby("patient_id")["administered_at"].first().rename("response_day")
    out = baseline.set_index("patient_id").join(latest).join(first_response).join(first.set_index("patient_id"))
    out["n_followups"] = out["n_followups"].fillna(0).astype(int)
    has = out["n_followups"] > 0
    out["caseness"] = out["baseline_score"] >= PHQ9_CASENESS
    out["response"] = has & (out["baseline_score"] > 0) & (
        (out["baseline_score"] - out["latest_score"]) * 100 >= RESPONSE_DROP_PCT * out["baseline_score"])
    out["remission"] = has & (out["latest_score"] < PHQ9_REMISSION_BELOW)
    out["change"] = out["latest_score"] - out["baseline_score"]
    end = out["response_day"].fillna(out["last_day"])
    out["days_to_event"] = (end.dt.normalize() - out["first_session_at"].dt.normalize()).dt.days
    out["responded"] = out["response_day"].notna()
    return out


def clinic_numbers(frames: dict[str, pd.DataFrame]) -> dict:
    """The headline numbers the analytics module also reports."""
    outcomes = phq9_outcomes(frames)
    evaluable = outcomes[outcomes["caseness"] & (outcomes["n_followups"] > 0)]
    # Trajectory: patients with a baseline; infusion 1 is the baseline, infusion k > 1 the
    # latest score taken with k - 1 infusions before it.
    scores = frames["scores"]
    phq9 = scores[(scores["instrument"] == "PHQ-9") & scores["sessions_before"].between(1, 11)
                  & scores["patient_id"].isin(outcomes.index)]
    at_infusion = (phq9.sort_values(["patient_id", "sessions_before", "administered_at", "assessment_key"])
                   .groupby(["patient_id", "sessions_before"]).tail(1))
    trajectory = at_infusion.groupby("sessions_before")["total"].mean()
    trajectory.loc[0] = outcomes["baseline_score"].mean()
    timed = outcomes[(outcomes["n_followups"] > 0) & outcomes["caseness"]]
    survival = stats.ecdf(stats.CensoredData(
        uncensored=timed.loc[timed["responded"], "days_to_event"].to_numpy(dtype=float),
        right=timed.loc[~timed["responded"], "days_to_event"].to_numpy(dtype=float)))
    below_half = survival.sf.quantiles[survival.sf.probabilities <= 0.5]
    item9 = frames["item9"].sort_values(["patient_id", "administered_at", "assessment_key"])
    latest_item9 = item9.groupby("patient_id").tail(1)
    return {
        "n_evaluable": len(evaluable),
        "response_rate": evaluable["response"].mean(),
        "remission_rate": evaluable["remission"].mean(),
        "mean_change": evaluable["change"].mean(),
        "trajectory_means": {int(k) + 1: float(v) for k, v in trajectory.items()},
        "median_days_to_response": float(below_half[0]) if len(below_half) else np.nan,
        "item9_positive_latest": int(latest_item9["item9_positive"].fillna(False).astype(bool).sum()),
    }
