"""The PHQ-9 items of one patient over time: which symptoms move (the Patient page's "PHQ-9
items over time" tab).

A pure builder, like `charts/patient.py`: the long frame of `phq9_item_history` in, a Vega-Lite
specification out (`charts/vega.py`), so the Patient page never loads Plotly's script. Items
1-9 are the rows (item 1 at the top, short clinical names), administrations the columns in time
order; colour is the answer 0-3 on one blue scale (colour-blind safe, darker = more often). An
item left unanswered is a white cell marked "?", never 0: 0 is a pale blue so that it never
looks blank. Each cell's tooltip (`charts.patient.TOOLTIP`): the answer in words, when, the
PHQ-9 total.
"""

from __future__ import annotations

import json

import pandas as pd

from pipelines.analytics.patient import PHQ9_ANSWERS

from ..theme import when
from .patient import TOOLTIP, X_AXES
from .vega import chart, records

ANSWER_WORDS = PHQ9_ANSWERS
# The answers 0, 1, 2, 3 and their colours (light to dark blue).
HEATMAP_SCALE = [[0, "#DCEAF6"], [1, "#9ECAE1"], [2, "#3F8FC4"], [3, "#08457E"]]
UNANSWERED_COLOUR = "rgb(90,90,90)"
ROW_HEIGHT = 30


def item_heatmap(items: pd.DataFrame, x_axis: str = "date") -> dict | None:
    """PHQ-9 items by administration (module docstring): a Vega-Lite specification, or None
    when there are no answers (the page says so in words).

    `items` = phq9_item_history (long). Columns are labelled by date or by the infusion the
    PHQ-9 was taken before (`x_axis`), made unique when two fall on the same label. The layers
    are named 'answers' (rect marks, one per answered item) and 'unanswered' (the "?" marks).
    """
    if x_axis not in X_AXES:
        raise ValueError(f"x_axis must be one of {X_AXES}, not {x_axis!r}")
    if items.empty:
        return None
    administrations = (items.drop_duplicates("assessment_key")
                       .sort_values(["administered_at", "assessment_key"])[["assessment_key", "administered_at", "k", "total"]])
    labels, used = [], {}
    for row in administrations.itertuples():
        label = when(row.administered_at, with_time=False) if x_axis == "date" else f"before {int(row.k)}"
        used[label] = used.get(label, 0) + 1
        labels.append(label if used[label] == 1 else f"{label} ({used[label]})")
    names = items.drop_duplicates("item").set_index("item")["item_label"].reindex(range(1, 10))
    rows = [f"{item}. {label}" for item, label in names.items()]
    answers = {(r.item, r.assessment_key): r.answer for r in items.itertuples() if not pd.isna(r.answer)}
    cells = []
    for column, row in zip(labels, administrations.itertuples()):
        total = "none (incomplete)" if pd.isna(row.total) else str(int(row.total))
        for item, label in names.items():
            answer = answers.get((item, row.assessment_key))
            said = "not answered" if answer is None else f"{ANSWER_WORDS[int(answer)]} ({int(answer)})"
            cells.append({"column": column, "row": f"{item}. {label}",
                          "answer": None if answer is None else int(answer),
                          "hover": {"title": f"{label}: {said}",
                                    "Taken": f"{when(row.administered_at, with_time=True)}, before infusion {int(row.k)}",
                                    "PHQ-9 total": total}})
    frame = pd.DataFrame(cells)
    x = {"field": "column", "type": "ordinal", "sort": labels,
         "axis": {"title": "PHQ-9 taken on" if x_axis == "date" else "PHQ-9 taken before infusion",
                  # upright while the labels fit side by side, slanted when there are many
                  "labelAngle": 0 if len(labels) <= 7 else -45, "labelOverlap": False, "labelFlush": False}}
    y = {"field": "row", "type": "ordinal", "sort": rows, "axis": {"title": None, "labelLimit": 260, "labelOverlap": False}}
    colour = {"field": "answer", "type": "quantitative",
              "scale": {"domain": [stop for stop, _ in HEATMAP_SCALE], "range": [c for _, c in HEATMAP_SCALE]},
              "legend": {"title": "Answer", "values": [0, 1, 2, 3], "orient": "top", "direction": "horizontal",
                         "gradientLength": 570, "labelFontSize": 12, "labelOverlap": False,
                         "labelExpr": f"{json.dumps(list(ANSWER_WORDS))}[datum.value]"}}
    answered, unanswered = frame[frame["answer"].notna()], frame[frame["answer"].isna()]
    layers = [{"name": "answers", "data": {"values": records(answered)},
               "mark": {"type": "rect", "stroke": "white", "strokeWidth": 2, "tooltip": TOOLTIP},
               "encoding": {"x": x, "y": y, "color": colour}}]
    if len(unanswered):
        layers.append({"name": "unanswered", "data": {"values": records(unanswered)},
                       "mark": {"type": "text", "text": "?", "fontSize": 14, "color": UNANSWERED_COLOUR,
                                "tooltip": TOOLTIP},
                       "encoding": {"x": x, "y": y}})
    description = (f"PHQ-9 answers (0 not at all to 3 nearly every day) to items 1-9 at {len(labels)} "
                   f"administration{'s' if len(labels) != 1 else ''}; unanswered items marked with a question mark.")
    # the page's width; the height is the rows' (Streamlit's default "fit" would squeeze them)
    return chart({"width": "container", "height": ROW_HEIGHT * 9, "autosize": {"type": "fit-x", "contains": "padding"},
                  "layer": layers}, description)
