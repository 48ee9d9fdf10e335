"""Kaowu (考务) core: models, services, imports, exports, analytics. No streamlit outside core/ui."""
