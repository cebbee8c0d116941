"""Streamlit dashboard for Infusion Outcomes."""
