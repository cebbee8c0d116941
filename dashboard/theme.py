"""Colours and words shared by every page, so a scale looks and reads the same everywhere.

The palette is Okabe & Ito's (2008) colour-blind-safe set; each scale keeps one colour on every
page. Severity bands are pale shades of one grey-blue so they sit behind the data without
competing with it; the clinic's expected band is grey, as the design notes ask.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

# Okabe-Ito
BLACK, ORANGE, SKY_BLUE, GREEN, YELLOW, BLUE, VERMILLION, PURPLE = (
    "#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7")
SERIES = [BLUE, ORANGE, GREEN, VERMILLION, PURPLE, SKY_BLUE, YELLOW, BLACK]

SCALE_COLOURS = {"PHQ-9": BLUE, "GAD-7": ORANGE, "PAIN-NRS": GREEN, "PCL-5": PURPLE}
SCALE_NAMES = {"PHQ-9": "PHQ-9 (depression)", "GAD-7": "GAD-7 (anxiety)",
               "PAIN-NRS": "Pain (0-10)", "PCL-5": "PCL-5 (PTSD)"}

# Severity bands, lightest = least severe.
BAND_FILLS = ["rgba(0,114,178,0.04)", "rgba(0,114,178,0.08)", "rgba(0,114,178,0.12)",
              "rgba(0,114,178,0.17)", "rgba(0,114,178,0.22)"]
EXPECTED_FILL = "rgba(120,120,120,0.25)"
EXPECTED_LINE = "rgb(120,120,120)"
RESPONSE_LINE = GREEN
REMISSION_LINE = SKY_BLUE
ALERT = VERMILLION
OK = GREEN

FONT_SIZE = 14


def scale_colour(scale: str) -> str:
    return SCALE_COLOURS.get(scale, BLACK)


def scale_name(scale: str) -> str:
    return SCALE_NAMES.get(scale, scale)


def esc(value) -> str:
    """A data value as HTML text, for hovers and the printable summary: escaped (free text such
    as an adverse event, or an id, could contain markup), '' for NULL."""
    if value is None or (not isinstance(value, (list, tuple, np.ndarray)) and pd.isna(value)):
        return ""
    return html.escape(str(value))


def when(value, with_time: bool = False) -> str:
    """A date (or date and time) in words: '2 Feb 2026'; '' for NULL."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    return stamp.strftime("%-d %b %Y %H:%M" if with_time else "%-d %b %Y")
