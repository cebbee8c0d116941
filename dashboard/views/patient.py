"""Placeholder until the page lands."""

import streamlit as st

from dashboard.widgets import require_database

st.title("patient")
require_database()
