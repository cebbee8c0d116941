"""The words of the one-page report: the sentence under the comparison chart (what differs
between the clinic's figures and the published ones) and the methods box (definitions,
denominators, the suppression rule, the period, data as of).

Why apart from `board`: the numbers are assembled there and checked against the API; the
wording is written from the settings and the registry here, so a clinic that changes a window or
a threshold gets a methods box that says so, and the renderers print the same text.
"""

from __future__ import annotations

import dataclasses

from ..instruments import REGISTRY
from ..settings import Settings
from .marks import SUPPRESSED, legend

__all__ = ["with_text", "describe_cohort", "comparison_sentence", "chart_rows", "methods_lines", "period_text",
           "NOT_SHOWN", "suppressed_mark", "pct", "rate_text", "count_text", "line_cells", "durability_sentence",
           "missing_mark"]


# A line hidden whole although its n is not small: beside the completers' line it would tell how
# many patients have no score (headline_rates' `note`).
NOT_SHOWN = "n.s."


def suppressed_mark(min_cell: int) -> str:
    """What a suppressed cell prints: "suppressed", for a small cell and a complementary one
    alike (the methods box says what it means; `suppression.legend`)."""
    return SUPPRESSED


def describe_cohort(cohort) -> str:
    """The cohort's sites, clinicians and other filters in plain words ("all patients" when
    none); the period is said apart (`period_text`). Renderers escape it."""
    names = {"sites": "site", "clinicians": "clinician", "indications": "indication", "routes": "route",
             "sexes": "sex", "age_bands": "age band", "dose_bands": "dose band"}
    parts = [f"{label}{'s' if len(values) > 1 else ''}: {', '.join(v.replace('_', ' ') for v in values)}"
             for field, label in names.items() if (values := getattr(cohort, field))]
    return "; ".join(parts) if parts else "all patients"


def period_text(board) -> str:
    """The report's period (dates of the first infusion) in words."""
    if board.period_from is None and board.period_to is None:
        return "all first infusions on record"
    start = f"{board.period_from:%d %b %Y}" if board.period_from else "the first on record"
    end = f"{board.period_to:%d %b %Y}" if board.period_to else "the latest on record"
    return f"first infusion from {start} to {end}"


def comparison_sentence(board, settings: Settings) -> str:
    """What differs between the clinic's PHQ-9 rates after induction and the published figures."""
    if not board.benchmarks:
        return "No published PHQ-9 figures for depression are in the benchmarks file, so none are shown."
    other = [b.key for b in board.benchmarks if b.timepoint != "after_induction"]
    timings = "; ".join(f"{b.key}: {_selection(b)}, {b.timing}" for b in board.benchmarks)
    return (
        "Dots with a line: the clinic with its 95% CI; diamonds: published figures. Clinic points: unipolar "
        "depression patients only, PHQ-9 after induction (first score after infusion "
        f"{settings.induction_sessions}, before {settings.after_induction_before_session}). The published figures "
        f"count completers in other clinics' patients, often treatment-resistant ({timings}): "
        "set them beside the clinic's completers rate; intention to treat counts everyone who started and is "
        "lower by design."
        + (f" Hollow markers ({', '.join(other)}) are at another time point." if other else "")
        + " Severity, prior treatment, route and dose are not adjusted for: a gap is a question to look into, "
        "not a verdict.")


def _selection(benchmark) -> str:
    """Who a published figure counts: "537 completers of 9,016 treated", or "completers" when
    the study does not say how many."""
    who = "completers" if benchmark.basis == "completers" else "everyone who started"
    of = f" of {benchmark.treated:,} treated" if benchmark.treated is not None else ""
    return f"{benchmark.n:,} {who}{of}" if benchmark.n is not None else who


def chart_rows(board) -> list[tuple[str, str, dict[str, tuple[float | None, float | None, float | None]]]]:
    """The comparison chart's rows: (label, kind, {"response": (value, low, high), "remission":
    ...}). Kind "clinic" is drawn as a point with its 95% interval, "published" as a marker and
    "other" (a published figure at another time point) as a hollow marker; a value of None is a
    suppressed clinic rate (or a figure the study did not give)."""
    depression = board.outcomes[0].group if board.outcomes else ""  # the first group: unipolar depression
    lines = {line.basis: line for line in board.lines("PHQ-9", "after_induction") if line.group == depression}
    rows = []
    for basis, name in (("completers", "completers"), ("itt", "ITT")):
        line = lines.get(basis)
        if line is not None and line.n != 0:
            n = (NOT_SHOWN if line.note else suppressed_mark(board.min_cell)) if line.n is None else line.n
            rows.append((f"Clinic, {name} (n={n})", "clinic",
                         {m: (getattr(line, m).rate, getattr(line, m).low, getattr(line, m).high)
                          for m in ("response", "remission")}))
    for b in board.benchmarks:
        n = b.n if b.n is not None else "not stated"
        rows.append((f"{b.key} (n={n})", "published" if b.timepoint == "after_induction" else "other",
                     {"response": (b.response, None, None), "remission": (b.remission, None, None)}))
    return rows


def durability_sentence(board) -> str:
    """The clinic's durability of response beside the published one, or "" when not shown."""
    if not board.durability:
        return ""
    mark = suppressed_mark(board.min_cell)
    shares = [f"{pct(share, mark)}" + (f" ({100 * low:.1f}-{100 * high:.1f})" if share is not None else "")
              + f" at {weeks} weeks" for weeks, share, low, high in board.durability]
    # read off a published curve: "about 80%", not a false decimal
    published = "; ".join(f"{b.key}: about {100 * b.durability_4_weeks:.0f}% and about {100 * b.durability_8_weeks:.0f}%"
                          for b in board.benchmarks if b.durability_4_weeks is not None)
    return (f"Durability: of {count_text(board.durability_responders, board.min_cell)} unipolar-depression PHQ-9 "
            f"responders, still responding {' and '.join(shares)} (Kaplan-Meier, 95% CI)"
            + (f"; published: {published} (responders to the induction series, from after induction, without "
               "maintenance; the clinic's are followed from their after-induction score to their first "
               "maintenance infusion)." if published else "."))


def missing_mark(label: str, kind: str, min_cell: int) -> str:
    """What a row of the comparison chart without a value prints: why it has none."""
    if kind != "clinic":
        return "not given"
    return NOT_SHOWN if f"n={NOT_SHOWN}" in label else suppressed_mark(min_cell)


def pct(value: float | None, mark: str = "-") -> str:
    """A share as a percentage with one decimal ("56.9%"), `mark` when None."""
    return mark if value is None else f"{100 * value:.1f}%"


def rate_text(rate, min_cell: int, with_interval: bool = True) -> str:
    """A published rate as printed: "56.9% (50.0-63.6)", or the suppression mark."""
    if rate.rate is None:
        return suppressed_mark(min_cell)
    if not with_interval or rate.low is None:
        return pct(rate.rate)
    return f"{pct(rate.rate)} ({100 * rate.low:.1f}-{100 * rate.high:.1f})"


def line_cells(line, min_cell: int) -> tuple[str, str, str]:
    """An outcome line's n, response and remission as printed: "-" for a group with no patients
    (or a cohort filter that leaves it out), the suppression mark for a suppressed cell."""
    if line.n == 0:
        return "0", "-", "-"
    if line.n is None and line.note:
        return (NOT_SHOWN,) * 3
    return count_text(line.n, min_cell), rate_text(line.response, min_cell), rate_text(line.remission, min_cell)


def count_text(value: int | None, min_cell: int) -> str:
    """A published count as printed: the number, or the suppression mark."""
    return suppressed_mark(min_cell) if value is None else f"{value:,}"


def methods_lines(board, settings: Settings) -> list[str]:
    """The methods box, one statement per line."""
    phq, gad = REGISTRY["PHQ-9"], REGISTRY["GAD-7"]
    completers = next((line.denominator_label for line in board.outcomes if line.basis == "completers"
                       and line.denominator_label), "who started in the clinical range and had a score")
    everyone = next((line.denominator_label for line in board.outcomes if line.basis == "itt"
                     and line.denominator_label), "who started in the clinical range")
    mark = suppressed_mark(board.min_cell)
    unknown = board.unknown_indication
    return [
        f"Cohort: {board.cohort_text}; {period_text(board)}. Data as of "
        + (f"{board.as_of:%d %b %Y}" if board.as_of else "-") + " (the latest infusion on record); "
        f"made {board.generated:%d %b %Y %H:%M}.",
        f"Baseline: the latest score in the {settings.baseline_window_days} days up to the first infusion; "
        f"in the clinical range at PHQ-9 >= {phq.caseness_min} or GAD-7 >= {gad.caseness_min}. "
        f"After induction: the first score after infusion {settings.induction_sessions} and before infusion "
        f"{settings.after_induction_before_session}. Latest: the latest follow-up score.",
        f"Response: a drop of at least {phq.response_drop_pct}% from baseline. Remission: PHQ-9 below "
        f"{phq.remission_below}, GAD-7 below {gad.remission_below}.",
        f"Completers: patients {completers} (PHQ-9 after induction; likewise for each scale and time point). "
        f"Intention to treat (ITT): every patient {everyone}, counting a missing score as no response.",
        "Unipolar depression: the primary indication recorded as depression; other indications: every other "
        "one" + ("." if unknown == 0 else f", and the {mark if unknown is None else unknown} patients with "
                 "none recorded."),
        "Intervals: 95% Wilson score intervals. Safety: events recorded at the infusion, per 100 infusions; "
        f"BP at peak: a peak of {settings.thresholds.bp_excursion_systolic} systolic or "
        f"{settings.thresholds.bp_excursion_diastolic} diastolic mmHg or more.",
        f"Small cells: {legend(board.min_cell)}; counts of infusions likewise. A rate or interval that would "
        f"give one back reads {mark} too (a rate is also hidden when fewer than {board.min_cell} are without "
        f"the outcome). {NOT_SHOWN} = not shown: beside the completers' row it would tell that fewer than "
        f"{board.min_cell} patients have no score at that time point. '-' = not derivable from the counts "
        "shown, or no patients.",
        f"Published figures: {board.benchmarks_source} ([report] benchmarks_file), with their citations below.",
    ]


def with_text(board, settings: Settings):
    """`board` with its comparison sentence and methods box filled in."""
    return dataclasses.replace(board, comparison=comparison_sentence(board, settings),
                               methods=methods_lines(board, settings))
