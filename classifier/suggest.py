"""Turning a petition text into a suggestion for the dispatcher: departments, nature, 发展, admissibility, terms."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier.model import ADMISSIBLE, FastTfidf, SuggestionModel
from classifier.places import locate
from classifier.screening import screen
from classifier.text import not_terms
from models.enums import InadmissibleCode, Nature

TOP_DEPARTMENTS = 3
TOP_TERMS = 5
# A word is shown as a reason only when its push towards the class is at least this share of the strongest word's:
# the long tail of small positive contributions is filler (晚上, 直接), not why the model chose the class.
TERM_SHARE = 0.2
# Negated words (不敢开, 没人管) say how the citizen feels, not which department the matter belongs to.
NEGATIONS = ("不", "没", "别", "未")
# The suggestion says 不确定 when the first department's probability is below UNCERTAIN_BELOW or leads the second
# by less than UNCERTAIN_MARGIN. Chosen on held-out predictions (classifier/README.md, "Confidence").
UNCERTAIN_BELOW = 0.5
UNCERTAIN_MARGIN = 0.2
# The model alone turns a petition away only when it is this sure; the rules decide the clear cases, and a
# false rejection costs a citizen more than a dispatcher rejecting by hand.
MODEL_REJECT_THRESHOLD = 0.6


@dataclass(frozen=True)
class Suggestion:
    """What the classifier suggests for one petition; `to_dict()` is its JSON form (stored on the petition)."""

    departments: list[tuple[str, float]]
    nature: str
    nature_score: float
    development: bool
    development_score: float
    admissible: bool
    inadmissible_code: str | None
    reason: str | None
    terms: list[str]
    uncertain: bool = False
    model_version: str | None = None
    place: dict[str, str | None] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object `qingsu classifier predict` prints and `Petition.suggestion` stores."""
        return {
            "departments": [{"type": code, "score": round(score, 4)} for code, score in self.departments],
            "nature": self.nature,
            "nature_score": round(self.nature_score, 4),
            "development": self.development,
            "development_score": round(self.development_score, 4),
            "admissible": self.admissible,
            "inadmissible_code": self.inadmissible_code,
            "reason": self.reason,
            "terms": self.terms,
            "uncertain": self.uncertain,
            "model_version": self.model_version,
            "place": self.place,
        }


class Suggester:
    """A loaded suggestion model, ready to answer `suggest(text)` in about a millisecond."""

    def __init__(self, model: SuggestionModel) -> None:
        self.model = model
        self._vectorizers = [FastTfidf.from_vectorizer(v, weight) for _, v, weight in model.blocks()]
        self._width = sum(len(v.vocabulary) for v in self._vectorizers)

    def features(self, text: str) -> sp.csr_matrix:
        """The text's feature row: the same values as `SuggestionModel.transform`, in a fraction of the time."""
        columns, values, offset = [], [], 0
        for vectorizer in self._vectorizers:
            cols, vals = vectorizer.columns(text)
            columns.append(cols + offset)
            values.append(vals)
            offset += len(vectorizer.vocabulary)
        data = np.concatenate(values).astype(np.float32)
        indices = np.concatenate(columns)
        return sp.csr_matrix((data, indices, np.array([0, len(data)])), shape=(1, self._width))

    @property
    def metadata(self) -> dict[str, Any]:
        return self.model.metadata

    @cached_property
    def _word_vocabulary(self) -> tuple[np.ndarray, int]:
        words = self.model.features.transformer_list[0][1]
        names = words.get_feature_names_out()
        return names, len(names)

    def _terms(self, row: sp.csr_matrix, department: str) -> list[str]:
        """The words of the text that pushed the department model most towards `department`.

        A word's contribution is its TF-IDF value in this text times its weight for the class; the largest positive
        ones are kept, at most TOP_TERMS, down to TERM_SHARE of the largest. Words that explain nothing are left
        out even when they push: single characters, and the stop and function words of `not_terms()` (a
        two-word term with one of them in it too).
        """
        weights = self.model.heads["department"].class_weights(department)
        names, n_words = self._word_vocabulary
        words = row[:, :n_words].tocoo()
        contributions = sorted(
            ((float(value * weights[col]), int(col)) for col, value in zip(words.col, words.data, strict=True)),
            reverse=True,
        )
        skip = not_terms()
        terms: list[str] = []
        strongest = contributions[0][0] if contributions else 0.0
        for contribution, col in contributions:
            if contribution <= 0 or contribution < TERM_SHARE * strongest or len(terms) == TOP_TERMS:
                break
            parts = str(names[col]).split(" ")
            if any(len(part) < 2 or part in skip or part.startswith(NEGATIONS) for part in parts):
                continue
            term = "".join(parts)
            if not any(term in kept or kept in term for kept in terms):
                terms.append(term)
        return terms

    def suggest(self, text: str, district_code: str | None = None) -> Suggestion:
        """Suggest departments, nature, kind and admissibility for one petition text.

        The rules of `screen` decide admissibility first; the model can add a rejection only above
        MODEL_REJECT_THRESHOLD. With `district_code`, petitions naming only other districts are flagged too.
        """
        row = self.features(text)
        heads = self.model.heads
        departments = heads["department"].ranked(row)[:TOP_DEPARTMENTS]
        place = locate(text, district_code)
        if "nature" in heads:
            nature, nature_score = heads["nature"].ranked(row)[0]
        else:
            nature, nature_score = Nature.COMPLAINT.value, 0.0
        development_score = 0.0
        if "development" in heads:
            development_score = dict(heads["development"].ranked(row)).get("True", 0.0)
        screening = screen(text, district_code)
        admissible, code, reason = screening.admissible, screening.code, screening.reason
        if admissible and "admissibility" in heads:
            label, score = heads["admissibility"].ranked(row)[0]
            if label != ADMISSIBLE and score >= MODEL_REJECT_THRESHOLD:
                code = InadmissibleCode(label)
                admissible = False
                reason = f"模型判断疑似“{code.label}”（把握 {score:.0%}），请调度员核实"
        return Suggestion(
            departments=departments,
            nature=nature,
            nature_score=nature_score,
            development=development_score >= 0.5,
            development_score=development_score,
            admissible=admissible,
            inadmissible_code=None if code is None else str(code.value),
            reason=reason,
            terms=self._terms(row, departments[0][0]),
            uncertain=is_uncertain([score for _, score in departments]),
            model_version=self.model.metadata.get("version"),
            place=None if place is None else place.to_dict(),
        )


def is_uncertain(scores: list[float]) -> bool:
    """Whether a ranking (probabilities, highest first) is too weak or too close to name one department."""
    top = scores[0] if scores else 0.0
    second = scores[1] if len(scores) > 1 else 0.0
    return top < UNCERTAIN_BELOW or top - second < UNCERTAIN_MARGIN
