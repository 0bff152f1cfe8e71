"""Triage options: the model, the labelling queue and failure groups."""

from pydantic import Field

from intel.settings._base import Section


class TriageSettings(Section):
    model_enabled: bool = Field(
        False,
        description="Default of 'Use model in triage' until an operator sets it on the Accuracy "
        "page (their choice is stored in the database table app_flags and wins).",
    )
    model_path: str = Field(
        "data/models/triage_model.joblib",
        description="Where the trained model is saved (relative paths: from the repo root); its "
        "training metadata is written next to it as <stem>.meta.json.",
    )
    label_queue_size: int = Field(
        40, ge=1, le=1000, description="Deliveries in one labelling queue (Labels page)."
    )
    label_pool_size: int = Field(
        5000,
        ge=10,
        description="Most recent unlabelled failures the labelling queue samples from.",
    )
    label_low_confidence_below: int = Field(
        60,
        ge=1,
        le=100,
        description="A prediction scored below this is 'low confidence' in the labelling queue.",
    )
    label_low_confidence_share: float = Field(
        0.25,
        ge=0,
        le=1,
        description="Share of the labelling queue reserved for low-confidence predictions; the "
        "rest is stratified evenly across predicted categories.",
    )
    groups_body_prefix: int = Field(
        200,
        ge=20,
        le=4000,
        description="Characters of the response body that failure groups compare (and classify).",
    )
