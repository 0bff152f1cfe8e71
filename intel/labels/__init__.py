"""Operator labels and the accuracy of triage measured against them.

* ``store``: one label per delivery (create / update / delete / list), each change
  audited (``label.create``, ``label.update``, ``label.delete``) in its transaction;
* ``sampling`` / ``queue``: the labelling queue, recent unlabelled failures sampled
  stratified by predicted category plus low-confidence ones, deterministic for a seed;
* ``files``: CSV export/import (``delivery_id,category,note,labeler,labeled_at``) and the
  dev set's JSON Lines format (``python -m intel labels import|export``);
* ``accuracy``: the accuracy report over stored labels, scored by the one definition
  (``intel.triage.evaluate``: strict accuracy, accepted accuracy, precision / recall off
  the confusion matrix) that the page, the Insights gauge, the CLI and the API share; by
  week of labelling and by origin (``starter`` labels are in-sample for the rules), with
  every "safe to retry" false positive; ``accuracy_body``: the ``GET /triage/accuracy``
  body;
* ``modelstore``: the optional scikit-learn model trained on stored labels (compared
  with the rules on the same held-out folds), saved at ``triage.model_path`` with
  ``<stem>.meta.json``; ``switch_model``: the checked switch (confirmation when the model
  scores below the rules); ``triage_frame``: triage as the product applies it (rules,
  merged with the model only when it is switched on);
* ``flags``: the "Use model in triage" switch, stored in ``app_flags`` and audited
  (``triage.model.enable`` / ``triage.model.disable``), and ``MODEL_SWITCH_APPLIES``:
  where the product applies it.
"""
