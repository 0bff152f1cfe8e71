"""Request and response models of the REST API: what the OpenAPI schema says.

Response models name every field a client can rely on; bodies assembled by the logic
packages may carry more (``extra="allow"``: they pass through, undocumented). Times are
RFC 3339 UTC strings. Every string is untrusted text, capped and with URL credentials
masked (``intel.api.serialize``).

Request text (ids, names, notes) is refused when it cannot be text in a store (a NUL
character, an unpaired surrogate such as JSON's ``"\\ud800"``): a 400 naming the field.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from intel.deliveries.caps import UNSTORABLE

# --- request text ------------------------------------------------------------------------

MAX_TEXT = 2048


def _text(value: str) -> str:
    if UNSTORABLE.search(value):
        raise PydanticCustomError(
            "bad_text", "not text: contains a NUL character or an unpaired surrogate"
        )
    return value


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT), AfterValidator(_text)]
Note = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_text)]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

OPERATOR_IGNORED = (
    "Ignored. The actor recorded in the audit trail is the bearer token's name; this field "
    "is still accepted so older clients keep working, but its value is never used."
)


class Body(BaseModel):
    """A response body assembled by the logic packages: documented fields, others pass."""

    model_config = ConfigDict(extra="allow")


# --- meta ----------------------------------------------------------------------------------


class Health(BaseModel):
    status: str = Field(..., description="`ok`")
    version: str


# --- deliveries and triage -----------------------------------------------------------------


class Triage(Body):
    category: str
    score: int = Field(..., ge=0, le=100)
    reason: str
    recommended_action: str


class DeliveryRow(Body):
    id: str
    tenant: str | None = None
    endpoint: str | None = Field(None, description="URL, credentials masked")
    event_type: str | None = None
    status: str | None = None
    http_status: int | None = None
    error: str | None = None
    response_headers: dict[str, Any] | None = None
    response_body: str | None = None
    attempts: int | None = None
    created_at: Timestamp | None = None
    last_attempt_at: Timestamp | None = None
    duration_ms: float | None = None


class DeliveryPage(Body):
    filter: dict[str, str] = Field(..., description="the filter applied, as URL parameters")
    total: int
    by_status: dict[str, int]
    page: int
    per_page: int
    note: str | None = None
    deliveries: list[DeliveryRow]


class Attempt(Body):
    attempt_no: int | None = None
    kind: str | None = None
    status: str | None = None
    http_status: int | None = None
    error: str | None = None
    response_headers: dict[str, Any] | None = None
    response_body: str | None = None
    duration_ms: float | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    operator: str | None = None
    job_id: str | None = None


class DeliveryDetail(DeliveryRow):
    payload: Any = None
    attempts_timeline: list[Attempt]
    triage: Triage


class TriageResult(Triage):
    id: str


class BatchRequest(BaseModel):
    ids: list[Text] = Field(..., max_length=100, description="at most 100 delivery ids")


class TriageBatch(BaseModel):
    results: list[TriageResult] = Field(..., description="the deliveries found, in id order "
                                                         "of the request")
    not_found: list[str] = Field(..., description="ids with no delivery (or one of a tenant "
                                                  "outside the token's tenants)")


# --- replay ---------------------------------------------------------------------------------


class AgeBucket(Body):
    bucket: str
    recommended: int
    analyzed: int


class AffectedEndpoint(Body):
    endpoint: str
    tenant: str | None = None
    failures: int
    recommended: int
    waiting: int
    by_decision: dict[str, int]
    last_success_at: Timestamp | None = None
    incident: str | None = None
    health: str | None = None
    health_note: str | None = None


class HeldBack(Body):
    id: str
    tenant: str | None = None
    endpoint: str | None = None
    category: str | None = None
    score: int | None = None
    decision: str
    reason: str | None = None
    not_before: Timestamp | None = None
    failed_at: Timestamp | None = None


class Breakdown(Body):
    by_category: dict[str, int]
    by_decision: dict[str, int]


class Advice(Body):
    recommended_ids: list[str]
    total_recommended: int
    total_analyzed: int
    confidence: str
    reasoning: str
    share_of_failures: float | None = None
    breakdown: Breakdown | None = None
    age_distribution: list[AgeBucket] = []
    affected_endpoints: list[AffectedEndpoint] = []
    affected_endpoints_total: int | None = None
    held_back: list[HeldBack] = []
    held_back_total: int | None = None
    tenant: str | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    generated_at: Timestamp | None = None


class JobRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "description": "Give either `ids` or `recommended: true`. " + OPERATOR_IGNORED})

    operator: Text | None = Field(None, description=OPERATOR_IGNORED, deprecated=True)
    ids: list[Text] | None = Field(None, max_length=10000,
                                   description="delivery ids (at most 10000); or use "
                                               "`recommended`")
    recommended: bool = Field(False, description="replay the advisor's recommendation now")
    tenant: Text | None = Field(None, description="with `recommended`: one tenant")
    since: Text | None = Field(None, description="with `recommended`: RFC 3339 or a "
                                                 "look-back such as 24h")
    resend_unknown: bool = Field(
        False, description="with `ids`: an operator's deliberate resend of deliveries whose "
        "earlier replay had an unknown outcome (same webhook-id); without it they are "
        "skipped. Check with the receiver first.")


class PreviewEndpoint(Body):
    endpoint: str
    tenant: str | None = None
    count: int


class Preview(Body):
    count: int
    endpoints: list[PreviewEndpoint]
    tenants: list[str]
    unknown_ids: list[str] = []
    to_send: int | None = None


class JobCreated(BaseModel):
    job_id: str
    preview: Preview
    poll: str = Field(..., description="where to follow it: `GET /replay/jobs/{job_id}`")


class JobNote(Body):
    endpoint: str | None = None
    state: str | None = None
    reason: str | None = None
    count: int


class JobProgress(Body):
    job_id: str
    status: str
    source: str | None = None
    created_by: str | None = None
    created_at: Timestamp | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    cancel_requested: bool | None = None
    stale: bool | None = None
    total: int
    done: int
    fraction: float
    counts: dict[str, int]
    notes: list[JobNote] = []


class JobItem(Body):
    id: str
    endpoint: str | None = None
    outcome: str
    http_status: int | None = None
    reason: str | None = None


class JobSummary(Body):
    job_id: str
    status: str
    total: int
    deliveries: list[JobItem] = []


class JobBody(BaseModel):
    progress: JobProgress
    summary: JobSummary | None = Field(None, description="with `items=true`: every item")


class CancelRequest(BaseModel):
    operator: Text | None = Field(None, description=OPERATOR_IGNORED, deprecated=True)


class Job(Body):
    id: str
    status: str
    source: str | None = None
    created_by: str | None = None
    created_at: Timestamp | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    cancel_requested: bool | None = None
    total: int | None = None


# --- anomalies ---------------------------------------------------------------------------


class Incident(Body):
    id: str
    type: str
    severity: str
    target: str | None = Field(None, description="tenant, endpoint URL (credentials "
                                                 "masked) or `*`")
    current_failures: int | None = None
    peak_failures: int | None = None
    baseline: float | None = None
    detected_at: Timestamp
    resolved_at: Timestamp | None = None
    status: str
    headline: str | None = None
    acknowledged_at: Timestamp | None = None
    acknowledged_by: str | None = None
    ack_note: str | None = None
    duration_s: float | None = None
    triage: Any = None


class ActiveIncidents(BaseModel):
    incidents: list[Incident]


class IncidentHistory(BaseModel):
    since: Timestamp
    incidents: list[Incident]


class AckRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"description": OPERATOR_IGNORED})

    operator: Text | None = Field(None, description=OPERATOR_IGNORED, deprecated=True)
    note: Note = Field("", description="why it is a known issue (audited)")


# --- insights --------------------------------------------------------------------------------


class InsightHeader(Body):
    period: str
    since: Timestamp
    until: Timestamp
    as_of: Timestamp


class EndpointInsight(Body):
    endpoint: str
    failures: int
    deliveries: int | None = None
    delivered: int | None = None
    pending: int | None = None
    success_rate: float | None = None
    previous_failures: int | None = None
    trend: str | None = None
    link: str | None = None


class EndpointsInsights(InsightHeader):
    trend_threshold: float | None = None
    endpoints: list[EndpointInsight]


class TenantInsight(Body):
    tenant: str
    failures: int
    previous_failures: int | None = None
    trend: str | None = None
    top_category: str | None = None
    top_category_failures: int | None = None
    categories: dict[str, int] = {}
    link: str | None = None


class TenantsInsights(InsightHeader):
    trend_threshold: float | None = None
    tenants: list[TenantInsight]


class OperatorInsight(Body):
    operator: str
    actions: int
    replays: int | None = None
    replay_succeeded: int | None = None
    replay_success_rate: float | None = None
    last_action_at: Timestamp | None = None


class HeatmapCell(Body):
    weekday: int
    day: str
    hour: int
    actions: int


class OperatorsInsights(InsightHeader):
    operators: list[OperatorInsight]
    heatmap: list[HeatmapCell]


class SystemHealth(InsightHeader):
    deliveries: dict[str, Any] = Field(..., description="counts and ratios over the "
                                                        "token's tenants")
    replays: dict[str, Any]
    triage_accuracy: dict[str, Any]
    incidents: dict[str, Any] = Field(..., description="incidents of the token's tenants; "
                                                       "platform-wide ones (bursts, shared "
                                                       "endpoints) only for an unrestricted "
                                                       "token")


class Recommendation(Body):
    rule: str
    subject: str | None = None
    target: str | None = None
    text: str
    evidence: str | None = None
    impact: float | None = None
    score: float | None = None
    link: str | None = None


class RecommendationsInsights(InsightHeader):
    recommendations: list[Recommendation]


class AdoptionInsights(InsightHeader):
    adoption: dict[str, Any]


# --- audit --------------------------------------------------------------------------------


class AuditEvent(Body):
    id: int
    at: Timestamp
    actor: str
    actor_kind: str | None = None
    action: str
    target_type: str | None = None
    target_id: str | None = None
    summary: str | None = None
    details: Any = None
    tenant: str | None = None


class AuditPage(BaseModel):
    total: int = Field(..., description="events matching, over every page")
    limit: int
    offset: int
    events: list[AuditEvent]


# --- triage accuracy and the model switch --------------------------------------------------

Share = Annotated[float, Field(ge=0, le=1)]


class CategoryFigures(Body):
    predicted: int = Field(..., description="deliveries predicted this category")
    support: int = Field(..., description="deliveries labelled this category")
    correct: int
    precision: Share | None = Field(None, description="null when none is predicted so")
    recall: Share | None = Field(None, description="null when none is labelled so")
    accepted_recall: Share | None = None


class LabelledPrediction(Body):
    id: str
    predicted: str
    score: int
    label: str
    acceptable: list[str] = []
    accepted_alternative: bool = False


class AcceptedAlternative(Body):
    label: str
    predicted: str = Field(..., description="an acceptable alternative the label lists")
    n: int


class CalibrationBand(Body):
    band: str = Field(..., description="score band, e.g. `90-100`")
    n: int
    correct: int
    accuracy: Share | None = None
    accepted_correct: int | None = None


class AccuracyWeek(Body):
    week: Timestamp = Field(..., description="Monday 00:00 UTC of the week labelled in")
    n: int
    correct: int
    accuracy: Share | None = None
    accepted_accuracy: Share | None = None
    safe_to_retry_false_positives: int


class FalsePositiveRow(LabelledPrediction):
    rule: str | None = None
    reason: str | None = None
    endpoint: str | None = Field(None, description="URL, credentials masked")
    http_status: int | None = None
    error: str | None = None
    body: str | None = Field(None, description="the start of the response body (capped)")
    labeler: str | None = None
    labeled_at: Timestamp | None = None
    origin: str | None = None


class OriginFigures(Body):
    origin: str = Field(..., description="`starter` (in-sample), `operator` or an "
                                         "imported file's name")
    in_sample: bool
    n: int
    strict_accuracy: Share | None = None
    accepted_accuracy: Share | None = None
    safe_to_retry_false_positives: int


class ModelApplies(Body):
    where: str
    uses_model: bool


class ModelStatus(Body):
    enabled: bool = Field(..., description="the \"Use model in triage\" switch")
    set_by: str | None = Field(None, description="who set the switch (null: the setting's "
                                                 "default applies)")
    set_at: Timestamp | None = None
    in_use: bool = Field(..., description="whether triage uses the model now")
    trained: bool
    trained_at: Timestamp | None = None
    labels_used: int | None = None
    comparison: dict[str, Any] | None = Field(
        None, description="rules, rules with the model and model alone on the same "
                          "held-out folds (strict accuracy, safe-to-retry false positives)")
    below_rules: bool | None = Field(None, description="switching on needs `confirmed`")
    folds: Any = None
    by_origin: Any = None
    applies_to: list[ModelApplies] = Field(..., description="where the switch changes what "
                                                            "the product says")


class TriageAccuracy(Body):
    """The rules' accuracy over the stored labels: the figures of the Accuracy page, the
    Insights gauge and `python -m intel triage evaluate` (one definition)."""

    as_of: Timestamp
    categories: list[str]
    n: int = Field(..., description="labelled deliveries scored")
    correct: int = Field(..., description="predicted category is the label")
    accuracy: Share | None = Field(None, description="strict accuracy (the gate's)")
    strict_accuracy: Share | None = None
    accepted_correct: int
    accepted_accuracy: Share | None = Field(
        None, description="the prediction is the label or an acceptable alternative")
    per_category: dict[str, CategoryFigures]
    confusion: dict[str, dict[str, int]] = Field(..., description="{label: {predicted: n}}")
    accepted_alternatives: list[AcceptedAlternative]
    safe_to_retry_false_positives: list[LabelledPrediction]
    safe_to_retry_false_positive_count: int
    calibration: list[CalibrationBand]
    gate_threshold: Share
    gate_basis: str = Field(..., description="`strict`")
    gate_passed: bool
    mistakes: list[LabelledPrediction]
    definitions: dict[str, str]
    by_week: list[AccuracyWeek]
    false_positive_rows: list[FalsePositiveRow]
    by_origin: list[OriginFigures]
    in_sample_labels: int = Field(..., description="labels from the starter set the rules "
                                                   "were written against")
    sample_note: str
    model: ModelStatus | None = Field(None, description="the model's state; null for a "
                                                        "token limited to tenants")


class ModelSwitchRequest(BaseModel):
    enabled: bool = Field(..., description="switch \"Use model in triage\" on or off")
    confirmed: bool = Field(False, description="switch on although the model scores below "
                                               "the rules (or was never compared with them)")
    note: Note | None = Field(None, description="why (audited)")


class ModelSwitched(BaseModel):
    model: ModelStatus
