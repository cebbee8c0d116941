"""One settings object for everything a clinic may tune.

Defaults are the clinical reference's values. A clinic overrides them in a TOML file
(`--config PATH` or the `OUTCOMES_CONFIG` environment variable), e.g.::

    clinic_timezone = "America/Chicago"
    baseline_window_days = 30

    [plausible]
    dose_mg_max = 400

    [thresholds]
    bp_excursion_systolic = 170

    [export]
    date_mode = "month"

    [privacy]
    min_cell_size = 11

    [report]
    page_size = "A4"

Settings are passed down explicitly; nothing reads the file from deep inside.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

# The outcomes database, relative to the working directory, wherever none is named ($OUTCOMES_DB,
# --db): the CLI, the dashboard, `pipelines.connect()` and the notebooks all use this one.
DEFAULT_DB = "data/outcomes.duckdb"


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


# Common side effects of ketamine infusions (the synthetic clinic's list and the usual charting
# vocabulary): the controlled list a de-identified export keeps. Anything else recorded is
# exported as "other": a free-typed entry could name a person, a place or an event.
EXPORT_SIDE_EFFECTS = (
    "dissociation", "nausea", "vomiting", "dizziness", "headache", "anxiety", "blurred vision",
    "double vision", "sedation", "drowsiness", "confusion", "hallucinations", "elevated blood pressure",
    "tachycardia", "numbness", "tingling", "fatigue", "dry mouth", "agitation", "euphoria",
)


@dataclass(frozen=True)
class ExportSettings:
    """How `outcomes export --deidentified` pseudonymises an extract (docs/export.md).

    The key is secret: it turns ids into keyed hashes (HMAC-SHA256) that cannot be reversed or
    recomputed without it, so it must never travel with an extract. `$OUTCOMES_EXPORT_KEY`
    overrides it, which keeps it out of a settings file that may be shared or committed. There
    is deliberately no default key: a published default would make every hash recomputable.
    """

    key: str = field(default="", repr=False)  # never in a repr, log line or traceback
    # "shift": every date of a patient moved by the same keyed-random 1..shift_days days, earlier
    # or later (intervals stay exact); "month": every date cut to the first of its month.
    date_mode: str = "shift"
    shift_days: int = 180
    # Birth year exported as a band of this many years; patients aged this or more in the
    # export year are one "90 or older" group (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C)).
    birth_year_band_years: int = 5
    top_code_age: int = 90
    # Staff names and site names: "pseudonym" (keyed hash, joinable across tables) or "drop".
    clinician_mode: str = "pseudonym"
    site_mode: str = "pseudonym"
    # Hex characters kept of each keyed hash: 16 = 64 bits, collision-free in practice for
    # millions of ids (the export checks and stops on a collision).
    hash_chars: int = 16
    side_effects_allowed: tuple[str, ...] = EXPORT_SIDE_EFFECTS

    def __post_init__(self):
        # TOML gives a list; a tuple keeps Settings hashable (the dashboard caches on it).
        object.__setattr__(self, "side_effects_allowed",
                           tuple(str(e).strip().lower() for e in self.side_effects_allowed))
        problems = [f"{f.name} must be {'a whole number' if f.type == 'int' else 'text'}, not {getattr(self, f.name)!r}"
                    for f in dataclasses.fields(self) if f.type in ("int", "str")
                    and type(getattr(self, f.name)).__name__ != f.type]
        if problems:
            raise SettingsError("[export] " + "; ".join(problems))
        if self.date_mode not in ("shift", "month"):
            problems.append(f"date_mode must be \"shift\" or \"month\", not {self.date_mode!r}")
        if not 1 <= self.shift_days <= 3650:
            problems.append(f"shift_days must be 1 to 3650, not {self.shift_days!r}")
        if not 1 <= self.birth_year_band_years <= 50:
            problems.append(f"birth_year_band_years must be 1 to 50, not {self.birth_year_band_years!r}")
        if not 1 <= self.top_code_age <= 90:
            problems.append(f"top_code_age must be 1 to 90 (Safe Harbor top-codes at 90), not {self.top_code_age!r}")
        for name in ("clinician_mode", "site_mode"):
            if getattr(self, name) not in ("pseudonym", "drop"):
                problems.append(f"{name} must be \"pseudonym\" or \"drop\", not {getattr(self, name)!r}")
        if not 12 <= self.hash_chars <= 64:
            problems.append(f"hash_chars must be 12 to 64, not {self.hash_chars!r}")
        if problems:
            raise SettingsError("[export] " + "; ".join(problems))


ROLES = ("clinician", "director", "analyst", "admin")


@dataclass(frozen=True)
class AccessSettings:
    """Who may see what in the dashboard (docs/access.md).

    With sign-in configured (OIDC in .streamlit/secrets.toml) a signed-in user's role is looked
    up in `users` by e-mail, and a user who is not listed sees nothing. Without sign-in the
    dashboard runs in local single-user mode as `local_role`, and only on a loopback address
    unless `allow_local_mode_on_network` is set: with no sign-in, anyone who can reach the
    address would see every patient's record.

    Roles (design notes): clinician - patient-level pages; director - clinic aggregates, and
    patient-level pages only if `directors_see_patients`; analyst - de-identified aggregates and
    data quality; admin - everything, including the audit log.
    """

    users: tuple[tuple[str, str], ...] = ()  # (e-mail, role); in TOML a table [access.users]
    directors_see_patients: bool = False
    local_role: str = "admin"
    allow_local_mode_on_network: bool = False
    # Host names the dashboard may be addressed by besides loopback names and IP addresses
    # (docs/access.md, "DNS rebinding"); with sign-in, the redirect_uri's host is added.
    allowed_hosts: tuple[str, ...] = ()
    audit_log: str = ""  # "" = audit.log next to the database ($OUTCOMES_AUDIT_LOG overrides)

    def __post_init__(self):
        users = self.users.items() if isinstance(self.users, dict) else self.users
        try:
            pairs = tuple(sorted((str(email).strip().lower(), str(role).strip().lower()) for email, role in users))
        except (TypeError, ValueError):
            raise SettingsError('[access] users must be a table of "e-mail" = "role"') from None
        object.__setattr__(self, "users", pairs)  # a tuple keeps Settings hashable
        if isinstance(self.allowed_hosts, str) or not all(isinstance(h, str) for h in self.allowed_hosts):
            raise SettingsError('[access] allowed_hosts must be a list of host names, e.g. ["outcomes.clinic.example"]')
        object.__setattr__(self, "allowed_hosts", tuple(h.strip().lower() for h in self.allowed_hosts))
        problems = [f'user {email} has role "{role}"' for email, role in pairs if role not in ROLES]
        if self.local_role not in ROLES:
            problems.append(f'local_role is "{self.local_role}"')
        if problems:
            raise SettingsError(f"[access] {'; '.join(problems)}: a role is one of {', '.join(ROLES)}")
        for name in ("directors_see_patients", "allow_local_mode_on_network"):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(f"[access] {name} must be true or false")

    def role_of(self, email: str | None) -> str | None:
        """The role of a signed-in user (e-mail matched ignoring case), None if not listed."""
        wanted = (email or "").strip().lower()
        return next((role for user, role in self.users if user == wanted), None)


@dataclass(frozen=True)
class PrivacySettings:
    """Small-cell suppression of every aggregate shown to directors and analysts
    (pipelines/reports/suppression.py, docs/analytics.md).

    `min_cell_size`: counts of 1 to min_cell_size - 1 patients are never published, nor any
    number that gives one back. 11 follows the CMS cell-size suppression policy (no cell of
    1-10 beneficiaries); 1 turns suppression off in effect (no count is below 1)."""

    min_cell_size: int = 11

    def __post_init__(self):
        value = self.min_cell_size
        if type(value) is not int or value < 1:
            raise SettingsError(f"[privacy] min_cell_size must be a whole number of 1 or more, not {value!r}")


@dataclass(frozen=True)
class TreatmentSettings:
    """Where each patient is in treatment, read from the infusions (docs/analytics.md,
    "Treatment status"): in induction until `Settings.induction_sessions` infusions, then in
    maintenance; paused after `paused_after_days` without an infusion (63: beyond the longest
    usual maintenance interval, every 2 to 8 weeks in the clinical reference, "Treatment
    course"); ended when discharged in the export (on or after the last infusion: an infusion
    after the discharge date is a re-admission) or after `ended_after_days` without one. The data is stale, and every page says so, when the latest
    ingest is older than `stale_ingest_days` or the latest infusion older than `stale_infusion_days`."""

    paused_after_days: int = 63
    ended_after_days: int = 90
    stale_ingest_days: int = 2
    stale_infusion_days: int = 14

    def __post_init__(self):
        problems = [f"{f.name} must be a whole number of 1 or more, not {getattr(self, f.name)!r}"
                    for f in dataclasses.fields(self)
                    if type(getattr(self, f.name)) is not int or getattr(self, f.name) < 1]
        if not problems and self.ended_after_days <= self.paused_after_days:
            problems.append("ended_after_days must be more than paused_after_days")
        if problems:
            raise SettingsError("[treatment] " + "; ".join(problems))


@dataclass(frozen=True)
class CheckinSettings:
    """Patients answering their scales on a tablet (docs/access.md, "Patient check-in"): a
    one-time code a clinician opens is valid for `link_minutes`; a patient who answers PHQ-9
    item 9 above 0 is shown `crisis_line` (the US 988 Suicide & Crisis Lifeline by default; a
    clinic elsewhere sets its own)."""

    link_minutes: int = 30
    crisis_line: str = "988 Suicide & Crisis Lifeline: call or text 988"

    def __post_init__(self):
        if type(self.link_minutes) is not int or not 1 <= self.link_minutes <= 24 * 60:
            raise SettingsError(f"[checkin] link_minutes must be a whole number from 1 to 1440, not {self.link_minutes!r}")
        if not isinstance(self.crisis_line, str) or not self.crisis_line.strip():
            raise SettingsError("[checkin] crisis_line must be the text of a crisis line patients can call")


@dataclass(frozen=True)
class ReportSettings:
    """The director's one-page outcomes report (pipelines/reports/board.py, docs/report.md).

    `page_size`: "Letter" (the default: the product's defaults are a US clinic's, as its time
    zone) or "A4"; the page is laid out to fit either. `benchmarks_file`: a TOML file of
    published outcomes to set beside the clinic's (the shipped
    pipelines/benchmarks/published.toml when empty), for a clinic that keeps its own edited copy."""

    page_size: str = "Letter"
    benchmarks_file: str = ""

    def __post_init__(self):
        if self.page_size not in PAGE_SIZES:
            raise SettingsError(f"[report] page_size must be one of {list(PAGE_SIZES)}, not {self.page_size!r}")
        if not isinstance(self.benchmarks_file, str):
            raise SettingsError(f"[report] benchmarks_file must be a file path (text), not {self.benchmarks_file!r}")


# Page sizes of the one-page report, width and height in millimetres.
PAGE_SIZES = {"Letter": (215.9, 279.4), "A4": (210.0, 297.0)}


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
    export: ExportSettings = field(default_factory=ExportSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    access: AccessSettings = field(default_factory=AccessSettings)
    treatment: TreatmentSettings = field(default_factory=TreatmentSettings)
    checkin: CheckinSettings = field(default_factory=CheckinSettings)
    report: ReportSettings = field(default_factory=ReportSettings)


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
    sections = {"plausible": PlausibleRanges, "thresholds": Thresholds, "export": ExportSettings, "access": AccessSettings,
                "privacy": PrivacySettings, "treatment": TreatmentSettings,
                "checkin": CheckinSettings, "report": ReportSettings}
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
