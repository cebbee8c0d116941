"""Infusion Outcomes pipelines: read clinic exports, score and validate them, load DuckDB."""
