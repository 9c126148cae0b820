"""Build `bot/shadow_data/model.json` from the training part of the labelled messages (issue 17).

    .venv/bin/python -m bot.shadow_build            # rewrite the shipped model
    .venv/bin/python -m bot.shadow_build --check    # exit 1 when the shipped model is not what this builds

Every choice is made on the **training part only** (see `bot/shadow_data/README.md`): the regularisation
strength is the one with the best recall in 5-fold cross-validation on the training part at a threshold set
from those out-of-fold scores so that at most `MAX_OOF_FALSE_POSITIVES` (0.5%) of the training chatter would
have been answered — erring towards silence, because a bot that replies to
ordinary chatter gets removed from channels. The final model is then fitted on the whole training part.

Needs scikit-learn (the `train` extra, also in `test`); the bot itself never imports this module. The result
is deterministic: a fixed fold seed, the deterministic liblinear solver, features in sorted order, and
weights rounded to `DIGITS` decimals, so a rebuild on another machine gives the same file.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot import shadow_corpus
from bot.shadow_corpus import Example
from bot.shadow_model import FORMAT, MODEL_FILE, AskModel, features, word_classes

C_GRID = (3.0, 10.0, 30.0, 100.0, 300.0)
FOLDS = 5
SEED = 17
MAX_OOF_FALSE_POSITIVES = 0.005  # at most 1 in 200 of the training chatter, out of fold
DIGITS = 5
MIN_WEIGHT = 10**-DIGITS

SHIPPED = Path(__file__).resolve().parent / "shadow_data" / MODEL_FILE


def _fit(rows: Sequence[dict[str, float]], labels: Sequence[int], c: float) -> tuple[dict[str, float], float]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer(sort=True)
    matrix = vectorizer.fit_transform(rows).tocsr()
    matrix.indices, matrix.indptr = matrix.indices.astype("int32"), matrix.indptr.astype("int32")  # liblinear's
    model = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=SEED)
    model.fit(matrix, list(labels))
    weights = dict(zip(vectorizer.get_feature_names_out(), (float(w) for w in model.coef_[0]), strict=True))
    return weights, float(model.intercept_[0])


def _logit(weights: dict[str, float], bias: float, row: dict[str, float]) -> float:
    return bias + sum(weights.get(name, 0.0) * value for name, value in row.items())


def out_of_fold(rows: Sequence[dict[str, float]], labels: Sequence[int], c: float) -> list[float]:
    """Each training message scored by a model fitted on the other folds."""
    from sklearn.model_selection import StratifiedKFold

    scores = [0.0] * len(rows)
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=SEED)
    for fit_on, score_on in folds.split(list(range(len(rows))), list(labels)):
        weights, bias = _fit([rows[i] for i in fit_on], [labels[i] for i in fit_on], c)
        for i in score_on:
            scores[i] = _logit(weights, bias, rows[i])
    return scores


def threshold_for(scores: Sequence[float], labels: Sequence[int]) -> float:
    """The lowest logit (at `DIGITS` decimals) that answers at most MAX_OOF_FALSE_POSITIVES of the chatter:
    just above the score of the first chatter message past that allowance."""
    negatives = sorted((s for s, y in zip(scores, labels, strict=True) if y == 0), reverse=True)
    allowed = math.floor(MAX_OOF_FALSE_POSITIVES * len(negatives))
    first_refused = negatives[min(allowed, len(negatives) - 1)]
    return math.floor(first_refused * 10**DIGITS + 1) / 10**DIGITS


def _recall(scores: Sequence[float], labels: Sequence[int], threshold: float) -> float:
    hits = [s >= threshold for s, y in zip(scores, labels, strict=True) if y == 1]
    return sum(hits) / len(hits)


def build(train: Sequence[Example] | None = None) -> dict[str, Any]:
    """The model file's content, from the training part (or `train`, for tests)."""
    train = list(train if train is not None else shadow_corpus.examples("train"))
    classes = word_classes()
    rows = [features(e.text, classes) for e in train]
    labels = [int(e.is_ask) for e in train]
    cross_validated = []
    for c in C_GRID:
        scores = out_of_fold(rows, labels, c)
        threshold = threshold_for(scores, labels)
        cross_validated.append((_recall(scores, labels, threshold), -c, c, threshold))
    recall, _, c, threshold = max(cross_validated)
    weights, bias = _fit(rows, labels, c)
    kept = {name: round(w, DIGITS) for name, w in sorted(weights.items()) if abs(w) >= MIN_WEIGHT}
    return {
        "format": FORMAT,
        "bias": round(bias, DIGITS),
        "threshold": round(threshold, DIGITS),
        "meta": {
            "trained_on": {"asks": sum(labels), "chatter": len(labels) - sum(labels)},
            "C": c,
            "cross_validated_recall": round(recall, 4),
            "cross_validation": [
                {"C": cv_c, "recall": round(r, 4), "threshold": round(t, DIGITS)} for r, _, cv_c, t in cross_validated
            ],
        },
        "weights": kept,
    }


def dumps(model: dict[str, Any]) -> str:
    return json.dumps(model, indent=0, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.shadow_build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare with the shipped model")
    args = parser.parse_args(argv)
    text = dumps(build())
    AskModel.from_dict(json.loads(text))  # what the bot will load must load
    if args.check:
        same = SHIPPED.exists() and SHIPPED.read_text(encoding="utf-8") == text
        print("shipped model is up to date" if same else f"{SHIPPED} differs from what the build produces")
        return 0 if same else 1
    SHIPPED.write_text(text, encoding="utf-8")
    print(f"wrote {SHIPPED} ({len(json.loads(text)['weights'])} weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
