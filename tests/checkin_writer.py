"""A process that saves check-ins as fast as it can, for the lose-nothing tests
(tests/test_checkin_nothing_lost.py): `python -m tests.checkin_writer DB PATIENT N [--hold]`.

Each check-in opens its own code and saves one GAD-7 with it, through the real store functions.
After each commit it prints the saved row's id (flushed), so the test knows exactly what was
committed before it killed the process. With --hold, the process then opens a transaction,
writes a check-in's rows, prints "HOLDING" and sleeps inside the transaction, to be killed
mid-write."""

from __future__ import annotations

import sys
import time

from pipelines.store.checkins import ScaleAnswers, new_code, open_store, save_checkin
from pipelines.store.connection import transaction


def main() -> None:
    db, patient_id, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for k in range(n):
        code, _ = new_code(db, patient_id, "writer", minutes=30)
        [row_id] = save_checkin(db, code, [ScaleAnswers("GAD-7", (k % 4, 1, 1, 1, 1, 1, 1))])
        print(row_id, flush=True)
    if "--hold" in sys.argv:
        con = open_store(db)
        with transaction(con):
            con.execute("UPDATE checkin_codes SET used_at = 'x' WHERE id = (SELECT max(id) FROM checkin_codes)")
            con.execute("INSERT INTO checkin_answers (code_id, patient_id, instrument, items, skipped, administered_at) "
                        "SELECT max(id), ?, 'GAD-7', '[3,3,3,3,3,3,3]', '[]', '2026-01-01T00:00:00+00:00' "
                        "FROM checkin_codes", [patient_id])
            print("HOLDING", flush=True)
            time.sleep(600)


if __name__ == "__main__":
    main()
