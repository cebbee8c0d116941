"""Read FHIR R4 JSON files into resources, and resolve references between them.

Two shapes of file: a JSON document (a Bundle of any type, or a single resource) and an NDJSON
bulk export (one resource per line, as the FHIR Bulk Data API writes `Patient.ndjson`,
`Observation.ndjson`, ...). A whole-file problem (not JSON, not FHIR) is an ImportFormatError
raised before anything is written; a single bad NDJSON line is a quarantined row.

Why validate with `fhir.resources` (R4B models, which hold R4's Patient, EpisodeOfCare,
Condition, Procedure, MedicationAdministration, Observation and QuestionnaireResponse
unchanged): it checks every element's type, cardinality and format (dates, ids, choice types)
the way the specification states them, which our own checks would only approximate; about
10,000 small resources validate in ~4 s on a 2-core machine.

What fails is judged by what the pipeline reads (`NEEDED`): EHRs and apps send elements R4 does
not define (a `code` on a QuestionnaireResponse item, an R5 element, a vendor's property) and
values the pipeline never looks at. Such an element is a warning, counted per element path in
the file's progress line; the resource is quarantined (rule `invalid_fhir`, with the first
error's location and message) only when an element the pipeline reads is invalid, or the
resource as a whole is (a choice type given twice).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ...formats import ImportFormatError


@dataclass
class Entry:
    """One resource of a file, with where it sits: its Bundle entry (1-based) or NDJSON line."""

    path: str
    source_row: int
    resource: dict
    full_url: str | None = None
    checked: "Checked | None" = field(default=None, repr=False, compare=False)  # set by `check`

    @property
    def type(self) -> str:
        return self.resource.get("resourceType", "")

    @property
    def id(self) -> str | None:
        value = self.resource.get("id")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def raw(self) -> str:
        return json.dumps(self.resource, separators=(",", ":"), ensure_ascii=False)

    def where(self) -> str:
        return f"{self.type}/{self.id}" if self.id else self.type


@dataclass
class BadLine:
    """An NDJSON line (or Bundle entry) that is not a resource at all."""

    source_row: int
    raw: str
    message: str


@dataclass
class Document:
    """One FHIR file as read: its resources, its unreadable lines and the file hash."""

    path: str
    sha256: str
    shape: str  # "Bundle (<type>)", "resource", "NDJSON"
    entries: list[Entry] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)


def looks_like_fhir(path: str | Path) -> bool:
    """A .json / .ndjson file, or any file whose first character is `{` (JSON)."""
    path = Path(path)
    if path.suffix.lower() in (".json", ".ndjson"):
        return True
    try:
        with open(path, "rb") as handle:
            return handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")
    except OSError:
        return False


def read_document(path: str | Path) -> Document:
    """Parse one file, or raise ImportFormatError naming it and what is wrong."""
    path = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImportFormatError(f"{path}: cannot be opened ({error.strerror})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFormatError(f"{path}: not a UTF-8 text file, so not a FHIR JSON export we can read") from None
    if not text.strip():
        raise ImportFormatError(f"{path}: empty file")
    if path.lower().endswith(".ndjson"):
        return _read_ndjson(path, sha256, text)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data":  # several JSON objects, one per line: NDJSON under another name
            return _read_ndjson(path, sha256, text)
        raise ImportFormatError(f"{path}: not valid JSON ({error.msg} at line {error.lineno})") from None
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise ImportFormatError(f"{path}: JSON, but not a FHIR resource or Bundle (no resourceType)")
    if document["resourceType"] != "Bundle":
        return Document(path, sha256, "resource", [Entry(path, 1, document)])
    result = Document(path, sha256, f"Bundle ({document.get('type', 'no type')})")
    entries = document.get("entry") or []
    if not isinstance(entries, list):
        raise ImportFormatError(f"{path}: Bundle.entry is not a list")
    for number, entry in enumerate(entries, start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            result.entries.append(Entry(path, number, resource, entry.get("fullUrl")))
        else:
            result.bad_lines.append(BadLine(number, json.dumps(entry, separators=(",", ":")),
                                            f"Bundle entry {number} holds no resource"))
    return result


def _read_ndjson(path: str, sha256: str, text: str) -> Document:
    result = Document(path, sha256, "NDJSON")
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            resource = json.loads(line)
        except json.JSONDecodeError as error:
            result.bad_lines.append(BadLine(number, line, f"line {number} is not JSON ({error.msg})"))
            continue
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            result.entries.append(Entry(path, number, resource))
        else:
            result.bad_lines.append(BadLine(number, line, f"line {number} is not a FHIR resource (no resourceType)"))
    if not result.entries:
        raise ImportFormatError(f"{path}: NDJSON, but no line is a FHIR resource (no resourceType)")
    return result


# The elements the mappers read, per resource type (top-level names; value[x] by prefix). An
# invalid value in one of them makes the resource unreadable; anything else is a warning.
NEEDED: dict[str, frozenset[str]] = {
    "Patient": frozenset({"id", "birthDate", "gender"}),
    "EpisodeOfCare": frozenset({"id", "status", "patient", "period", "managingOrganization", "careManager",
                                "diagnosis"}),
    "Condition": frozenset({"id", "subject", "code", "clinicalStatus", "verificationStatus", "category"}),
    "Procedure": frozenset({"id", "status", "subject", "performedPeriod", "performedDateTime", "performer",
                            "location"}),
    "MedicationAdministration": frozenset({"id", "status", "partOf", "subject", "effectivePeriod",
                                           "effectiveDateTime", "performer", "dosage"}),
    "Observation": frozenset({"id", "status", "code", "subject", "partOf", "derivedFrom", "component",
                              "effectiveDateTime", "effectiveInstant", "effectivePeriod", "value"}),
    "QuestionnaireResponse": frozenset({"id", "status", "questionnaire", "subject", "authored", "partOf",
                                        "item"}),
}
# Warning kinds, each the text of its count in the progress line (`{n}` elements, plural `{s}`).
NOT_DEFINED = "{n} element{s} not defined by FHIR R4 ignored"
NOT_READ = "{n} invalid element{s} the importer does not read ignored"


@dataclass
class Checked:
    """A resource's validation: the error that makes it unreadable (None if readable) and the
    warnings, `(reason, element path)` for each element tolerated."""

    error: str | None
    warnings: list[tuple[str, str]]


def check(entry: Entry) -> Checked:
    """Validate once (the result is kept on the entry): unreadable, or readable with warnings."""
    if entry.checked is None:
        entry.checked = _check(entry)
    return entry.checked


def validation_error(entry: Entry) -> str | None:
    """None if the pipeline can read the resource, else the first error: `<location>: <message>`."""
    return check(entry).error


def _check(entry: Entry) -> Checked:
    from fhir.resources.R4B import get_fhir_model_class  # imported on first use: ~0.5 s
    from pydantic import ValidationError

    try:
        get_fhir_model_class(entry.type).model_validate(entry.resource)
    except ValidationError as error:
        needed = NEEDED.get(entry.type, frozenset())
        fatal, warnings = [], []
        for problem in error.errors():
            location = [part for part in problem["loc"] if isinstance(part, str)]
            path = ".".join([entry.type, *location])
            if problem["type"] == "extra_forbidden":
                warnings.append((NOT_DEFINED, path))
            elif location and location[0] not in needed and not (
                    location[0].startswith("value") and "value" in needed):
                warnings.append((NOT_READ, path))
            else:
                fatal.append(problem)
        if not fatal:
            return Checked(None, warnings)
        first = fatal[0]
        location = ".".join(str(part) for part in first["loc"]) or entry.type
        message = first["msg"].removeprefix("Value error, ")
        more = f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""
        return Checked(f"{location}: {message}{more}", warnings)
    return Checked(None, [])


_RELATIVE = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


class Index:
    """Find a resource by reference: `Type/id`, an absolute URL ending in `Type/id`, or a
    Bundle entry's fullUrl (`urn:uuid:...`)."""

    def __init__(self, entries: list[Entry]):
        self.by_url: dict[str, Entry] = {}
        self.by_key: dict[tuple[str, str], Entry] = {}
        for entry in entries:
            if entry.full_url:
                self.by_url.setdefault(entry.full_url, entry)
            if entry.id:
                self.by_key.setdefault((entry.type, entry.id), entry)

    def resolve(self, reference: dict | None) -> Entry | None:
        text = (reference or {}).get("reference")
        if not isinstance(text, str):
            return None
        if text in self.by_url:
            return self.by_url[text]
        match = _RELATIVE.search(text)
        return self.by_key.get((match.group(1), match.group(2))) if match else None


def reference_id(reference: dict | None, resource_type: str, index: Index) -> str | None:
    """The id of the `resource_type` a reference points to: read from `Type/id` itself (the
    resource may have been loaded from another file or run), else from the resource it
    resolves to in this export (a `urn:uuid:` fullUrl)."""
    text = (reference or {}).get("reference")
    if not isinstance(text, str):
        return None
    match = _RELATIVE.search(text)
    if match and match.group(1) == resource_type:
        return match.group(2)
    target = index.resolve(reference)
    return target.id if target is not None and target.type == resource_type else None


def parse_time(text: str | None) -> dt.datetime | None:
    """A FHIR date or dateTime as an aware datetime (a date alone is its midnight UTC), for
    ordering readings around an infusion's start; None if absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
