"""Readers turn one export format into canonical staged rows."""
