"""The instrument registry: every rating scale the product scores, as data.

Adding a scale means adding one `Instrument` here; ingest validation, scoring and the
outcome views read these values (they are written into the DuckDB tables `instruments`,
`instrument_bands` and `instrument_aliases` when a database is initialised), so no SQL
or Python elsewhere names a threshold.

Every number below is the published instrument's (docs/scoring.md tabulates them); the
primary source is given on each entry. How a scale is shown (its name on a page, its place
among the panels, its colour) is part of the entry too, so a scale reads and looks the same
on every page, in the printable summary and in the notebooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .palette import BLUE, GREEN, ORANGE, PURPLE


@dataclass(frozen=True)
class Band:
    """A severity band: totals from `low` to `high` inclusive carry `label`."""

    low: int
    high: int
    label: str


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    source: str
    n_items: int  # items that make up the total
    item_min: int
    item_max: int
    max_missing: int  # items that may be missing and still prorated
    bands: tuple[Band, ...]
    caseness_min: int  # baseline total >= this is "in the clinical range"
    response_drop_pct: int  # percent reduction from baseline that counts as response
    reliable_change: int  # points of change that count as reliable (improvement or deterioration)
    remission_below: int | None  # latest total < this is remission; None: the scale has no remission
    remission_min_drop: int | None  # extra condition: a drop of at least this many points
    loinc_panel: str | None
    loinc_total: str | None
    display_name: str  # how pages, charts and notebooks name the scale
    page_order: int  # place among a patient's panels: depression first, then as clinics usually add them
    colour: str  # the scale's colour on every chart (pipelines/palette.py, colour-blind safe)
    loinc_items: tuple[str, ...] = ()
    extra_items: tuple[str, ...] = ()  # recorded after the scored items but not summed
    safety_item: int | None = None  # item number whose answer > 0 is a safety flag
    aliases: tuple[str, ...] = ()

    @property
    def total_max(self) -> int:
        return self.n_items * self.item_max

    @property
    def n_columns(self) -> int:
        """Item columns the import may fill: the scored items plus extra questions."""
        return self.n_items + len(self.extra_items)


def normalise_alias(text: str) -> str:
    """`phq9`, `PHQ 9` and `Phq-9` all become `PHQ9`: case, spaces and punctuation ignored."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


PHQ9 = Instrument(
    code="PHQ-9",
    name="Patient Health Questionnaire-9 (depression)",
    # Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606-613; reliable change 6 points
    # and caseness >= 10 as used by NHS Talking Therapies; remission < 5.
    source="Kroenke et al. 2001; NHS Talking Therapies manual",
    n_items=9,
    item_min=0,
    item_max=3,
    max_missing=2,  # prorate with <= 2 of 9 missing (<= 20% convention for PHQ scales)
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 19, "moderately severe"),
        Band(20, 27, "severe"),
    ),
    caseness_min=10,
    response_drop_pct=50,
    reliable_change=6,
    remission_below=5,
    remission_min_drop=None,
    loinc_panel="44249-1",
    loinc_total="44261-6",
    display_name="PHQ-9 (depression)",
    page_order=1,
    colour=BLUE,
    loinc_items=(
        "44250-9", "44255-8", "44259-0", "44254-1", "44251-7",
        "44258-2", "44252-5", "44253-3", "44260-8",
    ),
    extra_items=("69722-7",),  # item 10: how difficult the problems made things; not in the total
    safety_item=9,  # thoughts of being better off dead or of self-harm
    aliases=("PHQ9", "PHQ", "PHQ9TOTAL"),
)

GAD7 = Instrument(
    code="GAD-7",
    name="Generalized Anxiety Disorder-7 (anxiety)",
    # Spitzer, Kroenke, Williams & Lowe 2006, Arch Intern Med 166:1092-1097; caseness >= 8 and
    # reliable change 4 points as used by NHS Talking Therapies.
    source="Spitzer et al. 2006; NHS Talking Therapies manual",
    n_items=7,
    item_min=0,
    item_max=3,
    max_missing=1,
    bands=(
        Band(0, 4, "minimal"),
        Band(5, 9, "mild"),
        Band(10, 14, "moderate"),
        Band(15, 21, "severe"),
    ),
    caseness_min=8,
    response_drop_pct=50,
    reliable_change=4,
    remission_below=5,
    remission_min_drop=None,
    loinc_panel="69737-5",
    loinc_total="70274-6",
    display_name="GAD-7 (anxiety)",
    page_order=2,
    colour=ORANGE,
    loinc_items=("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"),
    aliases=("GAD7", "GAD", "GAD7TOTAL"),
)

PAIN_NRS = Instrument(
    code="PAIN-NRS",
    name="Pain intensity, 0-10 numeric rating scale",
    # IMMPACT (Dworkin et al. 2008, J Pain 9:105-121; Farrar et al. 2001, Pain 94:149-158):
    # >= 30% reduction is moderately important ("response"); >= 2 points clinically important.
    source="Dworkin et al. 2008; Farrar et al. 2001",
    n_items=1,
    item_min=0,
    item_max=10,
    max_missing=0,
    bands=(
        Band(0, 0, "none"),
        Band(1, 3, "mild"),
        Band(4, 6, "moderate"),
        Band(7, 10, "severe"),
    ),
    caseness_min=4,
    response_drop_pct=30,
    reliable_change=2,
    remission_below=None,  # pain has no remission
    remission_min_drop=None,
    loinc_panel=None,
    loinc_total="72514-3",
    display_name="Pain (0-10)",
    page_order=4,
    colour=GREEN,
    aliases=("PAINNRS", "PAIN", "NRS", "NPRS", "PAINNRS010", "PAININTENSITY"),
)

PCL5 = Instrument(
    code="PCL-5",
    name="PTSD Checklist for DSM-5",
    # Weathers et al. 2013; Blevins et al. 2015, J Trauma Stress 28:489-498. Provisional PTSD
    # at >= 33; 10 points is a clinically meaningful change (National Center for PTSD).
    source="Weathers et al. 2013; Blevins et al. 2015; National Center for PTSD",
    n_items=20,
    item_min=0,
    item_max=4,
    max_missing=2,
    bands=(
        Band(0, 32, "below provisional PTSD"),
        Band(33, 80, "provisional PTSD"),
    ),
    caseness_min=33,
    response_drop_pct=50,
    reliable_change=10,
    remission_below=33,
    remission_min_drop=10,  # remission needs < 33 together with a drop of >= 10 points
    loinc_panel=None,
    loinc_total=None,  # the reference gives no LOINC code for the PCL-5 total
    display_name="PCL-5 (PTSD)",
    page_order=3,
    colour=PURPLE,
    aliases=("PCL5", "PCL"),
)

REGISTRY: dict[str, Instrument] = {i.code: i for i in (PHQ9, GAD7, PAIN_NRS, PCL5)}

MAX_ITEM_COLUMNS = 20  # item_1 ... item_20 in the import format (PCL-5 is the longest scale)


def alias_table() -> dict[str, str]:
    """Every accepted spelling (normalised) -> canonical code."""
    table: dict[str, str] = {}
    for instrument in REGISTRY.values():
        for alias in (instrument.code, *instrument.aliases):
            table[normalise_alias(alias)] = instrument.code
    return table


# The scale that measures each indication's own symptoms, shown first on a patient's page: a
# PTSD patient is followed on the PCL-5, an anxiety patient on the GAD-7, chronic pain on the
# pain scale, depression (unipolar or bipolar) on the PHQ-9 (each instrument's own scope, as
# in its source above). An indication not listed ("other") keeps the page order.
PRIMARY_SCALE = {"depression": "PHQ-9", "bipolar_depression": "PHQ-9", "anxiety": "GAD-7", "ptsd": "PCL-5",
                 "chronic_pain": "PAIN-NRS"}


def scale_order(indication: str | None = None) -> tuple[str, ...]:
    """The registry's scales in the order a patient's page lists them: the indication's own
    scale (`PRIMARY_SCALE`) first, then the others by `page_order`."""
    ordered = sorted(REGISTRY, key=lambda code: REGISTRY[code].page_order)
    primary = PRIMARY_SCALE.get(indication or "")
    return tuple(([primary] if primary in REGISTRY else []) + [code for code in ordered if code != primary])
