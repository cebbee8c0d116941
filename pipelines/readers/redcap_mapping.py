"""Which REDCap field is which: the small TOML mapping (`redcap_mapping.toml`) a clinic can
edit, the packaged default or a file of that name next to the export, which replaces it.

It names, per scale, the form, the date field, the item fields in order, and optionally the
total and session fields; and optionally (`[sessions]`) a form holding the infusions, with a
field per sessions column (a checkbox field for the side effects, the data access group for
the site unless a site field is named).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..formats import SESSIONS, ImportFormatError, normalise_header

MAPPING_FILE = "redcap_mapping.toml"
SESSION_COLUMNS = tuple(c for c in SESSIONS.columns if c != "patient_id")


@dataclass(frozen=True)
class InstrumentFields:
    """Where one scale lives in a REDCap export (field names normalised like headers)."""

    code: str
    form: str
    date: str
    items: tuple[str, ...]
    total: str | None = None
    session: str | None = None

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.date, *self.items, *(f for f in (self.total, self.session) if f))

    @property
    def answers(self) -> tuple[str, ...]:
        """Fields whose being filled in means the scale was administered."""
        return (*self.items, *((self.total,) if self.total else ()))


@dataclass(frozen=True)
class SessionFields:
    """Where the infusions live: sessions column -> REDCap field (normalised)."""

    form: str
    columns: dict[str, str] = field(default_factory=dict)
    code: str = "sessions"

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.columns.values())

    @property
    def answers(self) -> tuple[str, ...]:
        """Fields whose being filled in means there was an infusion (not the site: a data
        access group is on every row)."""
        return tuple(f for c, f in self.columns.items() if c != "site")


@dataclass(frozen=True)
class Mapping:
    source: str  # the TOML file it came from, for messages
    instruments: tuple[InstrumentFields, ...]
    sessions: SessionFields | None = None


def mapping_path(export: str | Path) -> Path | None:
    """The clinic's mapping beside the export, if there is one (it replaces the default)."""
    local = Path(export).parent / MAPPING_FILE
    return local if local.is_file() else None


def load_mapping(path: str | Path | None = None) -> Mapping:
    """Read a mapping TOML (default: the packaged pipelines/redcap_mapping.toml)."""
    if path is None:
        resource = resources.files("pipelines") / MAPPING_FILE
        text, source = resource.read_text(encoding="utf-8"), str(resource)
    else:
        text, source = Path(path).read_text(encoding="utf-8"), str(path)
    try:
        data = tomllib.loads(text)
        instruments = tuple(
            InstrumentFields(
                code=code,
                form=str(spec["form"]).strip(),
                date=normalise_header(spec["date"]),
                items=tuple(normalise_header(item) for item in spec["items"]),
                total=normalise_header(spec["total"]) if spec.get("total") else None,
                session=normalise_header(spec["session"]) if spec.get("session") else None,
            )
            for code, spec in data.get("instruments", {}).items()
        )
        sessions = _sessions(data["sessions"], source) if "sessions" in data else None
    except (tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as error:
        raise ImportFormatError(
            f"{source}: not a valid REDCap mapping ({type(error).__name__}: {error}); each "
            '[instruments."CODE"] needs form, date and items, and [sessions] needs form and started_at'
        ) from None
    if not instruments and sessions is None:
        raise ImportFormatError(f"{source}: the REDCap mapping names no instruments")
    return Mapping(source=source, instruments=instruments, sessions=sessions)


def _sessions(spec: dict, source: str) -> SessionFields:
    unknown = sorted(set(spec) - {"form", *SESSION_COLUMNS})
    if unknown:
        raise ImportFormatError(f"{source}: [sessions] names {', '.join(unknown)}, which are not sessions "
                                f"columns ({', '.join(SESSION_COLUMNS)})")
    columns = {c: normalise_header(spec[c]) for c in SESSION_COLUMNS if spec.get(c)}
    if "started_at" not in columns:
        raise KeyError("started_at")
    return SessionFields(form=str(spec["form"]).strip(), columns=columns)


def mapping_for(export: str | Path) -> Mapping:
    return load_mapping(mapping_path(export))
