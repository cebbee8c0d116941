-- The reference tables the outcome views read their thresholds from: the instrument registry
-- (pipelines/instruments.py), its severity bands and accepted spellings, and the outcome
-- settings. Replaced on every initialisation, then filled by db.write_reference_tables, so SQL
-- and Python read the same single source.
CREATE OR REPLACE TABLE instruments (
    code VARCHAR, name VARCHAR, source VARCHAR, n_items BIGINT, n_columns BIGINT, item_min BIGINT,
    item_max BIGINT, max_missing BIGINT, total_max BIGINT, caseness_min BIGINT, response_drop_pct BIGINT,
    reliable_change BIGINT, remission_below BIGINT, remission_min_drop BIGINT, safety_item BIGINT,
    loinc_panel VARCHAR, loinc_total VARCHAR,
    display_name VARCHAR, page_order BIGINT);  -- how pages name and order the scale
CREATE OR REPLACE TABLE instrument_bands (code VARCHAR, band_order BIGINT, low BIGINT, high BIGINT, label VARCHAR);
CREATE OR REPLACE TABLE instrument_aliases (alias VARCHAR, code VARCHAR);
CREATE OR REPLACE TABLE outcome_settings (
    clinic_timezone VARCHAR, baseline_window_days BIGINT, induction_sessions BIGINT,
    after_induction_before_session BIGINT, max_days_before_intake BIGINT);
