"""The colours every picture of the product uses: dashboard charts, the printable summary and
the analysts' notebooks, so a scale or a series looks the same wherever it is drawn.

The palette is Okabe & Ito's colour-blind-safe set (2008, "Color Universal Design"). Severity
bands are pale shades of one grey-blue so they sit behind the data without competing with it;
the clinic's expected band is grey, as the design notes ask.
Each scale's own colour is part of its registry entry (`pipelines/instruments.py`).
"""

from __future__ import annotations

# Okabe-Ito
BLACK, ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
# Series colours in order of use (groups of a comparison, curves of a chart).
SERIES = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY_BLUE, YELLOW, BLACK]

# Severity bands, lightest = least severe.
BAND_FILLS = ["rgba(0,114,178,0.04)", "rgba(0,114,178,0.08)", "rgba(0,114,178,0.12)",
              "rgba(0,114,178,0.17)", "rgba(0,114,178,0.22)"]
EXPECTED_FILL = "rgba(120,120,120,0.25)"
EXPECTED_LINE = "rgb(120,120,120)"


def transparent(colour: str, alpha: float) -> str:
    """`#RRGGBB` as an rgba() colour with opacity `alpha`: an interval band in its series' colour."""
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"
