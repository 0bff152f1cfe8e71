"""Triage options (owned by triage)."""

from pydantic import Field

from intel.settings._base import Section


class TriageSettings(Section):
    model_enabled: bool = Field(
        False, description="Blend the trained scikit-learn model into triage (operators opt in)."
    )
    model_path: str = Field(
        "data/models/triage_model.joblib", description="Where the trained model is saved."
    )
