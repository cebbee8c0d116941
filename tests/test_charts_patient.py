"""Chart builders of the Patient page (dashboard/charts/patient.py) on small hand-made frames:
what each panel draws, where the lines sit, what the hovers say, and what the date / infusion
toggle changes.

The frames: PHQ-9 20 -> 14 -> 9 taken before infusions 1-3 (6, 8, 10 Apr 2026), the 2nd
infusion peaking at 185/100 (an excursion), the 3rd with an adverse event written as markup;
a pain scale 6 -> 4 with no remission; the clinic's expected course for k = 1..5.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts.patient import item_heatmap, trajectory_figure

INFUSION_DAYS = pd.to_datetime(["2026-04-06 09:00", "2026-04-08 09:00", "2026-04-10 09:00"])
SCORE_TIMES = pd.to_datetime(["2026-04-06 08:30", "2026-04-08 08:30", "2026-04-10 08:30"])


def scores_frame():
    return pd.DataFrame({
        "instrument": ["PHQ-9"] * 3 + ["PAIN-NRS"] * 2,
        "administered_at": [*SCORE_TIMES, SCORE_TIMES[0], SCORE_TIMES[2]],
        "total": [20, 14, 9, 6, 4],
        "severity": ["severe", "moderate", "mild", "moderate", "moderate"],
        "k": [1, 2, 3, 1, 3],
        "days_since_first_session": [0, 2, 4, 0, 4],
        "prorated": [False] * 5,
        "total_only": [False] * 3 + [True] * 2,
        "is_baseline": [True, False, False, True, False],
        "assessment_key": ["a1", "a2", "a3", "p1", "p2"],
    })


def sessions_frame():
    return pd.DataFrame({
        "session_id": ["S1", "S2", "S3"], "session_number": [1, 2, 3], "started_at": INFUSION_DAYS,
        "route": ["iv"] * 3, "dose_mg": [35.0, 35.0, 42.0], "weight_kg": [70.0] * 3, "dose_mg_per_kg": [0.5, 0.5, 0.6],
        "duration_min": [40.0] * 3, "bp_pre_sys": [120, 122, 118], "bp_pre_dia": [80, 81, 79],
        "bp_peak_sys": [140, 185, 150], "bp_peak_dia": [88, 100, 90], "bp_excursion": [False, True, False],
        "hr_pre": [72] * 3, "spo2_min": [97] * 3, "cadss_total": [12, 30, 8],
        "side_effects": ["dissociation, nausea", "dissociation", ""],
        "adverse_event": [None, None, "<b>vasovagal</b> & recovered"],
    })


def scales_frame(phq9_baseline=20):
    return pd.DataFrame({
        "instrument": ["PHQ-9", "PAIN-NRS"], "n_scores": [3, 2],
        "baseline_score": pd.array([phq9_baseline, 6], dtype="Int64"),
        "response_drop_pct": [50, 30], "remission_below": pd.array([5, None], dtype="Int64"),
        "remission_min_drop": pd.array([None, None], dtype="Int64"), "total_max": [27, 10],
    })


def bands_frame():
    return pd.DataFrame({
        "instrument": ["PHQ-9"] * 5 + ["PAIN-NRS"] * 4,
        "band_order": [1, 2, 3, 4, 5, 1, 2, 3, 4],
        "low": [0, 5, 10, 15, 20, 0, 1, 4, 7], "high": [4, 9, 14, 19, 27, 0, 3, 6, 10],
        "label": ["minimal", "mild", "moderate", "moderately severe", "severe", "none", "mild", "moderate", "severe"],
    })


def expected_frame():
    k = np.arange(1, 6)
    return pd.DataFrame({
        "instrument": "PHQ-9", "k": k,
        # percentiles of improvement: p25 (least improved) is the highest score
        "expected_score_p25": [20.0, 17.0, 15.0, 13.0, 12.0],
        "expected_score_p50": [20.0, 15.0, 12.0, 10.0, 9.0],
        "expected_score_p75": [20.0, 12.0, 9.0, 7.0, 6.0],
        "n_patients": pd.array([-1, 40, 38, 35, 30], dtype="Int64"),
    })


def figure(x_axis="infusion", **changes):
    frames = {"scores": scores_frame(), "sessions": sessions_frame(), "scales": scales_frame(),
              "bands": bands_frame(), "expected": expected_frame(), **changes}
    return trajectory_figure(frames["scores"], frames["sessions"], frames["scales"], frames["bands"],
                             frames["expected"], x_axis=x_axis)


def traces(fig, group, scale):
    return [t for t in fig.data if t.legendgroup == group and t.meta == scale]


def test_one_panel_per_scale_with_its_severity_bands_shaded():
    fig = figure()
    names = [shape.name for shape in fig.layout.shapes]
    assert [n for n in names if n.startswith("PHQ-9")] == [
        "PHQ-9 band: minimal", "PHQ-9 band: mild", "PHQ-9 band: moderate", "PHQ-9 band: moderately severe",
        "PHQ-9 band: severe"]
    assert len([n for n in names if n.startswith("PAIN-NRS")]) == 4
    moderate = next(s for s in fig.layout.shapes if s.name == "PHQ-9 band: moderate")
    assert (moderate.y0, moderate.y1) == (9.5, 14.5)  # integer scores 10-14, no gaps between bands
    # PHQ-9 on the first panel, pain on the second
    assert traces(fig, "scores", "PHQ-9")[0].yaxis == "y" and traces(fig, "scores", "PAIN-NRS")[0].yaxis == "y2"


def test_response_line_is_half_the_baseline_and_pain_uses_30_percent():
    fig = figure()
    (phq9,) = traces(fig, "response", "PHQ-9")
    assert list(phq9.y) == [10.0, 10.0]
    assert "at or below 10 (50% below baseline 20)" in phq9.hovertemplate
    (pain,) = traces(fig, "response", "PAIN-NRS")
    assert list(pain.y) == pytest.approx([4.2, 4.2])  # 6 x (1 - 0.30)


def test_remission_line_only_where_the_scale_defines_remission():
    fig = figure()
    (phq9,) = traces(fig, "remission", "PHQ-9")
    assert list(phq9.y) == [5, 5] and "below 5" in phq9.hovertemplate
    assert traces(fig, "remission", "PAIN-NRS") == []


def test_no_response_line_without_a_baseline():
    scales = scales_frame(phq9_baseline=None)
    fig = figure(scales=scales)
    assert traces(fig, "response", "PHQ-9") == []


def test_expected_band_is_grey_between_the_25th_and_75th_percentiles_with_a_dashed_median():
    fig = figure()
    lower, upper = traces(fig, "expected", "PHQ-9")
    assert list(lower.y) == [20.0, 12.0, 9.0, 7.0, 6.0]
    assert list(upper.y) == [20.0, 17.0, 15.0, 13.0, 12.0] and upper.fill == "tonexty"
    assert "120,120,120" in upper.fillcolor
    (median,) = traces(fig, "expected median", "PHQ-9")
    assert list(median.y) == [20.0, 15.0, 12.0, 10.0, 9.0] and median.line.dash == "dash"
    assert traces(fig, "expected", "PAIN-NRS") == []  # no expected course given for pain


def test_every_infusion_is_marked_with_dose_bp_cadss_and_side_effects_on_hover():
    fig = figure()
    (markers,) = traces(fig, "infusions", "PHQ-9")
    assert list(markers.x) == [1, 2, 3]
    second = markers.hovertext[1]
    assert "0.50 mg/kg" in second and "35.0 mg" in second
    assert "BP before 122/81, peak 185/100 mmHg - BP excursion" in second
    assert "CADSS (dissociation) 30" in second and "Side effects: dissociation" in second
    assert markers.marker.color[1] != markers.marker.color[0]  # the excursion stands out
    # free text is escaped: Plotly renders some HTML in hovers
    assert "Adverse event: &lt;b&gt;vasovagal&lt;/b&gt; &amp; recovered" in markers.hovertext[2]
    assert "0.60 mg/kg" in markers.hovertext[2]


def test_date_toggle_moves_every_point_to_its_time():
    by_number, by_date = figure("infusion"), figure("date")
    assert list(traces(by_number, "scores", "PHQ-9")[0].x) == [1, 2, 3]
    assert list(pd.to_datetime(traces(by_date, "scores", "PHQ-9")[0].x)) == list(SCORE_TIMES)
    assert list(pd.to_datetime(traces(by_date, "infusions", "PHQ-9")[0].x)) == list(INFUSION_DAYS)
    # the expected course sits on the patient's own infusion dates; k = 4, 5 are not reached yet
    lower, _ = traces(by_date, "expected", "PHQ-9")
    assert list(pd.to_datetime(lower.x)) == list(INFUSION_DAYS)
    assert by_number.layout.xaxis2.title.text.startswith("Infusion number")
    assert by_date.layout.xaxis2.title.text == "Date"


def test_baseline_is_marked_and_scores_hover_in_clinical_words():
    fig = figure()
    (baseline,) = traces(fig, "baseline", "PHQ-9")
    assert list(baseline.y) == [20] and baseline.marker.symbol == "diamond"
    hover = traces(fig, "scores", "PHQ-9")[0].hovertext
    assert hover[1] == "<b>PHQ-9 (depression) 14</b> (moderate)<br>8 Apr 2026 08:30, before infusion 2"


def test_no_scores_gives_a_message_instead_of_an_empty_chart():
    fig = figure(scores=scores_frame().iloc[0:0], scales=scales_frame().assign(n_scores=0))
    assert len(fig.data) == 0 and "No scores" in fig.layout.annotations[0].text


def test_unknown_x_axis_is_refused():
    with pytest.raises(ValueError):
        figure("week")


# --- PHQ-9 item heatmap --------------------------------------------------------------------

LABELS = ["Little interest or pleasure", "Feeling down or hopeless", "Sleep problems", "Tired, little energy",
          "Appetite", "Feeling bad about oneself", "Trouble concentrating", "Slowed down or restless",
          "Thoughts of death or self-harm"]


def items_frame():
    """Three PHQ-9s: 6 Apr (baseline), 8 Apr twice (the second leaves item 9 blank)."""
    rows = []
    administrations = [("a1", "2026-04-06 08:30", 1, 20, [3, 3, 3, 3, 3, 3, 1, 0, 1]),
                       ("a2", "2026-04-08 08:30", 2, 14, [2, 2, 2, 2, 2, 2, 1, 1, 0]),
                       ("a3", "2026-04-08 18:00", 3, 9, [1, 1, 1, 1, 1, 1, 1, 1, None])]
    for key, when, k, total, answers in administrations:
        for item, answer in enumerate(answers, start=1):
            rows.append({"administered_at": pd.Timestamp(when), "assessment_key": key, "k": k, "total": total,
                         "complete": answer is not None, "item": item, "item_label": LABELS[item - 1],
                         "answer": answer})
    frame = pd.DataFrame(rows)
    frame["answer"] = frame["answer"].astype("Int64")
    return frame


def test_heatmap_has_nine_items_by_administration_in_clinical_words():
    heat = item_heatmap(items_frame()).data[0]
    z = np.asarray(heat.z, dtype=float)
    assert z.shape == (9, 3)
    assert list(heat.y)[0] == "1. Little interest or pleasure" and list(heat.y)[8] == "9. Thoughts of death or self-harm"
    assert list(z[:, 0]) == [3, 3, 3, 3, 3, 3, 1, 0, 1]
    assert (heat.zmin, heat.zmax) == (0, 3)


def test_heatmap_shows_an_unanswered_item_as_blank_not_zero():
    heat = item_heatmap(items_frame()).data[0]
    z = np.asarray(heat.z, dtype=float)
    assert np.isnan(z[8, 2]) and heat.text[8][2] == "?"
    assert "not answered" in heat.hovertext[8][2]
    assert "Nearly every day (3)" in heat.hovertext[0][0]


def test_heatmap_columns_by_date_or_infusion_stay_distinct():
    assert list(item_heatmap(items_frame(), "date").data[0].x) == ["6 Apr 2026", "8 Apr 2026", "8 Apr 2026 (2)"]
    assert list(item_heatmap(items_frame(), "infusion").data[0].x) == ["before 1", "before 2", "before 3"]


def test_heatmap_without_answers_says_so():
    fig = item_heatmap(items_frame().iloc[0:0])
    assert len(fig.data) == 0 and "No PHQ-9" in fig.layout.annotations[0].text
