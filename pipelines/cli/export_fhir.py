"""`outcomes export --fhir`: scores back to the EHR as FHIR R4 NDJSON (pipelines.fhir_export),
audited like the de-identified extract."""

from __future__ import annotations

import argparse
import getpass
import sys

from .. import audit
from ..fhir_export import FhirExportError, export_fhir
from ..settings import load_settings
from .tables import text_table


def cmd_export_fhir(args: argparse.Namespace) -> int:
    if args.deidentified:
        print("error: --fhir writes identified scores for the clinic's EHR and --deidentified an analyst's "
              "extract; choose one", file=sys.stderr)
        return 2
    settings = load_settings(args.config)
    which = "all scores" if args.all_scores else "check-in scores"
    try:
        result = export_fhir(args.db, args.out, settings.clinic_timezone, all_scores=args.all_scores,
                             force=args.force)
    except FhirExportError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    # Identified scores leaving the database: an export, logged like every other.
    audit.append(audit.audit_path(args.db, settings.access.audit_log), f"cli:{getpass.getuser()}", "operator",
                 "export", "outcomes export", None,
                 f"FHIR R4 NDJSON ({which}: {result.scores} scores, "
                 + ", ".join(f"{n} {name}" for name, n in result.counts.items()) + f") to {result.out}")
    print(f"FHIR R4 ({which}) written to {result.out} in {result.seconds:.1f} s: {result.scores} scores")
    print(text_table(["file", "resources"], [(f"{name}.ndjson", n) for name, n in result.counts.items() if n]))
    for reason, n in result.skipped.items():
        print(f"not written: {n} score(s): {reason}")
    for note, n in result.notes.items():
        print(f"note: {n} score(s) {note}")
    if not result.scores:
        print("No scores to write" + ("" if args.all_scores else " (only check-in scores are written by "
                                      "default; add --all-scores for every score)"))
    return 0
