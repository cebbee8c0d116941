"""Alert identity (pipelines/analytics/alerts.py): every worklist reason carries the event that
raised it, and an acknowledged event closes exactly that alert, on the worklist's hand-made
clinic (tests/test_analytics_worklist.py's table, as of Friday 29 May 2026).

Hand-worked events (the keys follow alerts.alert_events' docstring):

| patient  | reason                      | event                                   | raised           |
|----------|-----------------------------|-----------------------------------------|------------------|
| I9       | item 9 positive             | the incomplete PHQ-9 of 20 May 08:40    | 2026-05-20 08:40 |
| I9UNK    | item 9 unanswered           | PHQ-9 I9UNK-last (20 May 08:30)         | 2026-05-20 08:30 |
| DET      | reliable deterioration      | its PHQ-9 follow-up of 20 May 08:30     | 2026-05-20 08:30 |
| SEVERAL  | reliable deterioration      | GAD-7 12 on 20 May (8 -> 12)            | 2026-05-20 08:30 |
| BP       | BP excursion                | its last infusion, BP-S6, 20 May 09:00  | 2026-05-20 09:00 |
| NOBASE   | no baseline                 | its first infusion, NOBASE-S0, 6 Apr    | 2026-04-06 09:00 |
| OVERDUE  | PHQ-9 overdue               | last valid PHQ-9 14 May + 14 = due 28 May, overdue from 29 May |
| ACTIVE28 | PHQ-9 overdue               | last valid PHQ-9 17 Apr + 14 = due 1 May                        |
| MANY     | PHQ-9 overdue               | no PHQ-9: first infusion 6 Apr + 14 = due 20 Apr                |
| MID      | no PHQ-9 since last infusion| its last infusion MID-S2, 29 May 09:00  | 2026-05-29 09:00 |
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from test_analytics_worklist import AS_OF, build_clinic
from pipelines.analytics import worklist as worklist_module
from pipelines.analytics.alerts import acknowledged_alerts, alert_events, open_worklist, raised_alerts
from pipelines.analytics.worklist import REASON_COLUMNS, worklist
from pipelines.settings import Settings

SETTINGS = Settings()
T = dt.datetime.fromisoformat


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    clinic = build_clinic(tmp_path_factory.mktemp("alerts"))
    connection = clinic.connect()
    yield connection
    connection.close()


@pytest.fixture
def listed(con, monkeypatch):
    """The worklist as of 29 May with nobody behind the expected course (that reason has its
    own test), and its raised alerts."""
    monkeypatch.setattr(worklist_module, "_not_on_track_ids",
                        lambda con, settings: pd.DataFrame({"patient_id": []}, dtype=str))
    frame = worklist(con, SETTINGS, as_of=AS_OF)
    events = alert_events(con, SETTINGS)
    return frame, raised_alerts(frame, events), events


def event(raised, patient_id, reason):
    rows = raised[(raised["patient_id"] == patient_id) & (raised["reason"] == reason)]
    assert len(rows) == 1, rows
    return rows.iloc[0]["event_key"], pd.Timestamp(rows.iloc[0]["raised_at"]).to_pydatetime()


NO_ACKS = pd.DataFrame(columns=["patient_id", "reason", "event_key", "action", "note", "acknowledged_by", "role",
                                "acknowledged_at"])


def acks(*alerts):
    return pd.DataFrame([{"patient_id": p, "reason": r, "event_key": k, "action": "contacted patient", "note": "",
                          "acknowledged_by": "dr@clinic", "role": "clinician", "acknowledged_at": "2026-05-29T10:00:00+00:00"}
                         for p, r, k in alerts])


@pytest.mark.parametrize("patient_id, reason, key, raised_at", [
    ("I9", "item9_positive", "PHQ-9 I9-incomplete", T("2026-05-20T08:40")),
    ("I9UNK", "item9_unknown", "PHQ-9 I9UNK-last", T("2026-05-20T08:30")),
    ("DET", "reliable_deterioration", "PHQ-9 at 2026-05-20 08:30", T("2026-05-20T08:30")),
    ("SEVERAL", "reliable_deterioration", "GAD-7 at 2026-05-20 08:30", T("2026-05-20T08:30")),
    ("SEVERAL", "item9_positive", "PHQ-9 SEVERAL-2026-05-20T08:30:00", T("2026-05-20T08:30")),
    ("BP", "bp_excursion_last_infusion", "infusion BP-S6", T("2026-05-20T09:00")),
    ("NOBASE", "no_baseline", "first infusion NOBASE-S0", T("2026-04-06T09:00")),
    ("OVERDUE", "phq9_overdue", "due 2026-05-28", T("2026-05-29T00:00")),
    ("ACTIVE28", "phq9_overdue", "due 2026-05-01", T("2026-05-02T00:00")),
    ("MANY", "phq9_overdue", "due 2026-04-20", T("2026-04-21T00:00")),
    ("MANY", "bp_excursion_last_infusion", "infusion MANY-S6", T("2026-05-20T09:00")),
    ("MID", "pre_infusion_phq9_missing", "infusion MID-S2", T("2026-05-29T09:00")),
])
def test_each_raised_reason_names_the_event_that_raised_it(listed, patient_id, reason, key, raised_at):
    assert event(listed[1], patient_id, reason) == (key, raised_at)


def test_every_worklist_reason_has_its_event(con):
    """A reason added to worklist.REASONS needs its event in sql/analytics/alerts/events.sql."""
    columns = set(alert_events(con, SETTINGS).columns)
    assert {f"{reason}_{part}" for reason in REASON_COLUMNS for part in ("event", "raised_at")} <= columns


def test_one_alert_per_raised_reason_and_none_for_others(listed):
    frame, raised, _ = listed
    assert len(raised) == int(frame[list(REASON_COLUMNS)].sum().sum())
    assert not raised["event_key"].isin(["unknown"]).any() and raised["event_key"].notna().all()
    assert set(raised["patient_id"]) == set(frame["patient_id"])


def test_without_acknowledgements_only_the_order_changes_item9_first(listed):
    frame, raised, _ = listed
    opened = open_worklist(frame, acknowledged_alerts(raised, NO_ACKS))
    assert sorted(opened["patient_id"]) == sorted(frame["patient_id"])
    # I9 has one reason, MANY three: the open item-9 alert still comes first
    order = opened["patient_id"].tolist()
    assert order[:3] == ["SEVERAL", "I9", "I9UNK"] and order.index("I9") < order.index("MANY")
    assert opened.attrs["as_of"] == AS_OF


def test_an_acknowledged_alert_leaves_the_list_and_the_patient_stays_for_the_others(listed):
    frame, raised, _ = listed
    alerts = acknowledged_alerts(raised, acks(("SEVERAL", "item9_positive", "PHQ-9 SEVERAL-2026-05-20T08:30:00"),
                                              ("BP", "bp_excursion_last_infusion", "infusion BP-S6")))
    assert alerts["acknowledged"].sum() == 2
    opened = open_worklist(frame, alerts).set_index("patient_id")
    assert "BP" not in opened.index  # its only reason was acknowledged
    several = opened.loc["SEVERAL"]
    assert not several["item9_positive"] and several["n_reasons"] == 2
    assert list(several["reasons"]) == ["reliable deterioration since baseline: GAD-7",
                                        "BP excursion at last infusion (peak 185/100 mmHg)"]
    # no longer first: item 9 of I9 is open
    assert open_worklist(frame, alerts)["patient_id"].iloc[0] == "I9"


def test_a_reason_without_its_event_stays_open_even_when_acknowledged(listed):
    frame, raised, _ = listed
    unkeyed = raised_alerts(frame, alert_events_without("bp_excursion_last_infusion", listed))
    bp = unkeyed[unkeyed["reason"] == "bp_excursion_last_infusion"]
    assert set(bp["event_key"]) == {"unknown"} and bp["raised_at"].isna().all()
    alerts = acknowledged_alerts(unkeyed, acks(("BP", "bp_excursion_last_infusion", "unknown")))
    assert not alerts["acknowledged"].any()
    assert "BP" in set(open_worklist(frame, alerts)["patient_id"])


def alert_events_without(reason, listed):
    """The events as if events.sql did not key `reason` (a reason added later)."""
    return listed[2].drop(columns=[f"{reason}_event", f"{reason}_raised_at"])


def test_an_acknowledgement_of_another_event_does_not_close_the_alert(listed):
    frame, raised, _ = listed
    alerts = acknowledged_alerts(raised, acks(("I9", "item9_positive", "PHQ-9 I9-2026-05-17T08:30:00"),
                                              ("I9", "item9_unknown", "PHQ-9 I9-incomplete")))
    assert not alerts["acknowledged"].any()
    assert open_worklist(frame, alerts).set_index("patient_id").loc["I9", "item9_positive"]


def test_on_the_sample_each_row_keeps_exactly_the_phrases_of_its_open_reasons(sample):
    """Every other alert of the sample acknowledged: each row's phrases are its unacknowledged
    ones, in order, and its counts and columns agree (the columns-at-a-time rewrite)."""
    frame = worklist(sample, SETTINGS)
    raised = raised_alerts(frame, alert_events(sample, SETTINGS))
    closed = raised.iloc[::2]
    alerts = acknowledged_alerts(raised, acks(*closed[["patient_id", "reason", "event_key"]].itertuples(index=False)))
    opened = open_worklist(frame, alerts).set_index("patient_id")
    shut = set(zip(closed["patient_id"], closed["reason"]))
    for row in frame.itertuples():
        raised_reasons = [r for r in REASON_COLUMNS if getattr(row, r)]
        kept = [phrase for reason, phrase in zip(raised_reasons, row.reasons) if (row.patient_id, reason) not in shut]
        if not kept:
            assert row.patient_id not in opened.index
            continue
        now = opened.loc[row.patient_id]
        assert list(now["reasons"]) == kept and now["n_reasons"] == len(kept)
        assert sum(bool(now[r]) for r in REASON_COLUMNS) == len(kept)
    assert opened["item9_positive"].is_monotonic_decreasing
