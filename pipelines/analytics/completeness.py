"""Completeness: which loaded records miss a value an analysis uses.

Why a module of its own: a row that is incomplete is loaded, not quarantined (a patient without
an indication still counts in every outcome; an infusion without a dose still counts as an
infusion; docs/import-format.md, "Required and optional values"). The gap must then be visible
rather than silent: these questions list it by field, with counts and the records, for the Data
quality page and for the person who can complete the record at its source.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .. import sql
from .cohorts import step

# What each field's gap means for the analyses, in the words the Data quality page shows.
FIELD_EFFECTS = {
    ("patients", "primary_indication"): "indication unknown: in every outcome, left out when filtering by indication",
    ("patients", "intake_date"): "no intake date: the first infusion stands in",
    ("patients", "birth_year"): "age unknown: left out of age bands",
    ("patients", "sex"): "sex unknown",
    ("patients", "site"): "site unknown: left out when filtering or grouping by site",
    ("patients", "clinician"): "clinician unknown: left out when filtering or grouping by clinician",
    ("sessions", "route"): "route unknown: counts as an infusion, left out of analyses by route",
    ("sessions", "dose_mg"): "dose unknown: counts as an infusion, left out of dose analyses",
    ("sessions", "weight_kg"): "weight unknown: left out of dose per kg",
}


def missing_by_field(con: duckdb.DuckDBPyConnection, settings=None) -> pd.DataFrame:
    """How many loaded records miss each field an analysis uses.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used; taken for the common signature.

    Returns
    -------
    pandas.DataFrame
        One row per field, every field listed (0 where none is missing), patients' fields
        first: `kind` ("patients" or "sessions"), `field`, `n_records` (records of that kind),
        `n_missing`, `n_patients` (patients concerned), `share` (n_missing / n_records, NaN
        without records) and `effect` (what the gap means for the analyses).

    Notes
    -----
    A patient's sex counts as missing when blank or exported as "unknown". A blank adverse
    event or side-effect list means "none" and vitals are optional, so neither is listed.

    References
    ----------
    docs/import-format.md, "Required and optional values".
    """
    query = sql.render("analytics/completeness/missing_by_field",
                       missing=step("missing", "analytics/completeness/missing_values"))
    frame = con.execute(query).df().drop(columns="field_order")
    frame["share"] = (frame.n_missing / frame.n_records.where(frame.n_records > 0)).astype(float)
    frame["effect"] = [FIELD_EFFECTS[(kind, field)] for kind, field in zip(frame.kind, frame.field)]
    return frame


def incomplete_records(con: duckdb.DuckDBPyConnection, settings=None, fields: tuple[str, ...] = ()) -> pd.DataFrame:
    """The loaded records that miss a value, one row per record and missing field.

    Parameters
    ----------
    con : duckdb.DuckDBPyConnection
        The outcomes database (or a snapshot of it).
    settings : Settings, optional
        Not used; taken for the common signature.
    fields : tuple of str
        Only these fields (as in `missing_by_field`); all when empty.

    Returns
    -------
    pandas.DataFrame
        `kind`, `record_key` (patient or session id), `patient_id`, `field`, and where the
        record came from (`source_file`, `source_row`), so it can be completed at the source.
    """
    frame = con.execute(sql.read("analytics/completeness/missing_values")).df()
    if fields:
        frame = frame[frame.field.isin(fields)].reset_index(drop=True)
    return frame
