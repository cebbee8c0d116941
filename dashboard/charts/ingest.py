"""The Data quality page's ingest charts as Vega-Lite specifications: what happened to the rows
of every ingest run (the "Ingest runs" tab, the tab the page opens on) and the quarantined rows
per rule (the "Quarantine" tab).

Why Vega-Lite: the runs chart is drawn whenever the database has more than one ingest run, which
is every real clinic's case, and as a Plotly figure it made Streamlit load its 4.7 MB Plotly
script: a new session of the page after a second ingest took 2.5-3.5 s against 1.5 s with one run
(docs/scaling.md, "Vega-Lite for Data quality's runs chart"). `vega` holds the look and the
inline data the Vega-Lite charts share.

Pure builders: the frames of `pipelines.analytics.ingest_log` in, a specification dict (or None
when there is nothing to draw: the page says so in words) out. Tooltips are plain text
(Streamlit's tooltip handler escapes them), so values are not HTML-escaped.
"""

from __future__ import annotations

import pandas as pd

from .. import theme
from . import vega

# ingest_runs counts, in the order the rows read split into them (bottom of the stack first), and
# their colours.
RUN_OUTCOMES = {"inserted": "Inserted (new)", "updated": "Updated (new values)",
                "unchanged": "Unchanged (identical or repeated)", "quarantined": "Quarantined"}
RUN_COLOURS = [theme.BLUE, theme.ORANGE, theme.SKY_BLUE, theme.ALERT]
RUNS_HEIGHT = 320  # the Plotly figure's height, legend and axes included
TOOLTIP = {"expr": "datum.hover"}  # each bar's own `hover` text, one plain line
RULE_ROW = 28  # pixels per rule in the quarantine chart


def ingest_runs_chart(runs: pd.DataFrame) -> dict | None:
    """Stacked bars per ingest run, oldest first ("Run 1", "Run 2", ... on the x axis): the rows
    read by the run split into inserted, updated, unchanged and quarantined (RUN_OUTCOMES, in
    that order from the bottom, in RUN_COLOURS), y "Rows read". Each bar's tooltip reads
    "Run 2: 1,234 rows inserted". None before the first run.

    `runs` = `ingest_log.ingest_runs` (any order). The data is one record per run and outcome:
    `run`, `outcome` (its label), `stack` (its place, 0 at the bottom), `rows`, `hover`.
    """
    if runs.empty:
        return None
    ordered = runs.sort_values("run_id")
    order = [f"Run {run}" for run in ordered["run_id"]]
    labels = list(RUN_OUTCOMES.values())
    values = []
    for run, row in zip(order, ordered.itertuples()):
        for place, (column, label) in enumerate(RUN_OUTCOMES.items()):
            rows = int(getattr(row, column))
            values.append({"run": run, "outcome": label, "stack": place, "rows": rows,
                           "hover": f"{run}: {_rows(rows)} {label.split(' (')[0].lower()}"})
    body = {
        "height": RUNS_HEIGHT,
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": TOOLTIP},
        "encoding": {
            "x": {"field": "run", "type": "ordinal", "sort": order, "title": None,
                  "axis": {"labelAngle": 0 if len(order) <= 12 else -45}},
            "y": {"field": "rows", "type": "quantitative", "stack": "zero", "title": "Rows read",
                  "axis": {"tickMinStep": 1, "format": ",d"}},
            "color": {"field": "outcome", "type": "nominal", "sort": labels,
                      "scale": {"domain": labels, "range": RUN_COLOURS}, "legend": {"title": None}},
            "order": {"field": "stack", "type": "quantitative"},
        },
    }
    description = (f"Rows read by each of {len(order)} ingest runs, stacked as inserted, updated, unchanged "
                   f"and quarantined, from {order[0]} to {order[-1]}.")
    return vega.chart(body, description)


def quarantine_rules_chart(by_rule: pd.DataFrame) -> dict | None:
    """Horizontal bars: quarantined rows per rule (underscores read as spaces), in the order of
    `by_rule` (`ingest_log.quarantine_by_rule`: most frequent first, at the top), in the alert
    colour with the count beside each bar; the tooltip gives the rule's meaning: "future date
    (later than today): 3 rows". RULE_ROW pixels per rule. None when no row was quarantined.
    """
    if by_rule.empty:
        return None
    rules = by_rule["rule"].str.replace("_", " ").tolist()
    values = [{"rule": rule, "rows": int(rows), "hover": f"{rule} ({description}): {_rows(int(rows))}"}
              for rule, rows, description in zip(rules, by_rule["n_rows"], by_rule["description"])]
    y = {"field": "rule", "type": "nominal", "sort": rules, "title": None, "axis": {"labelLimit": 300}}
    # whole rows on the axis, and room to the right of the longest bar for its count
    x = {"field": "rows", "type": "quantitative", "title": "Quarantined rows",
         "scale": {"domainMax": 1.1 * max(v["rows"] for v in values), "nice": True},
         "axis": {"tickMinStep": 1, "format": ",d"}}
    body = {
        "height": RULE_ROW * len(rules),  # every rule's bar readable (the x axis and padding come on top)
        "data": {"values": values},
        "encoding": {"y": y, "x": x},
        "layer": [
            {"mark": {"type": "bar", "color": theme.ALERT, "tooltip": TOOLTIP}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": theme.FONT_SIZE - 1,
                      "color": theme.BLACK, "tooltip": TOOLTIP},
             "encoding": {"text": {"field": "rows", "type": "quantitative", "format": ","}}},
        ],
    }
    description = (f"Quarantined rows for each of {len(rules)} rules, most frequent first: "
                   + ", ".join(f"{v['rule']} {v['rows']:,}" for v in values) + ".")
    return vega.chart(body, description)


def _rows(count: int) -> str:
    """A count of rows in words: "1 row", "1,234 rows"."""
    return f"{count:,} row{'' if count == 1 else 's'}"
