"""Streamlit-side helpers shared by pages (the only package besides views/ that imports st)."""
