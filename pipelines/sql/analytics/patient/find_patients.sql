-- Patients whose id contains $text (patient.find_patients), at most $limit of them.
WITH matches AS (
    -- Case-insensitive substring of the id (contains(), not LIKE, so '%' and '_' typed by the
    -- user are plain characters). The exact id first, then ids starting with the text, then the
    -- rest, each in id order; only `limit` rows leave DuckDB.
    SELECT
        p.patient_id,
        p.primary_indication,
        p.site,
        p.clinician,
        CASE
            WHEN lower(p.patient_id) = lower($text) THEN 0
            WHEN starts_with(lower(p.patient_id), lower($text)) THEN 1
            ELSE 2
        END AS match_rank
    FROM patients AS p
    WHERE contains(lower(p.patient_id), lower($text))
    ORDER BY match_rank, p.patient_id
    LIMIT $limit
),
final AS (
    SELECT m.patient_id, m.primary_indication, m.site, m.clinician,
           coalesce(c.n_sessions, 0) AS n_infusions, c.last_session_at AS last_infusion_at, m.match_rank
    FROM matches AS m
    LEFT JOIN patient_cohorts AS c ON c.patient_id = m.patient_id
)
SELECT * FROM final
ORDER BY match_rank, patient_id
