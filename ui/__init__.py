"""The Streamlit dashboard marketing watches all day."""
