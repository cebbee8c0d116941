"""One settings object for everything a clinic may tune.

Defaults are the clinical reference's values. A clinic overrides them in a TOML file
(`--config PATH` or the `OUTCOMES_CONFIG` environment variable), e.g.::

    clinic_timezone = "America/Chicago"
    baseline_window_days = 30

    [plausible]
    dose_mg_max = 400

    [thresholds]
    bp_excursion_systolic = 170

Settings are passed down explicitly; nothing reads the file from deep inside.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class PlausibleRanges:
    """Values outside these ranges are physiologically impossible or a data-entry slip, so the
    session row is quarantined rather than loaded (inclusive bounds)."""

    dose_mg_min: float = 1.0
    dose_mg_max: float = 500.0
    dose_mg_per_kg_max: float = 3.0  # typical IV 0.5-1.0 mg/kg; above 3 is a unit error
    weight_kg_min: float = 20.0
    weight_kg_max: float = 350.0
    duration_min_min: float = 1.0
    duration_min_max: float = 720.0
    systolic_min: int = 50
    systolic_max: int = 300
    diastolic_min: int = 20
    diastolic_max: int = 200
    heart_rate_min: int = 20
    heart_rate_max: int = 250
    spo2_min: int = 50
    spo2_max: int = 100
    cadss_max: int = 92  # 23 subject-rated CADSS items x 4 (Bremner et al. 1998)
    earliest_birth_year: int = 1900


@dataclass(frozen=True)
class Thresholds:
    """Analytics thresholds and windows (clinical reference defaults), used by the safety
    flags, the expected-trajectory reference and the worklist."""

    # Blood-pressure excursion at peak: systolic >= 180 or diastolic >= 110 mmHg.
    bp_excursion_systolic: int = 180
    bp_excursion_diastolic: int = 110
    # Not on track: improvement worse than this percentile of the clinic's reference ...
    not_on_track_percentile: float = 25.0
    # ... built from at least this many patients (else all baseline bands together).
    min_reference_patients: int = 20
    # Worklist: in active treatment = an infusion within this many days ...
    active_treatment_days: int = 28
    # ... and then a PHQ-9 is due at least every this many days.
    phq9_overdue_days: int = 14
    # Infusions counted one by one in trajectories; later ones are grouped as maintenance.
    trajectory_max_infusion: int = 12


@dataclass(frozen=True)
class Settings:
    # Times without an offset are clinic local time; times with one are converted to it.
    clinic_timezone: str = "America/New_York"
    # Baseline: latest valid score from first-session date minus this many days up to the
    # first session's start (clinical reference, "Baseline").
    baseline_window_days: int = 30
    # "After induction": first score after infusion N started, up to infusion M's start
    # (scores with N to M-1 infusions before them).
    induction_sessions: int = 6
    after_induction_before_session: int = 9
    # Assessments more than this long before intake are quarantined as misdated.
    max_days_before_intake: int = 365
    plausible: PlausibleRanges = field(default_factory=PlausibleRanges)
    thresholds: Thresholds = field(default_factory=Thresholds)


class SettingsError(ValueError):
    """A settings file that cannot be read or names settings that do not exist."""


def load_settings(path: str | Path | None = None) -> Settings:
    """Settings from `path`, else from $OUTCOMES_CONFIG, else the defaults."""
    path = path or os.environ.get("OUTCOMES_CONFIG")
    if not path:
        return Settings()
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"settings file {path}: {error}") from None
    sections = {"plausible": PlausibleRanges, "thresholds": Thresholds}
    parts = {}
    for name, section in sections.items():
        values = raw.pop(name, {})
        known = {f.name for f in dataclasses.fields(section)}
        if unknown := sorted(set(values) - known):
            raise SettingsError(f"settings file {path}: unknown [{name}] settings {unknown}; known: {sorted(known)}")
        parts[name] = section(**values)
    known = {f.name for f in dataclasses.fields(Settings)} - set(sections)
    if unknown := sorted(set(raw) - known):
        raise SettingsError(f"settings file {path}: unknown settings {unknown}; known: {sorted(known)}")
    return Settings(**raw, **parts)
