"""The only part of core that imports streamlit."""
