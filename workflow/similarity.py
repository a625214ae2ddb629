"""When two petitions say the same thing about the same place: the one definition the hot issues
(`workflow.hot_issues`), the possible duplicates (`workflow.duplicates`) and later the early warnings use.

- **Meaning**: TF-IDF over the single characters and character 2-grams of the title and the description
  (normalised: full-width made ASCII, lower case; the Qingdao place names of the gazetteer, digits, punctuation and
  function characters 的了是… taken out, since the place is compared on its own below), each row scaled to length
  1, so two texts' similarity is the cosine of their rows (0 unrelated … 1 the same words). The n-grams are hashed (`N_FEATURES` columns, no vocabulary to hold); the inverse
  document frequencies are learnt once per process from the classifier's shipped corpus (`classifier.corpus`), so a
  pair's similarity does not depend on which other petitions were compared at the same time, and words every
  petition uses (您好, 反映, 问题) weigh little.
- **Place**: the street and community the text and address name (`classifier.places.locate`, over the gazetteer of
  `classifier/data/qingdao_streets.csv` and the district's community units), or the WeChat coordinates.
  `Places.agree`: two petitions whose coordinates are both known agree when they are at most `RADIUS_METRES` apart;
  otherwise they must be of the same district, and a street (community) known for both must be the same.
  `Places.same`: the coordinates are that close, or both name the same street or community.
- **Department type**: the dispatcher's choice, else the classifier's first suggestion (`chosen_department`, the
  definition the dashboard's department counts use).

The n-gram range and the thresholds were chosen on the paraphrase sets of `tests/workflow/test_hot_issues.py`
(short reports of one matter in different words share few n-grams: with 2–3-grams their median similarity was
0.03 and no set stayed connected above the noise between different matters; with 1–2-grams the median is 0.13,
every set is connected at 0.10, and different matters reach at most 0.19; the department type and place rules
keep such pairs apart in the hot issues): `CLUSTER_THRESHOLD` joins two petitions in a hot issue, `DUPLICATE_THRESHOLD` (stricter: a
dispatcher acts on it) makes an open petition a possible duplicate.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from classifier.corpus import load_corpus
from classifier.places import QINGDAO_DISTRICTS, locate, streets
from classifier.text import normalize
from models import Petition, Unit
from models.enums import PetitionState, UnitLevel
from workflow.hot_counts import chosen_department

CLUSTER_THRESHOLD = 0.1
DUPLICATE_THRESHOLD = 0.2
RADIUS_METRES = 500.0
N_FEATURES = 2**20
# Rows multiplied at once when looking for similar pairs: bounds the dense block to ROWS × block size floats.
ROWS_AT_ONCE = 512
# Petitions that are still being worked on: a new petition may duplicate one of them (not one rejected or closed).
OPEN_STATES = tuple(
    s
    for s in PetitionState
    if s
    not in (PetitionState.REJECTED, PetitionState.CLOSED, PetitionState.UNRATED, PetitionState.ACCOUNTABILITY)
)
_EARTH_METRES = 6_371_000.0
# Digits, punctuation and spaces, and characters that carry no matter.
_NOISE = re.compile(r"[\W_0-9]+|[的了是在我有很都也就还吗呢吧啊呀着得地你他她们这那个些么]")


@dataclass(frozen=True)
class PetitionText:
    """What similarity needs of a petition (read by `read_texts` in one statement)."""

    id: int
    number: str
    district_code: str
    dept_type: str | None
    title: str
    content: str
    location: str
    latitude: float | None
    longitude: float | None
    created_at: dt.datetime
    state: PetitionState


@dataclass
class Compared:
    """Petitions ready to compare: their unit-length text rows and their places, index for index."""

    petitions: list[PetitionText]
    rows: sp.csr_matrix
    street: list[str | None]
    community: list[str | None]

    def __len__(self) -> int:
        return len(self.petitions)


def text_columns() -> tuple[ColumnElement, ...]:
    """The columns `read_texts` reads, in `PetitionText`'s order."""
    return (
        Petition.id,
        Petition.number,
        Petition.district_code,
        chosen_department().label("dept"),
        Petition.title,
        Petition.content,
        Petition.location,
        Petition.latitude,
        Petition.longitude,
        Petition.created_at,
        Petition.state,
    )


def read_texts(session: Session, query: Select) -> list[PetitionText]:
    """The petitions of `query` (a select of `text_columns()` with its filters), in its order."""
    return [PetitionText(*row) for row in session.execute(query)]


def texts_where(*conditions: ColumnElement[bool]) -> Select:
    """A select of `text_columns()` of the petitions matching `conditions`, oldest first."""
    return select(*text_columns()).where(*conditions).order_by(Petition.created_at, Petition.id)


@cache
def _place_names(district_code: str) -> re.Pattern[str]:
    names = {name for name, _ in streets().get(district_code, [])}
    names |= {name for names in QINGDAO_DISTRICTS.values() for name in names}
    names |= {"青岛市", "青岛"}
    return re.compile("|".join(sorted(map(re.escape, names), key=len, reverse=True)))


def meaning_text(title: str, content: str, district_code: str) -> str:
    """The text whose n-grams are compared: title and description, without place names, digits, punctuation and
    function characters."""
    text = normalize(content if content.startswith(title.rstrip("…")) else f"{title} {content}")
    return _NOISE.sub("", _place_names(district_code).sub(" ", text))


def _vectorizer() -> HashingVectorizer:
    return HashingVectorizer(
        analyzer="char", ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm=None
    )


@cache
def _weights() -> TfidfTransformer:
    texts = [meaning_text("", example.text, "") for example in load_corpus()]
    return TfidfTransformer(sublinear_tf=True).fit(_vectorizer().transform(texts))


def text_rows(texts: Sequence[str]) -> sp.csr_matrix:
    """The unit-length TF-IDF rows of `texts` (already `meaning_text`)."""
    if not texts:
        return sp.csr_matrix((0, N_FEATURES), dtype=np.float32)
    rows = _weights().transform(_vectorizer().transform(texts))
    return rows.astype(np.float32).tocsr()


def text_similarity(a: str, b: str) -> float:
    """The similarity of two petitions' texts (title and description), 0–1."""
    rows = text_rows([meaning_text("", a, ""), meaning_text("", b, "")])
    return float((rows[0] @ rows[1].T).toarray()[0, 0])


def community_names(session: Session, district_codes: Sequence[str]) -> dict[str, list[str]]:
    """District code → the names of its community units (the community gazetteer `locate` reads)."""
    names: dict[str, list[str]] = {}
    for code, name in session.execute(
        select(Unit.district_code, Unit.name).where(
            Unit.level == UnitLevel.COMMUNITY, Unit.district_code.in_(sorted(set(district_codes)))
        )
    ):
        names.setdefault(code, []).append(name)
    return names


def compare(session: Session, petitions: list[PetitionText]) -> Compared:
    """Vectorise `petitions` and find their places."""
    communities = community_names(session, [p.district_code for p in petitions])
    street: list[str | None] = []
    community: list[str | None] = []
    for p in petitions:
        place = locate(f"{p.location} {p.content}", p.district_code, communities.get(p.district_code, ()))
        street.append(place.street if place else None)
        community.append(place.community if place else None)
    rows = text_rows([meaning_text(p.title, p.content, p.district_code) for p in petitions])
    return Compared(petitions, rows, street, community)


def _codes(values: Sequence[str | None], idx: np.ndarray) -> np.ndarray:
    """Small integer codes of `values` at `idx` (-1 for unknown), for comparing in numpy."""
    seen: dict[str, int] = {}
    return np.array([-1 if values[i] is None else seen.setdefault(values[i], len(seen)) for i in idx])


def _metres(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_METRES * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


@dataclass
class Places:
    """The places of compared petitions as arrays, indexed like `Compared.petitions`."""

    district: np.ndarray
    street: np.ndarray
    community: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    @classmethod
    def of(cls, compared: Compared) -> Places:
        """The places of all of `compared`, indexed like it."""
        petitions = compared.petitions
        idx = np.arange(len(petitions))
        return cls(
            _codes([p.district_code for p in petitions], idx),
            _codes(compared.street, idx),
            _codes(compared.community, idx),
            np.array([math.nan if petitions[i].latitude is None else petitions[i].latitude for i in idx]),
            np.array([math.nan if petitions[i].longitude is None else petitions[i].longitude for i in idx]),
        )

    def _near(self, i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        located = ~(
            np.isnan(self.lat[i]) | np.isnan(self.lat[j]) | np.isnan(self.lon[i]) | np.isnan(self.lon[j])
        )
        with np.errstate(invalid="ignore"):
            near = _metres(self.lat[i], self.lon[i], self.lat[j], self.lon[j]) <= RADIUS_METRES
        return located, located & near

    def agree(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether the places of pairs (i[k], j[k]) may be one place (see the module's rule)."""
        located, near = self._near(i, j)

        def compatible(codes: np.ndarray) -> np.ndarray:
            return (codes[i] < 0) | (codes[j] < 0) | (codes[i] == codes[j])

        named = (self.district[i] == self.district[j]) & compatible(self.street) & compatible(self.community)
        return np.where(located, near, named)

    def same(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Whether the pairs are known to be at one place: near by coordinates, or one street or community named."""
        _, near = self._near(i, j)

        def known_same(codes: np.ndarray) -> np.ndarray:
            return (codes[i] >= 0) & (codes[i] == codes[j])

        same_district = self.district[i] == self.district[j]
        return near | (same_district & (known_same(self.street) | known_same(self.community)))


def similar_pairs(
    compared: Compared, idx: np.ndarray, threshold: float, against: np.ndarray | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Pairs of the petitions `idx` (or of `idx` with `against`) whose texts are at least `threshold` similar,
    as arrays (rows, columns, similarity) of indices into `compared`; without `against` each pair once (i < j).

    Multiplies `ROWS_AT_ONCE` rows at a time, so memory stays bounded by that many rows times the block."""
    others = idx if against is None else against
    if len(idx) == 0 or len(others) == 0:
        return
    block = compared.rows[others].T.tocsc()
    for start in range(0, len(idx), ROWS_AT_ONCE):
        part = idx[start : start + ROWS_AT_ONCE]
        scores = (compared.rows[part] @ block).toarray()
        r, c = np.nonzero(scores >= threshold)
        if against is None:
            keep = start + r < c
            r, c = r[keep], c[keep]
        if len(r):
            yield part[r], others[c], scores[r, c]
