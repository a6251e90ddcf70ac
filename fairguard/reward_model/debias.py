"""A bag-of-words bias model for product-of-experts training (Clark et al., 2019, "Don't Take
the Easy Way Out"; He et al., 2019).

The synthetic answers can largely be told apart by their words alone: a TF-IDF logistic
regression over word uni- and bigrams ranks the default build's held-out fair and biased
answers at ROC-AUC 0.89 (docs/judge-runs.md, sixteenth run), learning that "hate" marks a fair
answer (counter-speech says "spreading hate") and "are" or "they" a biased one. A judge that
learns the same shortcuts fails on text nobody here wrote.

Product of experts: the fairness head is trained on ``main logit + scale x bias logit``, where
the bias logit is this word model's out-of-fold prediction for the example; the judge is then
used alone. Examples the word model already gets right contribute little gradient, so the judge
learns what words alone cannot tell.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from fairguard.errors import DataError

log = logging.getLogger("fairguard")

BOW_FOLDS = 5
BOW_C = 1.0  # inverse L2 strength of the word model's logistic regression


def bow_bias_logits(responses: Sequence[str], labels: np.ndarray, groups: Sequence[int],
                    seed: int, folds: int = BOW_FOLDS) -> tuple[np.ndarray, dict[str, Any]]:
    """Out-of-fold logits of a word uni/bigram logistic regression for each response's binary
    ``labels`` (NaN = unlabelled: logit 0). ``groups`` keeps a row's answers in one fold, so no
    answer is scored by a model that saw its twin. Returns ``(logits, report)``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    labels = np.asarray(labels, dtype=float)
    known = np.flatnonzero(~np.isnan(labels))
    y = labels[known].astype(int)
    if len(known) < 2 * folds or len(set(y.tolist())) < 2:
        raise DataError(f"the bag-of-words bias model needs fair and biased answers in at least "
                        f"{2 * folds} labelled training pairs, got {len(known)}; turn "
                        "--debias-bow off for this data")
    texts = [responses[int(i)] for i in known]
    group_ids = np.asarray(groups)[known]
    features = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit_transform(texts)
    logits = np.zeros(len(labels), dtype=np.float32)
    out_of_fold = np.zeros(len(known))
    n_folds = min(folds, len(set(group_ids.tolist())))
    for train_idx, test_idx in GroupKFold(n_splits=n_folds).split(features, y, group_ids):
        if len(set(y[train_idx].tolist())) < 2:
            continue  # a fold with one label gives no word model; its answers keep logit 0
        model = LogisticRegression(C=BOW_C, max_iter=2000, random_state=seed)
        model.fit(features[train_idx], y[train_idx])
        out_of_fold[test_idx] = model.decision_function(features[test_idx])
    logits[known] = out_of_fold
    report = {"examples": int(len(known)), "folds": n_folds,
              "out_of_fold_roc_auc": float(roc_auc_score(y, out_of_fold)),
              "features": int(features.shape[1])}
    log.info("bag-of-words bias model: out-of-fold ROC-AUC %.3f on %d labelled answers",
             report["out_of_fold_roc_auc"], len(known))
    return logits, report


__all__ = ["BOW_C", "BOW_FOLDS", "bow_bias_logits"]
