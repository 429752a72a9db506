"""Offline training of the shipped text models (needs scikit-learn; never imported at runtime).

    python -m chalicelib.classify.training      # or: make models

Trains on ../shared/data/complaints/train.csv (real tweets to companies; complaint labels from
Preotiuc-Pietro et al. 2019, severity from the 2023 X-CI annotations), reports 5-fold
cross-validated scores, then fits on all of it and writes chalicelib/classify/models/*.json.gz:

- complaint: complaint vs not (binary);
- severity: 1 no explicit reproach, 2 disapproval, 3 accusation, 4 blame, trained on the
  complaints alone; the signal is 0 unless the complaint model says complaint, and its report
  scores exactly that two-step signal, 0 included;
- department: the fallback for mentions no rule decides, trained on labels derived from the
  same corpus (complaint → support, tweets not addressed to a company → ignore, positive
  non-complaints → marketing, other addressed non-complaints → support). It never sees the
  department dev set, so `switchboard eval` on that set stays an honest measurement.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

from chalicelib.classify import COMPLAINT_THRESHOLD
from chalicelib.classify.text_model import MODELS_DIR, preprocess, save_model
from chalicelib.evaluation import department_label, score

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
COMPLAINTS = DATA / "complaints" / "train.csv"
"""The labeled complaints corpus the shipped text models learn from."""
BLOCKS = (
    {"analyzer": "word", "ngram_range": (1, 2)},
    {"analyzer": "char_wb", "ngram_range": (2, 5)},
)
DIGITS = 5
C = {"complaint": 3.0, "severity": 0.3, "department": 3.0}
"""Inverse regularisation of each model, chosen by cross-validation (README, "Also tried"): the
severity model learns four levels from 725 complaints and does better held tighter."""
LEGENDS = {
    "complaint": "1 complaint, 0 not",
    "severity": "0 none, 1 no explicit reproach, 2 disapproval, 3 accusation, 4 blame"
    f" (as the worker computes it: 0 unless complaint >= {COMPLAINT_THRESHOLD})",
}


def load_complaints(path: Path = COMPLAINTS) -> list[dict[str, str]]:
    """The labeled complaints corpus."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def pipeline(c: float) -> Any:
    """TF-IDF word and character blocks, then a balanced logistic regression."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    vectorizers = [TfidfVectorizer(min_df=2, sublinear_tf=True, **block) for block in BLOCKS]
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    return make_pipeline(make_union(*vectorizers), model)


def export(fitted: Any) -> dict[str, Any]:
    """The fitted pipeline as a TextModel spec."""
    union, model = fitted.steps[0][1], fitted.steps[1][1]
    blocks, start = [], 0
    for (_, vectorizer), block in zip(union.transformer_list, BLOCKS, strict=True):
        vocab = vectorizer.vocabulary_
        coefs = model.coef_[:, start : start + len(vocab)]
        blocks.append(
            {
                **block,
                "vocab": {
                    term: [
                        round(float(vectorizer.idf_[i]), DIGITS),
                        [round(float(c), DIGITS) for c in coefs[:, i]],
                    ]
                    for term, i in vocab.items()
                },
            }
        )
        start += len(vocab)
    return {
        "classes": [c.item() if hasattr(c, "item") else c for c in model.classes_],
        "intercept": [round(float(b), DIGITS) for b in model.intercept_],
        "blocks": blocks,
    }


def folds() -> Any:
    """The 5 stratified folds every report uses."""
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(5, shuffle=True, random_state=0)


def cross_validate(texts: list[str], labels: list[Any], c: float) -> list[Any]:
    """5-fold stratified out-of-fold predictions."""
    from sklearn.model_selection import cross_val_predict

    return list(cross_val_predict(pipeline(c), texts, labels, cv=folds()))


def severity_as_shipped(texts: list[str], complaints: list[int], levels: list[int]) -> list[int]:
    """Out-of-fold severities computed as the worker does: 0 unless the complaint model gives
    at least COMPLAINT_THRESHOLD, else the level the complaints-only model prefers."""
    predicted = [0] * len(texts)
    for train, test in folds().split(texts, levels):
        complaint = pipeline(C["complaint"]).fit(
            [texts[i] for i in train], [complaints[i] for i in train]
        )
        graded = [i for i in train if levels[i]]
        level = pipeline(C["severity"]).fit([texts[i] for i in graded], [levels[i] for i in graded])
        held_out = [texts[i] for i in test]
        chances = complaint.predict_proba(held_out)[:, list(complaint.classes_).index(1)]
        for i, chance, guess in zip(test, chances, level.predict(held_out), strict=True):
            predicted[i] = int(guess) if chance >= COMPLAINT_THRESHOLD else 0
    return predicted


def main() -> int:
    """Report cross-validated scores (per class, with a confusion matrix), then fit on everything
    and write the artifacts."""
    rows = load_complaints()
    texts = [preprocess(row["text"]) for row in rows]
    complaints = [int(r["complaint"]) for r in rows]
    levels = [int(r["severity"]) for r in rows]
    departments = [department_label(r) for r in rows]
    graded = [i for i, level in enumerate(levels) if level]
    # name: gold labels, their out-of-fold predictions, and the rows the shipped model learns
    targets: dict[str, tuple[list[Any], list[Any], list[int]]] = {
        "complaint": (
            complaints,
            cross_validate(texts, complaints, C["complaint"]),
            list(range(len(rows))),
        ),
        "severity": (levels, severity_as_shipped(texts, complaints, levels), graded),
        "department": (
            departments,
            cross_validate(texts, departments, C["department"]),
            list(range(len(rows))),
        ),
    }
    MODELS_DIR.mkdir(exist_ok=True)
    print(f"{len(rows)} tweets from {COMPLAINTS}; 5-fold cross-validation")
    for name, (labels, predicted, learned) in targets.items():
        gold = [str(label) for label in labels]
        report = score(gold, [str(label) for label in predicted], sorted(set(gold)))
        print(f"\n{name}: {LEGENDS.get(name, '')}\n{report.format('predicted')}")
        fitted = pipeline(C[name]).fit([texts[i] for i in learned], [labels[i] for i in learned])
        path = MODELS_DIR / f"{name}.json.gz"
        save_model(export(fitted), path)
        print(f"{'':<11} wrote {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
