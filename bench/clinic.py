"""The benchmarks' synthetic clinic: generated and ingested once into .bench/, then reused."""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest import ingest
from pipelines.settings import Settings


def clinic_database(patients: int, seed: int, workdir: str | Path = ".bench") -> Path:
    """`workdir/analytics-{patients}-{seed}.duckdb`, built from a generated clinic if missing."""
    work = Path(workdir)
    clinic = work / f"clinic-{patients}-{seed}"
    db = work / f"analytics-{patients}-{seed}.duckdb"
    if not db.exists():
        if not (clinic / "assessments.csv").exists():
            from pipelines.synth import generate_clinic

            print(f"generating {patients:,} synthetic patients ...", flush=True)
            generate_clinic(clinic, n_patients=patients, seed=seed)
        print("ingesting ...", flush=True)
        ingest(db, [clinic], Settings())
    return db
