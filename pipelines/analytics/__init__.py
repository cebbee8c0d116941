"""Outcome analytics over the DuckDB views: one implementation that the dashboard, the
notebooks and the CLI all call, so every screen shows the same number for the same question.

Each function takes an open DuckDB connection, the settings and (where it applies) a
CohortFilter, and returns a pandas DataFrame with plain column names.
"""
