"""Turning a petition text into a suggestion for the dispatcher: departments, nature, 发展, admissibility, terms."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from classifier.model import ADMISSIBLE, FastTfidf, SuggestionModel
from classifier.screening import screen
from models.enums import InadmissibleCode, Nature

TOP_DEPARTMENTS = 3
TOP_TERMS = 5
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
        }


class Suggester:
    """A loaded suggestion model, ready to answer `suggest(text)` in about a millisecond."""

    def __init__(self, model: SuggestionModel) -> None:
        self.model = model
        self._vectorizers = [FastTfidf.from_vectorizer(v) for _, v in model.features.transformer_list]
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
        """The words of the text that pushed the department model most towards `department`."""
        weights = self.model.heads["department"].class_weights(department)
        names, n_words = self._word_vocabulary
        words = row[:, :n_words].tocoo()
        contributions = [
            (float(value * weights[col]), int(col)) for col, value in zip(words.col, words.data, strict=True)
        ]
        terms: list[str] = []
        for contribution, col in sorted(contributions, reverse=True):
            term = str(names[col]).replace(" ", "")
            if contribution <= 0 or len(terms) == TOP_TERMS:
                break
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
        )
