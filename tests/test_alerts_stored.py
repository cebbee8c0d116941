"""The alert events read from the stored keys (view `alert_event_keys`, stored by the ingest in
schema `precomputed`) are exactly the events `alerts.alert_events` computed over the base tables
before the keys were stored (issue 18: the first Worklist after an ingest computed them over
every session and assessment, about 12 s at 1,000,000 patients).

The reference is the query as it stood before (`REFERENCE_SQL` below, kept here only as the
reference): on the committed sample, opened with the views computed and opened from the stored
tables, and for the default and another PHQ-9 overdue window, the two give the same columns and
the same rows, value for value. The events' hand-worked values are tests/test_alerts.py's."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.analytics.alerts import alert_events
from pipelines.analytics.frames import patient_rows
from pipelines.analytics.snapshot import open_snapshot, opened_from
from pipelines.settings import Settings, Thresholds

# alerts/events.sql before the keys were stored (commit bfba381), verbatim but for this comment.
REFERENCE_SQL = """
WITH alert_settings AS (
    SELECT ?::INTEGER AS phq9_overdue_days
),
treated AS (
    SELECT patient_id, min(started_at) AS first_infusion_at, max(started_at) AS last_infusion_at
    FROM sessions
    GROUP BY patient_id
),
infusion_ids AS (
    SELECT
        t.patient_id,
        string_agg(s.session_id, ', ' ORDER BY s.session_id) FILTER (WHERE s.started_at = t.first_infusion_at) AS first_ids,
        string_agg(s.session_id, ', ' ORDER BY s.session_id) FILTER (WHERE s.started_at = t.last_infusion_at) AS last_ids
    FROM treated AS t
    JOIN sessions AS s
      ON s.patient_id = t.patient_id AND (s.started_at = t.first_infusion_at OR s.started_at = t.last_infusion_at)
    GROUP BY t.patient_id
),
phq9 AS (
    SELECT
        patient_id,
        arg_max(assessment_key, {'at': administered_at,
                                 'concern': CASE WHEN item9_positive THEN 2 WHEN item9_positive IS NULL THEN 1 ELSE 0 END,
                                 'key': assessment_key}) AS latest_key,
        max(administered_at) AS latest_at,
        arg_max(assessment_key, {'at': administered_at, 'total': total, 'key': assessment_key})
            FILTER (WHERE total IS NOT NULL) AS latest_valid_key,
        max(administered_at) FILTER (WHERE total IS NOT NULL) AS latest_valid_at
    FROM assessments
    WHERE instrument = 'PHQ-9'
    GROUP BY patient_id
),
deterioration AS (
    SELECT
        patient_id,
        string_agg(instrument || ' at ' || strftime(latest_at, '%Y-%m-%d %H:%M'), '; ' ORDER BY instrument) AS scores,
        max(latest_at) AS raised_at
    FROM patient_outcomes
    WHERE reliable_deterioration
    GROUP BY patient_id
),
due AS (
    SELECT
        t.patient_id,
        coalesce(p.latest_valid_at::DATE, t.first_infusion_at::DATE) + w.phq9_overdue_days AS due_on
    FROM treated AS t
    CROSS JOIN alert_settings AS w
    LEFT JOIN phq9 AS p ON p.patient_id = t.patient_id
),
final AS (
    SELECT
        t.patient_id,
        'PHQ-9 ' || p.latest_key AS item9_positive_event,
        p.latest_at AS item9_positive_raised_at,
        'PHQ-9 ' || p.latest_key AS item9_unknown_event,
        p.latest_at AS item9_unknown_raised_at,
        d.scores AS reliable_deterioration_event,
        d.raised_at AS reliable_deterioration_raised_at,
        'PHQ-9 ' || p.latest_valid_key AS not_on_track_event,
        p.latest_valid_at AS not_on_track_raised_at,
        'infusion ' || i.last_ids AS bp_excursion_last_infusion_event,
        t.last_infusion_at AS bp_excursion_last_infusion_raised_at,
        'first infusion ' || i.first_ids AS no_baseline_event,
        t.first_infusion_at AS no_baseline_raised_at,
        'due ' || strftime(u.due_on, '%Y-%m-%d') AS phq9_overdue_event,
        (u.due_on + 1)::TIMESTAMP AS phq9_overdue_raised_at,
        'infusion ' || i.last_ids AS pre_infusion_phq9_missing_event,
        t.last_infusion_at AS pre_infusion_phq9_missing_raised_at
    FROM treated AS t
    JOIN infusion_ids AS i ON i.patient_id = t.patient_id
    JOIN due AS u ON u.patient_id = t.patient_id
    LEFT JOIN phq9 AS p ON p.patient_id = t.patient_id
    LEFT JOIN deterioration AS d ON d.patient_id = t.patient_id
)
SELECT * FROM final
"""

SETTINGS = [Settings(), Settings(thresholds=Thresholds(phq9_overdue_days=30))]


def by_patient(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("patient_id").reset_index(drop=True)


def reference(con, settings: Settings) -> pd.DataFrame:
    return by_patient(patient_rows(con, REFERENCE_SQL, [settings.thresholds.phq9_overdue_days]))


@pytest.fixture(scope="module")
def views(sample_database):
    """The sample as the views compute it (no stored tables read)."""
    connection = duckdb.connect(str(sample_database), read_only=True)
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def stored(sample_database):
    """The sample as the dashboard opens it: the stored tables named in place."""
    connection = open_snapshot(sample_database)
    assert opened_from(connection) == "stored"
    yield connection
    connection.close()


@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "overdue-30"])
@pytest.mark.parametrize("opened", ["views", "stored"])
def test_alert_events_equal_the_reference_row_for_row(opened, settings, request):
    con = request.getfixturevalue(opened)
    expected = reference(request.getfixturevalue("views"), settings)
    got = by_patient(alert_events(con, settings))
    pd.testing.assert_frame_equal(got, expected)


def test_the_sample_exercises_every_event(views):
    """The comparison means something: the sample has rows with and without each event."""
    frame = reference(views, Settings())
    assert len(frame) > 100
    for column in frame.columns:
        if column.endswith("_event"):
            assert frame[column].notna().any(), column
    assert frame["reliable_deterioration_event"].isna().any()
    assert frame["reliable_deterioration_event"].str.contains("; ").any()  # several scales at once


def test_the_stored_keys_are_the_views_rows(views, sample_database):
    """`precomputed.alert_event_keys` holds exactly the rows of the view, sorted by patient."""
    view = views.execute("SELECT * FROM main.alert_event_keys ORDER BY patient_id").fetchall()
    table = views.execute("SELECT * FROM precomputed.alert_event_keys").fetchall()
    assert table == view
