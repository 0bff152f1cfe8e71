"""AetherLink Ops Intelligence: triage, replay, anomaly detection and insights.

All logic lives in this package; nothing here imports Streamlit.
"""

__version__ = "0.1.0"
