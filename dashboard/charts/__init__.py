"""Chart builders: pure functions from DataFrames to Plotly figures. They never touch the
database or Streamlit, so each is unit-tested on a small frame."""
