"""Cohorts: which patients a question is about, and how they are grouped.

A cohort is a filter over the `patient_cohorts` view (one row per treated patient): date
range of the first infusion, site, clinician, primary indication, route, sex, age band and
dose band. Grouping is by any of the same attributes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace

from .. import sql

# Attributes of `patient_cohorts` a result may be grouped by.
GROUPABLE = ("site", "clinician", "primary_indication", "route", "sex", "age_band", "dose_band", "start_month")


@dataclass(frozen=True)
class CohortFilter:
    """Empty tuples and None mean "no restriction"."""

    start_from: dt.date | None = None  # first infusion on or after
    start_to: dt.date | None = None  # first infusion on or before
    sites: tuple[str, ...] = ()
    clinicians: tuple[str, ...] = ()
    indications: tuple[str, ...] = ()
    routes: tuple[str, ...] = ()
    sexes: tuple[str, ...] = ()
    age_bands: tuple[str, ...] = ()
    dose_bands: tuple[str, ...] = ()
    # Treatment status on `status_as_of` (docs/analytics.md, "Treatment status"; the rule is the
    # SQL macro `treatment_status`, its numbers `status_days`: induction sessions, paused after,
    # ended after). Build these with `treatment_status.status_filter`, which reads the settings.
    statuses: tuple[str, ...] = ()
    status_as_of: dt.date | None = None
    status_days: tuple[int, int, int] = (6, 63, 90)

    def where(self, alias: str = "c") -> tuple[str, list]:
        """A SQL condition over `patient_cohorts AS {alias}` and its parameters."""
        columns = FILTER_COLUMNS
        clauses, params = ["true"], []
        if self.start_from:
            clauses.append(f"{alias}.first_session_at::DATE >= ?")
            params.append(self.start_from)
        if self.start_to:
            clauses.append(f"{alias}.first_session_at::DATE <= ?")
            params.append(self.start_to)
        for field in fields(self):
            values = getattr(self, field.name)
            if field.name in columns and values:
                clauses.append(f"{alias}.{columns[field.name]} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.statuses:
            if self.status_as_of is None:
                raise ValueError("a treatment-status filter needs the day it is judged on (status_as_of)")
            # One expression over the cohort row; the discharge date is read from `patients`
            # (a database written by an older version has it as NULL: db.shadow_missing_columns).
            discharge = f"(SELECT p.discharge_date FROM patients AS p WHERE p.patient_id = {alias}.patient_id)"
            clauses.append(f"treatment_status({alias}.n_sessions, {alias}.last_session_at, {discharge}, ?::DATE, "
                           f"?, ?, ?) IN ({', '.join('?' * len(self.statuses))})")
            params.extend([self.status_as_of, *self.status_days, *self.statuses])
        return " AND ".join(clauses), params


# Treatment statuses (docs/analytics.md, "Treatment status"; treatment_status.py), in the order of a course.
STATUSES = ("in induction", "in maintenance", "paused", "ended")
# Patients a clinician expects to see: the worklist's default.
IN_TREATMENT = ("in induction", "in maintenance")


def status_days(settings) -> tuple[int, int, int]:
    """The rule's numbers from the settings: induction sessions, paused after, ended after (days)."""
    return (settings.induction_sessions, settings.treatment.paused_after_days, settings.treatment.ended_after_days)


def status_filter(cohort: CohortFilter, settings, as_of: dt.date, statuses: tuple[str, ...]) -> CohortFilter:
    """`cohort` narrowed to patients whose treatment status on `as_of` is one of `statuses`
    (no narrowing when `statuses` is empty). Unknown statuses are refused."""
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ValueError(f"unknown treatment status {unknown}; choose from {STATUSES}")
    if not statuses:
        return cohort
    return replace(cohort, statuses=tuple(statuses), status_as_of=as_of, status_days=status_days(settings))


def check_group_by(group_by: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Refuse anything but the known attributes (they are put into SQL as names)."""
    unknown = [g for g in group_by if g not in GROUPABLE]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {GROUPABLE}")
    return tuple(group_by)


def cohort_select(cohort: CohortFilter, group_by: tuple[str, ...]) -> tuple[str, list]:
    """SELECT over `patient_cohorts AS c`: the cohort's treated patients with their infusion
    count and grouping attributes, and its parameters. `group_by` must have passed
    `check_group_by` (the names go into SQL)."""
    where, params = cohort.where("c")
    attributes = "".join(f", c.{name}" for name in group_by)
    return f"SELECT c.patient_id, c.n_sessions{attributes} FROM patient_cohorts AS c WHERE {where}", params


def cohort_join(cohort: CohortFilter, group_by: tuple[str, ...], rows: str) -> str:
    """How a query joins its per-patient rows (alias `rows`) to the CTE `cohort` (from
    `cohort_select`): a JOIN, or nothing when the question is about the whole clinic
    ungrouped. Every patient in the analytics views has been treated, hence is in
    `patient_cohorts`, so the join would keep every row; skipping it saves a hash join over
    a million score rows on a 200,000-patient clinic."""
    if cohort == CohortFilter() and not group_by:
        return ""
    return f"JOIN cohort AS c ON c.patient_id = {rows}.patient_id"


def group_fragments(group_by: tuple[str, ...]) -> dict[str, str]:
    """`group_columns` (leading select items, each followed by a comma) and `order_by` for a
    GROUP BY ALL query; both empty when ungrouped. `group_by` must have passed `check_group_by`."""
    if not group_by:
        return {"group_columns": "", "order_by": ""}
    return {"group_columns": "".join(f"{name}, " for name in group_by),
            "order_by": "ORDER BY " + ", ".join(f"{name} NULLS LAST" for name in group_by)}


def cohort_query(name: str, cohort: CohortFilter, group_by: tuple[str, ...] | list[str] = (), rows: str = "o",
                 **fragments: str) -> tuple[str, list]:
    """The query `sql/<name>.sql` for this cohort and grouping, and the cohort's parameters
    (which come first: `{{cohort}}` must be the query's first CTE).

    The one place a cohort filter becomes SQL. A query file may use these placeholders:

    - `{{cohort}}`: the CTE `cohort` (`cohort_select`: the cohort's treated patients, their
      infusion count and grouping attributes);
    - `{{cohort_join}}`: joins the per-patient rows aliased `rows` to `cohort AS c`, or nothing
      for the whole clinic ungrouped (see `cohort_join`);
    - `{{group_columns}}`, `{{order_by}}`: the grouping attributes (`group_fragments`);
    - any other placeholder, given in `fragments`.
    """
    group_by = check_group_by(group_by)
    select, params = cohort_select(cohort, group_by)
    available = {"cohort": f"cohort AS (\n    {select}\n)", "cohort_join": cohort_join(cohort, group_by, rows),
                 **group_fragments(group_by), **fragments}
    wanted = sql.placeholders(sql.read(name))
    return sql.render(name, **{key: value for key, value in available.items() if key in wanted}), params


def step(name: str, query: str, **fragments: str) -> str:
    """The query `sql/<query>.sql` as the step (CTE) `name` of another query, followed by its comma.

    How two queries share one piece of SQL (the `judged` outcomes of `outcomes`, the per-patient
    times of `survival`) without a copy: the piece is a query file of its own, and the including
    file holds a placeholder `{{name}}` on its own line between two steps (after `{{cohort}},`).
    The comma comes with the step, so the including file still parses with the placeholder
    empty (tests/test_sql_style.py). The step's parameters come after the cohort's.
    """
    return f"{name} AS (\n{sql.render(query, **fragments)}\n),"


# Filterable attributes of `patient_cohorts`, by CohortFilter field.
FILTER_COLUMNS = {
    "sites": "site", "clinicians": "clinician", "indications": "primary_indication", "routes": "route",
    "sexes": "sex", "age_bands": "age_band", "dose_bands": "dose_band",
}


def cohort_options(con) -> dict:
    """What a cohort can be filtered on in this clinic: for each CohortFilter field, the values
    present (sorted, missing values left out), plus `first_start` and `last_start`, the dates of
    the earliest and latest first infusion (None without patients)."""
    selects = ", ".join(f"list(DISTINCT {column} ORDER BY {column}) FILTER (WHERE {column} IS NOT NULL)"
                        for column in FILTER_COLUMNS.values())
    row = con.execute(f"SELECT {selects}, min(first_session_at)::DATE, max(first_session_at)::DATE "
                      f"FROM patient_cohorts").fetchall()[0]
    options = {field: list(values or []) for field, values in zip(FILTER_COLUMNS, row)}
    options["first_start"], options["last_start"] = row[-2], row[-1]
    return options
