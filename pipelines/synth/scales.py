"""The rating scales the synthetic clinic administers: item counts, ranges and spellings.

Kept local to the generator on purpose: the synthetic data must not depend on the importer's
own instrument definitions, otherwise a bug there would be copied into the data meant to test it.
"""

from __future__ import annotations

from dataclasses import dataclass

N_ITEM_COLUMNS = 20  # assessments.csv carries item_1 .. item_20 whatever the scale


@dataclass(frozen=True)
class Scale:
    name: str  # canonical spelling written to the CSV
    variant: str  # a legacy spelling a few rows use, to exercise the importer's alias handling
    n_items: int  # scored items (PHQ-9's difficulty question is extra, see assessments.py)
    item_max: int
    visit_noise_sd: float  # visit-to-visit wobble of the latent score, in scale points

    @property
    def total_max(self) -> int:
        return self.n_items * self.item_max


PHQ9 = Scale("PHQ-9", "phq9", n_items=9, item_max=3, visit_noise_sd=1.5)
GAD7 = Scale("GAD-7", "GAD7", n_items=7, item_max=3, visit_noise_sd=1.2)
PAIN_NRS = Scale("PAIN-NRS", "pain nrs", n_items=1, item_max=10, visit_noise_sd=0.7)
PCL5 = Scale("PCL-5", "pcl5", n_items=20, item_max=4, visit_noise_sd=4.0)

# Order matters: it is the instrument code used in arrays and the tie-break order within a visit.
SCALES: tuple[Scale, ...] = (PHQ9, GAD7, PAIN_NRS, PCL5)
