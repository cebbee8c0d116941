"""A writer of acknowledgements in a process of its own, for the store's crash and concurrency
tests (tests/test_acknowledgements.py): `python tests/ack_writer.py DB AUDIT_LOG NAME COUNT`
records COUNT acknowledgements (COUNT 0: until killed) and prints each one's id on its own line
once `record` has returned, i.e. once it is committed."""

from __future__ import annotations

import itertools
import sys

from pipelines.store.acknowledgements import ACTIONS, record


def main(db: str, audit_log: str, name: str, count: int) -> None:
    numbers = itertools.count() if count == 0 else range(count)
    for number in numbers:
        ack = record(db, audit_log, patient_id=f"{name}-P{number % 7}", reason="item9_positive",
                     event_key=f"PHQ-9 {name}-{number}", raised_at="2026-05-20 08:30", action=ACTIONS[number % len(ACTIONS)],
                     note=f"{name} note {number}", user=f"{name}@clinic.example", role="clinician", page="test")
        print(ack.ack_id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
