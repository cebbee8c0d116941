"""Scores back to the EHR as FHIR R4: `outcomes export --fhir --out DIR [--all-scores]`.

Written as a FHIR Bulk Data set: one NDJSON file per resource type
(`QuestionnaireResponse.ndjson`, `Observation.ndjson`, one resource a line), the input the
bulk import of FHIR servers takes (Azure Health Data Services `$import`, Google Cloud
Healthcare API `fhirStores.import`, Pathling `$import`, AWS HealthLake), with ids chosen here
so a re-export replaces rather than duplicates. docs/export.md says why not a transaction
Bundle. The FHIR reader reads the same folder back (tests/test_fhir_export.py round trip).

Every resource is checked with `fhir.resources` (its R4B models: QuestionnaireResponse and
Observation are unchanged from R4) before anything is written; one that does not validate
stops the export, naming the score. Files are written into a hidden folder beside the output
and moved in at the end, so an error leaves no partial file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from .. import sql
from ..db import connect
from .resources import FHIR_ID, Score, resources_of

FILES = ("QuestionnaireResponse", "Observation")


class FhirExportError(Exception):
    """An export that must not run or finish (exit code 2): no database, a non-empty folder,
    a resource that is not valid FHIR R4."""


@dataclass
class FhirExportResult:
    out: Path
    counts: dict[str, int]  # resource type -> resources written
    scores: int  # scores written
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> scores not written
    notes: dict[str, int] = field(default_factory=dict)  # what to know -> scores written so
    seconds: float = 0.0


def read_scores(con: duckdb.DuckDBPyConnection, all_scores: bool) -> list[Score]:
    rows = con.execute(sql.read("export/fhir_scores"), [bool(all_scores)]).fetchall()
    return [Score(key, aid, pid, instrument, at, tuple(items or ()), total, bool(total_only))
            for key, aid, pid, instrument, at, items, total, total_only in rows]


def validate(resource: dict, score: Score) -> None:
    """Refuse a resource that is not valid FHIR R4 (R4B models: these two resources are R4's)."""
    from fhir.resources.R4B import get_fhir_model_class  # ~0.5 s to import: only when exporting
    from pydantic import ValidationError

    try:
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or resource["resourceType"]
        raise FhirExportError(
            f"{resource['resourceType']}/{resource['id']} (score {score.assessment_key!r}) is not valid FHIR R4: "
            f"{where}: {first['msg']}; nothing was written") from None


def export_fhir(db: str | Path, out: str | Path, timezone: str, all_scores: bool = False,
                force: bool = False) -> FhirExportResult:
    """Write the scores (check-ins only, or `all_scores`) as NDJSON into `out`."""
    started = dt.datetime.now(dt.timezone.utc)
    db, out = Path(db), Path(out)
    if not db.is_file():
        raise FhirExportError(f"no outcomes database at {db}")
    if out.exists() and not out.is_dir():
        raise FhirExportError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise FhirExportError(f"{out} is not empty; choose an empty or new folder, or add --force to replace "
                              "an earlier export there")
    try:
        con = connect(db, read_only=True)
    except duckdb.Error as error:  # e.g. an ingest holds the write lock
        raise FhirExportError(f"cannot open {db} read-only: {error}") from None
    try:
        scores = read_scores(con, all_scores)
    finally:
        con.close()

    zone = ZoneInfo(timezone)
    lines: dict[str, list[str]] = {name: [] for name in FILES}
    skipped: dict[str, int] = {}
    notes: dict[str, int] = {}
    written = 0
    for score in scores:
        if not FHIR_ID.match(score.patient_id):
            note = ("written with the patient as an identifier only (the patient id is not a FHIR id: letters, "
                    "digits, '-', '.', at most 64 characters)")
            notes[note] = notes.get(note, 0) + 1
        resources = resources_of(score, zone)
        if not resources:
            reason = f"{score.instrument} total without items (no LOINC code for its total)"
            skipped[reason] = skipped.get(reason, 0) + 1
            continue
        for resource in resources:
            validate(resource, score)
            lines[resource["resourceType"]].append(json.dumps(resource, ensure_ascii=False, separators=(",", ":")))
        written += 1

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for name, content in lines.items():
            if content:
                (staging / f"{name}.ndjson").write_text("\n".join(content) + "\n", encoding="utf-8")
        out.mkdir(exist_ok=True)
        for name in FILES:
            (out / f"{name}.ndjson").unlink(missing_ok=True)  # an earlier export's file (only with --force)
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    return FhirExportResult(out=out, counts={name: len(content) for name, content in lines.items()},
                            scores=written, skipped=skipped, notes=notes, seconds=seconds)
