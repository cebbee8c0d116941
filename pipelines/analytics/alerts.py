"""Alerts: each worklist reason as an event that a clinician can acknowledge.

Why an event and not just the reason: "item 9 positive" is true of a patient for as long as
their latest PHQ-9 says so, and it must stay on the list until someone has acted on it, yet
leave the list once someone has, and come back when a NEW score raises it again. So every
reason gets an event key naming what raised it (the PHQ-9, the infusion, the due date), and an
acknowledgement (kept in the SQLite store, `pipelines.store.acknowledgements`) closes the
alert of that key only.

- `alert_events`: per treated patient, the event each reason would be raised by (the keys the
  ingest stores, view `alert_event_keys`, plus the PHQ-9 due date the settings decide; cached
  per database version like every answer);
- `raised_alerts`: the worklist's raised reasons as a long table with their events;
- `open_worklist`: the worklist without the acknowledged alerts, item 9 first.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines import sql

from .frames import patient_rows
from .worklist import REASON_COLUMNS, REASON_LABELS

# Why the list is sorted so: an unacknowledged item-9 alert is a possible risk to life, so it
# stays at the top whatever else is on the list; then the patients with most reasons.
SORT_COLUMNS = ["item9_positive", "item9_unknown", "n_reasons", "patient_id"]
ALERT_COLUMNS = ["patient_id", "reason", "event_key", "raised_at"]
UNKEYED = "unknown"  # the event key of a raised reason whose event is not known


def alert_events(con, settings) -> pd.DataFrame:
    """The event behind each worklist reason, per treated patient.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database or an analytics snapshot.
    settings : Settings
        `settings.thresholds.phq9_overdue_days`.

    Returns
    -------
    pandas.DataFrame
        One row per patient with an infusion: `patient_id`, then for each reason column `r` of
        `worklist.REASON_COLUMNS` the pair `r_event` (text) and `r_raised_at` (timestamp):

        - item 9 positive / unanswered: ``PHQ-9 <assessment key>`` of the latest PHQ-9 (at a
          tie the most concerning item 9, as the `phq9_safety` view picks it), raised at its time;
        - reliable deterioration: ``<scale> at <time>`` of each deteriorated scale's latest
          follow-up (the scores it is judged on), raised at the latest of them;
        - not on track: ``PHQ-9 <assessment key>`` of the latest valid PHQ-9;
        - BP excursion, no PHQ-9 since the last infusion: ``infusion <session id>`` of the last
          infusion, raised at its start;
        - no baseline: ``first infusion <session id>``;
        - PHQ-9 overdue: ``due <date>``, the last day a PHQ-9 was in time (latest valid PHQ-9's
          date, else the first infusion's, + phq9_overdue_days), raised the day after.

        A pair is NULL where there is no such event (no PHQ-9, no deterioration).

    Notes
    -----
    A key changes only when a new event happens (a new PHQ-9, a new infusion, a new score on a
    deteriorated scale, a new due date after a new PHQ-9), so an acknowledgement of one key
    closes the alert until then. A re-exported record under the same id is the same event.

    References
    ----------
    The reasons' definitions: `pipelines.analytics.worklist.worklist` and docs/scoring.md.
    """
    return patient_rows(con, sql.read("analytics/alerts/events"), [settings.thresholds.phq9_overdue_days])


def raised_alerts(worklist: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """The worklist's raised reasons, one row per (patient, reason), with the event behind each.

    Parameters
    ----------
    worklist : pandas.DataFrame
        `worklist.worklist`'s frame (patient_id and the boolean reason columns).
    events : pandas.DataFrame
        `alert_events` of the same database.

    Returns
    -------
    pandas.DataFrame
        `patient_id`, `reason` (a reason column), `event_key`, `raised_at`, in the worklist's
        row order and the reasons' order. A raised reason always has an event key (a reason
        without its event would be a bug, so it is keyed UNKEYED (``unknown``) rather than
        dropped, and stays open).
    """
    keyed = events.set_index("patient_id")
    parts = []
    for reason in REASON_COLUMNS:
        ids = worklist.loc[worklist[reason].fillna(False).astype(bool), "patient_id"]
        # A reason events.sql does not key yet (a new one) still shows, keyed UNKEYED, and can
        # never be acknowledged (acknowledged_alerts), since that would close it for good;
        # test_alerts checks every reason has its event.
        part = keyed.reindex(ids).reindex(columns=[f"{reason}_event", f"{reason}_raised_at"])
        parts.append(pd.DataFrame({
            "patient_id": ids.to_numpy(), "reason": reason,
            "event_key": part[f"{reason}_event"].astype(object).fillna(UNKEYED).to_numpy(),
            "raised_at": pd.to_datetime(part[f"{reason}_raised_at"]).to_numpy(),
            "order": ids.index.to_numpy()}))
    frame = pd.concat(parts, ignore_index=True)
    return frame.sort_values("order", kind="stable").drop(columns="order").reset_index(drop=True)[ALERT_COLUMNS]


def acknowledged_alerts(raised: pd.DataFrame, acknowledgements: pd.DataFrame) -> pd.DataFrame:
    """The raised alerts with their latest acknowledgement of the same event (NaN where none).

    Parameters
    ----------
    raised : pandas.DataFrame
        `raised_alerts`.
    acknowledgements : pandas.DataFrame
        `store.acknowledgements.latest`: one row per (patient_id, reason, event_key).

    Returns
    -------
    pandas.DataFrame
        `raised`'s columns, `label` (the reason in words), then `acknowledged` (bool), `action`,
        `note`, `acknowledged_by`, `role`, `acknowledged_at`.
    """
    columns = ["patient_id", "reason", "event_key", "action", "note", "acknowledged_by", "role", "acknowledged_at"]
    acks = acknowledgements[columns] if len(acknowledgements) else pd.DataFrame(columns=columns)
    merged = raised.merge(acks.astype({"patient_id": object, "reason": object, "event_key": object}),
                          on=["patient_id", "reason", "event_key"], how="left")
    merged.loc[merged["event_key"] == UNKEYED, columns[3:]] = None  # never closed: see raised_alerts
    merged.insert(2, "label", merged["reason"].map(REASON_LABELS))
    merged.insert(5, "acknowledged", merged["acknowledged_at"].notna())
    return merged


def _without(worklist: pd.DataFrame, closed: pd.DataFrame) -> pd.DataFrame:
    """`worklist` with the (patient_id, reason) pairs of `closed` switched off, whole columns at
    a time (a clinic may have tens of thousands of acknowledged alerts): a row's phrases are its
    raised reasons in REASONS order, so flattening them lines up with the raised (row, reason)
    cells read row by row."""
    raised = worklist[list(REASON_COLUMNS)].fillna(False).to_numpy(dtype=bool)
    shut = np.zeros_like(raised)
    rows = pd.Index(worklist["patient_id"]).get_indexer(closed["patient_id"])
    columns = closed["reason"].map({reason: k for k, reason in enumerate(REASON_COLUMNS)}).to_numpy()
    known = (rows >= 0) & ~pd.isna(columns)
    shut[rows[known], columns[known].astype(int)] = True
    row_of, column_of = np.nonzero(raised)
    lists = pa.array(worklist["reasons"])
    lists = lists.combine_chunks() if isinstance(lists, pa.ChunkedArray) else lists
    phrases = pc.list_flatten(lists)
    if len(phrases) != len(row_of):
        raise ValueError("the worklist's phrases do not match its reason columns")
    keep = ~shut[row_of, column_of]
    counts = np.bincount(row_of[keep], minlength=len(worklist))
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]), type=pa.int32())
    frame = worklist.copy()
    kept = pa.ListArray.from_arrays(offsets, phrases.filter(pa.array(keep))).cast(lists.type)
    frame["reasons"] = pd.Series(pd.arrays.ArrowExtensionArray(kept), index=frame.index)
    for k, reason in enumerate(REASON_COLUMNS):
        frame[reason] = pd.Series(raised[:, k] & ~shut[:, k], index=frame.index).astype(worklist[reason].dtype)
    frame["n_reasons"] = pd.Series(counts, index=frame.index).astype(worklist["n_reasons"].dtype)
    return frame[frame["n_reasons"] > 0]


def open_worklist(worklist: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """The worklist without its acknowledged alerts, an open item-9 alert always first.

    Parameters
    ----------
    worklist : pandas.DataFrame
        `worklist.worklist`'s frame.
    alerts : pandas.DataFrame
        `acknowledged_alerts` of that worklist.

    Returns
    -------
    pandas.DataFrame
        The worklist's columns. For each acknowledged alert its reason column is False, its
        phrase is gone from `reasons` and `n_reasons` is one less; a patient with no open reason
        left is dropped. Sorted by open item 9 positive, then open item 9 unanswered, then the
        number of open reasons (most first), then patient id. `attrs` are kept.
    """
    closed = alerts.loc[alerts["acknowledged"], ["patient_id", "reason"]].drop_duplicates()
    frame = worklist
    if len(closed):
        frame = _without(worklist, closed)
    ordered = frame.sort_values(SORT_COLUMNS, ascending=[False, False, False, True], kind="stable")
    ordered = ordered.reset_index(drop=True)
    ordered.attrs = dict(worklist.attrs)
    return ordered
