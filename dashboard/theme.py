"""Colours and words shared by every page, so a scale looks and reads the same everywhere.

The colours are `pipelines/palette.py`'s (Okabe & Ito's colour-blind-safe set, shared with the
notebooks); a scale's name and colour are its entry in the instrument registry
(`pipelines/instruments.py`), so each scale keeps one colour and one name on every page.
"""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from pipelines.instruments import REGISTRY
from pipelines.palette import (BAND_FILLS, BLACK, BLUE, EXPECTED_FILL, EXPECTED_LINE, GREEN,  # noqa: F401
                               ORANGE, PURPLE, SERIES, SKY_BLUE, VERMILLION, YELLOW)

SCALE_COLOURS = {code: instrument.colour for code, instrument in REGISTRY.items()}
SCALE_NAMES = {code: instrument.display_name for code, instrument in REGISTRY.items()}

RESPONSE_LINE = GREEN
REMISSION_LINE = SKY_BLUE
ALERT = VERMILLION
OK = GREEN

FONT_SIZE = 14



def scale_colour(scale: str) -> str:
    return SCALE_COLOURS.get(scale, BLACK)


def scale_name(scale: str) -> str:
    return SCALE_NAMES.get(scale, scale)


# Indication codes as words (the export's codes, docs/import-format.md): "PTSD", not "ptsd".
INDICATION_WORDS = {"depression": "Depression", "bipolar_depression": "Bipolar depression", "anxiety": "Anxiety",
                    "ptsd": "PTSD", "chronic_pain": "Chronic pain", "other": "Other"}


def sentence(text) -> str:
    """Text as the start of a sentence: its first letter raised, the rest as written. Not
    str.capitalize, which lowers the rest: site and clinician names, "PHQ-9" and "BP" keep
    their capitals."""
    text = str(text)
    return text[:1].upper() + text[1:]


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


WORD_JOINER = "\u2060"  # invisible, and not a word character: breaks Markdown's autolinks


def md(text) -> str:
    """Data as literal Markdown text, shown as typed: no links, emphasis, HTML or :colour[...]
    directives. Punctuation is backslash-escaped. GitHub-flavoured Markdown also turns
    `www.x`, `https://x` and `a@b.c` in plain text into links, escaped or not (seen in the
    browser), so an invisible word joiner (U+2060) is put where it breaks that pattern: a name
    or an id is never a link."""
    escaped = re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])", r"\\\1", str(text))
    return re.sub(r"(?i)(www|https?|ftp|mailto)(?=\\[.:])|(?=@)", lambda m: (m.group(1) or "") + WORD_JOINER, escaped)
