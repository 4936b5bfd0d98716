"""Streamlit pages of Digit Studio (routed by ``app.py`` with ``st.navigation``)."""
