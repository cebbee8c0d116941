"""The printable one-page progress summary of one patient, and the tables the Patient page
shares with it (the same words on screen and on paper).

Who reads it: the patient's own chart, or a referring doctor who has no access to the
dashboard. So it is one self-contained HTML file (`progress_summary_html`) with the header
facts, the per-scale table, the safety flags, the trajectory figure and the latest infusions,
and `@media print` rules that fit it on one A4 / Letter page.

Two choices and why:
- Every data value goes through `html.escape`: patient ids, clinicians' names, side effects
  and adverse events are free text that could contain markup.
- The course is drawn as small inline SVG charts (`summary_chart`), one per scale, not the
  page's Plotly figure: the file must open the same way years later, offline, or inside an EHR
  viewer or a clinic network that blocks outside scripts, and Plotly's JavaScript inline made
  it 4.8 MB (and offered hovering, which paper has not). The SVGs are a few kilobytes, need no
  script and make no request. With four scales, ten infusions and the notes it prints on one
  A4 or Letter page (tests/test_summary_print.py prints it in Chromium and counts the pages).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipelines.analytics.worklist import reason_phrase
from pipelines.instruments import scale_order

from . import theme
from .theme import esc, when
from .charts.patient import ROUTE_WORDS
from .summary_chart import scale_charts_svg

INDICATION_WORDS = theme.INDICATION_WORDS
STATUS_WORDS = {
    "remitter": "Remission",
    "responder": "Response",
    "not on track": "Not on track",
    "not yet": "No response yet",
    "no follow-up yet": "Baseline only",
    "no baseline": "No baseline",
    "no valid score": "No valid score",
}
SESSION_COLUMNS = ["Date", "Infusion", "Route", "Dose", "BP before (mmHg)", "BP peak (mmHg)",
                   "BP excursion", "CADSS", "Side effects", "Adverse event"]
# Infusions listed on the printed page (the latest ones; the page says how many are left out).
PRINT_SESSIONS = 10


def indication(value) -> str:
    return INDICATION_WORDS.get(value, "" if value is None or pd.isna(value) else str(value))


def intake(summary: pd.Series) -> str:
    """The intake date, or, when the export had none, what stands in for it (the first infusion:
    docs/import-format.md, "Required and optional values")."""
    if not pd.isna(summary["intake_date"]):
        return when(summary["intake_date"])
    first = when(summary["first_infusion_at"])
    return f"not recorded (first infusion {first} stands in)" if first else "not recorded"


def _bp(sys, dia) -> str | None:
    if pd.isna(sys) and pd.isna(dia):
        return None
    return f"{'?' if pd.isna(sys) else int(sys)}/{'?' if pd.isna(dia) else int(dia)}"


def dose_text(route, dose_mg, dose_mg_per_kg) -> str:
    """A dose as it is prescribed: intranasal (esketamine) is a fixed dose in mg ("56 mg"),
    IV and IM are weight-based ("0.50 mg/kg"); '' when not recorded."""
    if route == "intranasal":
        return "" if dose_mg is None or pd.isna(dose_mg) else f"{float(dose_mg):g} mg"
    if dose_mg_per_kg is None or pd.isna(dose_mg_per_kg):
        return "" if dose_mg is None or pd.isna(dose_mg) else f"{float(dose_mg):g} mg (weight not recorded)"
    return f"{float(dose_mg_per_kg):.2f} mg/kg"


def sessions_table(sessions: pd.DataFrame) -> pd.DataFrame:
    """The infusions (patient_sessions) with clinical column names, one row per infusion:
    date, number, route in words, dose (`dose_text`: mg intranasal, mg/kg IV and IM), BP
    before and at peak as 'sys/dia', whether the peak was an excursion, CADSS, side effects,
    adverse event."""
    return pd.DataFrame({
        "Date": pd.to_datetime(sessions["started_at"]),
        "Infusion": sessions["session_number"].astype("Int64"),
        "Route": sessions["route"].map(lambda r: ROUTE_WORDS.get(r, r)).astype(object),
        "Dose": [dose_text(r, mg, per_kg) for r, mg, per_kg in zip(sessions["route"], sessions["dose_mg"],
                                                                  sessions["dose_mg_per_kg"])],
        "BP before (mmHg)": [_bp(s, d) for s, d in zip(sessions["bp_pre_sys"], sessions["bp_pre_dia"])],
        "BP peak (mmHg)": [_bp(s, d) for s, d in zip(sessions["bp_peak_sys"], sessions["bp_peak_dia"])],
        "BP excursion": sessions["bp_excursion"].astype(bool),
        "CADSS": sessions["cadss_total"].astype("Int64"),
        "Side effects": sessions["side_effects"].astype(object),
        "Adverse event": sessions["adverse_event"].astype(object),
    }, columns=SESSION_COLUMNS)


def _score_text(score, band, at) -> str:
    if score is None or pd.isna(score):
        return ""
    text = f"{int(score)}"
    if isinstance(band, str) and band:
        text += f" ({band})"
    if at is not None and not pd.isna(at):
        text += f", {when(at)}"
    return text


def _change_text(row) -> str:
    if row.change is None or pd.isna(row.change):
        return ""
    text = f"{int(row.change):+d}"
    if row.pct_change is not None and not pd.isna(row.pct_change):
        text += f" ({row.pct_change:+.0f}%)"
    return text


def _on_track_text(row) -> str:
    if row.on_track is None or pd.isna(row.on_track):
        reason = row.not_judged_reason
        return f"not judged ({reason})" if isinstance(reason, str) and reason else "not judged"
    return "on track" if bool(row.on_track) else "behind 3 in 4 similar patients"


def scales_table(scales: pd.DataFrame, primary_indication: str | None = None) -> pd.DataFrame:
    """Per scale (scale_status), in words: baseline -> latest with dates and bands, change,
    status, the expected-course verdict, and the number of valid scores; the patient's
    indication's own scale first (`instruments.scale_order`: PCL-5 for PTSD), then page order."""
    order = {code: i for i, code in enumerate(scale_order(primary_indication))}
    rows = []
    for row in sorted(scales.itertuples(), key=lambda r: (order.get(r.instrument, len(order)), r.instrument)):
        rows.append({
            "Scale": theme.scale_name(row.instrument),
            "Baseline": _score_text(row.baseline_score, row.baseline_band, row.baseline_at),
            "Latest": _score_text(row.latest_score, row.latest_band, row.latest_at),
            "Change": _change_text(row),
            "Status": STATUS_WORDS.get(row.status, row.status),
            "Expected course": _on_track_text(row),
            "Scores": int(row.n_scores),
        })
    return pd.DataFrame(rows, columns=["Scale", "Baseline", "Latest", "Change", "Status", "Expected course", "Scores"])


def safety_flags(summary: pd.Series, settings) -> list[tuple[str, str]]:
    """The safety badges as (level, sentence): level 'alert' (needs attention), 'unknown'
    (cannot be judged: never reassuring) or 'ok'. Sentences name dates and values.

    - PHQ-9 item 9 (thoughts of death or self-harm) at the latest PHQ-9 and ever; unanswered at
      the latest is 'unknown', never negative (clinical reference);
    - reliable deterioration on any scale at the latest follow-up;
    - BP excursions at peak (settings.thresholds), at the latest infusion and over the course.

    A flag that is also a worklist reason is worded as the worklist words it
    (`pipelines.analytics.worklist.REASONS`), with the date or limit added.
    """
    flags = []
    status = summary["item9_status_latest"]
    latest_at = when(summary["latest_phq9_at"])
    ever = summary["item9_positive_ever"]
    first, last = when(summary["item9_first_positive_at"]), when(summary["item9_last_positive_at"])
    if status == "positive":
        flags.append(("alert", f"{_sentence(reason_phrase('item9_positive'))}, {latest_at}"))
    elif status == "unknown":
        flags.append(("unknown", f"{_sentence(reason_phrase('item9_unknown'))}, {latest_at}"))
    elif status == "negative":
        flags.append(("ok", f"PHQ-9 item 9 negative at the latest PHQ-9, {latest_at}"))
    else:
        flags.append(("unknown", "No PHQ-9 recorded: item 9 status unknown"))
    if ever is not None and not pd.isna(ever) and bool(ever) and status != "positive":
        times = int(summary["item9_n_positive"])
        span = first if first == last else f"{first} to {last}"
        flags.append(("alert", f"PHQ-9 item 9 positive earlier: {times} time{'s' if times != 1 else ''}, {span}"))
    elif status == "positive" and int(summary["item9_n_positive"]) > 1:
        flags.append(("alert", f"PHQ-9 item 9 positive {int(summary['item9_n_positive'])} times, first {first}"))

    scales = list(summary["deteriorated_scales"]) if summary["deteriorated_scales"] is not None else []
    if bool(summary["reliable_deterioration"]):
        names = ", ".join(theme.scale_name(s) for s in scales)
        flags.append(("alert", _sentence(reason_phrase("reliable_deterioration", names))))
    else:
        flags.append(("ok", "No reliable deterioration"))

    thresholds = settings.thresholds
    limit = f"{thresholds.bp_excursion_systolic}/{thresholds.bp_excursion_diastolic}"
    n = int(summary["n_bp_excursions"] or 0)
    if bool(summary["bp_excursion_last_infusion"]):
        peak = (summary["last_infusion_bp_peak_sys"], summary["last_infusion_bp_peak_dia"])
        phrase = reason_phrase("bp_excursion_last_infusion", *("?" if pd.isna(v) else int(v) for v in peak))
        flags.append(("alert", f"{_sentence(phrase)}, limit {limit} mmHg"))
    if n:
        span = when(summary["first_bp_excursion_at"]) if n == 1 else \
            f"{when(summary['first_bp_excursion_at'])} to {when(summary['last_bp_excursion_at'])}"
        flags.append(("alert", f"BP excursion (peak at or above {limit} mmHg) at {n} of "
                               f"{int(summary['n_infusions_with_bp'])} infusions, {span}"))
    elif int(summary["n_infusions"] or 0):
        flags.append(("ok", f"No BP excursion (peak at or above {limit} mmHg)"))
    return flags


def _sentence(phrase: str) -> str:
    """A worklist phrase as the start of a sentence: its first letter in capitals."""
    return phrase[:1].upper() + phrase[1:]


def header_facts(summary: pd.Series) -> list[tuple[str, str]]:
    """(label, value) pairs of the header, in words."""
    n = int(summary["n_infusions"] or 0)
    days = summary["days_in_treatment"]
    return [
        ("Primary indication", indication(summary["primary_indication"])),
        ("Site", "" if pd.isna(summary["site"]) else str(summary["site"])),
        ("Clinician", "" if pd.isna(summary["clinician"]) else str(summary["clinician"])),
        ("Intake", intake(summary)),
        ("Infusions so far", str(n)),
        ("First infusion", when(summary["first_infusion_at"]) or "none yet"),
        ("Latest infusion", when(summary["latest_infusion_at"]) or "none yet"),
        ("Days in treatment (first to latest infusion)", "" if pd.isna(days) else str(int(days))),
    ]


PRINT_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 13px; color: #111;
       max-width: 1100px; margin: 16px auto; padding: 0 16px; }
h1 { font-size: 20px; margin: 0 0 2px; } h2 { font-size: 15px; margin: 14px 0 4px; }
.meta { color: #555; margin: 0 0 8px; }
.facts { display: grid; grid-template-columns: repeat(4, auto); gap: 2px 18px; margin: 6px 0; }
.facts div span { color: #555; display: block; font-size: 11px; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #ddd; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
ul.flags { list-style: none; padding: 0; margin: 4px 0; }
ul.flags li { padding: 2px 6px; margin: 2px 0; border-left: 4px solid #999; }
ul.flags li.alert { border-color: #D55E00; font-weight: 600; }
ul.flags li.unknown { border-color: #E69F00; }
ul.flags li.ok { border-color: #009E73; }
.note { color: #555; font-size: 11px; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 8px 24px; }
.charts svg { display: block; max-height: 190px; }
@page { size: A4 portrait; margin: 10mm; }
@media print {
  body { font-size: 8.5pt; margin: 0; max-width: none; padding: 0; }
  h1 { font-size: 13pt; } h2 { font-size: 10pt; margin: 6px 0 2px; }
  th, td { padding: 1px 4px; font-size: 7.5pt; }
  td { white-space: nowrap; }  /* one line per infusion; only free text wraps */
  td:nth-last-child(-n+2) { white-space: normal; }
  .charts { gap: 1mm 6mm; }
  .charts svg { max-height: 40mm; }
  section, table, .charts { break-inside: avoid; page-break-inside: avoid; }
  .screen-only { display: none; }
}
"""


def _table_html(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{esc(c)}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return esc(when(value, with_time=True))
    if isinstance(value, float):
        return "" if pd.isna(value) else esc(f"{value:.2f}")
    return esc(value)


def progress_summary_html(summary: pd.Series, scales: pd.DataFrame, sessions: pd.DataFrame,
                          scores: pd.DataFrame, bands: pd.DataFrame, settings,
                          generated_at: dt.datetime | None = None) -> str:
    """The self-contained one-page summary (module docstring) as an HTML document.

    `summary` is patient_summary's row, `scales` scale_status, `sessions` patient_sessions,
    `scores` patient_scores (the charts; empty = none), `bands` scale_bands.
    """
    generated_at = generated_at or dt.datetime.now()
    patient_id = summary["patient_id"]
    facts = "".join(f"<div><span>{esc(label)}</span>{esc(value)}</div>" for label, value in header_facts(summary))
    flags = "".join(f'<li class="{level}">{esc(text)}</li>' for level, text in safety_flags(summary, settings))
    scale_html = _table_html(scales_table(scales, summary["primary_indication"])) if len(scales) else "<p>No scores recorded yet.</p>"
    table = sessions_table(sessions)
    shown = table.tail(PRINT_SESSIONS)
    left_out = len(table) - len(shown)
    sessions_html = _table_html(shown) if len(shown) else "<p>No infusions recorded yet.</p>"
    if left_out:
        sessions_html += f'<p class="note">The latest {len(shown)} of {len(table)} infusions; {left_out} earlier not listed.</p>'
    figure_html = ""
    charts = scale_charts_svg(scores, scales, bands, scale_order(summary["primary_indication"])) \
        if len(scores) else []
    if charts:
        figure_html = ('<section><h2>Course by infusion</h2><div class="charts">' + "".join(charts) +
                       '</div><p class="note">Diamond: baseline. Dashed green: response (baseline less '
                       '50%, pain 30%); dashed blue: remission cut-off. Shaded rows: severity bands.</p></section>')
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Progress summary - patient {esc(patient_id)}</title>
<style>{PRINT_CSS}</style>
</head>
<body>
<h1>Ketamine treatment progress summary</h1>
<p class="meta">Patient <strong>{esc(patient_id)}</strong> &middot; prepared {esc(when(generated_at, with_time=True))}
 &middot; Infusion Outcomes</p>
<section><div class="facts">{facts}</div></section>
<section><h2>Symptom scales: baseline to latest</h2>{scale_html}</section>
<section><h2>Safety</h2><ul class="flags">{flags}</ul></section>
{figure_html}
<section><h2>Infusions</h2>{sessions_html}</section>
<p class="note">Baseline: the latest score in the 30 days up to the first infusion. Response: a drop of at least
50% from baseline (pain 30%). Remission: PHQ-9 or GAD-7 below 5; PCL-5 below 33 with a drop of 10 or more; pain
has none. Not on track: less improvement than three quarters of this clinic's patients with the same scale and
baseline severity at the same infusion. BP excursion: peak systolic at or above
{esc(settings.thresholds.bp_excursion_systolic)} or diastolic at or above {esc(settings.thresholds.bp_excursion_diastolic)} mmHg.</p>
</body>
</html>
"""
