"""Dashboard pages, one script per page (run by `st.Page` from app.py). A package so the
import contracts (.importlinter) see the pages' imports too."""
