"""Triage accuracy over the stored labels, and the "Use model in triage" switch.

``GET /triage/accuracy`` (permission ``read``) answers ``intel.labels.accuracy.
accuracy_body``: the one accuracy, the same figures as the Accuracy page, the Insights
gauge and ``python -m intel triage evaluate`` for the same labels. A token limited to
tenants is scored on its tenants' labels only and gets no ``model`` (the model is
platform-wide).

``PUT /triage/model`` (permission ``model.switch``: admin) switches the model on or off
through ``intel.labels.modelstore.switch_model``, audited with the token's name: a 409
when there is no trained model, or when it scores below the rules (or was never compared
with them) and ``confirmed`` is not true — the message gives the figures.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy import Engine

from intel.api import deps
from intel.api.auth import require
from intel.api.errors import ApiError, responses
from intel.api.models import ModelSwitched, ModelSwitchRequest, TriageAccuracy
from intel.api.serialize import to_json
from intel.auth import Identity
from intel.labels.accuracy import accuracy_body
from intel.labels.modelstore import (
    ConfirmationNeeded,
    ModelSwitchError,
    model_status,
    switch_model,
)
from intel.settings import get_settings

router = APIRouter(tags=["triage"])


@router.get("/triage/accuracy", response_model=TriageAccuracy,
            responses=responses(400, 401, 403))
def triage_accuracy(who: Identity = Depends(require("read")),
                    engine: Engine = Depends(deps.engine)) -> dict:
    """The rules' accuracy over the labels given so far (of the token's tenants'
    deliveries): strict accuracy (the rollout gate's), accepted accuracy, precision and
    recall per category, the confusion matrix, the "safe to retry" false positives, by
    week and by origin, and whether the figures are in-sample. `model` (the switch and
    the model's comparison with the rules) only for a token without a tenant limit."""
    model = None
    if who.scope.unrestricted:
        with engine.connect() as conn:
            model = model_status(conn, get_settings().triage)
    return to_json(accuracy_body(engine, now=deps.now(), scope=who.scope, model=model))


@router.put("/triage/model", response_model=ModelSwitched,
            responses=responses(400, 401, 403, 409, 413, 422))
def switch_triage_model(request: ModelSwitchRequest,
                        who: Identity = Depends(require("model.switch")),
                        engine: Engine = Depends(deps.engine)) -> dict:
    """Switch "Use model in triage" on or off (audited as the token's name). Switching
    on needs a trained model (409 otherwise); one that scores below the rules on the
    same held-out folds, or was never compared with them, also needs `confirmed: true`
    (409 with the figures otherwise). Switching off is always allowed."""
    settings = get_settings().triage
    try:
        with engine.begin() as conn:
            switch_model(conn, request.enabled, actor=who.name, now=deps.now(),
                         model_path=settings.model_path, confirmed=request.confirmed,
                         note=request.note)
    except ConfirmationNeeded as exc:
        raise ApiError(409, str(exc), where="body.confirmed") from None
    except ModelSwitchError as exc:  # no trained model
        raise ApiError(409, str(exc)) from None
    with engine.connect() as conn:
        return to_json({"model": model_status(conn, settings)})
