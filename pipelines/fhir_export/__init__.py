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
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
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


BATCH = 10_000  # rows fetched at a time: millions of scores never sit in memory at once


def read_scores(con: duckdb.DuckDBPyConnection, all_scores: bool) -> Iterator[Score]:
    cursor = con.execute(sql.read("export/fhir_scores"), [bool(all_scores)])
    while rows := cursor.fetchmany(BATCH):
        for key, aid, pid, instrument, at, items, total, total_only in rows:
            yield Score(key, aid, pid, instrument, at, tuple(items or ()), total, bool(total_only))


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
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        result = _write(read_scores(con, all_scores), staging, ZoneInfo(timezone))
        out.mkdir(exist_ok=True)
        for name in FILES:
            (out / f"{name}.ndjson").unlink(missing_ok=True)  # an earlier export's file (only with --force)
        for path in staging.iterdir():
            os.replace(path, out / path.name)
    finally:
        con.close()
        shutil.rmtree(staging, ignore_errors=True)
    result.out = out
    result.seconds = (dt.datetime.now(dt.timezone.utc) - started).total_seconds()
    return result


def _write(scores: Iterator[Score], staging: Path, zone: ZoneInfo) -> FhirExportResult:
    """Each score's resources, validated, one line each in `staging/<type>.ndjson` (a file
    only for a type that has resources)."""
    result = FhirExportResult(out=staging, counts=dict.fromkeys(FILES, 0), scores=0)
    with ExitStack() as stack:
        files = {}
        for score in scores:
            if not FHIR_ID.match(score.patient_id):
                note = ("written with the patient as an identifier only (the patient id is not a FHIR id: letters, "
                        "digits, '-', '.', at most 64 characters)")
                result.notes[note] = result.notes.get(note, 0) + 1
            resources = resources_of(score, zone)
            if not resources:
                reason = f"{score.instrument} total without items (no LOINC code for its total)"
                result.skipped[reason] = result.skipped.get(reason, 0) + 1
                continue
            for resource in resources:
                validate(resource, score)
                kind = resource["resourceType"]
                if kind not in files:
                    files[kind] = stack.enter_context(open(staging / f"{kind}.ndjson", "w", encoding="utf-8"))
                files[kind].write(json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n")
                result.counts[kind] += 1
            result.scores += 1
    return result
