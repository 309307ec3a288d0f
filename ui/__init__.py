"""Streamlit-side glue shared by app.py and the pages: drawing only, no HTTP and no job-log access."""
