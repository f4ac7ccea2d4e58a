"""Satu Data Banten public catalogue (Streamlit app)."""
