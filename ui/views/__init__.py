"""Dashboard pages, one module each (run by st.navigation in ui/app.py)."""
